import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCsr, parseCsr } from '../../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../../src/core/x509/webcrypto.js';
import { DesktopDeviceTransport } from '../../../src/platforms/desktop/desktop-device-transport.js';
import { SETUP, rawExchange } from '../../helpers/raw-rsocket.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { type TestHost, startTestHost } from '../../helpers/test-host.js';

const request = (csr: string, destination: string) => JSON.stringify({ method: 'signCertificate', csr, destination, medium: 1 });

/**
 * The desktop transport reads app.csr from a path any local process names. A FIFO, a link to /dev/zero
 * or a huge file there must get a clear refusal at once, and must not stall the exchanges of others:
 * before, four FIFOs held all four of libuv's pool threads (every file read and TLS handshake waits on them).
 */
describe('desktop transport: hostile app.csr files', { skip: process.platform === 'win32' ? 'FIFOs and /dev/zero are POSIX' : false }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  const fifos: string[] = [];

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir);
  });
  after(async () => {
    // Had a FIFO been opened for reading in blocking mode, a thread would wait in it for ever: free it.
    for (const fifo of fifos) {
      const handle = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
      await handle?.close();
    }
    await host?.stop();
    await cleanup();
  });

  it('refuses FIFOs, a link to /dev/zero and an oversized app.csr with clear errors, while a well-behaved app exchanges meanwhile', async () => {
    const hostileCsr = await createCsr('com.example.hostile', await generateRsaKeyPair());
    const goodCsr = await createCsr('com.example.good', await generateRsaKeyPair());
    const hostile: Array<{ folder: string; expect: RegExp }> = [];
    for (let i = 0; i < 4; i++) {
      const folder = join(dir, `fifo-${i}`);
      await mkdir(folder);
      execFileSync('mkfifo', [join(folder, 'app.csr')]);
      fifos.push(join(folder, 'app.csr'));
      hostile.push({ folder, expect: /app\.csr is not a regular file/ });
    }
    for (let i = 0; i < 2; i++) {
      const folder = join(dir, `zero-${i}`);
      await mkdir(folder);
      await symlink('/dev/zero', join(folder, 'app.csr'));
      hostile.push({ folder, expect: /app\.csr is a symbolic link/ });
    }
    const huge = join(dir, 'huge');
    await mkdir(huge);
    await writeFile(join(huge, 'app.csr'), '');
    await truncate(join(huge, 'app.csr'), 1024 * 1024 * 1024); // sparse: 1 GiB that costs no disk
    hostile.push({ folder: huge, expect: /app\.csr is larger than \d+ bytes/ });
    const good = join(dir, 'good', 'sonar');
    await mkdir(good, { recursive: true });
    await writeFile(join(good, 'app.csr'), goodCsr);

    const attacks = hostile.map(({ folder, expect }) =>
      assert.rejects(rawExchange(host.ports.insecure, SETUP({ app: 'Hostile' }), request(hostileCsr, `${folder}/`)), (error: Error) => {
        assert.match(error.message, expect);
        assert.match(error.message, /not a link, FIFO or device/);
        return true;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // the hostile opens are under way
    // Well before any exchange timeout: before, the good exchange never finished while the FIFOs had no writer.
    let timer: NodeJS.Timeout | undefined;
    const reply = await Promise.race([
      rawExchange(host.ports.insecure, SETUP({ app: 'Good' }), request(goodCsr, `${good}/`)),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the well-behaved exchange stalled behind the hostile ones')), 10_000))),
    ]).finally(() => clearTimeout(timer));
    assert.deepEqual(JSON.parse(reply.data!), { deviceId: '' });
    assert.deepEqual((await readdir(good)).sort(), ['app.csr', 'device.crt', 'sonarCA.crt']);
    await Promise.all(attacks);
    for (const { folder } of hostile) assert.ok(!(await readdir(folder)).includes('device.crt'), `nothing written into ${folder}`);
  });

  it('stops when the folder was swapped for a link between the check and the write', async () => {
    const transport = host.container.get(DesktopDeviceTransport);
    const folder = join(dir, 'swap', 'sonar');
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(folder, { recursive: true });
    await mkdir(elsewhere);
    const pem = await createCsr('com.example.swap', await generateRsaKeyPair());
    await writeFile(join(folder, 'app.csr'), pem);
    const exchange = { query: { os: 'Linux' } as never, csr: await parseCsr(pem), destination: `${folder}/` };
    const target = await transport.locate(exchange);
    await rename(folder, join(dir, 'swap', 'moved'));
    await symlink(elsewhere, folder);
    await assert.rejects(transport.deploy(exchange, target, [{ name: 'device.crt', contents: 'x' }]), /changed while its certificates were being made/);
    assert.deepEqual(await readdir(elsewhere), []);
  });
});

/** The proof of ownership: certificates go only into a folder whose app.csr equals the CSR that was sent. */
describe('desktop transport: app.csr must equal the CSR', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;

  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir);
  });
  after(async () => {
    await host?.stop();
    await cleanup();
  });

  it('refuses a folder whose app.csr is another CSR (another app, or another run), and writes nothing there', async () => {
    const victim = join(dir, 'victim', 'sonar');
    await mkdir(victim, { recursive: true });
    await writeFile(join(victim, 'app.csr'), await createCsr('com.example.victim', await generateRsaKeyPair()));
    const attackerCsr = await createCsr('com.example.victim', await generateRsaKeyPair());
    const transport = host.container.get(DesktopDeviceTransport);
    await assert.rejects(transport.locate({ query: { os: 'Linux' } as never, csr: await parseCsr(attackerCsr), destination: `${victim}/` }), /app\.csr in .* differs from the CSR that was sent/);
    await assert.rejects(rawExchange(host.ports.insecure, SETUP({ app: 'Attacker' }), request(attackerCsr, `${victim}/`)), /differs from the CSR that was sent/);
    assert.deepEqual(await readdir(victim), ['app.csr']);
  });

  it('accepts the same CSR written with CRLF line ends', async () => {
    const folder = join(dir, 'crlf', 'sonar');
    await mkdir(folder, { recursive: true });
    const pem = await createCsr('com.example.crlf', await generateRsaKeyPair());
    await writeFile(join(folder, 'app.csr'), pem.replace(/\n/g, '\r\n'));
    const target = await host.container.get(DesktopDeviceTransport).locate({ query: { os: 'Linux' } as never, csr: await parseCsr(pem), destination: `${folder}/` });
    assert.equal(typeof target.deviceId, 'string');
  });
});
