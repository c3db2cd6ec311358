import { type ClientRegistry } from '../../core/client-registry.js';
import { ApiProblem, callProblem } from './api-problem.js';
import { resolveClient } from './client-directory.js';

/** The longest an API caller may ask the host to wait for an app's answer. */
export const MAX_CALL_TIMEOUT_MS = 120_000;

export interface CallRequest {
  method: string;
  params?: unknown;
  timeoutMs?: number;
}

/** Checks the shape of `{method, params?, timeoutMs?}`, as the HTTP body or a WebSocket call carries it. */
export function parseCallRequest(body: Record<string, unknown>): CallRequest {
  if (typeof body.method !== 'string' || body.method === '') throw new ApiProblem('bad-request', 'a call needs {"method": <string>, "params"?: <any>, "timeoutMs"?: <number>}');
  if (body.timeoutMs !== undefined && (typeof body.timeoutMs !== 'number' || !(body.timeoutMs > 0))) throw new ApiProblem('bad-request', '"timeoutMs" must be a positive number of milliseconds');
  return { method: body.method, params: body.params, timeoutMs: body.timeoutMs === undefined ? undefined : Math.min(body.timeoutMs as number, MAX_CALL_TIMEOUT_MS) };
}

/** Sends one plugin-protocol request to the client `ref` names; every expected failure is an ApiProblem. */
export async function callClient(registry: ClientRegistry, ref: string, call: CallRequest): Promise<unknown> {
  const session = resolveClient(registry, ref);
  try {
    return await session.request(call.method, call.params, call.timeoutMs);
  } catch (error) {
    throw callProblem(error, session) ?? error;
  }
}
