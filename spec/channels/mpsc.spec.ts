import { config, of, Subject, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import {
  ChannelClosedError,
  ChannelFullError,
  fromIterable,
  mpsc,
  ReceiverBusyError,
} from '../../src/index.js';
import { flush, track } from '../support/promises.js';

describe('mpsc', () => {
  it('delivers in order to a subscriber, synchronously', () => {
    const [tx, rx] = mpsc<number>(4);
    const seen: number[] = [];
    rx.subscribe((n) => seen.push(n));
    tx.trySend(1);
    tx.trySend(2);
    expect(seen).toEqual([1, 2]);
    expect(rx.size).toBe(0);
  });

  it('buffers while nobody reads, and a later subscriber gets the backlog first', () => {
    const [tx, rx] = mpsc<string>(3);
    tx.trySend('a');
    tx.trySend('b');
    expect(rx.size).toBe(2);
    const seen: string[] = [];
    rx.subscribe((s) => seen.push(s));
    tx.trySend('c');
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('works as the Observer of a source and completes with it', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const [tx, rx] = mpsc<string>(10);
      hot('-a-b-|').subscribe(tx);
      expectObservable(rx).toBe('-a-b-|');
    });
  });

  it('keeps per-sender order across clones', async () => {
    const [tx, rx] = mpsc<string>(2);
    const producers = ['x', 'y', 'z'].map((name, i) => {
      const handle = i === 0 ? tx : tx.clone();
      return (async () => {
        for (let n = 0; n < 20; n++) await handle.send(`${name}${n}`);
        handle.close();
      })();
    });
    const seen: string[] = [];
    for await (const m of rx) seen.push(m);
    await Promise.all(producers);
    expect(seen).toHaveLength(60);
    for (const name of ['x', 'y', 'z']) {
      expect(seen.filter((m) => m.startsWith(name))).toEqual(
        Array.from({ length: 20 }, (_, n) => `${name}${n}`),
      );
    }
  });

  it('counts clones: the receiver completes after the last one closes and the buffer drains', () => {
    const [tx, rx] = mpsc<number>(4);
    const tx2 = tx.clone();
    const events: string[] = [];
    tx.trySend(1);
    tx.close();
    tx.close(); // idempotent: does not release another handle
    tx2.trySend(2);
    expect(rx.isClosed).toBe(false);
    tx2.close();
    expect(rx.isClosed).toBe(true);
    rx.subscribe({
      next: (n) => events.push(`next ${n}`),
      complete: () => events.push('complete'),
    });
    expect(events).toEqual(['next 1', 'next 2', 'complete']);
    expect(() => tx.clone()).toThrow(ChannelClosedError);
  });

  describe("'block'", () => {
    it('send waits while full, and waiting senders are served first-in first-out', async () => {
      const [tx, rx] = mpsc<string>(1);
      await tx.send('a');
      const b = track(tx.send('b'));
      const c = track(tx.send('c'));
      await flush();
      expect([b.status, c.status]).toEqual(['pending', 'pending']);
      expect(tx.trySend('d')).toEqual({ ok: false, reason: 'full', value: 'd' });
      expect(await rx.recv()).toBe('a');
      await flush();
      expect([b.status, c.status]).toEqual(['resolved', 'pending']);
      expect(await rx.recv()).toBe('b');
      expect(await rx.recv()).toBe('c');
    });

    it('an aborted waiting send neither holds a slot nor enqueues its value', async () => {
      const [tx, rx] = mpsc<string>(1);
      tx.trySend('a');
      const ac = new AbortController();
      const b = track(tx.send('b', { signal: ac.signal }));
      const c = track(tx.send('c'));
      ac.abort();
      await flush();
      expect(b.status).toBe('rejected');
      expect((b.error as Error).name).toBe('AbortError');
      expect(rx.tryRecv()).toEqual({ ok: true, value: 'a' });
      await flush();
      expect(c.status).toBe('resolved');
      expect(rx.tryRecv()).toEqual({ ok: true, value: 'c' });
      expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' });
    });

    it('an already aborted signal rejects at once without sending', async () => {
      const [tx, rx] = mpsc<string>(1);
      await expect(tx.send('a', { signal: AbortSignal.abort() })).rejects.toMatchObject({
        name: 'AbortError',
      });
      expect(rx.size).toBe(0);
    });

    it('next() from a push source that overflows fails the channel after what was buffered, throwing nothing', async () => {
      const [tx2, rx2] = mpsc<string>(1);
      tx2.next('a');
      expect(() => tx2.next('b')).not.toThrow();
      expect(() => tx2.next('c')).not.toThrow(); // refused: the channel already failed
      expect(tx2.refused).toBe(1);
      expect(rx2.tryRecv()).toEqual({ ok: true, value: 'a' });
      const err = await rx2.recv().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChannelFullError);
      expect((err as ChannelFullError<string>).value).toBe('b');
      expect((err as Error).message).toMatch(/push source cannot wait/);
    });

    it('source.subscribe(tx) with a plain push source: the receiver fails after the buffer, no unhandled error', async () => {
      const [tx, rx] = mpsc<number>(2);
      const unhandled: unknown[] = [];
      const previous = config.onUnhandledError;
      config.onUnhandledError = (e) => unhandled.push(e);
      try {
        const source = new Subject<number>();
        source.subscribe(tx);
        for (let i = 1; i <= 5; i++) source.next(i);
        const got: number[] = [];
        let error: unknown;
        for (;;) {
          const r = await rx.recv().catch((e: unknown) => ({ failed: e }));
          if (typeof r === 'object') {
            error = r.failed;
            break;
          }
          got.push(r);
        }
        expect(got).toEqual([1, 2]);
        expect(error).toBeInstanceOf(ChannelFullError);
        expect((error as ChannelFullError<number>).value).toBe(3);
        expect(tx.refused).toBe(2);
        await Promise.resolve();
        expect(unhandled).toEqual([]);
      } finally {
        config.onUnhandledError = previous;
      }
    });

    it('sluiceSource.subscribe(tx) is paced by the channel: every message arrives, nothing thrown', async () => {
      const [tx, rx] = mpsc<number>(3);
      let produced = 0;
      function* numbers() {
        for (let i = 0; i < 100; i++) {
          produced++;
          yield i;
        }
      }
      fromIterable(numbers()).subscribe(tx);
      expect(produced).toBe(4); // 3 buffered and one waiting, as an awaited send would
      const got: number[] = [];
      for await (const n of rx) got.push(n);
      expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i));
    });
  });

  describe("'drop', 'replace' and 'error'", () => {
    it("'drop' discards the incoming message and reports it", async () => {
      const dropped: string[] = [];
      const [tx, rx] = mpsc<string>(1, {
        overflow: 'drop',
        onOverflow: (m, p) => dropped.push(`${m}:${p}`),
      });
      tx.trySend('a');
      expect(tx.trySend('b')).toEqual({ ok: false, reason: 'dropped', value: 'b' });
      await tx.send('c'); // settles at once
      tx.next('d');
      expect(dropped).toEqual(['b:drop', 'c:drop', 'd:drop']);
      expect(rx.dropped).toBe(3);
      expect(rx.tryRecv()).toEqual({ ok: true, value: 'a' });
    });

    it("'replace' discards the oldest and reports it", async () => {
      const dropped: string[] = [];
      const [tx, rx] = mpsc<string>(2, {
        overflow: 'replace',
        onOverflow: (m, p) => dropped.push(`${m}:${p}`),
      });
      for (const m of ['a', 'b', 'c']) expect(tx.trySend(m)).toEqual({ ok: true });
      await tx.send('d');
      expect(dropped).toEqual(['a:replace', 'b:replace']);
      expect([rx.tryRecv(), rx.tryRecv()]).toEqual([
        { ok: true, value: 'c' },
        { ok: true, value: 'd' },
      ]);
    });

    it("'error' rejects a send on a full buffer with ChannelFullError carrying the message", async () => {
      const [tx] = mpsc<string>(1, { overflow: 'error' });
      await tx.send('a');
      const err = await tx.send('b').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChannelFullError);
      expect((err as ChannelFullError<string>).value).toBe('b');
      tx.next('c'); // a push source overflowing 'error': the channel fails, nothing thrown
      expect(tx.refused).toBe(0);
    });

    it('an onOverflow that throws reaches the sender, after the buffer is consistent', () => {
      const [tx, rx] = mpsc<string>(1, {
        overflow: 'replace',
        onOverflow: () => {
          throw new Error('reporter failed');
        },
      });
      tx.trySend('a');
      expect(() => tx.trySend('b')).toThrow('reporter failed');
      expect(rx.tryRecv()).toEqual({ ok: true, value: 'b' });
      expect(rx.sent).toBe(2);
    });
  });

  describe('closing', () => {
    it('rx.close() stops new sends, refuses waiting ones, and leaves the buffer readable', async () => {
      const [tx, rx] = mpsc<string>(1);
      tx.trySend('a');
      const waiting = track(tx.send('b'));
      const closed = track(tx.closed());
      rx.close();
      await flush();
      expect(waiting.status).toBe('rejected');
      expect(waiting.error).toBeInstanceOf(ChannelClosedError);
      expect((waiting.error as ChannelClosedError<string>).value).toBe('b');
      expect(closed.status).toBe('resolved');
      expect(tx.trySend('c')).toEqual({ ok: false, reason: 'closed', value: 'c' });
      await expect(tx.send('d')).rejects.toMatchObject({ name: 'ChannelClosedError', value: 'd' });
      expect(() => tx.next('e')).toThrow(ChannelClosedError);
      expect(await rx.recv()).toBe('a');
      await expect(rx.recv()).rejects.toBeInstanceOf(ChannelClosedError);
      expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
    });

    it('closing the last sender lets waiting sends deliver before completion', async () => {
      const [tx, rx] = mpsc<string>(1);
      tx.trySend('a');
      const b = track(tx.send('b'));
      tx.close();
      const seen: string[] = [];
      for await (const m of rx) seen.push(m);
      expect(seen).toEqual(['a', 'b']);
      expect(b.status).toBe('resolved');
    });

    it('tx.error() delivers the buffered messages, then the error', async () => {
      const [tx, rx] = mpsc<string>(4);
      tx.trySend('a');
      tx.error(new Error('producer failed'));
      expect(tx.trySend('b')).toMatchObject({ ok: false, reason: 'closed' });
      expect(await rx.recv()).toBe('a');
      await expect(rx.recv()).rejects.toThrow('producer failed');
    });

    it('a pending recv is rejected with ChannelClosedError when the channel ends', async () => {
      const [tx, rx] = mpsc<string>(1);
      const r = track(rx.recv());
      tx.close();
      await flush();
      expect(r.status).toBe('rejected');
      expect(r.error).toBeInstanceOf(ChannelClosedError);
    });
  });

  describe('receiving', () => {
    it('tryRecv tells empty from closed', () => {
      const [tx, rx] = mpsc<number>(1);
      expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' });
      tx.close();
      expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
    });

    it('an aborted recv consumes nothing', async () => {
      const [tx, rx] = mpsc<number>(2);
      const ac = new AbortController();
      const r = track(rx.recv({ signal: ac.signal }));
      ac.abort();
      await flush();
      expect(r.status).toBe('rejected');
      tx.trySend(1);
      expect(rx.tryRecv()).toEqual({ ok: true, value: 1 });
    });

    it('overlapping recv calls are served in call order', async () => {
      const [tx, rx] = mpsc<number>(2);
      const a = rx.recv();
      const b = rx.recv();
      tx.trySend(1);
      tx.trySend(2);
      expect([await a, await b]).toEqual([1, 2]);
    });

    it('serves one consumer at a time: a second subscription fails with ReceiverBusyError', () => {
      const [tx, rx] = mpsc<number>(2);
      const first: number[] = [];
      const sub = rx.subscribe((n) => first.push(n));
      let error: unknown;
      rx.subscribe({ error: (e) => (error = e) });
      expect(error).toBeInstanceOf(ReceiverBusyError);
      expect(() => rx.tryRecv()).toThrow(ReceiverBusyError);
      tx.trySend(1);
      sub.unsubscribe();
      tx.trySend(2); // stays buffered for the next consumer
      const second: number[] = [];
      rx.subscribe((n) => second.push(n));
      expect([first, second]).toEqual([[1], [2]]);
    });

    it('unsubscribing does not close the channel; take(n) leaves the rest buffered', () => {
      const [tx, rx] = mpsc<number>(5);
      for (let i = 1; i <= 4; i++) tx.trySend(i);
      const seen: number[] = [];
      rx.pipe(take(2)).subscribe((n) => seen.push(n));
      expect(seen).toEqual([1, 2]);
      expect(rx.isClosed).toBe(false);
      expect(rx.size).toBe(2);
    });

    it('break out of for await ends the pull without closing the channel', async () => {
      const [tx, rx] = mpsc<number>(5);
      for (let i = 1; i <= 4; i++) tx.trySend(i);
      for await (const n of rx) if (n === 2) break;
      expect(rx.tryRecv()).toEqual({ ok: true, value: 3 });
    });

    it('a consumer may send and close from inside next (re-entrancy)', () => {
      const [tx, rx] = mpsc<number>(2);
      const seen: number[] = [];
      rx.subscribe({
        next: (n) => {
          seen.push(n);
          if (n < 3) tx.trySend(n + 1);
          else rx.close();
        },
        complete: () => seen.push(-1),
      });
      tx.trySend(1);
      expect(seen).toEqual([1, 2, 3, -1]);
    });
  });

  it('capacity Infinity is the explicit unbounded channel', () => {
    const [tx, rx] = mpsc<number>(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 10_000; i++) expect(tx.trySend(i).ok).toBe(true);
    expect(rx.size).toBe(10_000);
    expect(rx.capacity).toBe(Number.POSITIVE_INFINITY);
  });

  it('exposes counters', () => {
    const [tx, rx] = mpsc<number>(1, { overflow: 'drop' });
    tx.trySend(1);
    tx.trySend(2);
    rx.tryRecv();
    expect({
      sent: tx.sent,
      received: tx.received,
      dropped: tx.dropped,
      size: tx.size,
      capacity: tx.capacity,
    }).toEqual({
      sent: 1,
      received: 1,
      dropped: 1,
      size: 0,
      capacity: 1,
    });
  });

  it('rejects bad capacity and options with the argument name', async () => {
    expect(() => mpsc(0)).toThrow(
      new RangeError('mpsc: capacity must be a whole number >= 1 or Infinity, got 0'),
    );
    expect(() => mpsc(-1)).toThrow(RangeError);
    expect(() => mpsc(Number.NaN)).toThrow('got NaN');
    expect(() => mpsc(1.5)).toThrow('got 1.5');
    expect(() => mpsc('3' as never)).toThrow(TypeError);
    expect(() => mpsc(1, { overflow: 'sometimes' as never })).toThrow(
      /mpsc: overflow must be one of/,
    );
    expect(() => mpsc(1, { onOverflow: 'log' as never })).toThrow(
      'mpsc: onOverflow must be a function, got "log"',
    );
    expect(() => mpsc(1, 'fast' as never)).toThrow('mpsc: options must be an object, got "fast"');
    const [tx, rx] = mpsc<number>(1);
    await expect(tx.send(1, { signal: 'x' as never })).rejects.toThrow(
      'send: signal must be an AbortSignal, got "x"',
    );
    await expect(rx.recv({ signal: 1 as never })).rejects.toThrow(
      'recv: signal must be an AbortSignal, got 1',
    );
  });

  it('a Subject can feed it (push source) under a discarding policy without losing anything silently', () => {
    const dropped: number[] = [];
    const [tx, rx] = mpsc<number>(2, { overflow: 'drop', onOverflow: (n) => dropped.push(n) });
    const source = new Subject<number>();
    source.subscribe(tx);
    for (let i = 0; i < 5; i++) source.next(i);
    const seen: number[] = [];
    rx.subscribe((n) => seen.push(n));
    expect([seen, dropped]).toEqual([
      [0, 1],
      [2, 3, 4],
    ]);
  });

  it('of() into tx completes the channel', async () => {
    const [tx, rx] = mpsc<number>(5);
    of(1, 2, 3).subscribe(tx);
    const seen: number[] = [];
    for await (const n of rx) seen.push(n);
    expect(seen).toEqual([1, 2, 3]);
  });
});

function testScheduler() {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}
