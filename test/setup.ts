// Test entry point (loaded with --import): decorator metadata must exist before any module is decorated.
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { freePorts } from './helpers/free-ports.js';

// No test may start, use or stop the user's adb server (5037, or the one ANDROID_ADB_SERVER_PORT names):
// a developer running the suite beside a phone keeps theirs. Every test process (this file is loaded
// into each) points adb at a private port, and whatever a host under test started there (hosts start
// an adb server when none runs) is stopped when the process exits.
const adbPort = (await freePorts(1))[0]!;
process.env.ANDROID_ADB_SERVER_PORT = String(adbPort);
delete process.env.ADB_SERVER_SOCKET;
process.on('exit', () => {
  spawnSync('adb', ['-P', String(adbPort), 'kill-server'], { stdio: 'ignore', timeout: 5000 });
});
