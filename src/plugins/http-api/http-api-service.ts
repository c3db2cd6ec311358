import * as http from 'node:http';
import type * as net from 'node:net';
import { inject, injectable, multiInject, optional } from 'inversify';
import { CertificateStore } from '../../core/certificate-store.js';
import { ClientRegistry, clientInfo } from '../../core/client-registry.js';
import { DeviceTransport } from '../../core/device-transport.js';
import { type Disposable, DisposableCollection, toDisposable } from '../../core/disposable.js';
import { HostConfig } from '../../core/host-config.js';
import { describeError } from '../../core/host-error.js';
import { HostEvents } from '../../core/host-events.js';
import { type HostService } from '../../core/host-service.js';
import { listen } from '../../core/listen.js';
import { Logger } from '../../core/logger.js';
import { AppResponseError } from '../../core/protocol/json-message.js';
import { ensureApiToken, tokenMatches } from './api-token.js';
import { DASHBOARD_HTML } from './dashboard-page.js';

const MAX_BODY = 1024 * 1024;
const API_HOST = '127.0.0.1';
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

/**
 * The local HTTP API and the dashboard, on 127.0.0.1 only. Every /api request needs the bearer token
 * from `<certDir>/api.token` (or `?token=` for the event stream, which browsers cannot give headers);
 * requests from other origins, and requests whose Host is not a loopback name (DNS rebinding), are
 * refused, and no CORS header is ever sent.
 */
@injectable()
export class HttpApiService implements HostService {
  readonly id = 'http-api';
  readonly phase = 'servers' as const;
  private readonly log: Logger;
  private token = '';
  boundPort: number | undefined;

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(ClientRegistry) private readonly registry: ClientRegistry,
    @inject(HostEvents) private readonly events: HostEvents,
    @inject(CertificateStore) private readonly certificates: CertificateStore,
    @multiInject(DeviceTransport) @optional() private readonly transports: DeviceTransport[] | undefined,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('api');
  }

  async start(): Promise<Disposable> {
    const running = new DisposableCollection();
    if (this.config.api.port === false) return running;
    this.token = await ensureApiToken(this.config.certDir);
    const sockets = new Set<net.Socket>();
    const server = http.createServer((req, res) => void this.handle(req, res, running));
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    const address = await listen(server, this.config.api.port, API_HOST, 'SONARHOST_API_PORT or --api-port (or "off")');
    this.boundPort = address.port;
    running.push(
      toDisposable(async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      }),
    );
    this.log.info('API and dashboard listening', { url: `http://${API_HOST}:${address.port}/`, tokenFile: `${this.config.certDir}/api.token` });
    return running;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, running: DisposableCollection): Promise<void> {
    try {
      this.checkOrigin(req);
      const url = new URL(req.url ?? '/', `http://${API_HOST}`);
      if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
        return send(res, 200, DASHBOARD_HTML, 'text/html; charset=utf-8');
      }
      if (!url.pathname.startsWith('/api/')) throw new HttpProblem(404, 'not found');
      this.checkToken(req, url);
      await this.route(req, res, url, running);
    } catch (error) {
      if (error instanceof HttpProblem) return sendJson(res, error.status, error.body ?? { error: error.message });
      this.log.warn('API request failed', { path: req.url, error: describeError(error) });
      sendJson(res, 500, { error: describeError(error) });
    }
  }

  private checkOrigin(req: http.IncomingMessage): void {
    const hostHeader = req.headers.host ?? '';
    const hostName = hostHeader.replace(/:\d+$/, '');
    if (!LOOPBACK_NAMES.includes(hostName)) throw new HttpProblem(403, `refused: Host "${hostHeader}" is not this machine's loopback address`);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${hostHeader}`) throw new HttpProblem(403, 'refused: cross-origin requests are not allowed');
  }

  private checkToken(req: http.IncomingMessage, url: URL): void {
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7).trim() : (url.searchParams.get('token') ?? undefined);
    if (!tokenMatches(this.token, given)) {
      throw new HttpProblem(401, `missing or wrong token: send "Authorization: Bearer <token>" with the token from ${this.config.certDir}/api.token`);
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, running: DisposableCollection): Promise<void> {
    const path = url.pathname;
    if (req.method === 'GET' && path === '/api/health') return sendJson(res, 200, { status: 'ok', clients: this.registry.list().length, uptimeSeconds: Math.round(process.uptime()) });
    if (req.method === 'GET' && path === '/api/clients') return sendJson(res, 200, this.registry.list().map(clientInfo));
    if (req.method === 'GET' && path === '/api/exchanges') return sendJson(res, 200, this.events.recentExchanges());
    if (req.method === 'GET' && path === '/api/devices') return sendJson(res, 200, await this.devices());
    if (req.method === 'GET' && path === '/api/certificates') return sendJson(res, 200, await this.certificates.describe());
    if (req.method === 'GET' && path === '/api/events') return this.stream(req, res, running);
    const call = /^\/api\/clients\/([^/]+)\/call$/.exec(path);
    if (req.method === 'POST' && call) return this.call(decodeURIComponent(call[1]!), req, res);
    throw new HttpProblem(404, `no route for ${req.method} ${path}`);
  }

  private async devices(): Promise<unknown[]> {
    return Promise.all(
      (this.transports ?? [])
        .filter((t) => t.listDevices)
        .map(async (t) => {
          try {
            return { transport: t.id, devices: await t.listDevices!() };
          } catch (error) {
            return { transport: t.id, devices: [], problem: describeError(error) };
          }
        }),
    );
  }

  private async call(clientId: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const session = this.registry.get(clientId);
    if (!session) throw new HttpProblem(404, `no connected client with id ${JSON.stringify(clientId)}`);
    const body = await readJson(req);
    if (typeof body.method !== 'string' || body.method === '') throw new HttpProblem(400, 'the body must be {"method": <string>, "params"?: <any>}');
    const timeoutMs = typeof body.timeoutMs === 'number' && body.timeoutMs > 0 ? Math.min(body.timeoutMs, 120_000) : undefined;
    try {
      sendJson(res, 200, { success: await session.request(body.method, body.params, timeoutMs) });
    } catch (error) {
      if (error instanceof AppResponseError) return sendJson(res, 502, { error: error.appError });
      sendJson(res, 504, { error: describeError(error) });
    }
  }

  /** Server-sent events: every HostEvent as `event: <type>` with JSON data, and a comment every 15 s. */
  private stream(req: http.IncomingMessage, res: http.ServerResponse, running: DisposableCollection): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
    const subscription = this.events.subscribe((event) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const stop = toDisposable(() => {
      clearInterval(heartbeat);
      void subscription.dispose();
      res.end();
    });
    running.push(stop);
    req.on('close', () => void stop.dispose());
  }
}

function send(res: http.ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
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
    if (size > MAX_BODY) throw new HttpProblem(413, `the body is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new HttpProblem(400, 'the body must be a JSON object');
}
