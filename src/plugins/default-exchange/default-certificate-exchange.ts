import { inject, injectable, multiInject, optional } from 'inversify';
import { type CertificateExchange, type CertificateExchangeInput, type ExchangeOutcome } from '../../core/certificate-exchange.js';
import { CertificateStore } from '../../core/certificate-store.js';
import { CertificateExchangeMedium } from '../../core/client-query.js';
import { ConnectionDiagnostics } from '../../core/connection-diagnostics.js';
import { DeviceTransport, type ExchangeRequest } from '../../core/device-transport.js';
import { HostConfig } from '../../core/host-config.js';
import { HostError, describeError } from '../../core/host-error.js';
import { type ExchangeRecord, HostEvents } from '../../core/host-events.js';
import { Logger } from '../../core/logger.js';
import { parseCsrCached } from '../../core/x509/csr.js';

const MAX_DESTINATION = 1024;

/**
 * The built-in exchange flow: check the request, choose the device transport that serves it, find the
 * device (and prove the folder belongs to the app), sign, write `sonarCA.crt` then `device.crt`, and
 * answer the device id. Expected failures come back as values with a message for the app.
 */
@injectable()
export class DefaultCertificateExchange implements CertificateExchange {
  private readonly log: Logger;

  constructor(
    @inject(CertificateStore) private readonly certificates: CertificateStore,
    @multiInject(DeviceTransport) @optional() private readonly transports: DeviceTransport[] | undefined,
    @inject(ConnectionDiagnostics) private readonly diagnostics: ConnectionDiagnostics,
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(HostEvents) private readonly events: HostEvents,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('exchange');
  }

  async exchange(input: CertificateExchangeInput): Promise<ExchangeOutcome> {
    const started = performance.now();
    const { query } = input;
    const fields = { app: query.app, os: query.os, device: query.device, medium: query.medium };
    try {
      const request = await this.checkRequest(input);
      const transport = this.chooseTransport(request);
      const target = await transport.locate(request);
      const issued = await this.certificates.signCsr(request.csr.pem);
      await transport.deploy(request, target, [
        { name: 'sonarCA.crt', contents: this.certificates.caCertificatePem() },
        { name: 'device.crt', contents: issued.certificatePem },
      ]);
      const durationMs = performance.now() - started;
      this.log.info('certificate exchange completed', { ...fields, appId: request.csr.appId, deviceId: target.deviceId, transport: transport.id, ms: Math.round(durationMs) });
      this.diagnostics.exchangeCompleted(query);
      this.record(input, { ok: true, durationMs, appId: request.csr.appId, deviceId: target.deviceId, transport: transport.id });
      return { ok: true, deviceId: target.deviceId, appId: request.csr.appId, transport: transport.id, durationMs };
    } catch (caught) {
      const error = HostError.is(caught) ? caught : new HostError('internal', `The certificate exchange failed unexpectedly: ${describeError(caught)}`, { cause: caught });
      this.log.warn('certificate exchange failed', { ...fields, kind: error.kind, error: error.message });
      const durationMs = performance.now() - started;
      this.record(input, { ok: false, durationMs, error: error.message });
      return { ok: false, error, durationMs };
    }
  }

  private record(input: CertificateExchangeInput, outcome: Pick<ExchangeRecord, 'ok' | 'durationMs' | 'appId' | 'deviceId' | 'transport' | 'error'>): void {
    const { app, os, device } = input.query;
    this.events.emit({ type: 'exchange', at: new Date().toISOString(), app, os, device, ...outcome, durationMs: Math.round(outcome.durationMs * 10) / 10 });
  }

  private async checkRequest(input: CertificateExchangeInput): Promise<ExchangeRequest> {
    const { query, destination } = input;
    if (query.medium === CertificateExchangeMedium.WWW) {
      throw new HostError('exchange-unsupported', 'Certificate exchange over medium 2 (WWW) is not supported by sonarhost: it needs a Facebook-internal service. Use the default medium (1, FS_ACCESS).');
    }
    if (query.medium === CertificateExchangeMedium.NONE) {
      throw new HostError('exchange-unsupported', 'Medium 3 (NONE) is for clients that skip the certificate exchange; this request asked for one.');
    }
    if (typeof destination !== 'string' || destination.length === 0) {
      throw new HostError('exchange-invalid-request', 'The signCertificate request lacks "destination", the app\'s certificate folder.');
    }
    if (destination.length > MAX_DESTINATION || destination.includes('\0')) {
      throw new HostError('exchange-invalid-request', `The destination must be a path of at most ${MAX_DESTINATION} characters without NUL bytes.`);
    }
    const csr = await parseCsrCached(input.csr, this.config.limits.maxCsrBytes);
    return { query, csr, destination };
  }

  private chooseTransport(request: ExchangeRequest): DeviceTransport {
    const transports = this.transports ?? [];
    const chosen = transports.find((t) => {
      try {
        return t.serves(request);
      } catch {
        return false;
      }
    });
    if (!chosen) {
      throw new HostError(
        'exchange-unsupported',
        `No device transport serves os "${request.query.os}" with this destination` +
          (transports.length ? ` (configured: ${transports.map((t) => t.id).join(', ')}).` : ' (none is configured).') +
          ' Add the platform to plugins.deviceTransports in the host config.',
      );
    }
    return chosen;
  }
}
