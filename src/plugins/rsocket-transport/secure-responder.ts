import { type TLSSocket } from 'node:tls';
import { type AppConnector, type ConnectedApp } from '../../core/app-connector.js';
import { parseSecureSetup } from '../../core/protocol/setup-payload.js';
import { RSocketAppChannel } from './rsocket-app-channel.js';
import { type RSocketResponder, type RSocketServerConnection, type RSocketSetup } from './rsocket-server-connection.js';

/**
 * The secure port's responder (docs/protocol-rsocket.md, "Secure connection"). TLS has verified the client certificate against our CA; the
 * connector checks that the SETUP names the app the certificate was issued to (throwing here rejects
 * the SETUP with that message) and registers the client. The app only sends fire-and-forget frames.
 */
export function createSecureResponder(connection: RSocketServerConnection, setup: RSocketSetup, connector: AppConnector): RSocketResponder {
  const { query, csr, csrPath } = parseSecureSetup(setup.data);
  const tlsSocket = connection.socket as TLSSocket;
  const appId = connector.certifiedAppId(tlsSocket.getPeerCertificate()?.subject?.CN, csr, query);
  const app = connector.connect({ query, appId, csr, csrPath, channel: new RSocketAppChannel(connection) });
  return new AppMessages(app);
}

/** Hands the app's fire-and-forget frames to its session, and its end: one small object per connection, no closure. */
class AppMessages implements RSocketResponder {
  constructor(private readonly app: ConnectedApp) {}

  fireAndForget(data: string): void {
    this.app.receive(data);
  }

  ended(): void {
    this.app.closed();
  }
}
