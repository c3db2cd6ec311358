// @peculiar/x509 throws at load time without the Reflect metadata polyfill, whoever imports it (the
// host, or an app using only the client SDK), so it is loaded here, right before it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 needs a WebCrypto provider; Node's own keeps all crypto in-process (no openssl binary).
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** @peculiar/x509, ready to use. Production code reaches it through loadX509() (load-x509.ts). */
export { x509 };
