// A fake Android device for tests: a TCP daemon on 127.0.0.1 speaking the ADB transport protocol,
// so that a real adb server attaches to it with `adb connect 127.0.0.1:<port>` and adbkit (or the adb
// CLI) uses it like a phone. It has properties, installed packages with private folders in a host
// temp folder, a small sh (shell-interpreter.ts) with run-as and su, `adb reverse`, sync (push/pull),
// and can open streams from the device to the host through a reverse, as an app does.
//
//   const device = new FakeAndroidDevice({ packages: [{ package: 'com.example', debuggable: true }] });
//   await device.start();
//   const server = await startPrivateAdbServer();
//   const serial = await device.attach(server);         // adb connect, waits for `device`
//   … server.client().getDevice(serial).shell('run-as com.example ls') …
//   await device.stop(); await server.stop();
//
// Everything the shell received and ran is recorded (`shellLog`, `executed`, `substitutions`), so
// tests can prove that a hostile string never reached a shell as code.

import * as net from 'node:net';
import { type Duplex } from 'node:stream';
import { type AdbDeviceLine, type AdbServerHandle } from './adb-server.js';
import { type ConnectionOwner, DeviceConnection, type ServiceRunner } from './device-connection.js';
import { DEFAULT_FEATURES, type FakeDeviceOptions, type FakePackage, deviceProperties } from './device-options.js';
import { DeviceStream } from './device-stream.js';
import { FakeLogcat } from './fake-logcat.js';
import { makePng } from './png-image.js';
import { ReverseTable, reverseService } from './reverse-service.js';
import { SandboxFs } from './sandbox-fs.js';
import { ShellInterpreter } from './shell-interpreter.js';
import { type ShellLogEntry, shellService } from './shell-service.js';
import { BufferSink, type ExecutedCommand, type ShellDevice, type ShellRecorder, type SubstitutionAttempt } from './shell-types.js';
import { syncService } from './sync-service.js';
import { SHELL_USER, appHome } from './user-fs.js';

export type { FakeDeviceOptions, FakePackage, ShellLogEntry, ExecutedCommand, SubstitutionAttempt };

export class FakeAndroidDevice implements ShellDevice, ConnectionOwner {
  /** Installed packages by name (uids filled in). Add or change entries at any time. */
  readonly packages = new Map<string, FakePackage>();
  /** Every shell:/exec: command line received, in order. */
  readonly shellLog: ShellLogEntry[] = [];
  /** Every command run, at any depth (sh -c, run-as, su), with argv, user and cwd. */
  readonly executed: ExecutedCommand[] = [];
  /** Every command substitution found in any script the shell parsed (never executed). */
  readonly substitutions: SubstitutionAttempt[] = [];
  /** Public keys the adb server offered while the device was unauthorized. */
  readonly offeredKeys: string[] = [];
  /** The `adb reverse` table (device spec → host spec). */
  readonly reverses = new ReverseTable();
  /** The device's log: `logcat.push(line)` / `logcat.log({…})`; `logcat.sessions` records each `logcat` run. */
  readonly logcat = new FakeLogcat();
  /** What `screencap -p` prints: a small valid PNG by default; tests may put anything here. */
  screen: Buffer = makePng();
  /** When set, `screencap` waits for it (or the host hanging up) before printing: a slow device. */
  screencapHold: Promise<void> | undefined;

  rooted: boolean;
  runAsCapabilityBug: boolean;
  readonly recorder: ShellRecorder = {
    executed: (entry) => this.executed.push(entry),
    substitution: (entry) => this.substitutions.push(entry),
  };

  private readonly props: Map<string, string>;
  private readonly features: string[];
  private authorized: boolean;
  private sandbox: SandboxFs | undefined;
  private server: net.Server | undefined;
  private listenPort: number;
  private readonly connections = new Set<DeviceConnection>();
  private readonly sockets = new Set<net.Socket>();
  private life = new AbortController();
  private readonly interpreter = new ShellInterpreter(this);
  private readonly debugSink: ((line: string) => void) | undefined;
  private connectionCount = 0;
  private readonly transportNames = new WeakMap<DeviceConnection, string>();

  constructor(private readonly options: FakeDeviceOptions = {}) {
    this.props = deviceProperties(options);
    this.features = options.features ?? DEFAULT_FEATURES;
    this.rooted = options.rooted ?? false;
    this.runAsCapabilityBug = options.runAsCapabilityBug ?? false;
    this.authorized = !(options.unauthorized ?? false);
    this.listenPort = options.port ?? 0;
    for (const [index, pkg] of (options.packages ?? []).entries()) this.addPackage(pkg, index);
    const debug = options.debug;
    this.debugSink = debug === true ? (line) => process.stderr.write(`[fake-adb ${this.listenPort}] ${line}\n`) : typeof debug === 'function' ? debug : undefined;
  }

