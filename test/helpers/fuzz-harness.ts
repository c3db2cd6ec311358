import assert from 'node:assert/strict';
import fc from 'fast-check';

/**
 * Shared machinery of the fuzz suite (test/fuzz): one fixed seed (override with FUZZ_SEED to explore;
 * fast-check prints the seed and the shrunk counterexample of any failure), bounded runs, a watch for
 * crashes the host would not survive, and deadlines for every wait.
 */
export const FUZZ_SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 0x50_4e_41_52;

/** FUZZ_RUNS_SCALE multiplies every numRuns (e.g. 10 for a long local session); defaults to 1. */
const SCALE = process.env.FUZZ_RUNS_SCALE !== undefined ? Number(process.env.FUZZ_RUNS_SCALE) : 1;

/**
 * Parameters for `fc.assert`: the fixed seed, `numRuns` cases, each case failing when it takes longer
 * than `caseTimeoutMs` (a hang is a failure, not a stuck suite), and a bounded shrink. Properties that
 * document a known bug pass `shrink: false`: they fail on their first counterexample, quickly.
 */
export function fuzzParameters<T>(numRuns: number, caseTimeoutMs = 10_000, options: { shrink?: boolean } = {}): fc.Parameters<T> {
  return {
    seed: FUZZ_SEED,
    numRuns: Math.max(1, Math.round(numRuns * SCALE)),
    timeout: caseTimeoutMs,
    endOnFailure: options.shrink === false,
    // Shrinking network cases is slow: the whole property (runs and shrink) stops after 45 s, reporting
    // the smallest counterexample found so far.
    interruptAfterTimeLimit: 45_000 * Math.max(1, SCALE),
    markInterruptAsFailure: false,
  };
}

/**
 * Runs a property like `fc.assert`, but reports a failure readably: seed and path (to replay with
 * FUZZ_SEED and fast-check's `path`), the error of the counterexample, and the counterexample cut to
 * a readable length (fuzz inputs can be 100 KB).
 */
export async function checkProperty<Ts>(property: fc.IAsyncProperty<Ts>, parameters: fc.Parameters<Ts>): Promise<{ runs: number }> {
  const details = await fc.check(property, parameters);
  if (details.failed) {
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    const example = fc.stringify(details.counterexample);
    throw new Error(
      `Property failed after ${details.numRuns} run(s) (seed ${details.seed}, path "${details.counterexamplePath}", shrunk ${details.numShrinks} time(s)${details.interrupted ? ', interrupted' : ''}).\n` +
        `Error: ${error}\n` +
        `Counterexample (${example.length} characters): ${example.length > 3_000 ? `${example.slice(0, 1_500)} … ${example.slice(-1_500)}` : example}`,
    );
  }
  if (details.interrupted) throw new Error(`Property interrupted after ${details.numRuns} run(s) of ${parameters.numRuns}: the time limit was reached (seed ${details.seed}).`);
  return { runs: details.numRuns };
}

/** Rejects when `work` does not settle within `ms`. */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns a value (not undefined/false) or `ms` pass. */
export async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}\n${(value.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  return String(value);
}

/**
 * Console output of rsocket-js that is known, harmless and not caused by sonarhost's code: counted (see
 * `noise`), not failed on. rsocket-flowable warns when a peer that opened a REQUEST_CHANNEL (which no
 * responder of ours implements) disconnects.
 */
const KNOWN_LIBRARY_NOISE = [/^console\.warn: premature onError for processor/];

/**
 * Records what would crash or pollute a production host: uncaught exceptions and unhandled rejections
 * (process-level listeners, so the test process survives to report them), and console output from
 * library code (rsocket-js reports exceptions thrown by our responders through `console.error`).
 */
export class CrashWatch {
  private readonly problems: string[] = [];
  private readonly consoleCalls: string[] = [];
  /** Known library console output, by message, for the suite's diagnostics. */
  readonly noise = new Map<string, number>();
  private readonly onException = (error: unknown) => this.problems.push(`uncaughtException: ${describe(error)}`);
  private readonly onRejection = (reason: unknown) => this.problems.push(`unhandledRejection: ${describe(reason)}`);
  private readonly originalError = console.error;
  private readonly originalWarn = console.warn;

  install(): this {
    process.on('uncaughtException', this.onException);
    process.on('unhandledRejection', this.onRejection);
    const record = (line: string) => {
      if (KNOWN_LIBRARY_NOISE.some((pattern) => pattern.test(line))) this.noise.set(line, (this.noise.get(line) ?? 0) + 1);
      else this.consoleCalls.push(line);
    };
    console.error = (...args: unknown[]) => record(`console.error: ${args.map(describe).join(' ')}`);
    console.warn = (...args: unknown[]) => record(`console.warn: ${args.map(describe).join(' ')}`);
    return this;
  }

  dispose(): void {
    process.off('uncaughtException', this.onException);
    process.off('unhandledRejection', this.onRejection);
    console.error = this.originalError;
    console.warn = this.originalWarn;
  }

  /** Fails (and forgets what it reported) when anything was recorded since the last call. */
  assertClean(what: string): void {
    const problems = this.problems.splice(0);
    const consoleCalls = this.consoleCalls.splice(0);
    assert.deepEqual(problems, [], `${what}: the host would have crashed or leaked a rejection`);
    assert.deepEqual(consoleCalls, [], `${what}: library code reported an exception on the console`);
  }

  /** What was recorded since the last call, without failing (for properties that are known to fail). */
  drain(): string[] {
    return [...this.problems.splice(0), ...this.consoleCalls.splice(0)];
  }

  /**
   * For a property's predicate: fails the current case when something was recorded during it (and
   * forgets it, so that shrinking attributes each record to the case that caused it).
   */
  assertNothingYet(): void {
    const recorded = [...this.problems.splice(0), ...this.consoleCalls.splice(0)];
    if (recorded.length > 0) throw new Error(`recorded during this case: ${recorded.join('\n')}`);
  }
}

/** Lets timers and I/O callbacks that the last case scheduled run (so their failures are attributed to it). */
export function settle(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
