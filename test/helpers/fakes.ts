import { type CertificateStore } from '../../src/core/certificate-store.js';
import { type Clock } from '../../src/core/clock.js';
import { type HostConfig } from '../../src/core/host-config.js';
import { defaultConfig } from '../../src/host/config-sources.js';
import { type LogRecord, type Logger, SinkLogger } from '../../src/core/logger.js';

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  constructor(private current = new Date()) {}
  now(): Date {
    return new Date(this.current);
  }
  advanceDays(days: number): void {
    this.current = new Date(this.current.getTime() + days * 86_400_000);
  }
}

/** A logger that keeps its records, so tests can assert what users would read. */
export class MemoryLogger extends SinkLogger {
  readonly records: LogRecord[];
  constructor(records: LogRecord[] = []) {
    super((record) => records.push(record), 'debug');
    this.records = records;
  }
  messages(level?: LogRecord['level']): string[] {
    return this.records.filter((r) => level === undefined || r.level === level).map((r) => r.message);
  }
}

export function testConfig(overrides: Partial<HostConfig> = {}): HostConfig {
  return {
    host: ['127.0.0.1'],
    ports: { insecure: 0, secure: 0 },
    webSocket: { insecure: false, secure: false, browser: false },
    api: { port: false },
    flipperServer: { port: false },
    certDir: '/nonexistent',
    logLevel: 'debug',
    plugins: {
      certificateStore: 'file-certificate-store',
      exchange: 'default-exchange',
      transports: [],
      deviceTransports: [],
      connectionHandlers: [],
      services: [],
    },
    limits: defaultConfig().limits,
    pluginOptions: {},
    ...overrides,
  };
}

export type { Logger };

/**
 * A CertificateStore whose members throw unless given: the host checks at start-up that a store has
 * every member it calls, so a test double names the ones it implements and gets the rest as stubs.
 */
export function partialCertificateStore(given: Partial<CertificateStore>): CertificateStore {
  const unexpected = (name: string) => () => {
    throw new Error(`this test's CertificateStore does not implement ${name}`);
  };
  return {
    prepare: unexpected('prepare'),
    serverCredentials: unexpected('serverCredentials'),
    caCertificatePem: unexpected('caCertificatePem'),
    signCsr: unexpected('signCsr'),
    describe: unexpected('describe'),
    renewServerCertificate: unexpected('renewServerCertificate'),
    rotateCertificateAuthority: unexpected('rotateCertificateAuthority'),
    ...given,
  } as CertificateStore;
}
