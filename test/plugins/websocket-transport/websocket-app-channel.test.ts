import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { type WebSocket } from 'ws';
import { WebSocketAppChannel } from '../../../src/plugins/websocket-transport/websocket-app-channel.js';

/** The part of a `ws` socket the channel uses: frames in as 'message', frames out through send. */
class FrameSocket extends EventEmitter {
  readonly sent: string[] = [];
  send(data: string, done?: (error?: Error) => void): void {
    this.sent.push(data);
    done?.();
  }
  close(): void {
    this.emit('close');
  }
  frame(text: string): void {
    this.emit('message', Buffer.from(text), false);
  }
}

function channel() {
  const socket = new FrameSocket();
  const messages: string[] = [];
  return { socket, messages, channel: new WebSocketAppChannel(socket as unknown as WebSocket, (text) => messages.push(text)) };
}

/** How many times JSON.parse runs while `fn` does. */
function parses(fn: () => void): number {
  const original = JSON.parse;
  let count = 0;
  JSON.parse = ((...args: Parameters<typeof JSON.parse>) => {
    count++;
    return original(...args);
  }) as typeof JSON.parse;
  try {
    fn();
  } finally {
    JSON.parse = original;
  }
  return count;
}

test('a reply written {"id":N,…} reaches its request without being parsed here (the session parses it once)', async () => {
  const { socket, channel: ch } = channel();
  const answer = ch.requestResponse(7, '{"id":7,"method":"getPlugins"}', new AbortController().signal);
  assert.equal(parses(() => socket.frame('{"id":7,"success":{"plugins":["a"]}}')), 0);
  assert.equal(await answer, '{"id":7,"success":{"plugins":["a"]}}');
});

test('replies in another key order or with spaces are still matched by id', async () => {
  const { socket, channel: ch } = channel();
  const first = ch.requestResponse(1, '{}', new AbortController().signal);
  const second = ch.requestResponse(2, '{}', new AbortController().signal);
  const third = ch.requestResponse(3, '{}', new AbortController().signal);
  socket.frame('{"success":true,"id":2}');
  socket.frame('{ "id": 3, "success": 3 }');
  socket.frame('{"id":1}');
  assert.equal(await second, '{"success":true,"id":2}');
  assert.equal(await third, '{ "id": 3, "success": 3 }');
  assert.equal(await first, '{"id":1}');
});

test('a reply to no pending request is dropped; messages without a numeric id go to the session', () => {
  const { socket, messages, channel: ch } = channel();
  void ch;
  socket.frame('{"id":99,"success":1}');
  socket.frame('{"id":"5","method":"execute"}');
  socket.frame('{"method":"execute","params":{"api":"p","method":"m"}}');
  socket.frame('not json');
  assert.deepEqual(messages, ['{"id":"5","method":"execute"}', '{"method":"execute","params":{"api":"p","method":"m"}}', 'not json']);
});
