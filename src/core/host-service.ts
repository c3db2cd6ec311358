import { type Disposable } from './disposable.js';

/**
 * A contribution point: anything the host starts after its certificates are ready (device watchers,
 * listeners). Plugins bind their services with `bind(HostService).toService(MyService)`.
 * Platforms start before servers, so devices are known when the first app connects.
 */
export const HostService = Symbol.for('sonarhost.HostService');

export type HostServicePhase = 'platforms' | 'servers';

export interface HostService {
  readonly id: string;
  readonly phase: HostServicePhase;
  /** Starts the service; the returned Disposable stops it. */
  start(): Promise<Disposable>;
  /**
   * The ports it listens on once started, as bound (a config asking for port 0 gets the port the
   * system chose), so startHost can report them without knowing the plugin.
   */
  endpoints?(): readonly HostEndpoint[];
}

export interface HostEndpoint {
  /** Stable, dotted: `rsocket.insecure`, `rsocket.secure`, `websocket.insecure`, `websocket.secure`, `websocket.browser`, `api`. */
  id: string;
  port: number;
}
