import { NEVER, type Observable, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { atLeastOnce, type Instrumentation, poolMetrics } from '../../src/index.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function recorder(now: () => number) {
  const log: string[] = [];
  const instrument: Instrumentation<string> = {
    onQueued: (job) => log.push(`${now()} queued ${job}`),
    onStart: (e) => log.push(`${now()} start ${e.job} waited ${e.waitedMs}`),
    onEnd: (e) => log.push(`${now()} ${e.outcome} ${e.job} waited ${e.waitedMs} ran ${e.ranMs}`),
  };
  return { log, instrument };
}

describe('atLeastOnce instrument', () => {
  it('a message runs over all its attempts; the next one waits for the slot', () => {
    const ts = testScheduler();
    ts.run(({ hot, cold, expectObservable }) => {
      const { log, instrument } = recorder(() => ts.now());
      let calls = 0;
      const result = hot('ab|').pipe(
        atLeastOnce(
          (m: string): Observable<string> => (m === 'a' && ++calls === 1 ? NEVER : cold('-k')),
          {
            ackTimeout: 3,
            backoff: 1,
            instrument,
          },
        ),
      );
      expectObservable(result).toBe('-----x(y|)', {
        x: { message: 'a', ack: 'k', attempts: 2 },
        y: { message: 'b', ack: 'k', attempts: 1 },
      });
      ts.flush();
      expect(log).toEqual([
        '0 queued a',
        '0 start a waited 0',
        '1 queued b',
        '5 done a waited 0 ran 5',
        '5 start b waited 4',
        '6 done b waited 4 ran 1',
      ]);
    });
  });

  it('dead-lettered is failed; unsubscribing cancels the one in flight and drops the waiting', () => {
    const ts = testScheduler();
    const metrics = poolMetrics();
    ts.run(({ hot, expectObservable }) => {
      const result = hot('abc').pipe(
        atLeastOnce((m: string) => (m === 'a' ? of() : NEVER), {
          maxAttempts: 1,
          deadLetter: () => {},
          instrument: metrics,
        }),
      );
      expectObservable(result, '^--!').toBe('---');
    });
    const s = metrics.snapshot();
    expect([s.failed, s.cancelled, s.dropped, s.running, s.waiting]).toEqual([1, 1, 1, 0, 0]);
  });

  it('durations follow the operator scheduler unless the instrument has its own', () => {
    const ts = testScheduler();
    const metrics = poolMetrics();
    ts.run(({ cold, expectObservable }) => {
      const result = cold('a|').pipe(
        atLeastOnce(() => cold('---k'), { scheduler: ts, instrument: metrics }),
      );
      expectObservable(result).toBe('---(x|)', { x: { message: 'a', ack: 'k', attempts: 1 } });
    });
    expect(metrics.snapshot().ran).toEqual({ count: 1, total: 3, max: 3, last: 3 });
  });

  it('refuses a bad instrument, naming it', () => {
    expect(() => atLeastOnce(() => of(1), { instrument: [] as never })).toThrow(
      /^atLeastOnce: instrument must be an Instrumentation .*, got /,
    );
  });
});
