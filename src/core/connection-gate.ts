import type * as net from 'node:net';
import { inject, injectable } from 'inversify';
import { type Disposable } from './disposable.js';
import { HostConfig } from './host-config.js';
import { Logger } from './logger.js';
import { csrKeyId } from './x509/csr-key-id.js';

const LOG_WINDOW_MS = 10 * 60_000;
/** Sources (and keys) whose buckets and refusal counts are kept; beyond, the least recently used goes. */
const MAX_TRACKED = 10_000;
/** All loopback exchanges together may use this many times the per-key rate. */
const LOOPBACK_TOTAL_FACTOR = 10;

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
  private readonly pending = new Map<net.Socket, { source: string; timer: NodeJS.Timeout; onClose: () => void }>();
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
    if (isLoopback(source)) {
      // Every local app (adb reverse, simulators, desktop) shares this address: one local process holding
      // all its slots must not lock the others out. The oldest unfinished one makes room for the newcomer.
      if ((this.perSource.get(source) ?? 0) >= maxUnauthenticatedPerSource) this.evictOldest((other) => other === source);
      else if (this.total >= maxUnauthenticatedConnections) this.evictOldest(isLoopback);
    }
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
    const onClose = () => this.release(socket);
    this.pending.set(socket, { source, timer, onClose });
    socket.once('close', onClose);
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

  /**
   * Token buckets of `exchangesPerMinutePerSource`, refilled continuously: per source address, except
   * on loopback, which every local app shares, where the bucket is the CSR's public key (a flooding
   * local process cannot spend another app's budget), under a cap on all loopback exchanges together
   * of ten times that rate.
   */
  allowExchange(source: string | undefined, csr?: unknown): boolean {
    const rate = this.config.limits.exchangesPerMinutePerSource;
    const address = source ?? 'unknown';
    if (isLoopback(address)) {
      if (!this.takeToken(`${address}#key:${csrKeyId(csr) ?? 'unreadable'}`, rate)) {
        this.refuse(address, 'certificate exchange rate limit (per key)');
        return false;
      }
      if (!this.takeToken('loopback', rate * LOOPBACK_TOTAL_FACTOR)) {
        this.refuse(address, 'certificate exchange rate limit (all local apps)');
        return false;
      }
      return true;
    }
    if (!this.takeToken(address, rate)) {
      this.refuse(address, 'certificate exchange rate limit');
      return false;
    }
    return true;
  }

  /** Counts a refusal and logs it at most once per source per window, with how many there were. */
  refuse(source: string, reason: string): void {
    this.refusalCounts.set(reason, (this.refusalCounts.get(reason) ?? 0) + 1);
    const now = Date.now();
    const entry = this.refusals.get(source) ?? { count: 0, loggedAt: 0, reasons: new Set<string>() };
    entry.count++;
    entry.reasons.add(reason);
    if (now - entry.loggedAt >= LOG_WINDOW_MS) {
      this.log.warn(`refused ${entry.count} connection attempt${entry.count === 1 ? '' : 's'} from ${source}`, { source, reasons: [...entry.reasons] });
      entry.loggedAt = now;
      entry.count = 0;
      entry.reasons.clear();
    }
    this.refusals.delete(source); // least recently refused first, for the bound below
    this.refusals.set(source, entry);
    if (this.refusals.size > MAX_TRACKED) this.refusals.delete(this.refusals.keys().next().value!);
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

  /** One token from the bucket `key` (of `rate` per minute), if it has one. Buckets are kept least-recently-used first. */
  private takeToken(key: string, rate: number): boolean {
    const now = Date.now();
    const bucket = this.exchangeBuckets.get(key) ?? { tokens: rate, at: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 60_000) * rate);
    bucket.at = now;
    this.exchangeBuckets.delete(key);
    this.exchangeBuckets.set(key, bucket);
    // Bounded: the least recently used bucket goes (a full one, in practice), never every bucket at once.
    if (this.exchangeBuckets.size > MAX_TRACKED) this.exchangeBuckets.delete(this.exchangeBuckets.keys().next().value!);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Destroys the oldest connection still waiting to authenticate whose source matches. */
  private evictOldest(matches: (source: string) => boolean): void {
    for (const [socket, entry] of this.pending) {
      if (!matches(entry.source)) continue;
      this.refuse(entry.source, 'oldest unauthenticated connection closed to admit a newer one');
      this.release(socket);
      socket.destroy();
      return;
    }
  }

  private release(socket: net.Socket): void {
    const entry = this.pending.get(socket);
    if (!entry) return;
    clearTimeout(entry.timer);
    // An authenticated connection may stay for days: it must not keep this listener (and its closure) that long.
    socket.removeListener('close', entry.onClose);
    this.pending.delete(socket);
    this.total--;
    const left = (this.perSource.get(entry.source) ?? 1) - 1;
    if (left > 0) this.perSource.set(entry.source, left);
    else this.perSource.delete(entry.source);
  }
}

/** Addresses every local process shares (IPv4, IPv6 and IPv4-mapped loopback). */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}
