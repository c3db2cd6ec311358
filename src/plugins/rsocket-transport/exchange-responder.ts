import { type CertificateExchange } from '../../core/certificate-exchange.js';
import { type ClientQuery } from '../../core/client-query.js';
import { type ConnectionDiagnostics } from '../../core/connection-diagnostics.js';
import { HostError, describeError } from '../../core/host-error.js';
import { type Logger } from '../../core/logger.js';
import { parseJsonObject } from '../../core/protocol/json-message.js';
import { parseSetupQuery } from '../../core/protocol/setup-payload.js';
import { type RSocketResponder, type RSocketSetup } from './rsocket-server-connection.js';

/**
 * The insecure port's responder (docs/protocol-rsocket.md, "Certificate exchange"): one SETUP with the app's identity, then `signCertificate`
 * as REQUEST_RESPONSE (answered `{"deviceId": …}` or an ERROR frame with a readable message), or as
 * REQUEST_FNF from 2018 SDKs (processed, not answerable). Throwing here rejects the SETUP.
 */
export function createExchangeResponder(
  setup: RSocketSetup,
  exchange: CertificateExchange,
  diagnostics: ConnectionDiagnostics,
  log: Logger,
  allowExchange: (csr: unknown) => boolean = () => true,
): RSocketResponder {
  const query = parseSetupQuery(setup.data, 'certificate exchange');
  diagnostics.connectionAttempt(query);
  log.debug('certificate exchange connection', { app: query.app, os: query.os, device: query.device, sdkVersion: query.sdkVersion });

  const run = async (data: string): Promise<string> => {
    const request = parseJsonObject(data, 'The signCertificate request');
    if (request.method !== 'signCertificate') {
      throw new HostError('exchange-invalid-request', `Unknown method ${JSON.stringify(request.method)} on the certificate exchange port; expected "signCertificate".`);
    }
    if (!allowExchange(request.csr)) {
      throw new HostError('rate-limited', 'Too many certificate exchanges from this address (or, on this computer, for this key) in the last minute; try again shortly.');
    }
    const outcome = await exchange.exchange({ query: withRequestMedium(query, request), csr: request.csr, destination: request.destination });
    if (!outcome.ok) throw outcome.error;
    return JSON.stringify({ deviceId: outcome.deviceId });
  };

  return {
    requestResponse: (data) =>
      run(data).catch((error: unknown) => {
        if (!HostError.is(error)) log.warn('certificate exchange request failed', { app: query.app, error: describeError(error) });
        throw new Error(describeError(error));
      }),
    fireAndForget: (data) => {
      run(data).catch((error: unknown) => log.warn('legacy fire-and-forget certificate exchange failed', { app: query.app, error: describeError(error) }));
    },
  };
}

/** The request's own `medium` (SDKs since mid-2020) wins over the SETUP's. */
function withRequestMedium(query: ClientQuery, request: Record<string, unknown>): ClientQuery {
  if (request.medium === undefined) return query;
  if (request.medium !== 1 && request.medium !== 2 && request.medium !== 3) {
    throw new HostError('exchange-unsupported', `Unknown certificate exchange medium ${JSON.stringify(request.medium)}; expected 1 (FS_ACCESS).`);
  }
  return { ...query, medium: request.medium };
}
