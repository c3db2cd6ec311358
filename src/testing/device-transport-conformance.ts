import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CertificateExchangeMedium, type ClientQuery } from '../core/client-query.js';
import { type DeviceFile, DeviceTransport, type ExchangeRequest } from '../core/device-transport.js';
import { type HostConfig } from '../core/host-config.js';
import { type HostError, type HostErrorKind } from '../core/host-error.js';
import { type PluginDescriptor } from '../core/plugin-descriptor.js';
import { createCsr, parseCsr } from '../core/x509/csr.js';
import { generateRsaKeyPair } from '../core/x509/webcrypto.js';
import { pluginContainer } from './plugin-container.js';

/** The kinds a device transport may throw from `locate` (and `deploy`), as documented on DeviceTransport. */
export const DEVICE_TRANSPORT_ERROR_KINDS: readonly HostErrorKind[] = ['device-not-found', 'destination-refused', 'device-unavailable'];

/** What the suite needs to know about one app that the transport can serve. */
export interface DeviceTransportFixture {
  /** `pluginOptions` for the host config (the plugin's own entry tells it where devices are). */
  pluginOptions?: HostConfig['pluginOptions'];
  /** The SETUP fields the app sends (os and device at least). */
  query: Partial<ClientQuery> & Pick<ClientQuery, 'os' | 'device'>;
  /** The app's certificate folder as the app names it (what arrives as `destination`). */
  destination: string;
  /** The same folder as this machine reaches it: the suite writes app.csr there and reads what deploy wrote. */
  localFolder: string;
}

export interface DeviceTransportConformanceOptions {
  plugin: PluginDescriptor;
  /**
   * Prepares one app folder below `root` (a fresh temporary folder). Everything the transport may touch
   * must lie below `root`: the suite checks that deploy changes nothing there but the two files.
   */
  setup(root: string): Promise<DeviceTransportFixture>;
  /** The app id written into the CSR (default com.example.conformance). */
  appId?: string;
}

const FILES: readonly DeviceFile[] = [
  { name: 'sonarCA.crt', contents: pem('conformance CA certificate') },
  { name: 'device.crt', contents: pem('conformance device certificate') },
];

/**
 * Registers node:test tests that check a device transport against its contract: `serves` is cheap and
 * pure; `locate` refuses a folder without a matching app.csr, saying why, with a documented HostError
 * kind; `deploy` writes exactly the given files into the destination and nothing else.
 */
