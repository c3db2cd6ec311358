import type * as tls from 'node:tls';
import { type CertificateStore } from './certificate-store.js';
import { type Disposable } from './disposable.js';
import { type HostEvents } from './host-events.js';

/**
 * The TLS servers of one transport, switched to renewed credentials when the certificates change
 * (new connections get them; established ones keep theirs). `add` registers a server for as long as it
 * is open; `follow` returns the subscription to dispose with the transport.
 */
export class TlsListeners {
  private readonly servers = new Set<tls.Server>();

  constructor(private readonly certificates: CertificateStore) {}

  add<T extends tls.Server>(server: T): T {
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
    return server;
  }

  /** `onReload` gets the number of listeners switched and why, for the transport's log. */
  follow(events: HostEvents, onReload: (listeners: number, renewals: string[]) => void = () => undefined): Disposable {
    return events.subscribe((event) => {
      if (event.type !== 'credentials-changed' || this.servers.size === 0) return;
      for (const server of this.servers) server.setSecureContext(this.certificates.serverCredentials());
      onReload(this.servers.size, event.renewals);
    });
  }
}
