import * as http from 'node:http';
import type * as net from 'node:net';
import { join } from 'node:path';
import { inject, injectable, multiInject, optional } from 'inversify';
import { API_TOKEN_FILE, HostAccessToken } from '../../core/access-token.js';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { type AppSession } from '../../core/app-session.js';
import { ClientRegistry } from '../../core/client-registry.js';
import { DeviceTransport } from '../../core/device-transport.js';
import { type Disposable, DisposableCollection, toDisposable } from '../../core/disposable.js';
import { HostConfig } from '../../core/host-config.js';
import { HostError, describeError } from '../../core/host-error.js';
import { type HostEvent, HostEvents } from '../../core/host-events.js';
import { type HostEndpoint, type HostService } from '../../core/host-service.js';
import { type AddressListener, listen, listenEverywhere } from '../../core/listen.js';
import { guardUpgradeSocket, refuseUpgrade } from '../../core/upgrade-socket.js';
import { Logger } from '../../core/logger.js';
import { sonarhostVersion } from '../../core/sonarhost-version.js';
import { FlipperAccess } from './flipper-access.js';
import { type FlipperCommandContext, runFlipperCommand } from './flipper-commands.js';
import { flipperServerConfig } from './flipper-config.js';
import { describeClient } from './flipper-descriptions.js';
import { FlipperDeviceLogs } from './flipper-device-logs.js';
import { type DeviceChange, FlipperDevices } from './flipper-devices.js';
import { FlipperDoctor } from './flipper-doctor.js';
import { FlipperPlugins, FlipperUiFiles } from './flipper-plugin-source.js';
import { FlipperSettings } from './flipper-settings.js';
import { FLIPPER_UI_LIMITS, type FlipperUiLimits, FlipperUiSockets } from './flipper-ui-sockets.js';

/** Where flipper-server 0.212+ clients look for the token, beside our own api.token. */
export const FLIPPER_AUTH_TOKEN_FILE = 'auth.token';
/** Like flipper-server: both loopback addresses, whatever the app-facing bind addresses are. */
const LOOPBACK_HOSTS = ['127.0.0.1', '::1'];
const MOVE_HINT = 'SONARHOST_FLIPPER_PORT or --flipper-port (or "off")';
/** For tests: smaller limits. */
export const FlipperUiLimitsToken = Symbol('FlipperUiLimits');

/**
 * A flipper-server-compatible endpoint on loopback (default port 52342), so Flipper's own browser UI and
 * flipper-server-client tools (Player devtools and the like) see sonarhost's devices and apps. A thin
 * translation over the core: the command table maps names onto the registry, the device transports and
 * the plugin catalog; host events become flipper-server's server events for every UI socket.
 */
