import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CertificateExchangeMedium } from '../core/client-query.js';
import { type AppClient, ConnectionHandler } from '../core/connection-handler.js';
import { type HostConfig } from '../core/host-config.js';
import { type PluginDescriptor } from '../core/plugin-descriptor.js';
import { pluginContainer } from './plugin-container.js';

export interface ConnectionHandlerConformanceOptions {
  plugin: PluginDescriptor;
  /** `pluginOptions` for the host config; `root` is a fresh temporary folder the handler may write into. */
  pluginOptions?(root: string): HostConfig['pluginOptions'];
  /** A plugin id the handler claims with these options (default: the first of a few common ids it claims). */
  claimedPlugin?: string;
}

/**
 * Registers node:test tests that check a connection handler against its contract: `claims` answers
 * synchronously and consistently; the callbacks accept a connected app, its events and its disconnect
 * without throwing, and without calling the app unless it claims a plugin.
 */
export function describeConnectionHandlerConformance(options: ConnectionHandlerConformanceOptions): void {
  describe(`connection handler "${options.plugin.id}" conformance`, () => {
    let root: string;
    let handler: ConnectionHandler;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'sonarhost-conformance-'));
      const container = await pluginContainer(options.plugin, options.pluginOptions?.(root) ?? {}, join(root, '.certs'));
      [handler] = container.getAll<ConnectionHandler>(ConnectionHandler) as [ConnectionHandler];
    });
    // Retries: a handler may still be finishing a write it started in the last test.
    after(() => rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));

    it('has a non-empty id', () => {
      assert.equal(typeof handler.id, 'string');
      assert.ok(handler.id.length > 0, 'ConnectionHandler.id must not be empty');
    });

    it('claims: answers synchronously with a boolean, the same answer every time', () => {
      for (const plugin of ['Network', 'demo', 'Inspector', '']) {
        const answer = handler.claims(plugin);
        assert.equal(typeof answer, 'boolean', `claims(${JSON.stringify(plugin)}) must return a boolean`);
        for (let i = 0; i < 100; i++) assert.equal(handler.claims(plugin), answer, 'claims() must depend on the plugin id only');
      }
    });

    it('accepts a connect, an event of a claimed plugin, and a disconnect without throwing', async () => {
      const claimed = options.claimedPlugin ?? ['demo', 'Network', 'Inspector'].find((p) => handler.claims(p)) ?? 'demo';
      const app = fakeAppClient([claimed]);
      await handler.onClientConnected?.(app);
      handler.onEvent?.(app, { plugin: claimed, method: 'ready', params: { n: 1 } });
      handler.onClientDisconnected?.(app);
      // Give asynchronous work the handler started a moment to fail loudly (unhandled rejections fail the test run).
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
  });
}

/** An app as handlers see it, answering calls with `null`; enough for the callbacks' contract. */
export function fakeAppClient(plugins: string[], backgroundPlugins: string[] = []): AppClient {
  return {
    id: 'Conformance#Linux#test machine#',
    query: { os: 'Linux', device: 'test machine', app: 'Conformance', deviceId: '', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS },
    appId: 'com.example.conformance',
    connectedAt: new Date(),
    plugins: () => plugins,
    backgroundPlugins: () => backgroundPlugins,
    request: async () => null,
    call: async () => null,
    isMethodSupported: async () => false,
    init: () => undefined,
    deinit: () => undefined,
  };
}
