import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A config file for running the real binary in a test: loopback only, the given RSocket ports, no
 * WebSocket, API or Flipper-UI listeners on fixed ports, and no Android transport, so no test ever starts (or
 * talks to) the user's adb server. Returns the file's path.
 */
export async function writeIsolatedConfig(dir: string, ports: { insecure: number; secure: number }, extra: Record<string, unknown> = {}): Promise<string> {
  const file = join(dir, 'sonarhost.config.json');
  await writeFile(
    file,
    JSON.stringify({
      host: '127.0.0.1',
      ports,
      webSocket: { insecure: false, secure: false, browser: false },
      api: { port: false },
      flipperServer: { port: false },
      certDir: './certs',
      plugins: { deviceTransports: ['desktop'] },
      ...extra,
    }),
  );
  return file;
}
