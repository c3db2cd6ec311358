import { inject, injectable } from 'inversify';
import { type Disposable, toDisposable } from './disposable.js';
import { type HostEvent, HostEvents } from './host-events.js';

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
 * The host's events as its faces serve them (the API's event stream and WebSocket, startHost's handle,
 * the MCP server): each event is serialized once and handed to every reader, and the most recent ones
 * are kept in a ring bounded by count and bytes. It listens to the host only while some face retains
 * it, so a host without one does not serialize every plugin event.
 */
@injectable()
export class EventFeed {
  private readonly listeners = new Set<(fed: FedEvent) => void>();
  private readonly ring: FedEvent[] = [];
  private ringBytes = 0;
  private retainers = 0;
  private subscription: Disposable | undefined;
  limits: RecentEventLimits = RECENT_EVENT_LIMITS;

  constructor(@inject(HostEvents) private readonly events: HostEvents) {}

  /** Starts following the host's events (once, however many faces retain it) until every retainer let go. */
  retain(): Disposable {
    if (this.retainers++ === 0) this.subscription = this.events.subscribe((event) => this.publish(event));
    return toDisposable(() => {
      if (--this.retainers === 0) {
        void this.subscription?.dispose();
        this.subscription = undefined;
      }
    });
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
