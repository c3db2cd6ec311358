import assert from 'node:assert/strict';
import * as http from 'node:http';
import type * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FLIPPER_UI_LIMITS, FlipperUiSockets } from '../../../src/plugins/flipper-server-api/flipper-ui-sockets.js';
import { MemoryLogger } from '../../helpers/fakes.js';
import { FlipperUiSocket } from '../../helpers/flipper-ui-socket.js';

const TIMEOUT_MS = 200;

/** The UI sockets' own bounds, on a real WebSocket with a stand-in for the command table. */
describe('Flipper UI sockets', () => {
  let server: http.Server;
  let sockets: FlipperUiSockets;
  let url: string;
  const counts: number[] = [];

  before(async () => {
    const run = (command: string) => (command === 'hang' ? new Promise<never>(() => undefined) : Promise.resolve(`ran ${command}`));
    sockets = new FlipperUiSockets(run, new MemoryLogger(), (count) => counts.push(count), { ...FLIPPER_UI_LIMITS, maxCommandsInFlight: 2, commandTimeoutMs: TIMEOUT_MS });
    server = http.createServer();
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => sockets.accept(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
  });
  after(async () => {
    sockets.dispose();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers a command beyond the in-flight cap at once, times out a command that never ends, and goes on serving', async () => {
    const ui = await FlipperUiSocket.open(url);
    const first = ui.exec('hang');
    const second = ui.exec('hang');
    const third = await ui.exec('hang');
    assert.equal(third.event, 'exec-response-error');
    assert.match(String(third.payload.data), /2 commands on this socket are still running/);
    for (const answer of await Promise.all([first, second])) {
      assert.equal(answer.event, 'exec-response-error');
      assert.match(String(answer.payload.data), new RegExp(`did not finish within ${TIMEOUT_MS} ms`));
    }
    assert.deepEqual((await ui.exec('quick')).payload, { id: 4, data: 'ran quick' });
    ui.close();
    await new Promise<void>((resolve) => {
      const check = () => (sockets.count === 0 ? resolve() : setTimeout(check, 10));
      check();
    });
    assert.deepEqual(counts, [1, 0], 'the socket count reached the log follower');
  });
});
