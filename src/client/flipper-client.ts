import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { type CertificateExchangeMedium, type ClientQuery } from '../core/client-query.js';
import { buildWebSocketQuery } from '../core/protocol/websocket-query.js';
import { createCsr } from '../core/x509/csr.js';
import { exportPkcs1PrivateKeyPem, generateRsaKeyPair } from '../core/x509/webcrypto.js';
import { type ClientPlugin } from './client-plugin.js';
import { PluginResponder } from './plugin-responder.js';
import { type ExchangeLink, type HostCallHandlers, type SecureLink } from './links.js';
import { openRSocketExchange, openRSocketSecure } from './rsocket-links.js';
import { openWebSocketExchange, openWebSocketSecure } from './websocket-links.js';
import { StateFolder } from './state-folder.js';

export interface FlipperClientOptions {
  /** Package or bundle id: the CN of the CSR. */
  appId: string;
  /** Human-readable name: `app` in the SETUP. */
  appName: string;
  /** `Android`, `iOS`, `MacOS`, `Windows` or `Linux`. */
  os: string;
  device: string;
  /** The app's private certificate folder (`…/sonar/`), where this client reads and writes its files. */
  stateDir: string;
  /**
   * The same folder as the host should name it, when the app's filesystem is seen from elsewhere
   * (an app "on a device" whose files this process reaches through a mapped folder). Default: stateDir.
   */
  reportedStateDir?: string;
  host?: string;
  ports?: { insecure: number; secure: number };
  plugins?: ClientPlugin[];
  sdkVersion?: number;
  medium?: number;
  /** Delay between attempts; the SDKs use 2 s. */
  reconnectMs?: number;
  /** `rsocket` (SDKs up to v0.134, ports 8089/8088) or `websocket` (v0.113 and later, ports 9089/9088). */
  transport?: 'rsocket' | 'websocket';
}

export type ClientState = 'idle' | 'exchanging' | 'connecting' | 'connected' | 'stopped';

/** Errors that mean "nobody is listening there": retried without counting as a failed attempt (docs/protocol-rsocket.md, "How the SDKs retry"). */
const PORT_CLOSED = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE']);

/**
 * The app side of the RSocket-era protocol, in TypeScript: what a Flipper SDK does inside an app.
 * Exchange on the insecure port when files are missing or after two counted failures, then a mutual-TLS
 * connection that answers the host's plugin calls. Reconnects every `reconnectMs`.
 *
 * Events: `state` (ClientState), `exchanged` ({deviceId}), `connected`, `disconnected`, `problem` (message),
 * `hostRequest` (method name, for each plugin-protocol call the host makes).
 */
export class FlipperClient extends EventEmitter {
  readonly state: StateFolder;
  private readonly options: Required<Omit<FlipperClientOptions, 'plugins' | 'reportedStateDir'>> & Pick<FlipperClientOptions, 'reportedStateDir'> & { plugins: ClientPlugin[] };
  private readonly responder: PluginResponder;
  private failures = 0;
  private link: SecureLink | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Whether the host used the current secure connection (asked something): proof it accepted us. */
  private acceptedByHost = false;
  private status: ClientState = 'idle';
  /** How many certificate exchanges this client completed (tests and diagnostics). */
  exchanges = 0;

  constructor(options: FlipperClientOptions) {
    super();
    const transport = options.transport ?? 'rsocket';
    this.options = {
      host: 'localhost',
      transport,
      ports: transport === 'websocket' ? { insecure: 9089, secure: 9088 } : { insecure: 8089, secure: 8088 },
      plugins: [],
      sdkVersion: 4,
      medium: 1,
      reconnectMs: 2000,
      ...options,
    };
    this.state = new StateFolder(options.stateDir);
    this.responder = new PluginResponder(this.options.plugins, (api, method, params) => this.sendMessage({ method: 'execute', params: { api, method, params } }));
  }

