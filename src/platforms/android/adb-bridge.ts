import adbkit, { type Adb as AdbApi, type Client, type Device } from '@devicefarmer/adbkit';

// adbkit is CommonJS: under Node's ESM loader its exports arrive on the default object (pitfall 4).
const { Adb } = adbkit as unknown as { Adb: typeof AdbApi };
import { HostError, describeError } from '../../core/host-error.js';
import { withTimeout } from '../../core/timeout.js';
import { type AdbServerAddress } from './adb-location.js';
import { ServiceRefused, abortReason, openDeviceService } from './adb-service.js';

const SHELL_TIMEOUT_MS = 15_000;
/** Shell output sonarhost reads is an app.csr (bounded by the CSR limit) or a few lines of messages. */
const SHELL_MAX_BYTES = 256 * 1024;
/** A 4K screen as PNG is a few MiB; more than this is refused rather than held in memory. */
export const SCREENSHOT_MAX_BYTES = 32 * 1024 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/**
 * Text logcat, each line with its own full header (see logcat-line.ts), starting at the newest line
 * already in the log (`-T 1`: logcat has no "from now" option that every Android version takes).
 */
export const LOGCAT_COMMAND = 'logcat -v threadtime -T 1';

export interface ScreenshotOptions {
  maxBytes?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

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

  /**
   * A PNG of the device's screen from `screencap -p`, over `exec:` (raw bytes); on an adbd without
   * `exec:` (before Android 5) over `shell:`, undoing the LF → CRLF translation its terminal may do.
   * Bounded by `maxBytes` and the timeout, both of which close the adb stream; `signal` aborts it.
   */
  async screenshot(serial: string, options: ScreenshotOptions = {}): Promise<Buffer> {
    const maxBytes = options.maxBytes ?? SCREENSHOT_MAX_BYTES;
    const timeoutMs = options.timeoutMs ?? SHELL_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    let png: Buffer;
    try {
      try {
        png = await readCapped(await openDeviceService(this.client, serial, 'exec:screencap -p', timeoutMs, options.signal), maxBytes, timeoutMs, left(), options.signal);
      } catch (error) {
        if (!(error instanceof ServiceRefused)) throw error;
        // `echo` first: its line end shows whether this shell translates LF to CRLF.
        const stream = await openDeviceService(this.client, serial, 'shell:echo && screencap -p', left(), options.signal);
        png = untranslate(await readCapped(stream, 2 * maxBytes + 2, timeoutMs, left(), options.signal));
      }
    } catch (error) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      if (HostError.is(error, 'timeout')) throw new HostError('timeout', `Taking a screenshot of Android device ${serial} took too long: ${error.message}.`, { cause: error });
      if (HostError.is(error)) throw error;
      if (error instanceof AnswerTooLarge) {
        throw new HostError('device-unavailable', `Android device ${serial} sent a screenshot larger than ${maxBytes} bytes; it was refused and the command stopped.`, { cause: error });
      }
      throw new HostError('device-unavailable', `Taking a screenshot of Android device ${serial} failed (${describeError(error)}). Is it still connected? Check \`adb devices\`.`, { cause: error });
    }
    if (png.length > maxBytes) throw new HostError('device-unavailable', `Android device ${serial} sent a screenshot larger than ${maxBytes} bytes; it was refused.`);
    if (png.length === 0) throw new HostError('device-unavailable', `\`screencap -p\` on Android device ${serial} printed nothing: does this device have screencap (very old Android versions do not)?`);
    if (!png.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) {
      const start = png.subarray(0, 80).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
      throw new HostError('device-unavailable', `\`screencap -p\` on Android device ${serial} answered with something that is not a PNG (it starts ${JSON.stringify(start)}).`);
    }
    return png;
  }

  /**
   * Opens `logcat` (LOGCAT_COMMAND) on the device, over `exec:` or, where adbd lacks it, `shell:`; the
   * caller reads the stream and closes it to stop logcat on the device.
   */
  async openLogcat(serial: string, signal?: AbortSignal): Promise<NodeJS.ReadableStream & { destroy(error?: Error): unknown }> {
    try {
      return await openDeviceService(this.client, serial, `exec:${LOGCAT_COMMAND}`, SHELL_TIMEOUT_MS, signal);
    } catch (error) {
      if (!(error instanceof ServiceRefused)) throw error;
    }
    try {
      return await openDeviceService(this.client, serial, `shell:${LOGCAT_COMMAND}`, SHELL_TIMEOUT_MS, signal);
    } catch (error) {
      if (HostError.is(error) || signal?.aborted) throw error;
      throw new HostError('device-unavailable', `Android device ${serial} refused to start logcat (${describeError(error)}).`, { cause: error });
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

/**
 * Undoes a terminal's LF → CRLF translation, told by the leading `echo` line: CRLF there means every
 * LF of the rest was translated. Returns the rest.
 */
export function untranslate(output: Buffer): Buffer {
  if (output[0] === 0x0a) return output.subarray(1);
  if (output[0] !== 0x0d || output[1] !== 0x0a) return output;
  const rest = output.subarray(2);
  const bytes = Buffer.alloc(rest.length);
  let length = 0;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === 0x0d && rest[i + 1] === 0x0a) continue; // keep the LF that follows
    bytes[length++] = rest[i]!;
  }
  return bytes.subarray(0, length);
}

/**
 * Reads a stream to its end, destroying it once it passes `maxBytes` or `timeoutMs` (`leftMs` of which
 * remain), or when `signal` aborts (rejecting with the signal's reason).
 */
export function readCapped(stream: NodeJS.ReadableStream & { destroy(error?: Error): unknown }, maxBytes: number, timeoutMs: number, leftMs = timeoutMs, signal?: AbortSignal): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
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
    const onAbort = (): void => finish(abortReason(signal!));
    const timer = setTimeout(() => finish(new HostError('timeout', `no complete answer within ${timeoutMs} ms; the command was stopped`)), leftMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}
