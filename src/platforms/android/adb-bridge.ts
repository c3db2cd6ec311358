import adbkit, { type Adb as AdbApi, type Client, type Device } from '@devicefarmer/adbkit';

// adbkit is CommonJS: under Node's ESM loader its exports arrive on the default object (pitfall 4).
const { Adb } = adbkit as unknown as { Adb: typeof AdbApi };
import { HostError, describeError } from '../../core/host-error.js';
import { withTimeout } from '../../core/timeout.js';
import { type AdbServerAddress } from './adb-location.js';

const SHELL_TIMEOUT_MS = 15_000;

/**
 * The few adb operations sonarhost needs, over adbkit, each bounded by a timeout and failing with a
 * HostError that names the device. adbkit starts the adb server with `adb -P <port> start-server`
 * when it is not running.
 */
export class AdbBridge {
  readonly client: Client;

  constructor(
    readonly adbPath: string,
    readonly address: AdbServerAddress,
    startServer = true,
  ) {
    // adbkit runs `<bin> -P <port> start-server` when the server is down; `false` makes that fail instead.
    this.client = Adb.createClient({ host: address.host, port: address.port, bin: startServer ? adbPath : 'false' });
  }

  async listDevices(): Promise<Device[]> {
    try {
      return await withTimeout(Promise.resolve(this.client.listDevices()), SHELL_TIMEOUT_MS, 'listing adb devices');
    } catch (error) {
      throw new HostError('device-unavailable', `Cannot list Android devices: the adb server at ${this.address.host}:${this.address.port} did not answer (${describeError(error)}).`, { cause: error });
    }
  }

  /** Runs a shell command (adb shell v1) and returns its whole output. */
  async shell(serial: string, command: string): Promise<string> {
    const run = async () => {
      const stream = await this.client.getDevice(serial).shell(command);
      return (await Adb.util.readAll(stream)).toString('utf8');
    };
    try {
      return await withTimeout(run(), SHELL_TIMEOUT_MS, `adb shell on ${serial}`);
    } catch (error) {
      throw new HostError('device-unavailable', `Android device ${serial} did not answer (${describeError(error)}). Is it still connected? Check \`adb devices\`.`, { cause: error });
    }
  }

  async properties(serial: string): Promise<Record<string, string>> {
    return withTimeout(Promise.resolve(this.client.getDevice(serial).getProperties()), SHELL_TIMEOUT_MS, `reading the properties of ${serial}`);
  }

  async reverse(serial: string, port: number): Promise<void> {
    await withTimeout(Promise.resolve(this.client.getDevice(serial).reverse(`tcp:${port}`, `tcp:${port}`)), SHELL_TIMEOUT_MS, `adb reverse on ${serial}`);
  }

  async reversedPorts(serial: string): Promise<number[]> {
    const list = await withTimeout(Promise.resolve(this.client.getDevice(serial).listReverses()), SHELL_TIMEOUT_MS, `listing adb reverses on ${serial}`);
    return list.filter((r) => r.remote === r.local && /^tcp:\d+$/.test(r.remote)).map((r) => Number(r.remote.slice(4)));
  }
}
