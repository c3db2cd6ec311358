import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded on first use instead of at import: start-up pays only for what the
 * configured plugins actually touch (simple-plist and its XML parser cost ~100 ms to load here, and
 * a host whose simulators or iPhones are never asked needs neither). The loader stays synchronous,
 * so codecs that are synchronous keep their signatures.
 */
export function lazyRequire<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(specifier) as T);
}
