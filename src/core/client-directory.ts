import { type AppSession } from './app-session.js';
import { type ClientRegistry } from './client-registry.js';
import { clientShortId } from './client-short-id.js';
import { HostError } from './host-error.js';

/** How a client is named in "no such client" and "ambiguous" answers, so the user can pick one. */
export interface ClientCandidate {
  id: string;
  shortId: string;
  app: string;
  appId: string;
  device: string;
}

export function candidate(session: AppSession): ClientCandidate {
  return { id: session.id, shortId: clientShortId(session.id), app: session.query.app, appId: session.appId, device: session.query.device };
}

/** No connected client matches a name, or several do: the message and `candidates` let the user pick one. */
export class ClientLookupError extends HostError {
  constructor(
    kind: 'no-such-client' | 'ambiguous-client',
    message: string,
    readonly candidates: readonly ClientCandidate[],
  ) {
    super(kind, message);
  }

  /** HostError's brand check would hold for every HostError; this class is matched by its prototype. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(ClientLookupError, value);
  }
}

/**
 * Finds the connected client a user or script means. Tried in order, the first rule that matches
 * anything wins: the full client id, the short id, the app id, the app name. A rule matching two or
 * more clients is an error listing them (never a guess), so even a short-id collision cannot send a
 * call to the wrong app. Every face (the API, startHost's handle, the MCP server) names clients by these rules.
 */
export function resolveClient(registry: ClientRegistry, ref: string): AppSession {
  const exact = registry.get(ref);
  if (exact) return exact;
  return pickClient(registry.list().map((session) => ({ ...candidate(session), session })), ref).session;
}

/** The same rules over a list of client descriptions (such as the API's client objects). */
export function pickClient<T extends { id: string; app: string; appId: string; device: string }>(clients: readonly T[], ref: string): T {
  const described = (c: T): ClientCandidate => ({ id: c.id, shortId: clientShortId(c.id), app: c.app, appId: c.appId, device: c.device });
  const rules: Array<[string, (c: T) => boolean]> = [
    ['id', (c) => c.id === ref],
    ['short id', (c) => clientShortId(c.id) === ref],
    ['app id', (c) => c.appId === ref],
    ['app name', (c) => c.app === ref],
  ];
  for (const [rule, matches] of rules) {
    const found = clients.filter(matches);
    if (found.length === 1) return found[0]!;
    if (found.length > 1) {
      throw new ClientLookupError('ambiguous-client', `${found.length} connected clients have the ${rule} ${JSON.stringify(ref)}; name one by its id or short id.`, found.map(described));
    }
  }
  const known = clients.length === 0 ? 'no app is connected' : `connected: ${clients.map((c) => `${clientShortId(c.id)} (${c.app})`).join(', ')}`;
  throw new ClientLookupError('no-such-client', `No connected client has the id, short id, app id or app name ${JSON.stringify(ref)} (${known}).`, clients.map(described));
}

/** Whether a client, described by what an event carries, is the one `ref` names (same rules, without ambiguity checks). */
export function clientMatches(ref: string, client: { id: string; app?: string; appId?: string }): boolean {
  return client.id === ref || clientShortId(client.id) === ref || client.appId === ref || client.app === ref;
}
