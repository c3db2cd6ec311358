// Preloaded into a host child process (NODE_OPTIONS="--expose-gc --import <this file>") for row 3 only:
// on SIGUSR2 it runs two full garbage collections and appends process.memoryUsage() as one JSON line to
// <SONARHOST_BENCH_PROBE_DIR>/memory-<pid>.jsonl. Both hosts get the same probe. It imports nothing of
// sonarhost's (and no reflect-metadata): it must not change the process it measures, flipper-server included.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.SONARHOST_BENCH_PROBE_DIR;
if (dir) {
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    appendFileSync(join(dir, `memory-${process.pid}.jsonl`), JSON.stringify({ at: Date.now(), gc: gc !== undefined, ...process.memoryUsage() }) + '\n');
  });
}
