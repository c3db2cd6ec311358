/**
 * An app-side plugin, as the Flipper SDKs model them: an id, whether it runs in the background, and
 * receivers for the methods the desktop may `execute`. `onConnect` gives it a connection for events.
 */
export interface ClientPlugin {
  readonly id: string;
  readonly runInBackground?: boolean;
  /** Methods the host can call with `execute`; the returned value is the `success` answer. */
  readonly receivers?: Record<string, (params: unknown) => unknown>;
  onConnect?(connection: PluginConnection): void;
  onDisconnect?(): void;
}

export interface PluginConnection {
  /** Sends an event to the host: `{"method":"execute","params":{"api":<plugin>,"method":…,"params":…}}`. */
  send(method: string, params?: unknown): void;
}

/** An error a receiver throws to answer with a specific error object. */
export class PluginError extends Error {
  constructor(
    message: string,
    readonly errorName?: string,
  ) {
    super(message);
  }
}
