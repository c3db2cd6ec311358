import type * as http from 'node:http';
import type * as net from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { BoundedFanout, BoundedReader } from '../../core/bounded-fanout.js';
import { type Disposable } from '../../core/disposable.js';
import { describeError } from '../../core/host-error.js';
import { type Logger } from '../../core/logger.js';
import { withTimeout } from '../../core/timeout.js';
import { MAX_JSON_DEPTH, jsonTooDeep } from '../../core/json-depth.js';
import { batchWritesThisTick } from '../../core/write-batching.js';

export interface FlipperUiLimits {
  /** UI sockets at once; more are refused at the upgrade with 503. */
  maxSockets: number;
  /** Largest message a UI may send. */
  maxMessageBytes: number;
  /** Bytes a UI may leave unread (answers, plugin bundles, events) before it is dropped. */
  maxUnreadBytes: number;
  /** Commands waiting for their answer, per socket; more are answered with an error at once. */
  maxCommandsInFlight: number;
  /** The longest a command may take (as the 0.162 UI's own timeout). */
  commandTimeoutMs: number;
}

// Plugin bundles run to several MB each and the UI asks for them all at once: hence the large unread allowance.
export const FLIPPER_UI_LIMITS: FlipperUiLimits = { maxSockets: 64, maxMessageBytes: 1024 * 1024, maxUnreadBytes: 32 * 1024 * 1024, maxCommandsInFlight: 256, commandTimeoutMs: 30_000 };

export type RunCommand = (command: string, args: readonly unknown[]) => Promise<unknown>;

/**
 * The UI's WebSockets, speaking flipper-server's framing: `exec` in, `exec-response`/`exec-response-error`
 * out, and every server event to every socket. Each socket is a BoundedReader: one that stops reading is
 * dropped, never buffered for without limit.
 */
export class FlipperUiSockets implements Disposable {
  private readonly server: WebSocketServer;
  private readonly fanout = new BoundedFanout();
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly run: RunCommand,
    private readonly log: Logger,
    private readonly onCountChange: (count: number) => void,
    private readonly limits: FlipperUiLimits = FLIPPER_UI_LIMITS,
  ) {
    this.server = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });
  }

  get count(): number {
    return this.sockets.size;
  }

  get isFull(): boolean {
    return this.sockets.size >= this.limits.maxSockets;
  }

  accept(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    this.server.handleUpgrade(req, socket, head, (ws) => this.serve(ws, socket));
  }

  /** A server event to every UI socket. */
  emit(event: string, data: unknown): void {
    if (this.fanout.size === 0) return;
    this.fanout.publish(JSON.stringify({ event: 'server-event', payload: { event, data } }));
  }

  dispose(): void {
    for (const ws of this.sockets) ws.terminate();
    this.server.close();
  }

  private serve(ws: WebSocket, socket: net.Socket): void {
    const reader = new BoundedReader(
      {
        get unreadBytes() {
          return ws.bufferedAmount;
        },
        write: (text) => {
          if (ws.readyState !== WebSocket.OPEN) return;
          batchWritesThisTick(socket);
          ws.send(text);
        },
        drop: () => ws.terminate(),
      },
      this.limits.maxUnreadBytes,
      (unreadBytes) => this.log.warn("dropped a Flipper UI socket that stopped reading", { unreadBytes, limit: this.limits.maxUnreadBytes }),
    );
    const membership = this.fanout.add(reader);
    this.sockets.add(ws);
    this.onCountChange(this.sockets.size);
    let inFlight = 0;
    const answer = (id: unknown, data: unknown) => reader.send(JSON.stringify({ event: 'exec-response', payload: { id, data } }));
    const fail = (id: unknown, message: string) => reader.send(JSON.stringify({ event: 'exec-response-error', payload: { id, data: message } }));

    ws.on('message', (raw) => {
      let message: unknown;
      try {
        message = JSON.parse(raw.toString());
      } catch (error) {
        reader.send(JSON.stringify({ event: 'error', payload: { message: `Failed to parse JSON request: ${describeError(error)}` } }));
        return;
      }
      // Parsed fine, but answering (the id is echoed) or passing args on to an app would recurse past the stack.
      if (jsonTooDeep(message)) {
        reader.send(JSON.stringify({ event: 'error', payload: { message: `Refused a request that nests deeper than ${MAX_JSON_DEPTH} levels.` } }));
        return;
      }
      const { event, payload } = (typeof message === 'object' && message !== null ? message : {}) as { event?: unknown; payload?: { id?: unknown; command?: unknown; args?: unknown } };
      if (event !== 'exec' || typeof payload !== 'object' || payload === null) {
        reader.send(JSON.stringify({ event: 'error', payload: { message: 'Expected {"event":"exec","payload":{"id","command","args":[...]}}.' } }));
        return;
      }
      const { id, command, args } = payload;
      if (typeof command !== 'string') return void fail(id, 'The "command" must be a string.');
      if (!Array.isArray(args)) return void fail(id, `The "args" of ${command.slice(0, 100)} must be an array.`);
      if (inFlight >= this.limits.maxCommandsInFlight) return void fail(id, `${inFlight} commands on this socket are still running; wait for their answers before sending more.`);
      inFlight++;
      withTimeout(this.run(command, args), this.limits.commandTimeoutMs, `The command ${command.slice(0, 100)}`)
        .then(
          (data) => answer(id, data),
          (error: unknown) => fail(id, describeError(error)),
        )
        .finally(() => inFlight--);
    });
    ws.on('error', () => undefined); // a broken UI socket is just closed
    ws.on('close', () => {
      void membership.dispose();
      this.sockets.delete(ws);
      this.onCountChange(this.sockets.size);
    });
  }
}
