import adbkit, { type Adb as AdbApi, type Client, type Device } from '@devicefarmer/adbkit';

// adbkit is CommonJS: under Node's ESM loader its exports arrive on the default object (pitfall 4).
const { Adb } = adbkit as unknown as { Adb: typeof AdbApi };
import { HostError, describeError } from '../../core/host-error.js';
import { withTimeout } from '../../core/timeout.js';
import { type AdbServerAddress } from './adb-location.js';

const SHELL_TIMEOUT_MS = 15_000;
/** Shell output sonarhost reads is an app.csr (bounded by the CSR limit) or a few lines of messages. */
const SHELL_MAX_BYTES = 256 * 1024;

export interface ShellOptions {
  /** Output beyond this many bytes ends the command and fails it (default 256 KiB). */
  maxBytes?: number;
  timeoutMs?: number;
}

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

  /**
   * Runs a shell command (adb shell v1) and returns its whole output, at most `maxBytes` of it. Both
   * the cap and the timeout close the adb stream, so a device that sends without end (an app.csr
   * linked to /dev/zero) or never finishes (a FIFO) costs neither host memory nor an open stream.
   */
  async shell(serial: string, command: string, options: ShellOptions = {}): Promise<string> {
    const maxBytes = options.maxBytes ?? SHELL_MAX_BYTES;
    const timeoutMs = options.timeoutMs ?? SHELL_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    try {
      const stream = await withTimeout(Promise.resolve(this.client.getDevice(serial).shell(command)), timeoutMs, `opening adb shell on ${serial}`);
      return (await readCapped(stream, maxBytes, timeoutMs, Math.max(0, deadline - Date.now()))).toString('utf8');
    } catch (error) {
      if (error instanceof AnswerTooLarge) {
        throw new HostError('device-unavailable', `Android device ${serial} sent more than ${maxBytes} bytes where sonarhost expects an app.csr or a short message (is app.csr a link to a device file such as /dev/zero?); the command was stopped.`, { cause: error });
      }
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

class AnswerTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`more than ${maxBytes} bytes`);
  }
}

/** Reads a stream to its end, destroying it once it passes `maxBytes` or `timeoutMs` (`leftMs` of which remain). */
export function readCapped(stream: NodeJS.ReadableStream & { destroy(error?: Error): unknown }, maxBytes: number, timeoutMs: number, leftMs = timeoutMs): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      if (error === undefined) return resolve(Buffer.concat(chunks, length));
      stream.on('error', () => undefined); // the destroy below may still report an error
      stream.destroy();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > maxBytes) return finish(new AnswerTooLarge(maxBytes));
      chunks.push(chunk);
    };
    const onEnd = (): void => finish();
    const onError = (error: Error): void => finish(error);
    const timer = setTimeout(() => finish(new HostError('timeout', `no complete answer within ${timeoutMs} ms; the command was stopped`)), leftMs);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}
