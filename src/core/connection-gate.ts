import type * as net from 'node:net';
import { inject, injectable } from 'inversify';
import { type Disposable } from './disposable.js';
import { HostConfig } from './host-config.js';
import { Logger } from './logger.js';

const LOG_WINDOW_MS = 10 * 60_000;

/**
 * Admission control for every listener: how many connections may be unauthenticated at once (in total
 * and per source address), how long a connection may stay unauthenticated (so a slow or silent peer
 * cannot hold a slot: slowloris), how many certificate exchanges a source may ask for per minute, and
 * refusals counted and logged once per source per window instead of once per attempt.
 */
@injectable()
export class ConnectionGate implements Disposable {
  private readonly log: Logger;
  private total = 0;
  private readonly perSource = new Map<string, number>();
  private readonly pending = new Map<net.Socket, { source: string; timer: NodeJS.Timeout }>();
  private readonly exchangeBuckets = new Map<string, { tokens: number; at: number }>();
  private readonly refusals = new Map<string, { count: number; loggedAt: number; reasons: Set<string> }>();
  /** Refusals by reason, for diagnostics and tests. */
  readonly refusalCounts = new Map<string, number>();

  constructor(
    @inject(HostConfig) private readonly config: HostConfig,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('gate');
  }

  /**
   * A new connection that has not proven who it is. Returns false (and destroys the socket) when the
   * limits are reached; otherwise the socket is destroyed if it is still unauthenticated when the
   * lifetime runs out.
   */
  admit(socket: net.Socket, listener: string): boolean {
    const { maxUnauthenticatedConnections, maxUnauthenticatedPerSource, unauthenticatedLifetimeMs } = this.config.limits;
    const source = socket.remoteAddress ?? 'unknown';
    for (const pendingSocket of this.pending.keys()) if (pendingSocket.destroyed) this.release(pendingSocket); // belt and braces
    const fromSource = this.perSource.get(source) ?? 0;
    if (this.total >= maxUnauthenticatedConnections || fromSource >= maxUnauthenticatedPerSource) {
      this.refuse(source, this.total >= maxUnauthenticatedConnections ? 'too many unauthenticated connections' : 'too many unauthenticated connections from one source');
      socket.destroy();
      return false;
    }
    this.total++;
    this.perSource.set(source, fromSource + 1);
    const timer = setTimeout(() => {
      this.refuse(source, `no complete ${listener} handshake within ${unauthenticatedLifetimeMs} ms`);
      socket.destroy();
    }, unauthenticatedLifetimeMs);
    timer.unref();
    this.pending.set(socket, { source, timer });
    socket.once('close', () => this.release(socket));
    return true;
  }

  /** The connection ended (for owners whose socket listeners were removed by a library). */
  closed(socket: net.Socket): void {
    this.release(socket);
  }

  /** The connection proved its identity (a client certificate and a matching SETUP): it no longer counts. */
  authenticated(socket: net.Socket | undefined): void {
    if (socket) this.release(socket);
  }

  /** Token bucket per source address: `exchangesPerMinutePerSource`, refilled continuously. */
  allowExchange(source: string | undefined): boolean {
    const rate = this.config.limits.exchangesPerMinutePerSource;
    const key = source ?? 'unknown';
    const now = Date.now();
    const bucket = this.exchangeBuckets.get(key) ?? { tokens: rate, at: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 60_000) * rate);
    bucket.at = now;
    this.exchangeBuckets.set(key, bucket);
    if (this.exchangeBuckets.size > 10_000) this.exchangeBuckets.clear();
    if (bucket.tokens < 1) {
      this.refuse(key, 'certificate exchange rate limit');
      return false;
    }
    bucket.tokens -= 1;
    return true;
  }

  /** Counts a refusal and logs it at most once per source per window, with how many there were. */
  refuse(source: string, reason: string): void {
    this.refusalCounts.set(reason, (this.refusalCounts.get(reason) ?? 0) + 1);
    const now = Date.now();
    const entry = this.refusals.get(source) ?? { count: 0, loggedAt: 0, reasons: new Set<string>() };
    entry.count++;
    entry.reasons.add(reason);
    this.refusals.set(source, entry);
    if (now - entry.loggedAt >= LOG_WINDOW_MS) {
      this.log.warn(`refused ${entry.count} connection attempt${entry.count === 1 ? '' : 's'} from ${source}`, { source, reasons: [...entry.reasons] });
      entry.loggedAt = now;
      entry.count = 0;
      entry.reasons.clear();
    }
    if (this.refusals.size > 10_000) this.refusals.clear();
  }

  /** Whether the socket passed `authenticated()` (or was never admitted as unauthenticated). */
  isAuthenticated(socket: net.Socket): boolean {
    return !this.pending.has(socket);
  }

  get unauthenticated(): number {
    return this.total;
  }

  dispose(): void {
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private release(socket: net.Socket): void {
    const entry = this.pending.get(socket);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(socket);
    this.total--;
    const left = (this.perSource.get(entry.source) ?? 1) - 1;
    if (left > 0) this.perSource.set(entry.source, left);
    else this.perSource.delete(entry.source);
  }
}
