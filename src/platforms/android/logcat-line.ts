import { type DeviceLogEntry, type DeviceLogLevel } from '../../core/device-transport.js';

/**
 * One line of `logcat -v threadtime`: `MM-DD hh:mm:ss.mmm  PID  TID L TAG     : message`. logcat
 * prints each line of a multi-line message with its own header, so an app cannot forge another
 * process's header: whatever it logs lands after the real one, in the message. The header regex has
 * only bounded, unambiguous parts (linear time on any input); the tag ends at the first ": ".
 * An optional year (`-v year`) is accepted.
 */
const HEADER = /^(?:(\d{4})-)?(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3}) +(\d{1,10}) +(\d{1,10}) ([VDIWEFA]) /;

const LEVELS: Record<string, DeviceLogLevel> = { V: 'verbose', D: 'debug', I: 'info', W: 'warn', E: 'error', F: 'fatal', A: 'fatal' };

/** A day of slack for clocks that differ between the device and this host. */
const FUTURE_SLACK_MS = 24 * 60 * 60 * 1000;

/**
 * The entry a threadtime line describes, or undefined for anything else (logcat's `--------- beginning
 * of main` markers, error messages, garbage). The line has no year or zone: it is read in this host's
 * time zone and the current year, or last year when that would put it more than a day in the future
 * (a line stamped 12-31 read just after New Year).
 */
export function parseLogcatLine(line: string, now: Date = new Date()): DeviceLogEntry | undefined {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line; // shell: v1 on old devices sends CRLF
  const header = HEADER.exec(text);
  if (!header) return undefined;
  const [, year, month, day, hours, minutes, seconds, millis, pid, tid, level] = header;
  const rest = text.slice(header[0].length);
  const colon = rest.indexOf(': ');
  // `TAG: ` ends the header; a message that is empty may have lost its trailing space on the way.
  const tagEnd = colon >= 0 ? colon : rest.endsWith(':') ? rest.length - 1 : -1;
  if (tagEnd < 0) return undefined;
  const date = stamp(year === undefined ? undefined : Number(year), Number(month), Number(day), Number(hours), Number(minutes), Number(seconds), Number(millis), now);
  if (date === undefined) return undefined;
  return {
    date: date.toISOString(),
    type: LEVELS[level!] ?? 'unknown',
    pid: Number(pid),
    tid: Number(tid),
    tag: rest.slice(0, tagEnd).trimEnd(),
    message: colon >= 0 ? rest.slice(colon + 2) : '',
  };
}

function stamp(year: number | undefined, month: number, day: number, hours: number, minutes: number, seconds: number, millis: number, now: Date): Date | undefined {
  if (hours > 23 || minutes > 59 || seconds > 60) return undefined;
  const at = (y: number): Date | undefined => {
    const date = new Date(y, month - 1, day, hours, minutes, seconds, millis);
    // Date rolls 02-30 over into March: a day that moved means the stamp was not a real date. (The hour
    // may move in a daylight-saving gap of this host's zone; that line is still kept.)
    return date.getMonth() === month - 1 && date.getDate() === day ? date : undefined;
  };
  if (year !== undefined) return at(year);
  const thisYear = at(now.getFullYear());
  if (thisYear !== undefined && thisYear.getTime() <= now.getTime() + FUTURE_SLACK_MS) return thisYear;
  // Last year: also where 02-29 of a leap year goes when this year has none.
  return at(now.getFullYear() - 1) ?? thisYear;
}
