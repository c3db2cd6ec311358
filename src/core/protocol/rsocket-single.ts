import { Single } from 'rsocket-flowable';
import { type Payload } from 'rsocket-types';

/** Answers an rsocket-js request-response (host and client SDK alike) from a promise: a PAYLOAD on success, an ERROR frame with the message otherwise. */
export function singleFrom(work: () => Promise<string>): Single<Payload<string, string>> {
  return new Single((subscriber) => {
    let cancelled = false;
    subscriber.onSubscribe(() => {
      cancelled = true;
    });
    work().then(
      (data) => {
        if (!cancelled) subscriber.onComplete({ data, metadata: '' });
      },
      (error: unknown) => {
        if (!cancelled) subscriber.onError(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
