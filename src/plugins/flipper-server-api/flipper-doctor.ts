import { type DeviceTransport } from '../../core/device-transport.js';
import { type HealthCheck } from '../../core/health-check.js';
import { HostError, describeError } from '../../core/host-error.js';
import { withTimeout } from '../../core/timeout.js';

const CHECK_TIMEOUT_MS = 15_000;
type Category = 'common' | 'android' | 'ios';
const LABELS: Record<Category, string> = { common: 'Common', android: 'Android', ios: 'iOS' };

/**
 * Flipper's doctor, answered with the device transports' own read-only checks (the ones `sonarhost
 * doctor` prints), in the shape the UI shows: categories of checks, each run on demand.
 */
export class FlipperDoctor {
  constructor(private readonly transports: readonly DeviceTransport[]) {}

  /** `doctor-get-healthchecks`: every category, with its checks (and their current result). */
  async healthchecks(): Promise<Record<Category, unknown>> {
    const checks = await this.run();
    const result = {} as Record<Category, unknown>;
    for (const category of Object.keys(LABELS) as Category[]) {
      const mine = checks.filter((c) => c.category === category);
      result[category] =
        mine.length === 0
          ? { label: LABELS[category], isSkipped: true, skipReason: 'sonarhost has no device transport with checks for this platform' }
          : { label: LABELS[category], isSkipped: false, isRequired: false, healthchecks: mine.map((c) => ({ key: c.key, label: c.check.name, isRequired: false, result: flipperResult(c.check) })) };
    }
    return result;
  }

  /** `doctor-run-healthcheck(settings, category, key)`: that one check, run again now. */
  async runOne(category: unknown, key: unknown): Promise<unknown> {
    const found = (await this.run()).find((c) => c.category === category && c.key === key);
    if (!found) throw new HostError('device-not-found', `There is no health check ${JSON.stringify(key)} in the category ${JSON.stringify(category)}; doctor-get-healthchecks lists them.`);
    return flipperResult(found.check);
  }

  private async run(): Promise<Array<{ category: Category; key: string; check: HealthCheck }>> {
    const all = await Promise.all(
      this.transports
        .filter((t) => t.check)
        .map(async (transport) => {
          let checks: HealthCheck[];
          try {
            checks = await withTimeout(transport.check!(), CHECK_TIMEOUT_MS, `the ${transport.id} checks`);
          } catch (error) {
            checks = [{ name: `${transport.id} checks`, status: 'fail', detail: describeError(error) }];
          }
          return checks.map((check) => ({ category: categoryOf(transport.id), key: `${transport.id}: ${check.name}`, check }));
        }),
    );
    return all.flat();
  }
}

function categoryOf(transportId: string): Category {
  return transportId.startsWith('android') ? 'android' : transportId.startsWith('ios') ? 'ios' : 'common';
}

function flipperResult(check: HealthCheck): { status: 'SUCCESS' | 'WARNING' | 'FAILED'; message: { id: string; params: Record<string, string> } } {
  const status = check.status === 'ok' ? 'SUCCESS' : check.status === 'warn' ? 'WARNING' : 'FAILED';
  const text = check.fix ? `${check.detail} (${check.fix})` : check.detail;
  return { status, message: { id: 'sonarhost.check', params: { text } } };
}