  // ---- lifecycle ----

  /** Creates the device's files and starts listening on 127.0.0.1. */
  async start(): Promise<{ port: number; serial: string }> {
    if (this.server !== undefined) return { port: this.port, serial: this.serial };
    this.sandbox ??= await SandboxFs.create(this.options.root);
    for (const dir of ['/data/local/tmp', '/sdcard', '/system/bin', '/data/data']) await this.sandbox.mkdir(dir, { recursive: true });
    await this.sandbox.chmod('/data/local/tmp', 0o771);
    for (const pkg of this.packages.keys()) await this.sandbox.mkdir(appHome(pkg), { recursive: true, mode: 0o700 });
    await this.listen();
    return { port: this.port, serial: this.serial };
  }

  /** Closes every connection and the listener, and removes the device's temporary files. */
  async stop(): Promise<void> {
    await this.vanish();
    await this.sandbox?.dispose();
    this.sandbox = undefined;
  }

  /** The device disappears abruptly: sockets destroyed (no CLSE), listener closed, commands stopped. */
  async vanish(): Promise<void> {
    this.life.abort();
    const server = this.server;
    this.server = undefined;
    for (const connection of [...this.connections]) connection.destroy();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The device comes back on the same port (the adb server reconnects by itself, or use attach). */
  async reappear(): Promise<void> {
    if (this.server !== undefined) return;
    this.life = new AbortController();
    await this.listen();
  }

  get port(): number {
    if (this.listenPort === 0) throw new Error('the fake device is not started');
    return this.listenPort;
  }

  /** The serial the adb server gives the device after `adb connect`. */
  get serial(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The device's files (no permission checks: for test setup and assertions). */
  get fs(): SandboxFs {
    if (this.sandbox === undefined) throw new Error('the fake device is not started');
    return this.sandbox;
  }

  get signal(): AbortSignal {
    return this.life.signal;
  }

  /** True while some adb server holds an online transport to the device. */
  get online(): boolean {
    return [...this.connections].some((c) => c.state === 'online');
  }

  // ---- adb server attachment (through the real adb CLI) ----

  /**
   * `adb connect 127.0.0.1:<port>` on `server`, then waits until it lists the device as `state`
   * (`device`, or `unauthorized` for a device in that mode). When the server still holds a transport
   * that went offline (after `vanish`), it is disconnected first: adb 29 answers "already connected"
   * for it and retries a lost TCP device only every 10 s.
   */
  async attach(server: AdbServerHandle, state = this.authorized ? 'device' : 'unauthorized', timeoutMs = 10_000): Promise<string> {
    let result = await server.adb(['connect', this.serial], timeoutMs);
    if (/already connected/.test(result.stdout) && (await this.stateOn(server))?.state !== state) {
      await server.adb(['disconnect', this.serial], timeoutMs);
      result = await server.adb(['connect', this.serial], timeoutMs);
    }
    // adb prints "failed to authenticate to …" (exit status 0) for a device that stays unauthorized.
    if (!/connected to|failed to authenticate/.test(result.stdout)) {
      throw new Error(`adb connect ${this.serial} failed: ${result.stdout.trim()} ${result.stderr.trim()}`);
    }
    await server.waitForState(this.serial, state, timeoutMs);
    return this.serial;
  }

  /** `adb disconnect 127.0.0.1:<port>`, then waits until the server no longer lists it. */
  async detach(server: AdbServerHandle, timeoutMs = 10_000): Promise<void> {
    await server.adb(['disconnect', this.serial], timeoutMs);
    await server.waitForState(this.serial, 'gone', timeoutMs);
  }

  /** This device's line in `adb devices` of `server`, if any. */
  async stateOn(server: AdbServerHandle): Promise<AdbDeviceLine | undefined> {
    return (await server.devices()).find((d) => d.serial === this.serial);
  }

  // ---- configuration ----

  /** Sets (or adds) a property, as `setprop` would. */
  setProp(key: string, value: string): void {
    this.props.set(key, value);
  }

  properties(): Map<string, string> {
    return new Map(this.props);
  }

  /** Installs (or replaces) a package and creates its private folder. */
  async installPackage(pkg: FakePackage): Promise<void> {
    this.addPackage(pkg, this.packages.size);
    if (this.sandbox !== undefined) await this.sandbox.mkdir(appHome(pkg.package), { recursive: true, mode: 0o700 });
  }

  /**
   * Switches "unauthorized" mode. Authorizing answers every pending AUTH challenge with CNXN (the
   * user tapped "Allow"); unauthorizing affects the next connections only.
   */
  setAuthorized(authorized: boolean): void {
    this.authorized = authorized;
    if (authorized) for (const connection of this.connections) connection.authorize();
  }

  isAuthorized(): boolean {
    return this.authorized;
  }

  /** Forgets what the logs recorded so far. */
  clearLogs(): void {
    this.shellLog.length = 0;
    this.executed.length = 0;
    this.substitutions.length = 0;
  }

  /**
   * Runs a command line in the device's shell as the adb shell user, without adb (for fast tests of
   * the shell itself). Output is stdout and stderr together, as over `shell:`. Not added to
   * `shellLog` (which holds what came through adb); `executed` and `substitutions` are recorded.
   */
  async runShell(command: string, stdin: Buffer | string = ''): Promise<string> {
    const sink = new BufferSink();
    const proc = this.interpreter.process(SHELL_USER, '/');
    await this.interpreter.runScript(command, proc, { stdin: Buffer.from(stdin), out: sink, err: sink });
    return sink.take().toString('utf8');
  }

  // ---- device-initiated streams ----

  /**
   * What an app on the device gets from connecting to localhost:<port>: only a reversed port works
   * (adbd then opens a stream to the reverse's host side, e.g. `tcp:8089`); anything else fails
   * with ECONNREFUSED, as nothing listens on the phone.
   */
  async openTcpStream(port: number): Promise<Duplex> {
    const entry = this.reverses.get(`tcp:${port}`);
    const connection = entry === undefined ? undefined : [...this.connections].find((c) => c === entry.owner && c.state === 'online');
    if (entry === undefined || connection === undefined) {
      const error: NodeJS.ErrnoException = new Error(`connect ECONNREFUSED 127.0.0.1:${port} (on the fake device: no reverse for tcp:${port})`);
      error.code = 'ECONNREFUSED';
      throw error;
    }
    const channel = await connection.openChannel(entry.local);
    return new DeviceStream(channel);
  }

  // ---- ConnectionOwner ----

  banner(): string {
    const identity = ['ro.product.name', 'ro.product.model', 'ro.product.device'].map((key) => `${key}=${this.props.get(key) ?? ''};`).join('');
    return `device::${identity}features=${this.features.join(',')}`;
  }

  serviceFor(service: string, connection: DeviceConnection): ServiceRunner | undefined {
    const legacy = this.options.legacyShell ?? false;
    if (service.startsWith('shell:')) return shellService(this.interpreter, 'shell', service.slice('shell:'.length), (entry) => this.shellLog.push(entry), legacy);
    if (service.startsWith('exec:') && !legacy) return shellService(this.interpreter, 'exec', service.slice('exec:'.length), (entry) => this.shellLog.push(entry));
    if (service.startsWith('reverse:')) {
      return reverseService(this.reverses, service.slice('reverse:'.length), connection, this.transportNames.get(connection) ?? 'host');
    }
    if (service === 'sync:') return syncService(this.fs);
    // shell,v2 (not announced), framebuffer:, jdwp:, … are refused as by an adbd without them.
    this.debug(`refusing service ${JSON.stringify(service)}`);
    return undefined;
  }

  publicKeyOffered(key: string): void {
    this.offeredKeys.push(key);
  }

  connectionClosed(connection: DeviceConnection): void {
    this.connections.delete(connection);
    // adbd's reverse listeners belong to the transport: they go with it.
    this.reverses.clear(connection);
  }

  debug(message: string): void {
    this.debugSink?.(message);
  }

  // ---- internals ----

  private addPackage(pkg: FakePackage, index: number): void {
    this.packages.set(pkg.package, { ...pkg, uid: pkg.uid ?? this.packages.get(pkg.package)?.uid ?? 10100 + index });
  }

  private async listen(): Promise<void> {
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const connection = new DeviceConnection(socket, this);
      // adbd names a TCP transport after its file descriptor (`host-19`); any stable name will do.
      this.transportNames.set(connection, `host-${19 + this.connectionCount++}`);
      this.connections.add(connection);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.listenPort = (server.address() as net.AddressInfo).port;
    this.server = server;
  }
}
