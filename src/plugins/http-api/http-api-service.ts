import * as http from 'node:http';
import type * as net from 'node:net';
import { join } from 'node:path';
import { inject, injectable, multiInject, optional } from 'inversify';
import { API_TOKEN_FILE, HostAccessToken } from '../../core/access-token.js';
import { CertificateStore } from '../../core/certificate-store.js';
import { ClientRegistry, clientInfo } from '../../core/client-registry.js';
import { type DeviceReport, DeviceTransport, reportDevices } from '../../core/device-transport.js';
import { type Disposable, DisposableCollection, toDisposable } from '../../core/disposable.js';
import { EventFeed } from '../../core/event-feed.js';
import { HostConfig } from '../../core/host-config.js';
import { describeError } from '../../core/host-error.js';
import { MAX_JSON_DEPTH, jsonTooDeep } from '../../core/json-depth.js';
import { HostEvents } from '../../core/host-events.js';
import { type HostEndpoint, type HostService } from '../../core/host-service.js';
import { listen } from '../../core/listen.js';
import { guardUpgradeSocket, refuseUpgrade } from '../../core/upgrade-socket.js';
import { Logger } from '../../core/logger.js';
import { ApiAccess, loggablePath } from './api-access.js';
import { callClient, parseCallRequest } from './api-calls.js';
import { ApiProblem } from './api-problem.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { EventStreams } from './event-stream.js';
import { recordRunningHost, sonarhostVersion } from '../../core/running-host-record.js';
import { WS_API_PATH, WsApi } from './ws-api.js';

const MAX_BODY = 1024 * 1024;
const API_HOST = '127.0.0.1';

/**
 * The local HTTP API, the WebSocket API for tools and the dashboard, on 127.0.0.1 only. Every /api
 * request needs the bearer token from `<certDir>/api.token`; requests from other origins, and requests
 * whose Host is not a loopback name (DNS rebinding), are refused, and no CORS header is ever sent.
 * While it runs, `<certDir>/api.json` says where it listens, for the CLI.
 */
