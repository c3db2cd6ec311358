import type * as X509 from '@peculiar/x509';

let library: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509, imported on first use: it is about 200 modules (150–250 ms to load here). Only making
 * a CSR needs it (the client SDK, tests); the host reads certificates with Node's own X.509 support
 * (certificate-facts.ts) and makes them with its own DER encoding, so it never loads the library.
 */
export function loadX509(): Promise<typeof X509> {
  return (library ??= import('./peculiar-x509.js').then((module) => module.x509));
}
