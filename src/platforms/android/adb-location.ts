import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { HostError } from '../../core/host-error.js';

export interface AdbServerAddress {
  host: string;
  port: number;
}

/**
 * Where the adb binary is: `pluginOptions.android.adbPath`, then `$ANDROID_HOME/platform-tools`,
 * `$ANDROID_SDK_ROOT/platform-tools`, then PATH. Returns the first executable found.
 */
export async function findAdb(configured: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const candidates: string[] = [];
  if (configured) candidates.push(configured);
  for (const root of [env.ANDROID_HOME, env.ANDROID_SDK_ROOT]) if (root) candidates.push(join(root, 'platform-tools', 'adb'));
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'adb'));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new HostError(
    'device-unavailable',
    'adb was not found. Install the Android SDK platform-tools (or Debian\'s "adb" package), then set ANDROID_HOME, ' +
      'put adb on PATH, or set pluginOptions.android.adbPath in the host config.',
  );
}

/** The adb server to talk to, as adb itself reads it: `ADB_SERVER_SOCKET=tcp:host:port`, else `ANDROID_ADB_SERVER_PORT`. */
export function adbServerAddress(env: NodeJS.ProcessEnv): AdbServerAddress {
  const socket = env.ADB_SERVER_SOCKET;
  if (socket) {
    const match = /^tcp:(?:(.+):)?(\d+)$/.exec(socket);
    if (!match) throw new HostError('config-invalid', `Invalid ADB_SERVER_SOCKET ${JSON.stringify(socket)}: expected "tcp:<host>:<port>" or "tcp:<port>".`);
    return { host: match[1] ?? '127.0.0.1', port: Number(match[2]) };
  }
  const port = env.ANDROID_ADB_SERVER_PORT;
  if (port) {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      throw new HostError('config-invalid', `Invalid ANDROID_ADB_SERVER_PORT ${JSON.stringify(port)}: expected a port number.`);
    }
    return { host: '127.0.0.1', port: Number(port) };
  }
  return { host: '127.0.0.1', port: 5037 };
}
