import type * as X509 from '@peculiar/x509';

let library: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509, imported on first use: it is about 200 modules (150–250 ms of start-up here), and
 * only making a certificate or a CSR needs it. A host whose certificates are in place never loads it;
 * reading and checking them is done with Node's own X.509 support (certificate-facts.ts).
 */
export function loadX509(): Promise<typeof X509> {
  return (library ??= import('./peculiar-x509.js').then((module) => module.x509));
}
