import { once } from 'node:events';
import { encode } from 'node:querystring';
import { WebSocket } from 'ws';
import { withTimeout } from './processes.js';
import { type AppIdentity, type BenchApp, type ExchangeTarget, type HostRequest, type TlsMaterial, answerRequest } from './raw-app.js';

/** No single exchange or connection attempt may hang the bench. */
const ATTEMPT_TIMEOUT_MS = 20_000;

// The SDKs check the chain against sonarCA.crt, not the host name (tls.connect wants undefined when fine).
const noHostNameCheck = (() => undefined) as unknown as () => boolean;

/**
 * The query an SDK ≥ v0.135 puts on its upgrade URL (docs/protocol-websocket.md, "The app's identity: the URL query"): `csr` is base64 of the PEM,
 * not escaped. Written here rather than taken from src so both hosts get exactly what an SDK sends.
 */
export function sdkQuery(fields: { os: string; device: string; deviceId: string; app: string; appId: string }, csr?: { pem: string; path: string }): string {
  let text = encode({ os: fields.os, device: fields.device, device_id: fields.deviceId, app: fields.app, app_id: fields.appId, sdk_version: 4, medium: 1, ...(csr ? { csr_path: csr.path } : {}) });
  if (csr) text += `&csr=${Buffer.from(csr.pem, 'latin1').toString('base64')}`;
  return text;
}

/** SDK clients (SocketRocket, Java-WebSocket, websocketpp) offer no compression: neither do we. */
function open(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): { socket: WebSocket; opened: Promise<void> } {
  const socket = new WebSocket(url, { ...options, perMessageDeflate: false });
  socket.on('error', () => undefined); // reported through `opened` or the close
  const opened = Promise.race([once(socket, 'open').then(() => undefined), once(socket, 'error').then(([error]) => Promise.reject(error as Error))]);
  return { socket, opened };
}

/**
 * One WebSocket-era certificate exchange (docs/protocol-websocket.md, "Certificate exchange (insecure port)"): upgrade on the insecure port with the
 * SDK's query, one `signCertificate` text frame, the first frame back is the answer. Returns the ms
 * from opening the TCP connection to the answer.
 */
export async function timedWsExchange(port: number, identity: AppIdentity, target: ExchangeTarget): Promise<{ ms: number; deviceId: unknown }> {
  const query = sdkQuery({ os: target.os, device: target.device, deviceId: 'unknown', app: identity.appName, appId: identity.appId });
  const request = JSON.stringify({ method: 'signCertificate', csr: identity.csr, destination: target.folder, medium: 1, timestamp: Date.now() });
  const started = performance.now();
  const { socket, opened } = open(`ws://127.0.0.1:${port}?${query}`);
  try {
    await withTimeout(opened, ATTEMPT_TIMEOUT_MS, 'the WebSocket exchange connection', () => socket.terminate());
    const answer = once(socket, 'message');
    const closed = once(socket, 'close').then(() => Promise.reject(new Error('the host closed the exchange connection without answering')));
    socket.send(request);
    const [message] = (await withTimeout(Promise.race([answer, closed]), ATTEMPT_TIMEOUT_MS, 'the answer to signCertificate')) as [Buffer];
    const ms = performance.now() - started;
    const parsed = JSON.parse(message.toString() || '{}') as { deviceId?: unknown };
    return { ms, deviceId: parsed.deviceId };
  } finally {
    socket.terminate();
  }
}

/**
 * An app on the secure WebSocket port: TLS with the issued certificate, the SDK's query (with csr and
 * csr_path), and answers to the host's requests (`{id, success}` in one text frame), as an SDK does.
 */
export async function connectWsApp(port: number, material: TlsMaterial | undefined, identity: AppIdentity, device: string, folder: string, deviceId = 'bench'): Promise<BenchApp> {
  let answered!: () => void;
  const pluginsAnswered = new Promise<void>((resolve) => (answered = resolve));
  let firstRequestAt: number | undefined;
  const query = sdkQuery({ os: 'MacOS', device, deviceId, app: identity.appName, appId: identity.appId }, { pem: identity.csr, path: folder });
  // Without material: plain ws:// (only the bench's raw pair serves that).
  const { socket, opened } = material
    ? open(`wss://127.0.0.1:${port}?${query}`, { key: material.key, cert: material.cert, ca: material.ca, rejectUnauthorized: true, checkServerIdentity: noHostNameCheck })
    : open(`ws://127.0.0.1:${port}?${query}`);
  socket.on('message', (data) => {
    const request = JSON.parse(data.toString()) as HostRequest;
    if (typeof request.id !== 'number') return;
    firstRequestAt ??= performance.now();
    if (request.method === 'getBackgroundPlugins') answered();
    // The answer object with the request's id first, as the SDKs' responders build it.
    socket.send(`{"id":${request.id},${answerRequest(request).slice(1)}`);
  });
  await withTimeout(opened, ATTEMPT_TIMEOUT_MS, 'the secure WebSocket connection', () => socket.terminate());
  return {
    pluginsAnswered,
    get firstRequestAt() {
      return firstRequestAt;
    },
    send: (plugin, method, params) => socket.send(JSON.stringify({ method: 'execute', params: { api: plugin, method, params } })),
    close: () => socket.terminate(),
  };
}
