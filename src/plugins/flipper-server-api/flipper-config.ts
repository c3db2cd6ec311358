import { homedir, tmpdir, userInfo, arch } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

export interface FlipperConfigFacts {
  settings: Record<string, unknown>;
  port: number;
  staticDir: string | undefined;
  version: string;
}

const SESSION_ID = randomUUID();

/**
 * What `get-config` answers: flipper-common's FlipperServerConfig, filled with this machine's facts.
 * The UI reads settings (what persist-settings stored), the gatekeepers (none are on) and a few paths.
 */
export function flipperServerConfig({ settings, port, staticDir, version }: FlipperConfigFacts): Record<string, unknown> {
  const home = homedir();
  return {
    gatekeepers: {},
    env: {},
    paths: { appPath: staticDir ?? '', homePath: home, execPath: process.execPath, staticPath: staticDir ?? '', tempPath: tmpdir(), desktopPath: join(home, 'Desktop') },
    settings,
    launcherSettings: { releaseChannel: 'default', ignoreLocalPin: false },
    processConfig: { disabledPlugins: [], lastWindowPosition: null, screenCapturePath: null, launcherMsg: null, launcherEnabled: false, updaterEnabled: false, suppressPluginUpdateNotifications: true },
    validWebSocketOrigins: [`http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`],
    environmentInfo: {
      processId: process.pid,
      isProduction: true,
      releaseChannel: 'default',
      appVersion: version,
      os: { arch: arch(), platform: process.platform, unixname: safeUserName() },
      versions: { node: process.versions.node, platform: process.platform },
    },
    type: 'external',
    sessionId: SESSION_ID,
  };
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}
