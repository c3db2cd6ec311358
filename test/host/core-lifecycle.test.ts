import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientRegistry } from '../../src/core/client-registry.js';
import { ConnectionDiagnostics } from '../../src/core/connection-diagnostics.js';
import { ConnectionGate } from '../../src/core/connection-gate.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { startTestHost } from '../helpers/test-host.js';

/**
 * The core's singletons (client registry, connection diagnostics, connection gate) belong to the host,
 * not to one transport: a WebSocket-only configuration disposes them too when the host stops.
 */
describe('the host owns the core singletons', () => {
  it('disposes the registry, diagnostics and gate in a WebSocket-only configuration', async () => {
    const { path: dir, cleanup } = await makeTempDir();
    const host = await startTestHost(dir, (config) => {
      config.plugins.transports = ['websocket'];
      config.webSocket = { insecure: 0, secure: 0, browser: false };
    });
    const disposed: string[] = [];
    const watch = <T extends object>(name: string, target: T, method: keyof T) => {
      const original = (target[method] as () => void).bind(target);
      (target as Record<keyof T, unknown>)[method] = () => {
        disposed.push(name);
        original();
      };
    };
    watch('registry', host.container.get(ClientRegistry), 'closeAll');
    watch('diagnostics', host.container.get(ConnectionDiagnostics), 'dispose');
    watch('gate', host.container.get(ConnectionGate), 'dispose');
    await host.stop();
    assert.deepEqual(disposed.sort(), ['diagnostics', 'gate', 'registry']);
    await cleanup();
  });
});