export function describeDeviceTransportConformance(options: DeviceTransportConformanceOptions): void {
  describe(`device transport "${options.plugin.id}" conformance`, () => {
    let root: string;
    let fixture: DeviceTransportFixture;
    let transport: DeviceTransport;
    let request: ExchangeRequest;
    let otherCsr: string;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'sonarhost-conformance-'));
      fixture = await options.setup(root);
      await mkdir(fixture.localFolder, { recursive: true });
      transport = await transportOf(options.plugin, fixture.pluginOptions ?? {}, root);
      const appId = options.appId ?? 'com.example.conformance';
      const [csr, other] = await Promise.all([createCsr(appId, await generateRsaKeyPair()), createCsr(appId, await generateRsaKeyPair())]);
      otherCsr = other;
      // Frozen, so a serves() or locate() that changes the request fails loudly.
      request = Object.freeze({
        query: Object.freeze({ app: 'Conformance', deviceId: '', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS, ...fixture.query }),
        csr: Object.freeze(await parseCsr(csr)),
        destination: fixture.destination,
      });
    });
    // Retries: a handler may still be finishing a write it started in the last test.
    after(() => rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));

    it('has a non-empty id', () => {
      assert.equal(typeof transport.id, 'string');
      assert.ok(transport.id.length > 0, 'DeviceTransport.id must not be empty');
    });

    it('serves: answers synchronously with a boolean, true for its own app, without changing the request', () => {
      const answer = transport.serves(request);
      assert.equal(typeof answer, 'boolean', 'serves() must return a boolean, not a Promise: it is asked for every exchange');
      assert.equal(answer, true, `serves() must accept the fixture's request (os ${request.query.os}, device ${request.query.device}, destination ${request.destination})`);
    });

    it('serves: is pure and cheap (same answer, without looking at the device, 1000 times in well under a second each)', async () => {
      // A pure answer cannot depend on the folder: remove it and ask again.
      const saved = await snapshot(root);
      await rm(fixture.localFolder, { recursive: true, force: true });
      const started = process.hrtime.bigint();
      for (let i = 0; i < 1000; i++) assert.equal(transport.serves(request), true, 'serves() changed its answer: it must depend on the request only');
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      await mkdir(fixture.localFolder, { recursive: true });
      assert.ok(ms < 5000, `1000 serves() calls took ${ms.toFixed(0)} ms: serves must not do I/O`);
      assert.deepEqual(await snapshot(root), saved, 'serves() changed files');
    });

    it('locate: refuses a folder without app.csr, saying why, with a documented HostError kind', async () => {
      await rm(join(fixture.localFolder, 'app.csr'), { force: true });
      await assertRefused(transport.locate(request), 'a folder without app.csr');
    });

    it('locate: refuses a folder whose app.csr is another CSR', async () => {
      await writeFile(join(fixture.localFolder, 'app.csr'), otherCsr);
      await assertRefused(transport.locate(request), 'a folder whose app.csr does not match');
    });

    it('locate then deploy: finds the device and writes exactly the two files into the destination, nothing else', async () => {
      await writeFile(join(fixture.localFolder, 'app.csr'), request.csr.pem);
      const target = await transport.locate(request);
      assert.equal(typeof target.deviceId, 'string', 'locate() must return { deviceId: string }');
      const beforeDeploy = await snapshot(root);
      await transport.deploy(request, target, FILES);
      const afterDeploy = await snapshot(root);
      const expected = { ...beforeDeploy };
      for (const file of FILES) expected[relative(root, join(fixture.localFolder, file.name))] = digest(file.contents);
      assert.deepEqual(afterDeploy, expected, 'deploy() must write sonarCA.crt and device.crt, with the given contents, into the destination and change nothing else');
    });
  });
}

/** The transport as the host builds it: the plugin's module in the composition root, with its options. */
async function transportOf(plugin: PluginDescriptor, pluginOptions: HostConfig['pluginOptions'], root: string): Promise<DeviceTransport> {
  const container = await pluginContainer(plugin, pluginOptions, join(root, '.certs'));
  const [ours] = container.getAll<DeviceTransport>(DeviceTransport);
  return ours!;
}

async function assertRefused(promise: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof Error && error.name === 'HostError', `locate() on ${what} must throw a HostError, got: ${String(error)}`);
    const kind = (error as HostError).kind;
    assert.ok(DEVICE_TRANSPORT_ERROR_KINDS.includes(kind), `locate() on ${what} threw kind "${kind}"; use one of ${DEVICE_TRANSPORT_ERROR_KINDS.join(', ')}`);
    assert.ok(error.message.length >= 20 && !/^E[A-Z]+:/.test(error.message), `the message must say why in words, got: "${error.message}"`);
    return true;
  }, `locate() must refuse ${what}`);
}

/** Every file below root with a digest of its contents (folders included, so a new empty folder counts). */
async function snapshot(root: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    result[relative(root, path)] = entry.isFile() ? digest(await readFile(path)) : entry.isDirectory() ? 'folder' : 'other';
  }
  return result;
}

function digest(contents: string | Buffer): string {
  return createHash('sha256').update(contents).digest('hex');
}

function pem(label: string): string {
  const body = Buffer.from(label.padEnd(96, '.')).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${body.trimEnd()}\n-----END CERTIFICATE-----\n`;
}
