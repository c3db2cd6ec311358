import { type Disposable, toDisposable } from '../../core/disposable.js';
import { type HostEvent, type HostEvents } from '../../core/host-events.js';

/** One host event with its JSON text, serialized once for every reader. */
export interface FedEvent {
  event: HostEvent;
  json: string;
}

export interface RecentEventLimits {
  /** Events kept for readers that arrive later (the dashboard opened after the app connected). */
  count: number;
  /** Their total JSON size; the oldest go first when either bound is reached. */
  bytes: number;
  /** A larger event is kept as a stub that says how large it was, so one huge event cannot evict the rest. */
  eventBytes: number;
}

export const RECENT_EVENT_LIMITS: RecentEventLimits = { count: 500, bytes: 2 * 1024 * 1024, eventBytes: 16 * 1024 };

/**
 * The API's view of the host's events: each event is serialized once and handed to every event-stream
 * and WebSocket reader, and the most recent ones are kept in a ring bounded by count and bytes.
 */
export class ApiEventFeed {
  private readonly listeners = new Set<(fed: FedEvent) => void>();
  private readonly ring: FedEvent[] = [];
  private ringBytes = 0;

  constructor(private readonly limits: RecentEventLimits = RECENT_EVENT_LIMITS) {}

  attach(events: HostEvents): Disposable {
    return events.subscribe((event) => this.publish(event));
  }

  subscribe(listener: (fed: FedEvent) => void): Disposable {
    this.listeners.add(listener);
    return toDisposable(() => void this.listeners.delete(listener));
  }

  /** The kept events, oldest first. */
  recent(): readonly FedEvent[] {
    return [...this.ring];
  }

  get readerCount(): number {
    return this.listeners.size;
  }

  private publish(event: HostEvent): void {
    const fed = { event, json: JSON.stringify(event) };
    this.remember(fed);
    for (const listener of this.listeners) {
      try {
        listener(fed);
      } catch {
        // one reader's failure must not stop the others
      }
    }
  }

  private remember(fed: FedEvent): void {
    const kept = fed.json.length <= this.limits.eventBytes ? fed : stub(fed);
    this.ring.push(kept);
    this.ringBytes += kept.json.length;
    while (this.ring.length > this.limits.count || this.ringBytes > this.limits.bytes) this.ringBytes -= this.ring.shift()!.json.length;
  }
}

function stub({ event, json }: FedEvent): FedEvent {
  const small = event.type === 'plugin-event' ? { ...event, params: { omitted: `${json.length} characters, too large to keep` } } : { type: event.type, at: event.at, omitted: `${json.length} characters` };
  return { event: small as HostEvent, json: JSON.stringify(small) };
}