@injectable()
export class FlipperServerApiService implements HostService {
  readonly id = 'flipper-server-api';
  readonly phase = 'servers' as const;
  private readonly log: Logger;
  boundPort: number | undefined;
  readonly devices: FlipperDevices;
  readonly sockets: FlipperUiSockets;
  readonly deviceLogs: FlipperDeviceLogs;
  private readonly settings: FlipperSettings;
  private access: FlipperAccess | undefined;
  private readonly context: FlipperCommandContext;

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(ClientRegistry) private readonly registry: ClientRegistry,
    @inject(HostEvents) private readonly events: HostEvents,
    @multiInject(DeviceTransport) @optional() private readonly transports: DeviceTransport[] | undefined,
    @inject(FlipperPlugins) private readonly plugins: FlipperPlugins,
    @inject(FlipperUiFiles) private readonly uiFiles: FlipperUiFiles,
    @inject(HostAccessToken) private readonly token: HostAccessToken,
    @inject(Logger) logger: Logger,
    @inject(FlipperUiLimitsToken) @optional() limits: FlipperUiLimits | undefined,
  ) {
    this.log = logger.child('flipper-server-api');
    this.settings = new FlipperSettings(config.certDir);
    this.devices = new FlipperDevices(this.transports ?? [], this.log, (change) => this.deviceChanged(change));
    this.context = {
      registry: this.registry,
      devices: this.devices,
      plugins: this.plugins,
      settings: this.settings,
      doctor: new FlipperDoctor(this.transports ?? []),
      config: async () => flipperServerConfig({ settings: await this.settings.load(), port: this.boundPort ?? 0, staticDir: this.uiFiles.staticDir, version: sonarhostVersion() }),
      screenshot: (serial) => this.screenshot(serial),
      requestTimeoutMs: (limits ?? FLIPPER_UI_LIMITS).commandTimeoutMs,
    };
    this.sockets = new FlipperUiSockets((command, args) => runFlipperCommand(this.context, command, args), this.log, (count) => this.deviceLogs.setActive(count > 0), limits ?? FLIPPER_UI_LIMITS);
    this.deviceLogs = new FlipperDeviceLogs(() => this.devices.list(), (serial, entry) => this.sockets.emit('device-log', { serial, entry }), this.log);
  }

  endpoints(): HostEndpoint[] {
    return this.boundPort === undefined ? [] : [{ id: 'flipper-server', port: this.boundPort }];
  }

  async start(): Promise<Disposable> {
    const running = new DisposableCollection();
    if (this.config.flipperServer.port === false) return running;
    const token = await this.token.get();
    // flipper-server 0.212+ clients read the token from auth.token in their certificate folder.
    await writeFileAtomic(join(this.config.certDir, FLIPPER_AUTH_TOKEN_FILE), token + '\n', 0o600);
    this.access = new FlipperAccess(token, join(this.config.certDir, API_TOKEN_FILE), () => this.boundPort ?? 0);
    running.push(this.events.subscribe((event) => this.hostEvent(event)));
    for (const session of this.registry.list()) this.devices.clientConnected(session);
    // Not awaited: a slow adb or usbmuxd must not hold up the host; the UI hears of devices as they are found.
    void this.devices.refresh();
    const bound = await listenEverywhere({ name: "Flipper's UI API", port: this.config.flipperServer.port, hosts: LOOPBACK_HOSTS, log: this.log, listenOn: (host, port) => this.listenOn(host, port) });
    this.boundPort = bound.port;
    running.push(
      toDisposable(() => {
        this.deviceLogs.dispose();
        this.sockets.dispose();
      }),
      bound.listeners,
    );
    this.log.info("Flipper's UI API listening", { url: `http://localhost:${bound.port}/`, login: `http://localhost:${bound.port}/?token=<the token in ${this.config.certDir}/${API_TOKEN_FILE}>` });
    return running;
  }

  private async listenOn(host: string, port: number): Promise<AddressListener> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.upgrade(req, socket, head));
    const sockets = new Set<net.Socket>();
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    const address = await listen(server, port, host, MOVE_HINT);
    return {
      address,
      stop: toDisposable(async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      }),
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Never framed by another page (clickjacking of the UI); set before any answer, the UI files' too.
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('content-security-policy', "frame-ancestors 'none'");
    try {
      const url = requestUrl(req);
      if (url.pathname === '/health') {
        const place = this.access!.checkPlace(req);
        return place ? sendText(res, place.status, place.message) : sendText(res, 200, 'flipper-ok');
      }
      if (url.pathname === '/api/hello' && req.method === 'GET') {
        // `sonarhost ui` asks this before it hands the token to a browser aimed at this port: only the host
        // can prove it holds the token (src/core/host-proof.ts), not a program that took the port.
        const place = this.access!.checkPlace(req);
        if (place) return sendText(res, place.status, place.message);
        const hello = this.access!.hello(url);
        if (!hello) return sendText(res, 400, 'GET /api/hello needs ?nonce= with 32 to 128 lowercase hex digits');
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        return void res.end(JSON.stringify(hello));
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'only GET is served here; the API is the WebSocket on /');
      const refusal = this.access!.check(req, url);
      if (refusal) return sendText(res, refusal.status, refusal.message);
      if (url.searchParams.has('token')) {
        // The login: keep the token in an HttpOnly cookie and take it out of the address bar (and history).
        res.writeHead(303, { 'set-cookie': this.access!.loginCookie(), location: url.pathname, 'cache-control': 'no-store' });
        return void res.end();
      }
      if (await this.uiFiles.serve(req, res, url.pathname)) return;
      if (url.pathname === '/' || url.pathname === '/index.html') return sendText(res, 200, this.uiFiles.missing ?? "Flipper's UI is not installed.");
      sendText(res, 404, 'not found');
    } catch (error) {
      this.log.warn("a request to Flipper's UI API failed", { path: (req.url ?? '/').split('?')[0]!.slice(0, 200), error: describeError(error) });
      if (!res.headersSent) sendText(res, 500, describeError(error));
      else res.destroy();
    }
  }

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    guardUpgradeSocket(socket);
    let refusal: { status: number; message: string } | undefined;
    try {
      const url = requestUrl(req);
      refusal = this.access!.check(req, url) ?? (url.pathname !== '/' ? { status: 404, message: 'the WebSocket API is on /' } : undefined);
    } catch (error) {
      refusal = { status: 400, message: describeError(error) };
    }
    if (!refusal && this.sockets.isFull) refusal = { status: 503, message: "too many Flipper UI sockets are open; close some UI tabs or tools" };
    if (refusal) {
      refuseUpgrade(socket, refusal.status, refusal.message + '\n', 'text/plain; charset=utf-8');
      return;
    }
    this.sockets.accept(req, socket, head);
  }

  private hostEvent(event: HostEvent): void {
    switch (event.type) {
      case 'client-connected': {
        const session = this.registry.get(event.client.id);
        if (session) this.clientConnected(session);
        return;
      }
      case 'client-disconnected':
        this.sockets.emit('client-disconnected', { id: event.clientId });
        this.devices.clientDisconnected(event.clientId);
        return;
      case 'plugin-event':
        // The app's message as flipper-server forwards it: the raw JSON text of the execute message.
        if (this.sockets.count > 0) this.sockets.emit('client-message', { id: event.clientId, message: JSON.stringify({ method: 'execute', params: { api: event.plugin, method: event.method, params: event.params } }) });
        return;
      case 'device':
        void this.devices.refresh(event.transport);
        return;
      default:
        return;
    }
  }

  private clientConnected(session: AppSession): void {
    const description = describeClient(session);
    this.sockets.emit('client-setup', { os: session.query.os, deviceName: session.query.device, appName: session.query.app });
    this.devices.clientConnected(session); // announces its device first when it is new
    this.sockets.emit('client-connected', description);
  }

  private deviceChanged({ kind, device }: DeviceChange): void {
    this.sockets.emit(kind === 'connected' ? 'device-connected' : 'device-disconnected', device.description);
    if (kind === 'connected') this.deviceLogs.deviceAdded(device);
    else this.deviceLogs.deviceRemoved(device.description.serial);
  }

  private async screenshot(serial: string): Promise<Buffer> {
    const device = this.devices.find(serial);
    if (!device) throw new HostError('device-not-found', `No device has the serial ${JSON.stringify(serial.slice(0, 200))}; device-list shows them.`);
    const take = device.source?.transport.takeScreenshot;
    if (!device.source || !take) throw new HostError('device-unavailable', `sonarhost cannot take screenshots of ${device.description.title} (${serial}).`);
    return take.call(device.source.transport, device.source.deviceId);
  }
}

/** The request's path and query; a target such as `//x` is a path here, never a host name. */
function requestUrl(req: http.IncomingMessage): URL {
  const target = req.url ?? '/';
  try {
    return new URL(target.startsWith('/') ? `http://localhost${target}` : target);
  } catch {
    throw new HostError('protocol-invalid', 'the request target must be a path, such as /');
  }
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(text + '\n');
}
