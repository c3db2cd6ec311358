import { type TLSSocket } from 'node:tls';
import { type Payload, type ReactiveSocket, type Responder } from 'rsocket-types';
import { type AppConnector } from '../../core/app-connector.js';
import { HostError } from '../../core/host-error.js';
import { type SocketConnection } from '../../core/protocol/rsocket-socket-connection.js';
import { parseSecureSetup } from '../../core/protocol/setup-payload.js';
import { RSocketAppChannel } from './rsocket-app-channel.js';

/**
 * The secure port's responder (docs/protocol-rsocket.md, "Secure connection"). TLS has verified the client certificate against our CA; the
 * connector checks that the SETUP names the app the certificate was issued to (throwing here rejects
 * the SETUP with that message) and registers the client. The app only sends fire-and-forget frames.
 */
export function createSecureResponder(
  socket: ReactiveSocket<string, string>,
  setup: Payload<string, string>,
  tlsSocket: TLSSocket | undefined,
  connection: SocketConnection | undefined,
  connector: AppConnector,
): Partial<Responder<string, string>> {
  const { query, csr, csrPath } = parseSecureSetup(setup.data);
  const appId = connector.certifiedAppId(tlsSocket?.getPeerCertificate()?.subject?.CN, csr, query);
  if (!connection) throw new HostError('internal', 'The SETUP arrived outside its connection\'s frames; it cannot be told when the connection ends.');
  const channel = new RSocketAppChannel(socket, (listener) => connection.whenEnded(listener));
  const app = connector.connect({ query, appId, csr, csrPath, channel });
  channel.whenClosed(() => app.closed());
  return { fireAndForget: (payload) => app.receive(payload.data ?? '') };
}
