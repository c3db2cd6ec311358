import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startFlipperServerChild } from './flipper-server-process.js';
import { startSonarhostChild } from './sonarhost-process.js';
import { hrMs, median } from './stats.js';

export interface StartupResult {
  repeats: number;
  /** ms from spawn to listening, medians. */
  sonarhost: { firstRun?: number; existing?: number; firstRunSamples: number[]; existingSamples: number[] };
  flipper: { firstRun?: number; existing?: number; firstRunSamples: number[]; existingSamples: number[] };
  /** `node -e ""` from spawn to exit: the floor for any Node host. */
  nodeBaselineMs?: number;
  flipperSkipped?: string;
  errors: string[];
}

/**
 * Row 5: from spawning the process to its exchange port listening, first run (no certificates: the CA
 * and the server certificate are generated) and with the certificates of the previous run. sonarhost:
 * the real binary until its "listening (insecure)" log line (the last listener it opens); flipper-server:
 * until its exchange port accepts a TCP connection (polled every 5 ms; first run = fresh HOME, where it
 * runs openssl to make its CA). Interleaved: sonarhost, flipper, sonarhost, flipper…
 */
export async function measureStartup(dir: string, options: { repeats: number; deadline: number; flipperReason?: string }): Promise<StartupResult> {
  const result: StartupResult = {
    repeats: options.repeats,
    sonarhost: { firstRunSamples: [], existingSamples: [] },
    flipper: { firstRunSamples: [], existingSamples: [] },
    flipperSkipped: options.flipperReason,
    errors: [],
  };
  const baseline: number[] = [];
  for (let i = 0; i < 3; i++) baseline.push(await nodeBaseline());
  result.nodeBaselineMs = median(baseline);
  for (let rep = 0; rep < options.repeats && Date.now() < options.deadline; rep++) {
    const sonarDir = join(dir, `sonarhost-${rep}`);
    const home = join(dir, `flipper-home-${rep}`);
    for (const phase of ['firstRun', 'existing'] as const) {
      try {
        const host = await startSonarhostChild(sonarDir, { certDir: join(sonarDir, 'certs') });
        result.sonarhost[`${phase}Samples`].push(host.listeningMs);
        await host.stop();
      } catch (error) {
        result.errors.push(`sonarhost ${phase}: ${(error as Error).message.split('\n')[0]}`);
      }
      if (result.flipperSkipped || Date.now() > options.deadline) continue;
      try {
        const server = await startFlipperServerChild(home);
        result.flipper[`${phase}Samples`].push(server.readyMs);
        await server.stop();
      } catch (error) {
        result.errors.push(`flipper-server ${phase}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
  }
  for (const host of [result.sonarhost, result.flipper]) {
    if (host.firstRunSamples.length) host.firstRun = median(host.firstRunSamples);
    if (host.existingSamples.length) host.existing = median(host.existingSamples);
  }
  return result;
}

function nodeBaseline(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = hrMs();
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolve(hrMs() - started));
  });
}
