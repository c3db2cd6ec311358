import { type Client } from '@devicefarmer/adbkit';
import { type Duplex } from 'node:stream';
import { HostError, describeError } from '../../core/host-error.js';

/** The device's answer refused the service itself (the device was found): e.g. an adbd without `exec:`. */
export class ServiceRefused extends Error {
  constructor(
    readonly service: string,
    reason: string,
  ) {
    super(`the device refused ${service} (${reason})`);
  }
}

/**
 * Opens one device service (`exec:screencap -p`, `shell:…`) through the adb server and returns its raw
 * stream once the device accepted it. adbkit has no call for `exec:` (the raw service that never
 * translates line ends, unlike `shell:` v1 on old devices), so this speaks the two-step smart-socket
 * protocol itself on adbkit's own connection: `host:transport:<serial>` (adbkit), then the service.
 *
 * `timeoutMs` bounds the whole open; `signal` aborts it. A stream that arrives after either is closed
 * at once, so a late answer leaves nothing open. Failures are HostErrors naming the device, except a
 * refusal of the service itself (`ServiceRefused`), which lets callers fall back to `shell:`.
 */
export function openDeviceService(client: Client, serial: string, service: string, timeoutMs: number, signal?: AbortSignal): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown, stream?: Duplex): void => {
      if (settled) {
        stream?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (stream) resolve(stream);
      else reject(error);
    };
    const onAbort = (): void => settle(abortReason(signal!));
    const timer = setTimeout(() => settle(new HostError('timeout', `Android device ${serial} did not answer ${service} within ${timeoutMs} ms. Is it still connected? Check \`adb devices\`.`)), timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    void open(client, serial, service).then((stream) => settle(undefined, stream), (error: unknown) => settle(error));
  });
}

async function open(client: Client, serial: string, service: string): Promise<Duplex> {
  let connection: Awaited<ReturnType<ReturnType<Client['getDevice']>['transport']>>;
  try {
    connection = await client.getDevice(serial).transport();
  } catch (error) {
    throw deviceError(serial, error);
  }
  try {
    const request = Buffer.from(service, 'utf8');
    connection.write(Buffer.concat([Buffer.from(request.length.toString(16).padStart(4, '0'), 'ascii'), request]));
    const reply = await connection.parser.readAscii(4);
    if (reply === 'OKAY') return connection.parser.raw();
    if (reply === 'FAIL') {
      const reason = await connection.parser.readError().catch((error: unknown) => describeError(error));
      throw new ServiceRefused(service, String(reason));
    }
    throw new ServiceRefused(service, `unexpected answer ${JSON.stringify(reply)}`);
  } catch (error) {
    connection.end();
    if (error instanceof ServiceRefused) throw error;
    // The adb server closed without an answer: the device dropped the stream (an unknown service), or went away.
    throw new ServiceRefused(service, describeError(error));
  }
}

/** What the adb server said when selecting the device, as the HostError users read. */
export function deviceError(serial: string, error: unknown): HostError {
  const text = describeError(error);
  if (/not found/i.test(text)) {
    return new HostError('device-not-found', `Android device ${serial} is not connected (adb: ${text}). Check \`adb devices\`.`, { cause: error });
  }
  if (/unauthorized/i.test(text)) {
    return new HostError('device-unavailable', `Android device ${serial} is unauthorized: accept the USB debugging prompt on the device (adb: ${text}).`, { cause: error });
  }
  if (/offline/i.test(text)) {
    return new HostError('device-unavailable', `Android device ${serial} is offline (adb: ${text}): reconnect it, or wait until \`adb devices\` lists it as "device".`, { cause: error });
  }
  return new HostError('device-unavailable', `Android device ${serial} is not available (adb: ${text}). Check \`adb devices\`.`, { cause: error });
}

export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}
