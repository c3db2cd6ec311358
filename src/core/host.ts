import { inject, injectable, multiInject, optional } from 'inversify';
import { type CertificateReport, CertificateStore } from './certificate-store.js';
import { ClientRegistry } from './client-registry.js';
import { ConnectionDiagnostics } from './connection-diagnostics.js';
import { ConnectionGate } from './connection-gate.js';
import { type Disposable, DisposableCollection, toDisposable } from './disposable.js';
import { HostError } from './host-error.js';
import { HostService, type HostServicePhase } from './host-service.js';
import { Logger } from './logger.js';
import { withTimeout } from './timeout.js';

const PHASES: readonly HostServicePhase[] = ['platforms', 'servers'];
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Starts the host in a fixed order, certificates → platforms → servers, and stops it in reverse.
 * Each step is timed, bounded and logged; a failed start stops what had already started.
 */
@injectable()
export class Host {
  private readonly log: Logger;
  private running: DisposableCollection | undefined;
  /** How long each step may take to start; adjustable so tests need not wait a minute. */
  startTimeoutMs = START_TIMEOUT_MS;

  constructor(
    @inject(CertificateStore) private readonly certificates: CertificateStore,
    @multiInject(HostService) @optional() private readonly services: HostService[] | undefined,
    @inject(ClientRegistry) private readonly registry: ClientRegistry,
    @inject(ConnectionDiagnostics) private readonly diagnostics: ConnectionDiagnostics,
    @inject(ConnectionGate) private readonly gate: ConnectionGate,
    @inject(Logger) logger: Logger,
  ) {
    this.log = logger.child('host');
  }

  async start(): Promise<CertificateReport> {
    if (this.running) throw new Error('the host is already running');
    const running = new DisposableCollection();
    this.running = running;
    // The core's shared state outlives every service and is disposed after the last one stops,
    // whichever transports the config selects.
    running.push(toDisposable(() => this.registry.closeAll()), this.diagnostics, this.gate);
    try {
      const report = await this.timed('certificates', () => this.certificates.prepare(), this.startTimeoutMs);
      for (const phase of PHASES) {
        for (const service of (this.services ?? []).filter((s) => s.phase === phase)) {
          const stop = await this.startService(`${phase}/${service.id}`, service);
          running.push(this.boundedStop(`${phase}/${service.id}`, stop));
        }
      }
      return report;
    } catch (error) {
      this.running = undefined;
      await running.dispose().catch((stopError: unknown) => this.log.warn('cleanup after a failed start also failed', { error: String(stopError) }));
      throw error;
    }
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.dispose();
  }

  private async timed<T>(step: string, work: () => Promise<T>, timeoutMs: number): Promise<T> {
    const started = performance.now();
    const result = await withTimeout(work(), timeoutMs, `starting ${step}`);
    this.log.debug('started', { step, ms: Math.round(performance.now() - started) });
    return result;
  }

  /** Starts a service; one that finishes after its timeout is stopped as soon as it does, so it frees its ports. */
  private async startService(step: string, service: HostService): Promise<Disposable> {
    const starting = service.start();
    try {
      return await this.timed(step, () => starting, this.startTimeoutMs);
    } catch (error) {
      if (HostError.is(error, 'timeout')) {
        void starting.then(
          async (late) => {
            this.log.warn('a service started after its timeout; stopping it', { step });
            await this.boundedStop(step, late).dispose();
          },
          () => undefined,
        );
      }
      throw error;
    }
  }

  private boundedStop(step: string, stop: Disposable): Disposable {
    return {
      dispose: async () => {
        try {
          await withTimeout(Promise.resolve(stop.dispose()), STOP_TIMEOUT_MS, `stopping ${step}`);
        } catch (error) {
          this.log.warn('a service did not stop cleanly', { step, error: String(error) });
        }
      },
    };
  }
}
