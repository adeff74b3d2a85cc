import fc from 'fast-check';
import { map, Observable, of, Subject, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  ChannelFullError,
  fromIterable,
  mpsc,
  type OverflowPolicy,
  ReceiverBusyError,
  toAsyncIterable,
} from 'sluice';
import { describe, expect, it } from 'vitest';

async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** Reads until done; returns the values and the error, if any. */
async function readAll<T>(iterator: AsyncIterator<T>): Promise<{ values: T[]; error?: unknown }> {
  const values: T[] = [];
  try {
    for (;;) {
      const result = await iterator.next();
      if (result.done) return { values };
      values.push(result.value);
    }
  } catch (error) {
    return { values, error };
  }
}

/** A synchronous iterable counting what it handed out and whether it was closed. */
function counted() {
  const stats = { produced: 0, returned: 0 };
  const iterable: Iterable<number> = {
    [Symbol.iterator]() {
      let n = 0;
      return {
        next() {
          stats.produced++;
          return { done: false, value: ++n };
        },
        return() {
          stats.returned++;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { iterable, stats };
}

/** An Observable that counts its live subscriptions. */
function tracked<T>(source: Observable<T>) {
  const stats = { subscribed: 0, active: 0 };
  const observable = new Observable<T>((subscriber) => {
    stats.subscribed++;
    stats.active++;
    const sub = source.subscribe(subscriber);
    return () => {
      stats.active--;
      sub.unsubscribe();
    };
  });
  return { observable, stats };
}

describe('toAsyncIterable', () => {
  describe('a sluice source is pulled, not buffered', () => {
    it('takes one value from fromIterable per next(), lazily', async () => {
      const { iterable, stats } = counted();
      const values = toAsyncIterable(fromIterable(iterable));
      expect(stats.produced).toBe(0);
      await expect(values.next()).resolves.toEqual({ done: false, value: 1 });
      expect(stats.produced).toBe(1);
      const overlapping = [values.next(), values.next(), values.next()];
      expect(stats.produced).toBe(4);
      await expect(Promise.all(overlapping)).resolves.toEqual([
        { done: false, value: 2 },
        { done: false, value: 3 },
        { done: false, value: 4 },
      ]);
      expect(values.size).toBe(0);
      await expect(values.return()).resolves.toEqual({ done: true, value: undefined });
      expect(stats.returned).toBe(1);
      expect(stats.produced).toBe(4);
      await expect(values.next()).resolves.toEqual({ done: true, value: undefined });
    });

    it('a break in for await closes the iterable after exactly the items read', async () => {
      const { iterable, stats } = counted();
      const seen: number[] = [];
      for await (const n of toAsyncIterable(fromIterable(iterable), { capacity: 1 })) {
        seen.push(n);
        if (n === 3) break;
      }
      expect(seen).toEqual([1, 2, 3]);
      expect(stats).toEqual({ produced: 3, returned: 1 });
    });

    it('keeps a channel sender waiting: backpressure reaches the producer', async () => {
      const [tx, rx] = mpsc<number>(1);
      const values = toAsyncIterable(rx);
      await tx.send(1);
      let secondSent = false;
      const second = tx.send(2).then(() => (secondSent = true));
      await flush();
      expect(secondSent).toBe(false); // nobody asked yet: the channel holds 1, 2 waits
      await expect(values.next()).resolves.toEqual({ done: false, value: 1 });
      await second;
      expect(secondSent).toBe(true);
      tx.close();
      await expect(readAll(values)).resolves.toEqual({ values: [2] });
    });

    it('holds no consumer slot until the first next(), and releases it on return()', async () => {
      const [tx, rx] = mpsc<string>(4);
      const unused = toAsyncIterable(rx);
      await tx.send('a');
      await expect(rx.recv()).resolves.toBe('a'); // the unused iterator does not hold rx
      const reading = toAsyncIterable(rx);
      const first = reading.next();
      await expect(rx.recv()).rejects.toBeInstanceOf(ReceiverBusyError);
      await reading.return();
      await expect(first).resolves.toEqual({ done: true, value: undefined });
      await tx.send('b');
      await expect(rx.recv()).resolves.toBe('b'); // unsubscribing did not close the channel
      await unused.return();
    });

    it('the first next() reports a pull that ends as it opens: closed channel, busy receiver', async () => {
      const [tx, rx] = mpsc<number>(2);
      const sub = rx.subscribe();
      const busy = toAsyncIterable(rx);
      await expect(busy.next()).rejects.toBeInstanceOf(ReceiverBusyError);
      await expect(busy.next()).resolves.toEqual({ done: true, value: undefined });
      sub.unsubscribe();
      tx.close();
      const closed = toAsyncIterable(rx);
      await expect(closed.next()).resolves.toEqual({ done: true, value: undefined });
      await expect(closed.return()).resolves.toEqual({ done: true, value: undefined });
    });

    it('surfaces a sluice source error after the values before it', async () => {
      const boom = new Error('boom');
      function* failing() {
        yield 1;
        throw boom;
      }
      const values = toAsyncIterable(fromIterable({ [Symbol.iterator]: failing }));
      await expect(readAll(values)).resolves.toEqual({ values: [1], error: boom });
      await expect(values.next()).resolves.toEqual({ done: true, value: undefined });
    });
  });

  describe('a push source is buffered, bounded', () => {
    it('subscribes on the first next(), not before', async () => {
      const subject = new Subject<number>();
      const values = toAsyncIterable(subject);
      expect(subject.observed).toBe(false);
      const first = values.next();
      expect(subject.observed).toBe(true);
      subject.next(7);
      await expect(first).resolves.toEqual({ done: false, value: 7 });
    });

    it('answers overlapping next() calls in call order', async () => {
      const subject = new Subject<string>();
      const values = toAsyncIterable(subject);
      const order: string[] = [];
      const calls = [1, 2, 3].map((i) =>
        values.next().then((r) => order.push(`${i}:${r.done ? 'done' : r.value}`)),
      );
      subject.next('a');
      subject.next('b');
      subject.complete();
      await Promise.all(calls);
      expect(order).toEqual(['1:a', '2:b', '3:done']);
    });

    it('buffers values pushed before they are read, then completes', async () => {
      const values = toAsyncIterable(of(1, 2, 3), { capacity: 3 });
      await expect(readAll(values)).resolves.toEqual({ values: [1, 2, 3] });
      expect(values.dropped).toBe(0);
    });

    it('completes at once for an empty source', async () => {
      await expect(readAll(toAsyncIterable(of()))).resolves.toEqual({ values: [] });
    });

    it("'drop' reports the incoming values and keeps the oldest", async () => {
      const subject = new Subject<number>();
      const reports: Array<[number, string]> = [];
      const values = toAsyncIterable(subject, {
        capacity: 2,
        overflow: 'drop',
        onOverflow: (v, policy) => reports.push([v, policy]),
      });
      const first = values.next();
      for (let i = 1; i <= 5; i++) subject.next(i);
      await expect(first).resolves.toEqual({ done: false, value: 1 });
      expect(values.size).toBe(2);
      expect(reports).toEqual([
        [4, 'drop'],
        [5, 'drop'],
      ]);
      expect(values.dropped).toBe(2);
      subject.complete();
      await expect(readAll(values)).resolves.toEqual({ values: [2, 3] });
    });

    it("'replace' reports the oldest values and keeps the newest", async () => {
      const subject = new Subject<number>();
      const reports: Array<[number, string]> = [];
      const values = toAsyncIterable(subject, {
        capacity: 2,
        overflow: 'replace',
        onOverflow: (v, policy) => reports.push([v, policy]),
      });
      void values.next().then(() => {}); // subscribe; the first value goes to this call
      subject.next(0);
      for (let i = 1; i <= 5; i++) subject.next(i);
      expect(reports).toEqual([
        [1, 'replace'],
        [2, 'replace'],
        [3, 'replace'],
      ]);
      subject.complete();
      await expect(readAll(values)).resolves.toEqual({ values: [4, 5] });
      expect(values.dropped).toBe(3);
    });

    it.each<OverflowPolicy>(['block', 'error'])(
      "'%s' unsubscribes when full, delivers the buffer, then throws ChannelFullError with the value",
      async (overflow) => {
        const subject = new Subject<number>();
        const values = toAsyncIterable(subject, { capacity: 2, overflow });
        const first = values.next();
        subject.next(1); // straight to the waiting next()
        subject.next(2);
        subject.next(3);
        expect(subject.observed).toBe(true);
        subject.next(4); // does not fit
        expect(subject.observed).toBe(false);
        subject.next(5); // nobody listens any more
        await expect(first).resolves.toEqual({ done: false, value: 1 });
        const rest = await readAll(values);
        expect(rest.values).toEqual([2, 3]);
        expect(rest.error).toBeInstanceOf(ChannelFullError);
        expect((rest.error as ChannelFullError<number>).value).toBe(4);
        expect((rest.error as Error).message).toMatch(
          /^toAsyncIterable: buffer is full \(capacity 2\)/,
        );
        await expect(values.next()).resolves.toEqual({ done: true, value: undefined });
      },
    );

    it('stops a synchronous firehose at the first value that does not fit', async () => {
      let emitted = 0;
      const firehose = new Observable<number>((subscriber) => {
        for (let i = 0; !subscriber.closed; i++) {
          emitted++;
          subscriber.next(i);
        }
      });
      const result = await readAll(toAsyncIterable(firehose, { capacity: 3 }));
      // 0 goes to the waiting first next(), 1 2 3 fill the buffer, 4 does not fit
      expect(result.values).toEqual([0, 1, 2, 3]);
      expect((result.error as ChannelFullError<number>).value).toBe(4);
      expect(emitted).toBe(5);
    });

    it('buffers without bound only when asked with capacity Infinity', async () => {
      const many = Array.from({ length: 5000 }, (_, i) => i);
      const values = toAsyncIterable(of(...many), { capacity: Number.POSITIVE_INFINITY });
      const first = await values.next();
      expect(first).toEqual({ done: false, value: 0 });
      expect(values.size).toBe(4999);
      expect((await readAll(values)).values).toHaveLength(4999);
    });

    it('uses a default capacity of 1000', async () => {
      const fits = Array.from({ length: 1001 }, (_, i) => i); // one to next(), 1000 buffered
      await expect(readAll(toAsyncIterable(of(...fits)))).resolves.toEqual({ values: fits });
      const many = Array.from({ length: 1002 }, (_, i) => i);
      const result = await readAll(toAsyncIterable(of(...many)));
      expect(result.values).toEqual(fits);
      expect((result.error as ChannelFullError<number>).value).toBe(1001);
    });

    it('a value arriving while next() waits takes no slot, also while subscribing', async () => {
      const reports: number[] = [];
      const values = toAsyncIterable(of(1, 2, 3, 4), {
        capacity: 2,
        overflow: 'drop',
        onOverflow: (v) => reports.push(v),
      });
      await expect(values.next()).resolves.toEqual({ done: false, value: 1 });
      expect(values.size).toBe(2); // 2 and 3, emitted during the subscription
      expect(reports).toEqual([4]);
      expect(values.dropped).toBe(1);
      await expect(readAll(values)).resolves.toEqual({ values: [2, 3] });

      const subject = new Subject<number>();
      const overlapping = toAsyncIterable(subject, { capacity: 1 });
      const reads = [overlapping.next(), overlapping.next()];
      for (let i = 1; i <= 3; i++) subject.next(i); // 1 and 2 to the waiting calls, 3 buffered
      expect(overlapping.size).toBe(1);
      expect(subject.observed).toBe(true);
      subject.complete();
      await expect(Promise.all(reads)).resolves.toEqual([
        { done: false, value: 1 },
        { done: false, value: 2 },
      ]);
      await expect(readAll(overlapping)).resolves.toEqual({ values: [3] });
    });

    it('an onOverflow that throws: a Subject.next() throws it and the iteration goes on', async () => {
      const subject = new Subject<number>();
      const oops = new Error('reporter failed');
      const values = toAsyncIterable(subject, {
        capacity: 1,
        overflow: 'drop',
        onOverflow: () => {
          throw oops;
        },
      });
      const first = values.next();
      subject.next(1); // to the waiting next()
      subject.next(2); // buffered
      expect(() => subject.next(3)).toThrow(oops); // dropped, the reporter throws
      expect(values.dropped).toBe(1);
      expect(subject.observed).toBe(true);
      expect(() => subject.next(4)).toThrow(oops);
      expect(values.dropped).toBe(2);
      subject.complete();
      await expect(first).resolves.toEqual({ done: false, value: 1 });
      await expect(readAll(values)).resolves.toEqual({ values: [2] });
    });

    it('an onOverflow that throws: a source made by RxJS ends with it, after the buffer', async () => {
      const oops = new Error('reporter failed');
      const options = {
        capacity: 1,
        overflow: 'replace' as const,
        onOverflow: (): void => {
          throw oops;
        },
      };
      let emitted = 0;
      const counting = of(1, 2, 3, 4).pipe(tap(() => emitted++));
      // `of` turns the exception into its error: 1 to next(), 2 replaced by 3, then it stops
      const values = toAsyncIterable(counting, options);
      await expect(readAll(values)).resolves.toEqual({ values: [1, 3], error: oops });
      expect(values.dropped).toBe(1);
      expect(emitted).toBe(3);

      // an operator between a Subject and the iterator does the same, and is unsubscribed
      const subject = new Subject<number>();
      const piped = toAsyncIterable(subject.pipe(map((n) => n * 10)), options);
      const first = piped.next();
      subject.next(1);
      subject.next(2);
      expect(() => subject.next(3)).not.toThrow(); // replaces 20; the reporter throws
      expect(subject.observed).toBe(false);
      await expect(first).resolves.toEqual({ done: false, value: 10 });
      await expect(readAll(piped)).resolves.toEqual({ values: [30], error: oops });
    });
  });

  describe('errors', () => {
    it('throws a source error after the values buffered before it', async () => {
      const subject = new Subject<number>();
      const boom = new Error('boom');
      const values = toAsyncIterable(subject);
      const first = values.next();
      subject.next(1);
      subject.next(2);
      subject.next(3);
      subject.error(boom);
      await expect(first).resolves.toEqual({ done: false, value: 1 });
      await expect(readAll(values)).resolves.toEqual({ values: [2, 3], error: boom });
      await expect(values.next()).resolves.toEqual({ done: true, value: undefined });
    });

    it('rejects the first waiting next() with the error and ends the others', async () => {
      const subject = new Subject<number>();
      const boom = new Error('boom');
      const values = toAsyncIterable(subject);
      const a = values.next();
      const b = values.next();
      subject.error(boom);
      await expect(a).rejects.toBe(boom);
      await expect(b).resolves.toEqual({ done: true, value: undefined });
    });

    it('throws the error of a source that fails while being subscribed', async () => {
      const boom = new Error('cannot subscribe');
      const broken = new Observable<number>(() => {
        throw boom;
      });
      await expect(toAsyncIterable(broken).next()).rejects.toBe(boom);
    });
  });

  describe('cancellation', () => {
    it('break unsubscribes from the source', async () => {
      const subject = new Subject<number>();
      const { observable, stats } = tracked(subject);
      const seen: number[] = [];
      const loop = (async () => {
        for await (const n of toAsyncIterable(observable)) {
          seen.push(n);
          if (n === 2) break;
        }
      })();
      expect(stats).toEqual({ subscribed: 1, active: 1 });
      subject.next(1);
      subject.next(2);
      subject.next(3);
      await loop;
      expect(seen).toEqual([1, 2]);
      expect(stats).toEqual({ subscribed: 1, active: 0 });
      expect(subject.observed).toBe(false);
    });

    it('return() ends pending next() calls, discards the buffer and never resubscribes', async () => {
      const subject = new Subject<number>();
      const { observable, stats } = tracked(subject);
      const values = toAsyncIterable(observable);
      const first = values.next();
      const second = values.next();
      await expect(values.return()).resolves.toEqual({ done: true, value: undefined });
      await expect(first).resolves.toEqual({ done: true, value: undefined });
      await expect(second).resolves.toEqual({ done: true, value: undefined });
      expect(stats).toEqual({ subscribed: 1, active: 0 });
      await expect(values.next()).resolves.toEqual({ done: true, value: undefined });
      expect(stats.subscribed).toBe(1);

      const buffered = toAsyncIterable(of(1, 2, 3));
      await buffered.next();
      expect(buffered.size).toBe(2);
      await buffered.return();
      expect(buffered.size).toBe(0);
    });

    it('return() before any next() never subscribes', async () => {
      const { observable, stats } = tracked(new Subject<number>());
      const values = toAsyncIterable(observable);
      await values.return();
      await expect(values.next()).resolves.toEqual({ done: true, value: undefined });
      expect(stats.subscribed).toBe(0);
    });
  });

  describe('subscription logs (TestScheduler)', () => {
    it('subscribes at the first next() and unsubscribes at the overflow', async () => {
      const testScheduler = new TestScheduler((actual, expected) =>
        expect(actual).toEqual(expected),
      );
      let first: Promise<IteratorResult<string>> | undefined;
      let values: AsyncIterator<string> | undefined;
      testScheduler.run(({ cold, expectSubscriptions }) => {
        const source = cold('-a-b-c-d-e-|');
        const subs = '       ^------!    ';
        values = toAsyncIterable(source, { capacity: 2 });
        first = values.next();
        expectSubscriptions(source.subscriptions).toBe(subs);
      });
      await expect(first).resolves.toEqual({ done: false, value: 'a' });
      const rest = await readAll(values!);
      expect(rest.values).toEqual(['b', 'c']);
      expect((rest.error as ChannelFullError<string>).value).toBe('d');
    });

    it('unsubscribes at the moment the loop breaks', async () => {
      const testScheduler = new TestScheduler((actual, expected) =>
        expect(actual).toEqual(expected),
      );
      const read: Array<Promise<IteratorResult<string>>> = [];
      testScheduler.run(({ hot, expectSubscriptions }) => {
        const source = hot('--a--b--c--|');
        const subs = '      ^----!      ';
        const values = toAsyncIterable(source);
        read.push(values.next());
        testScheduler.schedule(() => void values.return(), 5);
        expectSubscriptions(source.subscriptions).toBe(subs);
      });
      await expect(Promise.all(read)).resolves.toEqual([{ done: false, value: 'a' }]);
    });
  });

  describe('bad input', () => {
    it.each([
      [null, 'null'],
      [42, '42'],
      [{}, 'an object (Object)'],
      [[1, 2], 'an array'],
    ])('throws a TypeError for a source that is %s', (value, given) => {
      expect(() => toAsyncIterable(value as unknown as Observable<number>)).toThrow(
        new TypeError(`toAsyncIterable: source must be an Observable, got ${given}`),
      );
    });

    it('validates options at the call, also for a sluice source', () => {
      const push = of(1);
      const pulled = fromIterable([1]);
      for (const source of [push, pulled]) {
        expect(() => toAsyncIterable(source, { capacity: 0 })).toThrow(
          new RangeError(
            'toAsyncIterable: capacity must be a whole number >= 1 or Infinity, got 0',
          ),
        );
        expect(() => toAsyncIterable(source, { overflow: 'later' as OverflowPolicy })).toThrow(
          new TypeError(
            "toAsyncIterable: overflow must be one of 'block', 'drop', 'replace', 'error', got \"later\"",
          ),
        );
        expect(() => toAsyncIterable(source, { onOverflow: 5 as unknown as () => void })).toThrow(
          new TypeError('toAsyncIterable: onOverflow must be a function, got 5'),
        );
        expect(() => toAsyncIterable(source, 3 as unknown as { capacity: number })).toThrow(
          new TypeError('toAsyncIterable: options must be an object, got 3'),
        );
      }
    });
  });

  describe('properties', () => {
    const policies = fc.constantFrom<OverflowPolicy>('block', 'drop', 'replace', 'error');
    const ops = fc.array(fc.constantFrom('push', 'push', 'read'), { maxLength: 40 });

    it('every value the source delivered is read in order, reported, or carried by the error', async () => {
      await fc.assert(
        fc.asyncProperty(
          policies,
          fc.integer({ min: 1, max: 5 }),
          ops,
          async (overflow, capacity, script) => {
            const subject = new Subject<number>();
            const delivered: number[] = [];
            const reported: number[] = [];
            const values = toAsyncIterable(subject.pipe(tap((v) => delivered.push(v))), {
              capacity,
              overflow,
              onOverflow: (v) => reported.push(v),
            });
            const reads: Array<Promise<IteratorResult<number>>> = [values.next()];
            let n = 0;
            for (const op of script) {
              if (op === 'push') subject.next(n++);
              else reads.push(values.next());
            }
            subject.complete();
            const read: number[] = [];
            let error: unknown;
            for (const r of reads) {
              try {
                const result = await r;
                if (!result.done) read.push(result.value);
              } catch (err) {
                error = err;
              }
            }
            const rest = await readAll(values);
            read.push(...rest.values);
            error ??= rest.error;
            const carried =
              error instanceof ChannelFullError ? [(error as ChannelFullError<number>).value!] : [];
            // in order, nothing invented
            expect([...read].sort((a, b) => a - b)).toEqual(read);
            // nothing lost silently
            expect([...read, ...reported, ...carried].sort((a, b) => a - b)).toEqual(delivered);
            if (overflow === 'drop' || overflow === 'replace') expect(error).toBeUndefined();
            expect(values.size).toBe(0);
          },
        ),
      );
    });
  });
});
