import { asyncScheduler, catchError, map, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { MessageQueue } from '../../src/queue/messageQueue.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('consume: pause (an Observable concurrency at 0)', () => {
  it('running handlers finish, no delivery is leased while 0, a positive value resumes', () => {
    const leasedWhilePaused: number[] = [];
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100 });
      for (const p of ['a', 'b', 'c']) queue.enqueue(p);
      const handlers: Record<string, ReturnType<typeof cold>> = {
        a: cold('---|'),
        b: cold('----|'),
        c: cold('---|'),
      };
      const limit = cold('a-b------c', { a: 2, b: 0, c: 1 });
      const outcomes = queue.consume((m) => handlers[m.payload]!, { concurrency: limit });
      asyncScheduler.schedule(() => leasedWhilePaused.push(queue.stats().inFlight), 6);
      asyncScheduler.schedule(() => void queue.close(), 15);
      expectObservable(outcomes.pipe(map((o) => `${o.status}:${o.message.payload}`))).toBe(
        '---ab-------c--|',
        { a: 'acked:a', b: 'acked:b', c: 'acked:c' },
      );
      expectSubscriptions(handlers.a!.subscriptions).toBe('^--!');
      expectSubscriptions(handlers.b!.subscriptions).toBe('^---!');
      expectSubscriptions(handlers.c!.subscriptions).toBe('---------^--!');
    });
    // c stayed in the queue, visible to other consumers, while this one was paused
    expect(leasedWhilePaused).toEqual([0]);
  });

  it('a bad value from the Observable fails the outcomes, naming the argument', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const queue = new MessageQueue<string>();
      const outcomes = queue.consume(() => undefined, {
        concurrency: cold('a-b', { a: 1, b: 1.5 }),
      });
      expectObservable(
        outcomes.pipe(
          map(() => 'outcome'),
          catchError((err: unknown) => of((err as Error).message)),
        ),
      ).toBe('--(e|)', {
        e: 'consumeQueue: concurrency from its Observable must be a whole number >= 0 (0 pauses) or Infinity, got 1.5',
      });
    });
  });
});
