import { type AppSession } from '../../core/app-session.js';
import { ClientLookupError, resolveClient as resolveInRegistry } from '../../core/client-directory.js';
import { type ClientRegistry } from '../../core/client-registry.js';
import { ApiProblem } from './api-problem.js';

export { type ClientCandidate, candidate, clientMatches } from '../../core/client-directory.js';

/** The core's client lookup (src/core/client-directory.ts), its refusals answered as API problems with the candidates. */
export function resolveClient(registry: ClientRegistry, ref: string): AppSession {
  try {
    return resolveInRegistry(registry, ref);
  } catch (error) {
    if (error instanceof ClientLookupError) throw new ApiProblem(error.kind as 'no-such-client' | 'ambiguous-client', error.message, { candidates: error.candidates });
    throw error;
  }
}
