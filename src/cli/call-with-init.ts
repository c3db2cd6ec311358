/**
 * What an app answers when a plugin is not connected (not a background plugin, and no UI opened it):
 * the plugin protocol's ConnectionNotFound, or an SDK's "Connection <id> not found" message.
 */
export function answersNotConnected(appError: unknown): boolean {
  const error = appError as { name?: unknown; message?: unknown } | undefined;
  return error?.name === 'ConnectionNotFound' || (typeof error?.message === 'string' && /^Connection \S+ not found/.test(error.message));
}

export interface CallWithInit {
  /** Sends the plugin's `execute`; `leftMs` is what is left of the whole call's time. */
  execute(leftMs: number): Promise<unknown>;
  /** Sends the plugin protocol's `init` for the plugin (what a UI sends when it opens it). */
  init(): Promise<void>;
  /** Whether a failure of `execute` is the app saying the plugin is not connected. */
  notConnected(error: unknown): boolean;
  timeoutMs: number;
  /** Told when `init` is sent, e.g. to say so on stderr. */
  onInit?(): void;
}

/**
 * A plugin's `execute`, and if the app answers that the plugin is not connected, its `init` and the
 * call again: what a Flipper UI does by opening the plugin first. Shared by `sonarhost call` and the
 * MCP server's call_plugin.
 */
export async function callWithInit(call: CallWithInit): Promise<unknown> {
  const deadline = Date.now() + call.timeoutMs;
  const execute = () => call.execute(Math.max(1, deadline - Date.now()));
  try {
    return await execute();
  } catch (error) {
    if (!call.notConnected(error)) throw error;
  }
  call.onInit?.();
  await call.init();
  // init is fire-and-forget: the app handles it before the next request on the same connection, but an
  // SDK that connects the plugin on another thread may need a moment.
  for (const pauseMs of [0, 100, 400]) {
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    try {
      return await execute();
    } catch (error) {
      if (!call.notConnected(error) || Date.now() >= deadline) throw error;
    }
  }
  return execute();
}
