import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperServerApiService } from '../../src/plugins/flipper-server-api/flipper-server-api-service.js';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost } from '../helpers/test-host.js';

/** `sonarhost ui`: the login link of the running host's Flipper UI endpoint, and a browser when there is one. */
describe('sonarhost ui', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let certDir: string;
  let token: string;
  let host: TestHost;
  let port: number;
  let bin: string;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    certDir = join(dir, 'certs');
    // The real endpoint: the command asks it to prove it holds the token before making the link.
    host = await startTestHost(dir, (config) => {
      config.certDir = certDir;
      config.plugins.services = ['flipper-server-api'];
      config.flipperServer = { port: 0 };
    });
    port = host.container.get(FlipperServerApiService).boundPort!;
    token = (await readFile(join(certDir, 'api.token'), 'utf8')).trim();
    // A fake desktop opener that records the link instead of starting a browser.
    bin = join(dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'xdg-open'), `#!/bin/sh\necho "$1" > "${join(dir, 'opened.txt')}"\n`);
    await chmod(join(bin, 'xdg-open'), 0o755);
  });
  after(async () => {
    await host.stop();
    await cleanup();
  });

  const ui = (args: string[], env: NodeJS.ProcessEnv) => runCli(['ui', '--cert-dir', certDir, '--flipper-port', String(port), ...args], { cwd: dir, env });

  it('prints the login link and opens it with the desktop opener', async () => {
    const result = await ui([], { PATH: bin, DISPLAY: ':99' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `http://localhost:${port}/?token=${token}\n`);
    assert.match(result.stderr, /Opened in your browser \(xdg-open\)/);
    const opened = await eventually(() => readFile(join(dir, 'opened.txt'), 'utf8').catch(() => undefined), 'the opener to run');
    assert.equal(opened.trim(), `http://localhost:${port}/?token=${token}`);
  });

  it('never fails for want of a browser: no opener on PATH, no graphical session, or --no-open', async () => {
    const noOpener = await ui([], { PATH: join(dir, 'empty'), DISPLAY: ':99' });
    assert.equal(noOpener.code, 0, noOpener.stderr);
    assert.match(noOpener.stderr, /Could not start xdg-open \(ENOENT\): Open the link above in a browser/);
    const headless = await ui([], { PATH: bin, DISPLAY: '', WAYLAND_DISPLAY: '' });
    assert.equal(headless.code, 0);
    assert.match(headless.stderr, /No graphical session/);
    const noOpen = await ui(['--no-open'], { PATH: bin, DISPLAY: ':99' });
    assert.equal(noOpen.code, 0);
    assert.equal(noOpen.stdout, `http://localhost:${port}/?token=${token}\n`);
    assert.equal(noOpen.stderr, '');
  });

  it('says what to do when nothing serves the port or no host has run for the folder (exit 3)', async () => {
    const idle = http.createServer();
    await new Promise<void>((resolve) => idle.listen(0, '127.0.0.1', resolve));
    const freePort = (idle.address() as AddressInfo).port;
    await new Promise((resolve) => idle.close(resolve));
    const closed = await runCli(['ui', '--no-open', '--cert-dir', certDir, '--flipper-port', String(freePort)], { cwd: dir });
    assert.equal(closed.code, 3);
    assert.match(closed.stderr, new RegExp(`Nothing answers on Flipper's UI port ${freePort}.*sonarhost start`));
    const empty = await runCli(['ui', '--no-open', '--cert-dir', join(dir, 'none'), '--flipper-port', String(port)], { cwd: dir });
    assert.equal(empty.code, 3);
    assert.match(empty.stderr, /No sonarhost has run for the certificate folder .*none \(no api\.token\)/);
    const off = await runCli(['ui', '--cert-dir', certDir, '--flipper-port', 'off'], { cwd: dir });
    assert.equal(off.code, 2);
    assert.match(off.stderr, /turned off/);
  });

  it('makes no link for a server on the port that cannot prove it is the host (a program that took the port)', async () => {
    let seen = '';
    const squatter = http.createServer((req, res) => {
      seen += `${req.method} ${req.url} ${JSON.stringify(req.headers)}\n`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ service: 'sonarhost', nonce: 'ab'.repeat(24), proof: 'cd'.repeat(32) }));
    });
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    try {
      const squatted = (squatter.address() as AddressInfo).port;
      const result = await runCli(['ui', '--cert-dir', certDir, '--flipper-port', String(squatted)], { cwd: dir, env: { PATH: bin, DISPLAY: ':99' } });
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, new RegExp(`The server on Flipper's UI port ${squatted} is not the sonarhost of .*no link was made`));
      assert.equal(result.stdout, '', 'no link printed');
      assert.ok(!seen.includes(token), 'the token never reached the squatter');
      assert.match(seen, /GET \/api\/hello\?nonce=/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('is listed in --help and explains itself', async () => {
    assert.match((await runCli(['--help'])).stdout, /ui\s+open Flipper's own UI/);
    const help = await runCli(['ui', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--no-open/);
    assert.match(help.stdout, /flipper-server@0\.162\.0/);
  });
});
