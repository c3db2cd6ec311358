/** Anything Node lets hold writes back: a net or TLS socket, an HTTP response. */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

const batching = new WeakSet<Corkable>();

function release(target: Corkable): void {
  batching.delete(target);
  target.uncork();
}

/**
 * Holds the writes made to `target` until the current tick ends, so that a burst (every event of one
 * incoming chunk, a hundred requests of one tool message) leaves in one system call instead of one
 * each: on loopback the write calls were the largest single cost of the tools' and events' paths.
 * Nothing waits longer than the synchronous work already under way. Call it before each write.
 */
export function batchWritesThisTick(target: Corkable): void {
  if (batching.has(target)) return;
  batching.add(target);
  target.cork();
  process.nextTick(release, target);
}