@injectable()
export class HttpApiService implements HostService {
  readonly id = 'http-api';
  readonly phase = 'servers' as const;
  private readonly log: Logger;
  private access: ApiAccess | undefined;
  boundPort: number | undefined;
  readonly eventStreams: EventStreams;
  readonly wsApi: WsApi;

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(ClientRegistry) private readonly registry: ClientRegistry,
    @inject(HostEvents) private readonly events: HostEvents,
    /** The host's events as the API serves them, with the recent-events ring. */
    @inject(EventFeed) readonly feed: EventFeed,
    @inject(CertificateStore) private readonly certificates: CertificateStore,
    @multiInject(DeviceTransport) @optional() private readonly transports: DeviceTransport[] | undefined,
    @inject(HostAccessToken) private readonly token: HostAccessToken,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('api');
    this.eventStreams = new EventStreams(this.feed, this.log);
    this.wsApi = new WsApi(this.registry, this.feed, () => this.health(), () => this.devices(), this.log);
  }

  async start(): Promise<Disposable> {
    const running = new DisposableCollection();
    if (this.config.api.port === false) return running;
    this.access = new ApiAccess(await this.token.get(), join(this.config.certDir, API_TOKEN_FILE), () => this.boundPort ?? 0);
    running.push(this.feed.retain());
    const sockets = new Set<net.Socket>();
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.upgrade(req, socket, head));
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    const address = await listen(server, this.config.api.port, API_HOST, 'SONARHOST_API_PORT or --api-port (or "off")');
    this.boundPort = address.port;
    running.push(
      toDisposable(async () => {
        this.eventStreams.dispose();
        this.wsApi.dispose();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      }),
    );
    const url = `http://${API_HOST}:${address.port}`;
    running.push(await recordRunningHost(this.config.certDir, { url, wsUrl: `ws://${API_HOST}:${address.port}${WS_API_PATH}`, pid: process.pid, version: sonarhostVersion(), startedAt: new Date().toISOString() }));
    this.log.info('API and dashboard listening', { url: `${url}/`, tokenFile: `${this.config.certDir}/${API_TOKEN_FILE}` });
    return running;
  }

  endpoints(): HostEndpoint[] {
    return this.boundPort === undefined ? [] : [{ id: 'api', port: this.boundPort }];
  }

  private health(): unknown {
    return { status: 'ok', clients: this.registry.list().length, uptimeSeconds: Math.round(process.uptime()) };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      this.access!.checkOrigin(req);
      const url = requestUrl(req);
      if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) return send(res, 200, DASHBOARD_HTML, 'text/html; charset=utf-8');
      // The page declares no icon; this answers browsers that ask anyway, without a 404 in their console.
      if (req.method === 'GET' && url.pathname === '/favicon.ico') return void res.writeHead(204, { 'cache-control': 'max-age=86400' }).end();
      if (!url.pathname.startsWith('/api/')) throw new ApiProblem('not-found', 'not found');
      if (req.method === 'GET' && url.pathname === '/api/hello') return sendJson(res, 200, this.access!.hello(url));
      this.access!.checkToken(req, url, url.pathname === '/api/events');
      await this.route(req, res, url);
    } catch (error) {
      if (error instanceof ApiProblem) return sendJson(res, error.status, error.body());
      // The path only: the query may carry the token, which must never reach a log.
      this.log.warn('API request failed', { path: loggablePath(req), error: describeError(error) });
      sendJson(res, 500, { kind: 'internal', error: describeError(error) });
    }
  }

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    guardUpgradeSocket(socket);
    try {
      this.access!.checkOrigin(req);
      const url = requestUrl(req);
      if (url.pathname !== WS_API_PATH) throw new ApiProblem('not-found', `the WebSocket API is at ${WS_API_PATH}`);
      this.access!.checkToken(req, url, true);
      this.wsApi.accept(req, socket, head);
    } catch (error) {
      const problem = error instanceof ApiProblem ? error : new ApiProblem('internal', describeError(error));
      refuseUpgrade(socket, problem.status, JSON.stringify(problem.body()), 'application/json');
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    if (req.method === 'GET' && path === '/api/health') return sendJson(res, 200, this.health());
    if (req.method === 'GET' && path === '/api/clients') return sendJson(res, 200, this.registry.list().map(clientInfo));
    if (req.method === 'GET' && path === '/api/exchanges') return sendJson(res, 200, this.events.recentExchanges());
    if (req.method === 'GET' && path === '/api/devices') return sendJson(res, 200, await this.devices());
    if (req.method === 'GET' && path === '/api/certificates') return sendJson(res, 200, await this.certificates.describe());
    if (req.method === 'GET' && path === '/api/events') return this.eventStreams.open(res, url.searchParams.has('recent'));
    if (req.method === 'GET' && path === '/api/events/recent') return send(res, 200, `[${this.feed.recent().map((f) => f.json).join(',')}]`, 'application/json');
    const call = /^\/api\/clients\/([^/]+)\/call$/.exec(path);
    if (req.method === 'POST' && call) {
      const result = await callClient(this.registry, decodeClientRef(call[1]!), parseCallRequest(await readJson(req)));
      return sendJson(res, 200, { success: result });
    }
    throw new ApiProblem('not-found', `no route for ${req.method} ${path}`);
  }

  private devices(): Promise<DeviceReport[]> {
    return reportDevices(this.transports ?? []);
  }
}

/**
 * The request's URL. An origin-form target is appended to the base rather than resolved against it:
 * `new URL('//x', base)` would read "x" as a host name (and throw on `//` alone, answered as a 500).
 */
function requestUrl(req: http.IncomingMessage): URL {
  const target = req.url ?? '/';
  try {
    return new URL(target.startsWith('/') ? `http://${API_HOST}${target}` : target);
  } catch {
    throw new ApiProblem('bad-request', 'the request target must be a path, such as /api/health');
  }
}

function decodeClientRef(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiProblem('bad-request', `the client id in the path is not valid percent-encoding: encode the full id with encodeURIComponent, or use its short id`);
  }
}

/** Every answer refuses to be framed: no other page may overlay the dashboard (clickjacking). */
const NO_FRAMING = { 'x-frame-options': 'DENY', 'content-security-policy': "frame-ancestors 'none'" };

function send(res: http.ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...NO_FRAMING });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), 'application/json');
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ApiProblem('body-too-large', `the body is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (error) {
    throw new ApiProblem('bad-request', `the body is not valid JSON (${describeError(error)}); send a JSON object`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiProblem('bad-request', 'the body must be a JSON object');
  if (jsonTooDeep(value)) throw new ApiProblem('bad-request', `the body nests deeper than ${MAX_JSON_DEPTH} levels of arrays and objects`);
  return value as Record<string, unknown>;
}
