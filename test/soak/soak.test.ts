import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FlipperClient } from '../../src/client/flipper-client.js';
import { demoPlugin } from '../helpers/demo-plugin.js';
import { accepts, freePorts } from '../helpers/free-ports.js';
import { writeIsolatedConfig } from '../helpers/host-config-file.js';
import { CLI_PATH } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/test-host.js';

/** Seconds of churn: about 2 minutes in CI, longer with SONARHOST_SOAK_SECONDS. */
const SECONDS = Number(process.env.SONARHOST_SOAK_SECONDS ?? 100);
const WORKERS = 8;

async function hostFacts(pid: number): Promise<{ rssKb: number; fds: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)![1]), fds: (await readdir(`/proc/${pid}/fd`)).length };
}

/**
 * Many apps connecting, exchanging, calling and disconnecting against the real binary for a bounded
 * time; at the end the host's open file descriptors are back where they started and its memory is
 * flat (measured after the churn settles, against the level after a warm-up round).
 */
describe(`soak: ${SECONDS} s of churn against the real binary`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let child: ReturnType<typeof spawn>;
  let ports: { insecure: number; secure: number };
  let logs = '';

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    const [insecure, secure, api] = await freePorts(3);
    ports = { insecure: insecure!, secure: secure! };
    const config = await writeIsolatedConfig(dir, ports, { api: { port: api }, plugins: { deviceTransports: ['desktop'], connectionHandlers: [] }, limits: { exchangesPerMinutePerSource: 100_000 } });
    child = spawn(process.execPath, [CLI_PATH, 'start', '--config', config, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-20_000)));
    await eventually(() => accepts(ports.insecure), 'the host to listen');
  });
  after(async () => {
    child.kill('SIGTERM');
    await once(child, 'exit');
    await cleanup();
  });

  it('keeps file descriptors and memory flat', { timeout: (SECONDS + 120) * 1000 }, async () => {
    let cycles = 0;
    let calls = 0;
    const cycle = async (worker: number, round: number, fresh: boolean) => {
      const client = new FlipperClient({
        appId: `com.example.soak${worker}`, appName: `Soak ${worker}`, os: 'Linux', device: `w${worker}`,
        stateDir: join(dir, `w${worker}`, fresh ? `r${round}` : 'state', 'sonar'), host: '127.0.0.1', ports, plugins: [demoPlugin()], reconnectMs: 20,
      });
      const connected = new Promise((resolve) => client.once('hostRequest', resolve));
      client.start();
      await connected;
      for (let i = 0; i < 5; i++) client.send('demo', 'tick', { i, pad: 'x'.repeat(1000) });
      calls += 5;
      await client.stop();
      cycles++;
    };
    const churn = async (ms: number) => {
      const deadline = Date.now() + ms;
      await Promise.all(Array.from({ length: WORKERS }, async (_, worker) => {
        for (let round = 0; Date.now() < deadline; round++) await cycle(worker, round, round % 4 === 0); // every 4th round is a fresh exchange
      }));
    };
    const settle = async () => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return hostFacts(child.pid!);
    };

    await churn(Math.min(10_000, SECONDS * 100)); // warm-up: JIT, caches, TLS session state
    const baseline = await settle();
    await churn(SECONDS * 1000);
    const end = await settle();
    console.log(`# soak: ${cycles} connect/exchange/disconnect cycles, ${calls} events; fds ${baseline.fds} -> ${end.fds}; RSS ${baseline.rssKb} KB -> ${end.rssKb} KB`);
    assert.ok(cycles > WORKERS * 5, `only ${cycles} cycles ran`);
    assert.ok(end.fds <= baseline.fds + 2, `file descriptors grew from ${baseline.fds} to ${end.fds}`);
    assert.ok(end.rssKb < baseline.rssKb * 1.5 + 20_000, `memory grew from ${baseline.rssKb} KB to ${end.rssKb} KB`);
    assert.doesNotMatch(logs, /"level":"error"/);
  });
});
