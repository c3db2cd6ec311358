import { inject, injectable } from 'inversify';
import { type ClientQuery } from './client-query.js';
import { type Disposable } from './disposable.js';
import { Logger } from './logger.js';

export const UNRESPONSIVE_AFTER_EXCHANGE_MS = 30_000;
export const LOOP_WINDOW_MS = 20_000;
export const LOOP_THRESHOLD = 4;

/**
 * Upstream's two connection diagnostics, with log lines that say what to check:
 * an exchange that is not followed by a secure connection within 30 s, and an app that connects
 * 4 times within 20 s (a connection loop).
 */
@injectable()
export class ConnectionDiagnostics implements Disposable {
  private readonly log: Logger;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Map<string, number[]>();

  /** Adjustable so tests need not wait 30 s. */
  unresponsiveMs = UNRESPONSIVE_AFTER_EXCHANGE_MS;

  constructor(@inject(Logger) logger: Logger) {
    this.log = logger.child('diagnostics');
  }

  /** Every connection attempt, exchange or secure; warns once per window when an app loops. */
  connectionAttempt(query: ClientQuery): void {
    const key = keyOf(query);
    const now = Date.now();
    const recent = (this.attempts.get(key) ?? []).filter((t) => now - t < LOOP_WINDOW_MS);
    recent.push(now);
    this.attempts.set(key, recent);
    if (recent.length === LOOP_THRESHOLD) {
      this.log.warn(
        `Connection loop detected: ${query.app} on ${query.device} connected ${LOOP_THRESHOLD} times within ${LOOP_WINDOW_MS / 1000} s. ` +
          'Check the app log for TLS errors (device clock, a rotated CA) and that only one host listens on these ports.',
        { app: query.app, os: query.os, device: query.device },
      );
    }
    if (this.attempts.size > 10_000) this.attempts.clear(); // bounded under hostile churn
  }

  exchangeCompleted(query: ClientQuery): void {
    const key = keyOf(query);
    clearTimeout(this.pending.get(key));
    const timer = setTimeout(() => {
      this.pending.delete(key);
      this.log.warn(
        `Timed out establishing connection with "${query.app}" on "${query.device}": the certificate exchange finished ` +
          `${this.unresponsiveMs / 1000} s ago but no secure connection followed. Check that the app can reach the secure port ` +
          '(adb reverse for Android), that its clock is right, and the app log for TLS errors.',
        { app: query.app, os: query.os, device: query.device },
      );
    }, this.unresponsiveMs);
    timer.unref();
    this.pending.set(key, timer);
  }

  secureAttempt(query: ClientQuery): void {
    const key = keyOf(query);
    clearTimeout(this.pending.get(key));
    this.pending.delete(key);
  }

  dispose(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    this.attempts.clear();
  }
}

// device_id changes between the exchange ("unknown") and the secure SETUP (the id we answered), so it is not part of the key.
function keyOf(query: ClientQuery): string {
  return `${query.app}#${query.os}#${query.device}`;
}