  get currentState(): ClientState {
    return this.status;
  }

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.link?.close();
    await this.running;
    this.running = undefined;
    this.setState('stopped');
  }

  /** Sends a plugin event as the SDKs' `connection.send` does. */
  send(plugin: string, method: string, params?: unknown): void {
    this.sendMessage({ method: 'execute', params: { api: plugin, method, params } });
  }

  /** Asks the host to re-read the plugin list (after plugins were added while connected). */
  refreshPlugins(): void {
    this.sendMessage({ method: 'refreshPlugins' });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let exchanged = false;
      try {
        if (this.failures >= 2 || !(await this.state.hasRequiredFiles())) exchanged = await this.exchange();
        else await this.connectSecurely();
      } catch (error) {
        this.problem(`unexpected client error: ${(error as Error).message}`);
      }
      if (this.stopped) break;
      // As the real SDKs: the secure connection follows a finished exchange at once; only failures and
      // dropped connections wait before the next attempt.
      if (!exchanged) await delay(this.options.reconnectMs);
    }
  }

  /** One certificate exchange; true when the host answered with a deviceId and the files are in place. */
  private async exchange(): Promise<boolean> {
    this.setState('exchanging');
    const { host, ports, transport } = this.options;
    let link: ExchangeLink;
    try {
      link =
        transport === 'websocket'
          ? await openWebSocketExchange(host, ports.insecure, buildWebSocketQuery(this.query('unknown'), { appId: this.options.appId }))
          : await openRSocketExchange(host, ports.insecure, this.identity('unknown'));
    } catch (error) {
      this.connectFailed(error, 'certificate exchange');
      return false;
    }
    if (this.stopped) {
      link.close();
      return false;
    }
    try {
      await this.state.reset();
      const keys = await generateRsaKeyPair();
      const csr = await createCsr(this.options.appId, keys);
      await this.state.writeKeyAndCsr(await exportPkcs1PrivateKeyPem(keys.privateKey), csr);
      this.failures = 0;
      const request = { method: 'signCertificate', csr, destination: this.reportedPath(), medium: this.options.medium, timestamp: Date.now() };
      const answer = JSON.parse((await link.request(JSON.stringify(request))) || '{}') as Record<string, unknown>;
      if (typeof answer.deviceId !== 'string') throw new Error('the host answered without a deviceId (it logs why)');
      const config = { deviceId: answer.deviceId, medium: this.options.medium };
      await this.state.writeConnectionConfig(config);
      const complete = await this.state.hasRequiredFiles();
      link.notify(JSON.stringify({ method: 'signCertificateAck', isError: false, config, hasRequiredFiles: complete }));
      this.exchanges++;
      this.emit('exchanged', { deviceId: answer.deviceId });
      // Files missing after a successful answer (written by a transport that lost them): wait as after a failure.
      return complete;
    } catch (error) {
      this.problem(`Desktop failed to provide certificates. Error from flipper desktop:\n${(error as Error).message}`);
      return false;
    } finally {
      link.close();
    }
  }

  private async connectSecurely(): Promise<void> {
    this.setState('connecting');
    const material = await this.state.readSecureMaterial();
    const { host, ports, transport } = this.options;
    const deviceId = material.deviceId ?? 'unknown';
    const handlers: HostCallHandlers = {
      request: (method, params) => {
        this.hostUsedConnection();
        this.emit('hostRequest', method);
        return this.responder.handle(method, params);
      },
      message: (text) => {
        this.hostUsedConnection();
        void this.handleMessage(text);
      },
    };
    let link: SecureLink;
    try {
      link =
        transport === 'websocket'
          ? await openWebSocketSecure(host, ports.secure, material, buildWebSocketQuery(this.query(deviceId), { appId: this.options.appId, csr: material.csr, csrPath: this.reportedPath() }), handlers)
          : await openRSocketSecure(host, ports.secure, material, { csr: material.csr, csr_path: this.reportedPath(), ...this.identity(deviceId) }, handlers);
    } catch (error) {
      this.connectFailed(error, 'secure connection');
      return;
    }
    if (this.stopped) {
      // stop() ran while this connection was being opened: it found no link to close.
      link.close();
      return;
    }
    this.link = link;
    this.acceptedByHost = false;
    this.setState('connected');
    this.emit('connected');
    const error = await link.closed;
    this.link = undefined;
    this.responder.disconnectAll();
    this.emit('disconnected', error);
    // TLS 1.3 refuses a client certificate only after the handshake: a connection the host closed before
    // asking anything was a refusal, and counts towards a fresh exchange.
    if (!this.acceptedByHost && !this.stopped) {
      this.failures++;
      this.problem(`the host closed the secure connection before using it${error ? ` (${error.message})` : ''}; failed attempts: ${this.failures}`);
    }
  }

  /** The host used the connection (asked something): it accepted us, so failed attempts start over. */
  private hostUsedConnection(): void {
    if (!this.acceptedByHost) {
      this.acceptedByHost = true;
      this.failures = 0;
    }
  }

  /** A message that expects no answer on this transport; legacy SDKs (sdk_version < 1) answer ids this way. */
  private async handleMessage(text: string): Promise<void> {
    let request: { id?: unknown; method?: unknown; params?: unknown };
    try {
      request = JSON.parse(text) as typeof request;
    } catch {
      return;
    }
    const answer = await this.responder.handle(request.method, request.params);
    if (typeof request.id === 'number') this.sendMessage({ id: request.id, ...answer });
    else if ('error' in answer) this.sendMessage(answer);
  }

  private sendMessage(message: Record<string, unknown>): void {
    this.link?.send(message);
  }

  private reportedPath(): string {
    const path = this.options.reportedStateDir ?? this.state.path;
    return path.endsWith('/') ? path : path + '/';
  }

  private query(deviceId: string): ClientQuery {
    const { os, device, appName, sdkVersion, medium } = this.options;
    return { os, device, app: appName, deviceId, sdkVersion, medium: medium as CertificateExchangeMedium };
  }

  private identity(deviceId: string): Record<string, unknown> {
    const { os, device, appName, sdkVersion, medium } = this.options;
    return { os, device, device_id: deviceId, app: appName, sdk_version: sdkVersion, medium };
  }

  private connectFailed(error: unknown, what: string): void {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && PORT_CLOSED.has(code)) {
      this.problem(`No route to flipper found for the ${what} (${code}). Is the host running? Retrying...`);
      return;
    }
    this.failures++;
    this.problem(`${what} failed (${(error as Error).message}). Make sure the date and time of your device is up to date. Failed attempts: ${this.failures}`);
  }

  private problem(message: string): void {
    this.emit('problem', message);
  }

  private setState(state: ClientState): void {
    this.status = state;
    this.emit('state', state);
  }
}
