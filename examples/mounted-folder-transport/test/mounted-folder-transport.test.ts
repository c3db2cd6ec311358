import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DeviceTransport } from 'sonarhost/plugin-api';
import { describeDeviceTransportConformance, startPluginHost } from 'sonarhost/testing';
import plugin from '../src/index.js';

// The contract every device transport must keep, checked by sonarhost's own suite.
describeDeviceTransportConformance({
  plugin,
  setup: async (root) => ({
    pluginOptions: { 'mounted-folders': { devices: { 'vm-1': join(root, 'vm-1') } } },
    query: { os: 'Linux', device: 'vm-1' },
    destination: '/home/app/sonar/',
    localFolder: join(root, 'vm-1', 'home', 'app', 'sonar'),
  }),
});

test('an app inside a mounted VM completes the exchange and the secure connection', async () => {
  const root = await mkdtemp(join(tmpdir(), 'mounted-folder-test-'));
  const host = await startPluginHost({ plugin, pluginOptions: { 'mounted-folders': { devices: { 'vm-1': join(root, 'vm-1') } } } });
  try {
    const appFolder = join(root, 'vm-1', 'home', 'app', 'sonar');
    await mkdir(appFolder, { recursive: true });
    // The app names its folder as the VM sees it; this process reaches it through the mount.
    const app = await host.connectApp({ device: 'vm-1', stateDir: appFolder, reportedStateDir: '/home/app/sonar/' });
    assert.equal(app.deviceId, 'mounted:vm-1');
    assert.ok((await readdir(appFolder)).includes('device.crt'));
  } finally {
    await host.stop();
    await rm(root, { recursive: true, force: true });
  }
});

test('a mount that does not exist is a configuration error naming the option, not a raw ENOENT', async () => {
  const host = await startPluginHost({ plugin, pluginOptions: { 'mounted-folders': { devices: { 'vm-1': '/nonexistent/vm-1/rootfs' } } } });
  try {
    const transport = host.container.getAll<DeviceTransport>(DeviceTransport).find((t) => t.id === plugin.id)!;
    const [check] = await transport.check!();
    assert.equal(check!.status, 'fail');
    assert.match(check!.detail, /\/nonexistent\/vm-1\/rootfs \(pluginOptions\["mounted-folders"\]\.devices\["vm-1"\]\), which is not a folder/);
  } finally {
    await host.stop();
  }
});
