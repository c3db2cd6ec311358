import { type Payload } from 'rsocket-types';
import { connectTcp, connectTls, openRSocket, requestResponse } from '../../src/client/rsocket-connection.js';
import { singleFrom } from '../../src/core/protocol/rsocket-single.js';

export const SETUP = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ os: 'Linux', device: 'raw', device_id: 'unknown', app: 'Raw', sdk_version: 4, medium: 1, ...extra });

/** One request-response on the exchange port with a hand-made SETUP, as a misbehaving app would send. */
export async function rawExchange(port: number, setupData: string, requestData: string): Promise<Payload<string, string>> {
  const { socket } = await openRSocket(connectTcp('127.0.0.1', port), 'connect', setupData, {});
  try {
    return await requestResponse(socket, requestData);
  } finally {
    socket.close();
  }
}

export type SecureOutcome = { accepted: true; firstRequest: string } | { accepted: false; error: string };

/**
 * A secure connection attempt with the given TLS material and SETUP. "Accepted" means the host went on
 * to use the connection (it asked for the plugins); otherwise the host closed it, or TLS failed.
 */
export async function rawSecureAttempt(port: number, material: { key?: string; cert?: string; ca: string }, setupData: string, timeoutMs = 5000): Promise<SecureOutcome> {
  let firstRequest: ((data: string) => void) | undefined;
  const requested = new Promise<string>((resolve) => (firstRequest = resolve));
  let opened;
  try {
    opened = await openRSocket(connectTls('127.0.0.1', port, material as { key: string; cert: string; ca: string }), 'secureConnect', setupData, {
      requestResponse: (payload) =>
        singleFrom(async () => {
          firstRequest?.(payload.data ?? '');
          return JSON.stringify({ success: { plugins: [] } });
        }),
    });
  } catch (error) {
    return { accepted: false, error: (error as Error).message };
  }
  const timeout = new Promise<SecureOutcome>((resolve) => setTimeout(() => resolve({ accepted: false, error: 'no answer within the timeout' }), timeoutMs).unref());
  const outcome = await Promise.race([
    requested.then((data): SecureOutcome => ({ accepted: true, firstRequest: data })),
    opened.closed.then((error): SecureOutcome => ({ accepted: false, error: error?.message ?? 'closed' })),
    timeout,
  ]);
  opened.socket.close();
  return outcome;
}
