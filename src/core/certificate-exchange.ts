import { type ClientQuery } from './client-query.js';
import { type HostError } from './host-error.js';

/**
 * The exchange flow: verify a CSR, pick the device transport that serves the request, find the
 * device, write `sonarCA.crt` then `device.crt`, answer the device id. Transports (RSocket,
 * WebSocket) call it; it never throws for expected failures, it returns them.
 */
export const CertificateExchange = Symbol.for('sonarhost.CertificateExchange');

export interface CertificateExchangeInput {
  query: ClientQuery;
  /** The raw fields of the `signCertificate` request, unchecked. */
  csr: unknown;
  destination: unknown;
}

export type ExchangeOutcome =
  | { ok: true; deviceId: string; appId: string; transport: string; durationMs: number }
  | { ok: false; error: HostError; durationMs: number };

export interface CertificateExchange {
  exchange(input: CertificateExchangeInput): Promise<ExchangeOutcome>;
}
