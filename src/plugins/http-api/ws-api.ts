import type * as http from 'node:http';
import type * as net from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { BoundedReader } from '../../core/bounded-fanout.js';
import { type ClientRegistry, clientInfo } from '../../core/client-registry.js';
import { type Disposable } from '../../core/disposable.js';
import { describeError } from '../../core/host-error.js';
import { type HostEventFilter, hostEventMatcher } from '../../core/host-event-filter.js';
import { MAX_JSON_DEPTH, jsonTooDeep } from '../../core/json-depth.js';
import { type Logger } from '../../core/logger.js';
import { type EventFeed, type FedEvent } from '../../core/event-feed.js';
import { batchWritesThisTick } from '../../core/write-batching.js';
import { ApiProblem } from './api-problem.js';
import { callClient, parseCallRequest } from './api-calls.js';
import { resolveClient } from './client-directory.js';

export const WS_API_PATH = '/api/ws';

export interface WsApiLimits {
  /** Largest message a tool may send. */
  maxMessageBytes: number;
  /** Calls waiting for an app's answer, per connection; more are refused with `too-many-pending`. */
  maxCallsInFlight: number;
  /** Bytes a tool may leave unread (replies and events) before the host drops the connection. */
  maxBufferedBytes: number;
}

export const WS_API_LIMITS: WsApiLimits = { maxMessageBytes: 1024 * 1024, maxCallsInFlight: 1000, maxBufferedBytes: 1024 * 1024 };

/** Close code sent (where the socket still takes it) when a tool falls behind. */
export const FELL_BEHIND_CLOSE_CODE = 4008;

type Request = Record<string, unknown> & { id: string | number };

/**
 * The multiplexed API for tools (the CLI and the dashboard): one WebSocket carrying calls, their
 * answers and events as JSON messages tagged with the caller's ids, many in flight at once. Upgrades
 * pass the same origin and token checks as HTTP requests before they reach `accept`.
 */
