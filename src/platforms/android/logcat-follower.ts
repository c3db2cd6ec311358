import { type DeviceLogEntry } from '../../core/device-transport.js';
import { type Disposable, toDisposable } from '../../core/disposable.js';
import { HostError, describeError } from '../../core/host-error.js';
import { type Logger } from '../../core/logger.js';
import { type AdbBridge } from './adb-bridge.js';
import { parseLogcatLine } from './logcat-line.js';
import { LogLines } from './log-lines.js';

/** logcat's own limit for one entry is about 4 KiB; a line longer than this is cut here. */
export const MAX_LOG_LINE_BYTES = 16 * 1024;

/**
 * Follows `logcat` on one device until disposed: opens the adb stream, splits it into bounded lines,
 * parses each (lines that are not logcat entries, which a hostile app or logcat itself may print, are
 * skipped) and hands entries to `onEntry`. The stream ending by itself (the device went away, logcat
 * stopped) or failing reaches `onEnd` once, with an error saying why; disposing calls no `onEnd` and
 * closes the stream, which ends logcat on the device. An `onEntry` that throws costs that entry only.
 */
export function followLogcat(
  bridge: () => AdbBridge,
  serial: string,
  onEntry: (entry: DeviceLogEntry) => void,
  onEnd: ((error?: Error) => void) | undefined,
  log: Logger,
): Disposable {
  const opening = new AbortController();
  let stream: (NodeJS.ReadableStream & { destroy(error?: Error): unknown }) | undefined;
  let finished = false;
  let skipped = 0;
  const lines = new LogLines(MAX_LOG_LINE_BYTES);

  const deliver = (line: string): void => {
    const entry = parseLogcatLine(line);
    if (entry === undefined) {
      if (line.trim() !== '' && !line.startsWith('--------- ') && skipped++ === 0) log.debug('skipping a logcat line that is not an entry', { deviceId: serial, line: line.slice(0, 200) });
      return;
    }
    try {
      onEntry(entry);
    } catch (error) {
      log.warn('a log consumer failed on one entry', { deviceId: serial, error: describeError(error) });
    }
  };
  const finish = (error: Error): void => {
    if (finished) return;
    finished = true;
    stream?.destroy();
    onEnd?.(error);
  };

  void (async () => {
    try {
      stream = await bridge().openLogcat(serial, opening.signal);
    } catch (error) {
      if (!opening.signal.aborted) finish(HostError.is(error) ? error : new HostError('device-unavailable', `Cannot follow the log of Android device ${serial}: ${describeError(error)}`, { cause: error }));
      return;
    }
    if (finished) {
      stream.destroy();
      return;
    }
    stream.on('data', (chunk: Buffer) => {
      if (finished) return;
      for (const line of lines.push(chunk)) {
        deliver(line);
        if (finished) return; // onEntry disposed us
      }
    });
    stream.once('end', () => {
      const last = lines.flush();
      if (last !== undefined && !finished) deliver(last);
      finish(new HostError('device-unavailable', `The log of Android device ${serial} ended: the device went away or logcat stopped there. Check \`adb devices\`.`));
    });
    stream.on('error', (error: Error) => finish(new HostError('device-unavailable', `The log of Android device ${serial} failed: ${describeError(error)}.`, { cause: error })));
    stream.once('close', () => finish(new HostError('device-unavailable', `The log of Android device ${serial} closed: the device went away. Check \`adb devices\`.`)));
  })();

  return toDisposable(() => {
    finished = true;
    opening.abort();
    stream?.destroy();
  });
}
