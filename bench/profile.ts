import { readFile, readdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { profilesDir } from './processes.js';

/**
 * `--profile` for work done inside the bench process (the in-process hosts of the throughput step):
 * a node:inspector CPU profile from `start` to the returned stop function, written as
 * `<name>.cpuprofile` (open it in Chrome DevTools or speedscope). A no-op when profiling is off.
 */
export async function profileInProcess(name: string): Promise<() => Promise<void>> {
  const dir = profilesDir();
  if (!dir) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const frameKey = (frame: ProfileNode['callFrame']) => {
  const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '')}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}  ${where}`;
};

/**
 * Inclusive time of sonarhost's own functions (dist/src): the share of busy samples with the
 * function anywhere on the stack, best first. Shows which of our code paths the time goes through.
 */
export async function topInclusiveOurs(file: string, count = 25): Promise<string[]> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as { nodes: ProfileNode[]; samples?: number[] };
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  for (const id of profile.samples ?? []) {
    const name = byId.get(id)!.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') continue;
    all++;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (!frame.url.includes('/dist/src/')) continue;
      const key = frameKey(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      totals.set(key, (totals.get(key) ?? 0) + 1);
    }
  }
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, n]) => `${((n / Math.max(1, all)) * 100).toFixed(1).padStart(5)}%  ${key}`);
}

/** The functions with the most self time in a .cpuprofile: "12.3%  name  file:line", best first. */
export async function topSelfTime(file: string, count = 15): Promise<string[]> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as { nodes: ProfileNode[]; samples?: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  if (profile.samples?.length) for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  else for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  const totals = new Map<string, number>();
  let all = 0;
  for (const [id, count] of hits) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)' || frame.functionName === '(program)') continue;
    const key = frameKey(frame);
    totals.set(key, (totals.get(key) ?? 0) + count);
    all += count;
  }
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, n]) => `${((n / all) * 100).toFixed(1).padStart(5)}%  ${key}`);
}

/** Writes `<profile>.top.txt` beside each profile in the folder; returns the file names. */
export async function summarizeProfiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.cpuprofile'));
  for (const name of names) {
    const file = join(dir, name);
    const failed = (error: unknown) => [`unreadable: ${(error as Error).message}`];
    const self = await topSelfTime(file, 25).catch(failed);
    const ours = await topInclusiveOurs(file, 25).catch(failed);
    const text = `Self time, share of busy samples (idle and (program) left out):\n${self.join('\n')}\n\nsonarhost's own functions (dist/src), inclusive time, share of busy samples:\n${ours.join('\n')}\n`;
    await writeFile(join(dir, name.replace(/\.cpuprofile$/, '.top.txt')), text);
  }
  return names;
}
