import { type TLSSocket } from 'node:tls';
import { type Payload, type ReactiveSocket, type Responder } from 'rsocket-types';
import { AppSession } from '../../core/app-session.js';
import { type ClientQuery, clientIdOf } from '../../core/client-query.js';
import { type ClientRegistry } from '../../core/client-registry.js';
import { type ConnectionDiagnostics } from '../../core/connection-diagnostics.js';
import { type DeviceTransport } from '../../core/device-transport.js';
import { HostError, describeError } from '../../core/host-error.js';
import { type Logger } from '../../core/logger.js';
import { parseSecureSetup } from '../../core/protocol/setup-payload.js';
import { csrCommonName, parseCsr } from '../../core/x509/csr.js';
import { RSocketAppChannel } from './rsocket-app-channel.js';

export interface SecureConnectionDeps {
  registry: ClientRegistry;
  diagnostics: ConnectionDiagnostics;
  deviceTransports: readonly DeviceTransport[];
  log: Logger;
}

/**
 * The secure port's responder (doc §7). TLS has verified the client certificate against our CA; here
 * the SETUP must also agree with it: the CN of the certificate must equal the app id in the CSR the
 * app names, so a certificate issued to app A can never register as app B. Registration (asking for
 * plugins) runs after the SETUP is accepted; app messages that arrive before it are queued.
 */
export function createSecureResponder(
  socket: ReactiveSocket<string, string>,
  setup: Payload<string, string>,
  tlsSocket: TLSSocket | undefined,
  deps: SecureConnectionDeps,
): Partial<Responder<string, string>> {
  const { query, csr, csrPath } = parseSecureSetup(setup.data);
  deps.diagnostics.secureAttempt(query);
  deps.diagnostics.connectionAttempt(query);
  const appId = certifiedAppId(tlsSocket, csr, query, deps.log);

  let session: AppSession | undefined;
  const early: string[] = [];
  const adopt = (created: AppSession) => {
    session = created;
    for (const message of early.splice(0)) created.receive(message);
  };
  register(socket, query, appId, csr, csrPath, deps, adopt).catch((error: unknown) => {
    deps.log.warn('could not register the app; closing its connection', { app: query.app, os: query.os, device: query.device, error: describeError(error) });
    socket.close();
  });

  return {
    fireAndForget: (payload) => {
      if (session) session.receive(payload.data);
      else if (early.length < 1000) early.push(payload.data ?? '');
    },
  };
}

function certifiedAppId(tlsSocket: TLSSocket | undefined, csr: string | undefined, query: ClientQuery, log: Logger): string {
  const certificateCn = tlsSocket?.getPeerCertificate()?.subject?.CN;
  if (typeof certificateCn !== 'string' || certificateCn === '') {
    throw new HostError('identity-mismatch', 'The client certificate has no CN; redo the certificate exchange.');
  }
  if (csr === undefined) return certificateCn; // sdk_version < 3 sends no CSR: the certificate alone names the app
  const claimed = csrCommonName(csr);
  if (claimed !== certificateCn) {
    log.warn('refused a secure connection whose certificate belongs to another app', { app: query.app, certificateCn, claimed });
    throw new HostError('identity-mismatch', `The client certificate was issued to "${certificateCn}" but the SETUP names app "${claimed ?? '(unreadable CSR)'}".`);
  }
  return certificateCn;
}

async function register(
  socket: ReactiveSocket<string, string>,
  sent: ClientQuery,
  appId: string,
  csr: string | undefined,
  csrPath: string | undefined,
  deps: SecureConnectionDeps,
  adopt: (session: AppSession) => void,
): Promise<void> {
  const query = { ...sent };
  // Upstream marks old Android SDKs in the app name (doc §3.1).
  if (query.os === 'Android' && query.sdkVersion < 3) query.app = `${query.app} (Outdated SDK)`;
  if (csr !== undefined && csrPath !== undefined) {
    const parsed = await parseCsr(csr);
    for (const transport of deps.deviceTransports) {
      const resolved = await transport.resolveSecureDeviceId?.(query, parsed, csrPath);
      if (resolved !== undefined) {
        query.deviceId = resolved;
        break;
      }
    }
  }
  const log = deps.log.child('client', { app: query.app, os: query.os, device: query.device, deviceId: query.deviceId });
  const session = new AppSession(clientIdOf(query), query, appId, new RSocketAppChannel(socket), {
    onEvent: (s, event) => deps.registry.dispatchEvent(s, event),
    onRefreshPlugins: (s) => void deps.registry.refreshPlugins(s),
  }, log);
  socket.connectionStatus().subscribe({
    onNext: (status) => {
      if (status.kind === 'CLOSED' || status.kind === 'ERROR') deps.registry.disconnect(session);
    },
    onSubscribe: (subscription) => subscription.request(Number.MAX_SAFE_INTEGER),
  });
  // Messages from here on reach the session at once: legacy SDKs answer the registration requests by fire-and-forget.
  adopt(session);
  await deps.registry.connect(session);
}