export class WsApi implements Disposable {
  private readonly server: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly registry: ClientRegistry,
    private readonly feed: EventFeed,
    private readonly health: () => unknown,
    /** The devices each device transport knows, as `GET /api/devices` answers. */
    private readonly devices: () => Promise<unknown[]>,
    private readonly log: Logger,
    private readonly limits: WsApiLimits = WS_API_LIMITS,
  ) {
    this.server = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  accept(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    this.server.handleUpgrade(req, socket, head, (ws) => this.serve(ws, socket));
  }

  dispose(): void {
    for (const ws of this.sockets) ws.terminate();
    this.server.close();
  }

  private serve(ws: WebSocket, socket: net.Socket): void {
    this.sockets.add(ws);
    const subscriptions = new Map<string | number, Disposable>();
    let inFlight = 0;
    const reader = new BoundedReader(
      {
        get unreadBytes() {
          return ws.bufferedAmount;
        },
        write: (text) => {
          batchWritesThisTick(socket);
          ws.send(text);
        },
        drop: () => ws.terminate(),
      },
      this.limits.maxBufferedBytes,
      (unreadBytes) => this.log.warn('dropped a WebSocket API connection that fell behind', { unreadBytes, limit: this.limits.maxBufferedBytes }),
    );
    const send = (text: string) => {
      if (ws.readyState === WebSocket.OPEN) reader.send(text);
    };
    const reply = (id: string | number | null, result: unknown) => send(JSON.stringify({ id, type: 'result', result }));
    const fail = (id: string | number | null, problem: ApiProblem) => send(JSON.stringify({ id, type: 'error', ...problem.body() }));

    const subscribe = (request: Request) => {
      const matches = hostEventMatcher(parseSubscription(request), this.registry.list().map((s) => ({ id: s.id, app: s.query.app, appId: s.appId })));
      const prefix = `{"type":"event","subscription":${JSON.stringify(request.id)},"event":`;
      // Replayed events say so, so a reader can show them without taking them as the current state.
      const recentPrefix = `{"type":"event","subscription":${JSON.stringify(request.id)},"recent":true,"event":`;
      const deliver = ({ event, json }: FedEvent, recent = false) => {
        if (matches(event)) send((recent ? recentPrefix : prefix) + json + '}');
      };
      subscriptions.get(request.id)?.dispose();
      reply(request.id, { subscribed: request.id });
      if (request.recent === true) for (const fed of this.feed.recent()) deliver(fed, true);
      subscriptions.set(request.id, this.feed.subscribe((fed) => deliver(fed)));
    };

    const call = async (request: Request) => {
      if (inFlight >= this.limits.maxCallsInFlight) {
        throw new ApiProblem('too-many-pending', `${inFlight} calls on this connection are waiting for answers; wait for some before sending more.`);
      }
      if (typeof request.client !== 'string') throw new ApiProblem('bad-request', 'a call needs "client": the full id, short id, app id or app name');
      const parsed = parseCallRequest(request);
      inFlight++;
      try {
        reply(request.id, await callClient(this.registry, request.client, parsed));
      } finally {
        inFlight--;
      }
    };

    const handle = async (request: Request) => {
      switch (request.type) {
        case 'call':
          return call(request);
        case 'clients':
          return reply(request.id, this.registry.list().map(clientInfo));
        case 'init': {
          if (typeof request.client !== 'string' || typeof request.plugin !== 'string' || request.plugin === '') throw new ApiProblem('bad-request', 'an init needs "client" (full id, short id, app id or app name) and "plugin" (a plugin id)');
          resolveClient(this.registry, request.client).init(request.plugin);
          return reply(request.id, { initialised: request.plugin });
        }
        case 'health':
          return reply(request.id, this.health());
        case 'devices':
          return reply(request.id, await this.devices());
        case 'subscribe':
          return subscribe(request);
        case 'unsubscribe': {
          const id = request.subscription as string | number;
          await subscriptions.get(id)?.dispose();
          subscriptions.delete(id);
          return reply(request.id, { unsubscribed: id });
        }
        default:
          throw new ApiProblem('bad-request', `unknown message type ${JSON.stringify(request.type)}: use call, clients, init, devices, health, subscribe or unsubscribe`);
      }
    };

    ws.on('message', (data, isBinary) => {
      let request: Request;
      try {
        request = parseRequest(data, isBinary);
      } catch (error) {
        fail(null, error instanceof ApiProblem ? error : new ApiProblem('bad-request', describeError(error)));
        return;
      }
      handle(request).catch((error: unknown) => {
        if (error instanceof ApiProblem) return fail(request.id, error);
        this.log.warn('a WebSocket API request failed', { type: String(request.type).slice(0, 40), error: describeError(error) });
        fail(request.id, new ApiProblem('internal', describeError(error)));
      });
    });
    ws.on('error', () => undefined); // a broken tool connection is just closed
    ws.on('close', () => {
      this.sockets.delete(ws);
      for (const subscription of subscriptions.values()) void subscription.dispose();
      subscriptions.clear();
    });
  }
}

function parseRequest(data: WebSocket.RawData, isBinary: boolean): Request {
  if (isBinary) throw new ApiProblem('bad-request', 'send JSON text messages, not binary ones');
  let value: unknown;
  try {
    value = JSON.parse(data.toString());
  } catch {
    throw new ApiProblem('bad-request', 'a message must be a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiProblem('bad-request', 'a message must be a JSON object');
  if (jsonTooDeep(value)) throw new ApiProblem('bad-request', `a message may nest at most ${MAX_JSON_DEPTH} levels of arrays and objects`);
  const id = (value as { id?: unknown }).id;
  if (typeof id !== 'string' && typeof id !== 'number') throw new ApiProblem('bad-request', 'every message needs an "id" (string or number) that its answer will carry');
  return value as Request;
}

function parseSubscription(request: Request): HostEventFilter {
  const optionalString = (key: string) => {
    const value = request[key];
    if (value !== undefined && typeof value !== 'string') throw new ApiProblem('bad-request', `"${key}" must be a string`);
    return value as string | undefined;
  };
  const types = request.events;
  if (types !== undefined && (!Array.isArray(types) || types.some((t) => typeof t !== 'string'))) throw new ApiProblem('bad-request', '"events" must be a list of event types');
  return { client: optionalString('client'), plugin: optionalString('plugin'), types: types as string[] | undefined };
}
