import { inject, injectable } from 'inversify';
import { CertificateStore } from './certificate-store.js';
import { type Disposable, toDisposable } from './disposable.js';
import { describeError } from './host-error.js';
import { HostEvents } from './host-events.js';
import { type HostService } from './host-service.js';
import { Logger } from './logger.js';

const CHECK_EVERY_MS = 60 * 60_000;

/**
 * Keeps certificates fresh in a host that runs for weeks: every hour, and whenever the store sees its
 * files changed by another process (`sonarhost certs --renew-server` or `--rotate-ca`), the store
 * applies its rules again and loads what is on disk; when anything changed, the TLS listeners are told
 * to load the new credentials (new connections get them; established ones keep theirs).
 */
@injectable()
export class CertificateRenewal implements HostService {
  readonly id = 'certificate-renewal';
  readonly phase = 'platforms' as const;
  private readonly log: Logger;

  constructor(
    @inject(CertificateStore) private readonly store: CertificateStore,
    @inject(HostEvents) private readonly events: HostEvents,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('certificates');
  }

  async start(): Promise<Disposable> {
    const timer = setInterval(() => void this.checkNow(), CHECK_EVERY_MS);
    timer.unref();
    const watching = this.store.watch?.(() => void this.checkNow());
    return toDisposable(async () => {
      clearInterval(timer);
      await watching?.dispose();
    });
  }

  /** Applies the renewal rules now; returns what was renewed. */
  async checkNow(): Promise<string[]> {
    if (!this.store.refresh) return [];
    try {
      const { renewals } = await this.store.refresh();
      if (renewals.length > 0) {
        this.log.info('the certificates changed; the TLS listeners switch to them', { renewals });
        this.events.emit({ type: 'credentials-changed', at: new Date().toISOString(), renewals });
      }
      return renewals;
    } catch (error) {
      this.log.error('could not renew or load the certificates; the current ones stay in use', { error: describeError(error) });
      return [];
    }
  }
}
