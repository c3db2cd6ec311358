import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { type Payload, type ReactiveSocket, type Responder } from 'rsocket-types';
import { singleFrom } from '../core/protocol/rsocket-single.js';
import { createCsr } from '../core/x509/csr.js';
import { exportPkcs1PrivateKeyPem, generateRsaKeyPair } from '../core/x509/webcrypto.js';
import { type ClientPlugin } from './client-plugin.js';
import { PluginResponder } from './plugin-responder.js';
import { connectTcp, connectTls, openRSocket, requestResponse } from './rsocket-connection.js';
import { StateFolder } from './state-folder.js';

export interface FlipperClientOptions {
  /** Package or bundle id: the CN of the CSR. */
  appId: string;
  /** Human-readable name: `app` in the SETUP. */
  appName: string;
  /** `Android`, `iOS`, `MacOS`, `Windows` or `Linux`. */
  os: string;
  device: string;
  /** The app's private certificate folder (`…/sonar/`). */
  stateDir: string;
  host?: string;
  ports?: { insecure: number; secure: number };
  plugins?: ClientPlugin[];
  sdkVersion?: number;
  medium?: number;
  /** Delay between attempts; the SDKs use 2 s. */
  reconnectMs?: number;
}

export type ClientState = 'idle' | 'exchanging' | 'connecting' | 'connected' | 'stopped';

/** Errors that mean "nobody is listening there": retried without counting as a failed attempt (doc §8). */
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
  private readonly options: Required<Omit<FlipperClientOptions, 'plugins'>> & { plugins: ClientPlugin[] };
  private readonly responder: PluginResponder;
  private failures = 0;
  private current: ReactiveSocket<string, string> | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Whether the host used the current secure connection (asked something): proof it accepted us. */
  private acceptedByHost = false;
  private status: ClientState = 'idle';
  /** How many certificate exchanges this client completed (tests and diagnostics). */
  exchanges = 0;

  constructor(options: FlipperClientOptions) {
    super();
    this.options = {
      host: 'localhost',
      ports: { insecure: 8089, secure: 8088 },
      plugins: [],
      sdkVersion: 4,
      medium: 1,
      reconnectMs: 2000,
      ...options,
    };
    this.state = new StateFolder(options.stateDir);
    this.responder = new PluginResponder(this.options.plugins, (api, method, params) => this.sendFireAndForget({ method: 'execute', params: { api, method, params } }));
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
    this.current?.close();
    await this.running;
    this.running = undefined;
    this.setState('stopped');
  }

  /** Sends a plugin event as the SDKs' `connection.send` does. */
  send(plugin: string, method: string, params?: unknown): void {
    this.sendFireAndForget({ method: 'execute', params: { api: plugin, method, params } });
  }

  /** Asks the host to re-read the plugin list (after plugins were added while connected). */
  refreshPlugins(): void {
    this.sendFireAndForget({ method: 'refreshPlugins' });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.failures >= 2 || !(await this.state.hasRequiredFiles())) await this.exchange();
        else await this.connectSecurely();
      } catch (error) {
        this.problem(`unexpected client error: ${(error as Error).message}`);
      }
      if (this.stopped) break;
      await delay(this.options.reconnectMs);
    }
  }

  private async exchange(): Promise<void> {
    this.setState('exchanging');
    const { host, ports } = this.options;
    let opened;
    try {
      opened = await openRSocket(connectTcp(host, ports.insecure), 'connect', JSON.stringify(this.identity('unknown')), {});
    } catch (error) {
      this.connectFailed(error, 'certificate exchange');
      return;
    }
    this.current = opened.socket;
    try {
      await this.state.reset();
      const keys = await generateRsaKeyPair();
      const csr = await createCsr(this.options.appId, keys);
      await this.state.writeKeyAndCsr(await exportPkcs1PrivateKeyPem(keys.privateKey), csr);
      this.failures = 0;
      const request = { method: 'signCertificate', csr, destination: this.state.path, medium: this.options.medium };
      const response = await requestResponse(opened.socket, JSON.stringify(request));
      const answer = JSON.parse(response.data ?? '{}') as Record<string, unknown>;
      await this.state.writeConnectionConfig({ ...answer, medium: this.options.medium });
      this.exchanges++;
      this.emit('exchanged', { deviceId: answer.deviceId });
    } catch (error) {
      this.problem(`Desktop failed to provide certificates. Error from flipper desktop:\n${(error as Error).message}`);
    } finally {
      opened.socket.close();
      this.current = undefined;
    }
  }

  private async connectSecurely(): Promise<void> {
    this.setState('connecting');
    const material = await this.state.readSecureMaterial();
    const setup = { csr: material.csr, csr_path: this.state.path, ...this.identity(material.deviceId ?? 'unknown') };
    let opened;
    try {
      opened = await openRSocket(connectTls(this.options.host, this.options.ports.secure, material), 'secureConnect', JSON.stringify(setup), this.secureResponder());
    } catch (error) {
      this.connectFailed(error, 'secure connection');
      return;
    }
    this.current = opened.socket;
    this.acceptedByHost = false;
    this.setState('connected');
    this.emit('connected');
    const error = await opened.closed;
    this.current = undefined;
    this.responder.disconnectAll();
    this.emit('disconnected', error);
    // TLS 1.3 refuses a client certificate only after the handshake: a connection the host closed before
    // asking anything was a refusal, and counts towards a fresh exchange.
    if (!this.acceptedByHost && !this.stopped) {
      this.failures++;
      this.problem(`the host closed the secure connection before using it${error ? ` (${error.message})` : ''}; failed attempts: ${this.failures}`);
    }
  }

  private secureResponder(): Partial<Responder<string, string>> {
    const accepted = () => {
      if (!this.acceptedByHost) {
        this.acceptedByHost = true;
        this.failures = 0;
      }
    };
    return {
      requestResponse: (payload: Payload<string, string>) => {
        accepted();
        return singleFrom(async () => {
          const request = JSON.parse(payload.data ?? '') as { method?: unknown; params?: unknown };
          this.emit('hostRequest', request.method);
          return JSON.stringify(await this.responder.handle(request.method, request.params));
        });
      },
      fireAndForget: (payload: Payload<string, string>) => {
        accepted();
        void this.handleFireAndForget(payload.data);
      },
    };
  }

  private async handleFireAndForget(data: string | undefined): Promise<void> {
    let request: { id?: unknown; method?: unknown; params?: unknown };
    try {
      request = JSON.parse(data ?? '') as typeof request;
    } catch {
      return;
    }
    const answer = await this.responder.handle(request.method, request.params);
    if (typeof request.id === 'number') this.sendFireAndForget({ id: request.id, ...answer });
    else if ('error' in answer) this.sendFireAndForget(answer);
  }

  private sendFireAndForget(message: Record<string, unknown>): void {
    this.current?.fireAndForget({ data: JSON.stringify(message), metadata: '' });
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
