import { type ClientPlugin, type PluginConnection, PluginError } from './client-plugin.js';

export type SdkAnswer = { success: unknown } | { error: Record<string, unknown> };

/**
 * Answers the host's plugin-protocol calls with the SDKs' success and error shapes (docs/protocol-rsocket.md, "How the SDKs answer").
 * Plugins are "connected" by `init` and disconnected by `deinit`; `execute` reaches only connected ones.
 */
export class PluginResponder {
  private readonly connected = new Set<string>();

  constructor(
    private readonly plugins: readonly ClientPlugin[],
    private readonly sendEvent: (plugin: string, method: string, params: unknown) => void,
  ) {}

  async handle(method: unknown, params: unknown): Promise<SdkAnswer> {
    const p = (params ?? {}) as Record<string, unknown>;
    try {
      switch (method) {
        case 'getPlugins':
          return { success: { plugins: this.plugins.map((x) => x.id) } };
        case 'getBackgroundPlugins':
          return { success: { plugins: this.plugins.filter((x) => x.runInBackground).map((x) => x.id) } };
        case 'init':
          return this.init(String(p.plugin));
        case 'deinit':
          return this.deinit(String(p.plugin));
        case 'execute':
          return await this.execute(String(p.api), String(p.method), p.params);
        case 'isMethodSupported': {
          if (!this.connected.has(String(p.api))) return notConnected(String(p.api), 'isMethodSupported');
          const plugin = this.find(String(p.api))!;
          return { success: { isSupported: plugin.receivers?.[String(p.method)] !== undefined } };
        }
        default:
          return { error: { message: `Received unknown method: ${String(method)}` } };
      }
    } catch (error) {
      const e = error as Error;
      return { error: { message: e.message, stacktrace: e.stack ?? '', name: error instanceof PluginError && error.errorName ? error.errorName : e.name } };
    }
  }

  disconnectAll(): void {
    for (const id of this.connected) this.find(id)?.onDisconnect?.();
    this.connected.clear();
  }

  private init(id: string): SdkAnswer {
    const plugin = this.find(id);
    if (!plugin) return { error: { message: `Plugin ${id} not found for method init`, name: 'PluginNotFound' } };
    if (!this.connected.has(id)) {
      this.connected.add(id);
      const connection: PluginConnection = { send: (method, params) => this.sendEvent(id, method, params) };
      plugin.onConnect?.(connection);
    }
    return { success: {} };
  }

  private deinit(id: string): SdkAnswer {
    const plugin = this.find(id);
    if (!plugin) return { error: { message: `Plugin ${id} not found for method deinit`, name: 'PluginNotFound' } };
    if (this.connected.delete(id)) plugin.onDisconnect?.();
    return { success: {} };
  }

  private async execute(api: string, method: string, params: unknown): Promise<SdkAnswer> {
    if (!this.connected.has(api)) return notConnected(api, 'execute');
    const receiver = this.find(api)!.receivers?.[method];
    if (!receiver) return { error: { message: `Receiver ${method} not found.` } };
    return { success: (await receiver(params)) ?? {} };
  }

  private find(id: string): ClientPlugin | undefined {
    return this.plugins.find((p) => p.id === id);
  }
}

function notConnected(api: string, method: string): SdkAnswer {
  return { error: { message: `Connection ${api} not found for method ${method}`, name: 'ConnectionNotFound' } };
}
