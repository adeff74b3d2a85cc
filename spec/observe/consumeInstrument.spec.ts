import { mergeMap, NEVER, throwError, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { type Delivery, type JobEnd, MessageQueue, poolMetrics } from '../../src/index.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('consume instrument', () => {
  it('acked is done, nacked is failed, ran measured to the settlement, in virtual time', () => {
    const ends: string[] = [];
    const ts = testScheduler();
    ts.run(() => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100, maxAttempts: 1 });
      queue.enqueue('ok');
      queue.enqueue('bad');
      queue
        .consume(
          (message) =>
            message.payload === 'ok'
              ? timer(5)
              : timer(3).pipe(mergeMap(() => throwError(() => 'no'))),
          {
            concurrency: 2,
            instrument: {
              onEnd: (e: JobEnd<Delivery<string>>) =>
                ends.push(`${e.job.payload} ${e.outcome} ran ${e.ranMs} waited ${e.waitedMs}`),
            },
          },
        )
        .subscribe();
    });
    expect(ends).toEqual(['bad failed ran 3 waited 0', 'ok done ran 5 waited 0']);
  });

  it('unsubscribing ends a running handler cancelled; poolMetrics adds up', () => {
    const ts = testScheduler();
    const metrics = poolMetrics();
    ts.run(({ cold, expectObservable }) => {
      const queue = new MessageQueue<number>({ visibilityTimeout: 100 });
      queue.enqueue(1);
      queue.enqueue(2);
      const outcomes = queue.consume((m) => (m.payload === 1 ? cold('--|') : NEVER), {
        instrument: metrics,
      });
      expectObservable(outcomes, '^---!').toBe('--a-', { a: expect.anything() });
    });
    const s = metrics.snapshot();
    expect([s.done, s.cancelled, s.running, s.waiting]).toEqual([1, 1, 0, 0]);
    expect(s.ran).toEqual({ count: 2, total: 4, max: 2, last: 2 });
  });

  it('refuses a bad instrument, naming it', () => {
    const queue = new MessageQueue<number>();
    expect(() => queue.consume(() => undefined, { instrument: { onStart: 1 as never } })).toThrow(
      'consumeQueue: instrument.onStart must be a function, got 1',
    );
  });
});
