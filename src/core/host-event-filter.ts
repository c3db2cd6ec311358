import { clientMatches } from './client-directory.js';
import { type HostEvent } from './host-events.js';

/** Which host events a reader wants; every field narrows, none means all. */
export interface HostEventFilter {
  /** Full id, short id, app id or app name, as `resolveClient` takes them. */
  client?: string;
  /** Only plugin events of this plugin id. */
  plugin?: string;
  /** Only these event types (`client-connected`, `plugin-event`, …). */
  types?: readonly string[];
}

interface KnownClient {
  id: string;
  app?: string;
  appId?: string;
}

/**
 * A predicate over the host's events, for one reader. Plugin events carry only the client id, so the
 * matcher remembers the names of the clients it has seen connect (and those connected when it was made)
 * to match a filter by app name or app id.
 */
export function hostEventMatcher(filter: HostEventFilter, connected: Iterable<KnownClient> = []): (event: HostEvent) => boolean {
  const known = new Map<string, KnownClient>();
  for (const client of connected) known.set(client.id, client);
  return (event) => {
    if (event.type === 'client-connected') known.set(event.client.id, event.client);
    const matched = matches(filter, event, known);
    if (event.type === 'client-disconnected') known.delete(event.clientId);
    return matched;
  };
}

function matches(filter: HostEventFilter, event: HostEvent, known: Map<string, KnownClient>): boolean {
  if (filter.types && !filter.types.includes(event.type)) return false;
  if (filter.plugin !== undefined && (event.type !== 'plugin-event' || event.plugin !== filter.plugin)) return false;
  if (filter.client !== undefined) {
    const clientId = event.type === 'client-connected' ? event.client.id : event.type === 'client-disconnected' || event.type === 'plugin-event' ? event.clientId : undefined;
    if (clientId === undefined) return false;
    if (!clientMatches(filter.client, known.get(clientId) ?? { id: clientId })) return false;
  }
  return true;
}
