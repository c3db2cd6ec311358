import { type Payload } from 'rsocket-types';
import { singleFrom } from '../core/protocol/rsocket-single.js';
import { type ExchangeLink, type HostCallHandlers, type SecureLink, type TlsMaterial } from './links.js';
import { connectTcp, connectTls, openRSocket, requestResponse } from './rsocket-connection.js';

/** The RSocket-era exchange: SETUP with the identity JSON on the insecure port, one request-response. */
export async function openRSocketExchange(host: string, port: number, setup: Record<string, unknown>): Promise<ExchangeLink> {
  const { socket, closed } = await openRSocket(connectTcp(host, port), 'connect', JSON.stringify(setup), {});
  // rsocket-js 0.0.27 leaves a request pending forever when the connection closes under it: a port
  // that accepts and closes at once would hold the client in "exchanging" instead of retrying.
  const closedUnanswered = closed.then((error) => Promise.reject(new Error(`the host closed the exchange connection without answering${error ? ` (${error.message})` : ''}`)));
  closedUnanswered.catch(() => undefined);
  return {
    request: async (data) => (await Promise.race([requestResponse(socket, data), closedUnanswered])).data ?? '',
    notify: () => undefined,
    close: () => socket.close(),
  };
}

/** The RSocket-era secure connection: host requests arrive as request-response (or fire-and-forget with an id for legacy SDKs). */
export async function openRSocketSecure(host: string, port: number, material: TlsMaterial, setup: Record<string, unknown>, handlers: HostCallHandlers): Promise<SecureLink> {
  const opened = await openRSocket(connectTls(host, port, material), 'secureConnect', JSON.stringify(setup), {
    requestResponse: (payload: Payload<string, string>) =>
      singleFrom(async () => {
        const request = JSON.parse(payload.data ?? '') as { method?: unknown; params?: unknown };
        return JSON.stringify(await handlers.request(request.method, request.params));
      }),
    fireAndForget: (payload: Payload<string, string>) => handlers.message(payload.data ?? ''),
  });
  return {
    send: (message) => opened.socket.fireAndForget({ data: JSON.stringify(message), metadata: '' }),
    close: () => opened.socket.close(),
    closed: opened.closed,
  };
}
