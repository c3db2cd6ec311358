/**
 * Whoever starts a socket, timer or listener owns a Disposable for it ("start returns stop").
 * dispose() is idempotent and may be async.
 */
export interface Disposable {
  dispose(): void | Promise<void>;
}

export function toDisposable(dispose: () => void | Promise<void>): Disposable {
  let disposed = false;
  return {
    dispose: () => {
      if (disposed) return;
      disposed = true;
      return dispose();
    },
  };
}

/** Disposes its members in reverse order of addition; errors are collected, never swallowed silently. */
export class DisposableCollection implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed = false;

  get isDisposed(): boolean {
    return this.disposed;
  }

  push(...items: Disposable[]): void {
    if (this.disposed) {
      // Late additions are disposed at once so nothing outlives its owner.
      for (const item of items) void Promise.resolve(item.dispose()).catch(() => undefined);
      return;
    }
    this.items.push(...items);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    while (this.items.length > 0) {
      const item = this.items.pop()!;
      try {
        await item.dispose();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'several resources failed to close');
  }
}
