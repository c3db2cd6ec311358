import { injectable } from 'inversify';
import { type Disposable, toDisposable } from './disposable.js';

/** What happened in the host, for the API's event stream, the dashboard and diagnostics. */
export type HostEvent =
  | ({ type: 'exchange' } & ExchangeRecord)
  | { type: 'client-connected'; at: string; client: ClientInfo }
  | { type: 'client-disconnected'; at: string; clientId: string }
  | { type: 'plugin-event'; at: string; clientId: string; plugin: string; method: string; params: unknown }
  | { type: 'device'; at: string; transport: string; deviceId: string; state: string }
  /** The server certificate or CA certificate was renewed: TLS listeners load the new credentials. */
  | { type: 'credentials-changed'; at: string; renewals: string[] };

export interface ExchangeRecord {
  at: string;
  app: string;
  os: string;
  device: string;
  ok: boolean;
  durationMs: number;
  appId?: string;
  deviceId?: string;
  transport?: string;
  error?: string;
}

export interface ClientInfo {
  id: string;
  /** A stable hash of `id`, URL-safe; the API accepts it wherever it accepts `id`. */
  shortId: string;
  app: string;
  appId: string;
  os: string;
  device: string;
  deviceId: string;
  sdkVersion: number;
  medium: number;
  plugins: readonly string[];
  backgroundPlugins: readonly string[];
  connectedSince: string;
}

const RECENT_EXCHANGES = 100;

/**
 * A small in-process event bus. Listeners are isolated (one that throws does not stop the others) and
 * the last exchanges are kept so a dashboard opened later still shows them.
 */
@injectable()
export class HostEvents {
  private readonly listeners = new Set<(event: HostEvent) => void>();
  private readonly exchanges: ExchangeRecord[] = [];

  emit(event: HostEvent): void {
    if (event.type === 'exchange') {
      const { type: _type, ...record } = event;
      this.exchanges.push(record);
      if (this.exchanges.length > RECENT_EXCHANGES) this.exchanges.shift();
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a failing listener must not break the host or the other listeners
      }
    }
  }

  subscribe(listener: (event: HostEvent) => void): Disposable {
    this.listeners.add(listener);
    return toDisposable(() => void this.listeners.delete(listener));
  }

  recentExchanges(): ExchangeRecord[] {
    return [...this.exchanges];
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
