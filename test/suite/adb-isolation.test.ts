import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { accepts } from '../helpers/free-ports.js';
import { eventually } from '../helpers/test-host.js';

const SETUP = fileURLToPath(new URL('../setup.js', import.meta.url));

/**
 * The suite never uses the user's adb server: test/setup gives every test process a private adb port,
 * and stops a server started there when the process exits, whoever started it.
 */
describe('adb servers in the test suite', () => {
  it('this process points adb at a private port, not the user\'s', () => {
    const port = Number(process.env.ANDROID_ADB_SERVER_PORT);
    assert.ok(Number.isInteger(port) && port > 0 && port !== 5037, `ANDROID_ADB_SERVER_PORT is ${process.env.ANDROID_ADB_SERVER_PORT}`);
    assert.equal(process.env.ADB_SERVER_SOCKET, undefined);
  });

  it('a test process that started an adb server leaves none behind when it exits', async () => {
    // A stand-in for a test file whose host started adb: it starts a server on its private port and exits.
    const script = `import { execFileSync } from 'node:child_process';
      execFileSync('adb', ['start-server'], { stdio: 'ignore' });
      process.stdout.write(process.env.ANDROID_ADB_SERVER_PORT);`;
    const child = spawn(process.execPath, ['--import', SETUP, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, HOME: process.env.HOME } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
    const port = Number(out);
    assert.ok(port > 0 && port !== 5037 && port !== Number(process.env.ANDROID_ADB_SERVER_PORT), `the child had a port of its own (${out})`);
    await eventually(async () => !(await accepts(port)), `no adb server left on ${port}`, 10_000);
  });
});
