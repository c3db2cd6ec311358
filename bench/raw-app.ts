import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type * as net from 'node:net';
import { join } from 'node:path';
import { type Payload, type Responder } from 'rsocket-types';
import { type OpenedRSocket, connectTcp, connectTls, openRSocket, requestResponse } from '../src/client/rsocket-connection.js';
import { singleFrom } from '../src/core/protocol/rsocket-single.js';
import { createCsr } from '../src/core/x509/csr.js';
import { exportPkcs1PrivateKeyPem, generateRsaKeyPair } from '../src/core/x509/webcrypto.js';
import { withTimeout } from './processes.js';

/** No single exchange or connection attempt may hang the bench. */
const ATTEMPT_TIMEOUT_MS = 20_000;

/** An app identity made once, before anything is timed (RSA key generation is an SDK-side cost). */
export interface AppIdentity {
  appId: string;
  appName: string;
  csr: string;
  keyPem: string;
}

export async function makeIdentity(appId: string, appName: string): Promise<AppIdentity> {
  const keys = await generateRsaKeyPair();
  return { appId, appName, csr: await createCsr(appId, keys), keyPem: await exportPkcs1PrivateKeyPem(keys.privateKey) };
}

/** A state folder holding the identity's app.csr, as an SDK leaves it before the exchange. Ends with '/'. */
export async function prepareFolder(folder: string, identity: AppIdentity): Promise<string> {
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await writeFile(join(folder, 'app.csr'), identity.csr);
  return folder.endsWith('/') ? folder : folder + '/';
}

export interface ExchangeTarget {
  os: string;
  device: string;
  folder: string;
}

/**
 * One certificate exchange as the SDKs make it: connect to the insecure port, SETUP, `signCertificate`
 * request-response. Returns the ms from opening the connection to the answer, and the answer.
 */
export async function timedExchange(port: number, identity: AppIdentity, target: ExchangeTarget): Promise<{ ms: number; deviceId: unknown }> {
  const setup = JSON.stringify({ os: target.os, device: target.device, device_id: 'unknown', app: identity.appName, sdk_version: 4, medium: 1 });
  const request = JSON.stringify({ method: 'signCertificate', csr: identity.csr, destination: target.folder, medium: 1, timestamp: Date.now() });
  const started = performance.now();
  let raw: net.Socket | undefined;
  const connect = () => (raw = connectTcp('127.0.0.1', port)());
  const { socket } = await withTimeout(openRSocket(connect, 'connect', setup, {}), ATTEMPT_TIMEOUT_MS, 'the exchange connection', () => raw?.destroy());
  try {
    const answer = await withTimeout(requestResponse(socket, request), ATTEMPT_TIMEOUT_MS, 'the answer to signCertificate');
    const ms = performance.now() - started;
    const parsed = JSON.parse(answer.data || '{}') as { deviceId?: unknown };
    return { ms, deviceId: parsed.deviceId };
  } finally {
    socket.close();
  }
}

export interface TlsMaterial {
  key: string;
  cert: string;
  ca: string;
}

/** The client certificate a host issued into `folder` by an exchange, with the identity's key. */
export async function readMaterial(folder: string, identity: AppIdentity): Promise<TlsMaterial> {
  return { key: identity.keyPem, cert: await readFile(join(folder, 'device.crt'), 'utf8'), ca: await readFile(join(folder, 'sonarCA.crt'), 'utf8') };
}

/** What the app answers: the plugin list, and `execute` echoes its params (JSON in, JSON out, as an SDK does). */
export function answerHostCall(data: string | undefined | null): string {
  return answerRequest(JSON.parse(data ?? '{}') as HostRequest);
}

export interface HostRequest {
  id?: unknown;
  method?: unknown;
  params?: { params?: unknown };
}

/** answerHostCall for a request already parsed. */
export function answerRequest(request: HostRequest): string {
  switch (request.method) {
    case 'getPlugins':
      return '{"success":{"plugins":["echo"]}}';
    case 'getBackgroundPlugins':
      return '{"success":{"plugins":[]}}';
    case 'execute':
      return JSON.stringify({ success: request.params?.params ?? null });
    default:
      return '{"success":{}}';
  }
}

/** An app on a host's secure port, whatever the transport. */
export interface BenchApp {
  /** Resolves when the host asked getBackgroundPlugins (so it has the answer to getPlugins). */
  pluginsAnswered: Promise<void>;
  /** performance.now() when the host's first request (getPlugins) arrived, once it has. */
  readonly firstRequestAt: number | undefined;
  /** Plugin event from the app (fire-and-forget `execute`). */
  send(plugin: string, method: string, params: unknown): void;
  close(): void;
}

export interface RawApp extends BenchApp {
  opened: OpenedRSocket;
}

/**
 * A lightweight app on the secure port: TLS with the issued certificate, the SDKs' SETUP (sdk_version 4,
 * with csr and csr_path), and a responder that answers the host's plugin calls.
 */
export async function connectRawApp(port: number, material: TlsMaterial, identity: AppIdentity, device: string, folder: string, deviceId = ''): Promise<RawApp> {
  let answered!: () => void;
  const pluginsAnswered = new Promise<void>((resolve) => (answered = resolve));
  let firstRequestAt: number | undefined;
  const responder: Partial<Responder<string, string>> = {
    requestResponse: (payload: Payload<string, string>) =>
      singleFrom(async () => {
        firstRequestAt ??= performance.now();
        if (payload.data?.includes('"getBackgroundPlugins"')) answered();
        return answerHostCall(payload.data);
      }),
    fireAndForget: () => undefined,
  };
  const setup = JSON.stringify({ os: 'MacOS', device, device_id: deviceId, app: identity.appName, sdk_version: 4, medium: 1, csr: identity.csr, csr_path: folder });
  let raw: net.Socket | undefined;
  const connect = () => (raw = connectTls('127.0.0.1', port, material)());
  const opened = await withTimeout(openRSocket(connect, 'secureConnect', setup, responder), ATTEMPT_TIMEOUT_MS, 'the secure connection', () => raw?.destroy());
  return {
    opened,
    pluginsAnswered,
    get firstRequestAt() {
      return firstRequestAt;
    },
    send: (plugin, method, params) => opened.socket.fireAndForget({ data: JSON.stringify({ method: 'execute', params: { api: plugin, method, params } }), metadata: '' }),
    close: () => opened.socket.close(),
  };
}
