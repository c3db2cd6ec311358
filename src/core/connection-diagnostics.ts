import { inject, injectable } from 'inversify';
import { type ClientQuery } from './client-query.js';
import { type Disposable } from './disposable.js';
import { Logger } from './logger.js';

export const UNRESPONSIVE_AFTER_EXCHANGE_MS = 30_000;
export const LOOP_WINDOW_MS = 20_000;
export const LOOP_THRESHOLD = 4;
/** How long the latest attempt has to become a working session before a loop is reported. */
export const LOOP_SETTLE_MS = 10_000;

/**
 * Upstream's two connection diagnostics, with log lines that say what to check:
 * an exchange that is not followed by a secure connection within 30 s, and an app that connects
 * 4 times within 20 s without reaching a working session (a connection loop).
 *
 * Unlike upstream, attempts that led to a working session are forgotten when it starts: an app
 * restarted twice in ten seconds (exchange, secure, exchange, secure) is normal, not a loop. The
 * 4th attempt is given time to succeed before the warning, so a single recovery (two refused secure
 * connections, a fresh exchange, then success) is not reported either.
 */
@injectable()
export class ConnectionDiagnostics implements Disposable {
  private readonly log: Logger;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  /** Per app: times of the attempts since its last working session. */
  private readonly attempts = new Map<string, number[]>();
  private readonly loopChecks = new Map<string, NodeJS.Timeout>();
  private readonly warnedAt = new Map<string, number>();

  /** Adjustable so tests need not wait 30 s. */
  unresponsiveMs = UNRESPONSIVE_AFTER_EXCHANGE_MS;
  /** Adjustable so tests need not wait 10 s. */
  loopSettleMs = LOOP_SETTLE_MS;

  constructor(@inject(Logger) logger: Logger) {
    this.log = logger.child('diagnostics');
  }

  /** Every connection attempt, exchange or secure. */
  connectionAttempt(query: ClientQuery): void {
    const key = keyOf(query);
    const now = Date.now();
    const recent = (this.attempts.get(key) ?? []).filter((t) => now - t < LOOP_WINDOW_MS);
    recent.push(now);
    this.attempts.set(key, recent);
    if (recent.length >= LOOP_THRESHOLD && !this.loopChecks.has(key) && this.loopChecks.size < 10_000) {
      const timer = setTimeout(() => this.checkLoop(key, query), this.loopSettleMs);
      timer.unref();
      this.loopChecks.set(key, timer);
    }
    if (this.attempts.size > 10_000) this.attempts.clear(); // bounded under hostile churn
  }

  /** The app is registered and answered getPlugins: the attempts that led here were not a loop. */
  sessionEstablished(query: ClientQuery): void {
    const key = keyOf(query);
    this.attempts.delete(key);
    clearTimeout(this.loopChecks.get(key));
    this.loopChecks.delete(key);
  }

  private checkLoop(key: string, query: ClientQuery): void {
    this.loopChecks.delete(key);
    const failed = this.attempts.get(key) ?? [];
    const lastWarning = this.warnedAt.get(key);
    if (failed.length < LOOP_THRESHOLD || (lastWarning !== undefined && Date.now() - lastWarning < LOOP_WINDOW_MS)) return;
    this.warnedAt.set(key, Date.now());
    if (this.warnedAt.size > 10_000) this.warnedAt.clear();
    this.log.warn(
      `Connection loop detected: ${query.app} on ${query.device} connected ${failed.length} times within ${LOOP_WINDOW_MS / 1000} s without reaching a working session. ` +
        'Check the app log for TLS errors (device clock, a rotated CA) and that only one host listens on these ports.',
      { app: query.app, os: query.os, device: query.device },
    );
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
    for (const timer of [...this.pending.values(), ...this.loopChecks.values()]) clearTimeout(timer);
    this.pending.clear();
    this.loopChecks.clear();
    this.attempts.clear();
    this.warnedAt.clear();
  }
}

// device_id changes between the exchange ("unknown") and the secure SETUP (the id we answered), so it is not part of the key.
function keyOf(query: ClientQuery): string {
  return `${query.app}#${query.os}#${query.device}`;
}
