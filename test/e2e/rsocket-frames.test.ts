import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, readdir } from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FLAGS, FRAME_TYPES, deserializeFrameWithLength, serializeFrameWithLength } from 'rsocket-core';
import { type Frame } from 'rsocket-types';
import { StateFolder } from '../../src/client/state-folder.js';
import { createCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { SETUP } from '../helpers/raw-rsocket.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { type TestHost, eventually, startTestHost } from '../helpers/test-host.js';

/** Frame-level conversations with the exchange port, as an SDK's RSocket stack (rsocket-cpp) has them. */
describe('RSocket frames on the exchange port', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let host: TestHost;
  before(async () => {
    ({ path: dir, cleanup } = await makeTempDir());
    host = await startTestHost(dir);
  });
  after(async () => {
    await host.stop();
    await cleanup();
  });

  const setupFrame = (data: string): Frame => ({
    type: FRAME_TYPES.SETUP, flags: 0, streamId: 0, majorVersion: 1, minorVersion: 0, keepAlive: 10_000, lifetime: 2_147_483_647,
    dataMimeType: 'text/plain', metadataMimeType: 'text/plain', data, metadata: undefined, resumeToken: null,
  } as unknown as Frame);

  async function converse(frames: Frame[], expectReplies: number): Promise<Frame[]> {
    const socket = net.connect({ host: '127.0.0.1', port: host.ports.insecure });
    await once(socket, 'connect');
    let buffer = Buffer.alloc(0);
    const replies: Frame[] = [];
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 3 && buffer.length >= 3 + buffer.readUIntBE(0, 3)) {
        const length = 3 + buffer.readUIntBE(0, 3);
        replies.push(deserializeFrameWithLength(buffer.subarray(0, length)));
        buffer = buffer.subarray(length);
      }
    });
    for (const frame of frames) socket.write(serializeFrameWithLength(frame));
    await eventually(() => replies.length >= expectReplies, `${expectReplies} replies`, 5000);
    socket.destroy();
    return replies;
  }

  it('echoes KEEPALIVE promptly, without the respond flag', async () => {
    const [reply] = await converse([setupFrame(SETUP()), { type: FRAME_TYPES.KEEPALIVE, flags: FLAGS.RESPOND, streamId: 0, lastReceivedPosition: 0, data: 'ping' } as Frame], 1);
    assert.equal(reply!.type, FRAME_TYPES.KEEPALIVE);
    assert.equal(reply!.flags & FLAGS.RESPOND, 0);
  });

  it('processes the legacy fire-and-forget signCertificate of 2018 SDKs', async () => {
    const state = new StateFolder(join(dir, 'legacy', 'sonar'));
    await mkdir(state.path, { recursive: true });
    const csr = await createCsr('com.example.legacy', await generateRsaKeyPair());
    await state.writeKeyAndCsr('unused', csr);
    const socket = net.connect({ host: '127.0.0.1', port: host.ports.insecure });
    await once(socket, 'connect');
    socket.write(serializeFrameWithLength(setupFrame(SETUP({ sdk_version: undefined, medium: undefined }))));
    socket.write(serializeFrameWithLength({ type: FRAME_TYPES.REQUEST_FNF, flags: 0, streamId: 1, data: JSON.stringify({ method: 'signCertificate', csr, destination: state.path }) } as Frame));
    await eventually(async () => (await readdir(state.path)).includes('device.crt'), 'device.crt to be written');
    socket.destroy();
    assert.deepEqual((await readdir(state.path)).sort(), ['app.csr', 'device.crt', 'privateKey.pem', 'sonarCA.crt']);
  });

  it('answers a first frame that is not SETUP by closing the connection', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: host.ports.insecure });
    await once(socket, 'connect');
    socket.write(serializeFrameWithLength({ type: FRAME_TYPES.REQUEST_FNF, flags: 0, streamId: 1, data: '{}' } as Frame));
    socket.resume();
    await once(socket, 'close');
  });
});
