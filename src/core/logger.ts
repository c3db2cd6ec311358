/**
 * Structured, named logging. Components get a Logger injected and derive children with their own name
 * and fields (`{app, os, deviceId, medium}`), so every line says who it is about.
 */
export const Logger = Symbol.for('sonarhost.Logger');

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(name: string, fields?: LogFields): Logger;
}

export interface LogRecord {
  time: string;
  level: LogLevel;
  name: string;
  message: string;
  fields: LogFields;
}

/** Where records go. The console sink is the only place (besides the CLI) that writes to stdio. */
export type LogSink = (record: LogRecord) => void;

export class SinkLogger implements Logger {
  constructor(
    private readonly sink: LogSink,
    private readonly minLevel: LogLevel = 'info',
    private readonly name = 'sonarhost',
    private readonly fields: LogFields = {},
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }

  child(name: string, fields?: LogFields): Logger {
    return new SinkLogger(this.sink, this.minLevel, `${this.name}.${name}`, { ...this.fields, ...fields });
  }

  private write(level: LogLevel, message: string, fields?: LogFields): void {
    if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(this.minLevel)) return;
    try {
      this.sink({ time: new Date().toISOString(), level, name: this.name, message, fields: { ...this.fields, ...fields } });
    } catch {
      // Logging must never break the caller (a field too deep or cyclic to serialise, a closed stream).
    }
  }
}

/** JSON lines: one object per record, for pipes, files and log collectors. */
export function jsonLineSink(stream: NodeJS.WritableStream): LogSink {
  return (record) => {
    stream.write(safeJson({ time: record.time, level: record.level, name: record.name, msg: record.message, ...record.fields }) + '\n');
  };
}

/** Human-readable lines for a terminal. */
export function prettySink(stream: NodeJS.WritableStream): LogSink {
  return (record) => {
    const extras = Object.entries(record.fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : safeJson(value)}`)
      .join(' ');
    const time = record.time.slice(11, 23);
    stream.write(`${time} ${record.level.toUpperCase().padEnd(5)} ${record.name}: ${record.message}${extras ? `  ${extras}` : ''}\n`);
  };
}

/** JSON for a log line; values too deep or cyclic to serialise are replaced, never thrown. */
function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    if (typeof value !== 'object' || value === null) return '"[unserialisable]"';
    return JSON.stringify(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'object' && v !== null ? '[unserialisable]' : v])));
  }
}

/** A logger that drops everything, for unit tests and library use without output. */
export const silentLogger: Logger = new SinkLogger(() => undefined, 'error');
