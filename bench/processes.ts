import { type ChildProcess, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Resident set size of a process in bytes, from /proc/<pid>/status (Linux only). */
export async function readRssBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time (ms) the main thread of a process has run, from /proc/<pid>/schedstat (Linux, ns
 * precision). The host's JavaScript, TLS handshakes and JSON work all run there, so this measures
 * the host's own work per operation, which the machine's load changes far less than latency.
 */
export async function mainThreadCpuMs(pid: number): Promise<number | undefined> {
  try {
    return Number((await readFile(`/proc/${pid}/schedstat`, 'utf8')).split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (ms) a process has used in all its threads (ns precision, /proc/<pid>/task/<tid>/schedstat)
 * plus what its children used once it waited for them (cutime + cstime of /proc/<pid>/stat, in clock
 * ticks): flipper-server's openssl runs count, as do sonarhost's thread-pool jobs (RSA signatures).
 * Summed over many operations and divided by their number, this is the host's cost per operation,
 * which the machine's load changes far less than latency. Linux only; undefined elsewhere.
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "(comm) ", field 3 (state) comes first: cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const childTicks = Number(fields[13]) + Number(fields[14]);
    return ns / 1e6 + (childTicks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Open file descriptors of a process (Linux only). */
export async function countFds(pid: number): Promise<number | undefined> {
  try {
    return (await readdir(`/proc/${pid}/fd`)).length;
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` is true, at `intervalMs`, for at most `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export { accepts } from '../test/helpers/free-ports.js';

export const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** Children this bench started (with whether they lead a process group), for an interrupted run. */
const started = new Map<ChildProcess, boolean>();

export function trackChild(child: ChildProcess, group: boolean): void {
  started.set(child, group);
  child.once('exit', () => started.delete(child));
}

/** SIGKILL to every child we started and that is still running (its process group when it leads one). */
export function killTrackedChildren(): void {
  for (const [child, group] of started) {
    if (hasExited(child) || child.pid === undefined) continue;
    try {
      if (group) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Stops a child we started: SIGTERM (to its process group when `group`), then SIGKILL after `graceMs`.
 * Resolves once it has exited.
 */
export async function stopChild(child: ChildProcess, { group = false, graceMs = 3000 }: { group?: boolean; graceMs?: number } = {}): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (group) process.kill(-child.pid!, sig);
      else child.kill(sig);
    } catch {
      child.kill(sig);
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Cleanups for resources that are not plain children (an adb server, a fake device), run on interrupt. */
const cleanups = new Set<() => Promise<unknown>>();

export function registerCleanup(cleanup: () => Promise<unknown>): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export async function runCleanups(timeoutMs = 5000): Promise<void> {
  const all = Promise.allSettled([...cleanups].map((cleanup) => cleanup()));
  await Promise.race([all, sleep(timeoutMs)]);
  cleanups.clear();
}

const PROBE = fileURLToPath(new URL('./memory-probe.js', import.meta.url));

/** Environment that preloads the memory probe (memory-probe.ts) into a host child, writing into `dir`. */
export function memoryProbeEnv(dir: string): NodeJS.ProcessEnv {
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --import ${PROBE}`.trim(), SONARHOST_BENCH_PROBE_DIR: dir };
}

export interface MemoryReading {
  rss: number;
  heapUsed?: number;
  heapTotal?: number;
  external?: number;
  /** Whether the reading followed forced full garbage collections in the host. */
  afterGc: boolean;
}

/**
 * Asks the probe in `pid` for process.memoryUsage() after forced GCs; falls back to /proc VmRSS when the
 * probe does not answer within 3 s.
 */
export async function probeMemory(pid: number, dir: string): Promise<MemoryReading | undefined> {
  const file = join(dir, `memory-${pid}.jsonl`);
  const count = async () => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const before = (await count()).length;
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return undefined;
  }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const lines = await count();
    if (lines.length > before) {
      const m = JSON.parse(lines[lines.length - 1]!) as { rss: number; heapUsed: number; heapTotal: number; external: number; gc: boolean };
      // RSS as the issue asks for it: VmRSS from /proc, read right after the probe's GCs.
      return { rss: (await readRssBytes(pid)) ?? m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, afterGc: m.gc };
    }
    await sleep(20);
  }
  const rss = await readRssBytes(pid);
  return rss === undefined ? undefined : { rss, afterGc: false };
}

/** Rejects after `ms` (and runs `onTimeout`, e.g. to destroy a socket) unless `promise` settled first. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout?.();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
    }),
  ]);
}

/** Where `--profile` puts CPU profiles (undefined: profiling off). */
let profileDir: string | undefined;

export function enableProfiles(dir: string): void {
  profileDir = dir;
}

export const profilesDir = (): string | undefined => profileDir;

/** Node flags that make a host child write `<name>.cpuprofile` into the profile folder when it exits. */
export function profileArgs(name: string | undefined): string[] {
  if (!profileDir || !name) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`];
}
