import fc from 'fast-check';
import { Subject, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { type BroadcastReceiver, broadcast, ChannelClosedError, LaggedError } from 'sluice';
import { describe, expect, it } from 'vitest';
import { type Demand, type Pullable, pull } from '../../src/internal/demand.js';
import { flush, track } from '../support/promises.js';

/** A pull consumer as workerPool would open one: records what reaches it. */
function puller<T>(rx: BroadcastReceiver<T>) {
  const got: T[] = [];
  const log: string[] = [];
  const demand: Demand = (rx as unknown as Pullable<T>)[pull]({
    next: (v) => got.push(v),
    error: (e) => log.push(`error:${e instanceof Error ? e.name : String(e)}`),
    complete: () => log.push('complete'),
  });
  return { got, log, demand };
}

function marbles(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('broadcast: arguments', () => {
  it.each([
    [0, RangeError, 'broadcast: capacity must be a whole number >= 1, got 0'],
    [1.5, RangeError, 'broadcast: capacity must be a whole number >= 1, got 1.5'],
    [
      Number.POSITIVE_INFINITY,
      RangeError,
      'broadcast: capacity must be a whole number >= 1, got Infinity',
    ],
    [Number.NaN, RangeError, 'broadcast: capacity must be a whole number >= 1, got NaN'],
    ['2', TypeError, 'broadcast: capacity must be a whole number >= 1, got "2"'],
  ])('rejects capacity %s', (capacity, kind, message) => {
    expect(() => broadcast(capacity as number)).toThrow(kind);
    expect(() => broadcast(capacity as number)).toThrow(message);
  });

  it('rejects bad options, naming them', () => {
    expect(() => broadcast(1, null as never)).toThrow(
      new TypeError('broadcast: options must be an object, got null'),
    );
    expect(() => broadcast(1, { lag: 'drop' as never })).toThrow(
      new TypeError(`broadcast: lag must be one of 'skip', 'error', got "drop"`),
    );
    expect(() => broadcast(1, { onLag: 3 as never })).toThrow(
      new TypeError('broadcast: onLag must be a function, got 3'),
    );
  });

  it('rejects a bad recv signal at the call (a rejected promise, never a throw)', async () => {
    const [, rx] = broadcast<number>(1);
    await expect(rx.recv({ signal: {} as AbortSignal })).rejects.toThrow(TypeError);
  });
});

describe('broadcast: subscribers', () => {
  it('gives every subscriber each message sent after it subscribed, in order', () => {
    const [tx, rx] = broadcast<number>(2);
    const a: number[] = [];
    const b: number[] = [];
    const c: number[] = [];
    tx.send(0);
    rx.subscribe((v) => a.push(v));
    tx.send(1);
    tx.send(2);
    rx.subscribe((v) => b.push(v));
    for (let i = 3; i <= 6; i++) tx.send(i);
    rx.subscribe((v) => c.push(v));
    expect(a).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b).toEqual([3, 4, 5, 6]);
    expect(c).toEqual([]);
    expect(tx.lagged).toBe(0); // plain subscribers never lag, even far past capacity
  });

  it('keeps each sender handle in order when clones interleave', () => {
    const [tx, rx] = broadcast<string>(1);
    const tx2 = tx.clone();
    const seen: string[] = [];
    rx.subscribe((v) => seen.push(v));
    tx.send('a1');
    tx2.send('b1');
    tx.send('a2');
    tx2.send('b2');
    expect(seen.filter((v) => v.startsWith('a'))).toEqual(['a1', 'a2']);
    expect(seen.filter((v) => v.startsWith('b'))).toEqual(['b1', 'b2']);
  });

  it('unsubscribing stops delivery to that subscriber only', () => {
    const [tx, rx] = broadcast<number>(1);
    const a: number[] = [];
    const b: number[] = [];
    const subA = rx.subscribe((v) => a.push(v));
    rx.subscribe((v) => b.push(v));
    tx.send(1);
    subA.unsubscribe();
    tx.send(2);
    expect(a).toEqual([1]);
    expect(b).toEqual([1, 2]);
  });

  it('a synchronous firehose is stopped by take(n) and releases the receiver', () => {
    const [tx, rx] = broadcast<number>(4);
    const seen: number[] = [];
    let completed = false;
    rx.pipe(take(3)).subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) });
    const before = tx.receiverCount;
    for (let i = 0; i < 100; i++) tx.send(i);
    expect(seen).toEqual([0, 1, 2]);
    expect(completed).toBe(true);
    expect(before).toBe(2);
    expect(tx.receiverCount).toBe(1); // only rx's own cursor remains
  });
});

describe('broadcast: marbles', () => {
  it('broadcasts a hot source to subscribers joining at different frames', () => {
    marbles().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('  --a--b--c--d--|');
      const sourceSubs = '  ^-------------!';
      const [tx, rx] = broadcast<string>(2);
      source.subscribe(tx);
      expectObservable(rx).toBe('--a--b--c--d--|');
      expectObservable(rx, '------^').toBe('--------c--d--|');
      expectObservable(rx, '---^-----!').toBe('-----b--c');
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('passes a source error to every subscriber after the messages', () => {
    marbles().run(({ hot, expectObservable }) => {
      const [tx, rx] = broadcast<string>(1);
      hot('--a--b--#', undefined, new Error('boom')).subscribe(tx);
      expectObservable(rx).toBe('--a--b--#', undefined, new Error('boom'));
      expectObservable(rx, '----^').toBe('-----b--#', undefined, new Error('boom'));
    });
  });

  it('an empty source completes every subscriber; a never source completes none', () => {
    marbles().run(({ hot, expectObservable }) => {
      const [tx, rx] = broadcast<string>(1);
      hot('---|').subscribe(tx);
      expectObservable(rx).toBe('---|');
      const [tx2, rx2] = broadcast<string>(1);
      hot('-').subscribe(tx2);
      expectObservable(rx2).toBe('-');
    });
  });

  it('a subscriber that joins after the end completes at once', () => {
    marbles().run(({ hot, expectObservable }) => {
      const [tx, rx] = broadcast<string>(1);
      hot('-a|').subscribe(tx);
      expectObservable(rx, '----^').toBe('----|');
    });
  });
});

describe('broadcast: pull receivers and lag', () => {
  it('a lagging for-await loop skips to the oldest retained message: exact counts', async () => {
    const skips: number[] = [];
    const [tx, rx] = broadcast<number>(2, { onLag: (n) => skips.push(n) });
    const loop = rx[Symbol.asyncIterator](); // a receiver from here on
    for (let i = 1; i <= 5; i++) expect(tx.send(i)).toBe(2);
    expect(tx.size).toBe(2);
    expect(await loop.next()).toEqual({ done: false, value: 4 });
    expect(skips).toEqual([3]);
    expect(await loop.next()).toEqual({ done: false, value: 5 });
    tx.close();
    expect(await loop.next()).toEqual({ done: true, value: undefined });
    expect(tx.lagged).toBe(3);
    expect(tx.sent).toBe(5);
  });

  it('a pull consumer only gets what it requested, from its own cursor', () => {
    const [tx, rx] = broadcast<string>(3);
    const p = puller(rx);
    tx.send('a');
    tx.send('b');
    expect(p.got).toEqual([]);
    p.demand.request(1);
    expect(p.got).toEqual(['a']);
    p.demand.request(5);
    expect(p.got).toEqual(['a', 'b']);
    tx.send('c'); // outstanding demand: delivered on send
    expect(p.got).toEqual(['a', 'b', 'c']);
  });

  it('a pull consumer that requests Infinity while behind catches up, then rides along', () => {
    const [tx, rx] = broadcast<number>(2);
    const p = puller(rx);
    for (let i = 1; i <= 4; i++) tx.send(i);
    p.demand.request(Number.POSITIVE_INFINITY);
    expect(p.got).toEqual([3, 4]);
    tx.send(5);
    expect(p.got).toEqual([3, 4, 5]);
    expect(tx.lagged).toBe(2);
  });

  it("lag: 'error' rejects one recv() with LaggedError, then reads on (tokio)", async () => {
    const [tx, rx] = broadcast<number>(2, { lag: 'error' });
    for (let i = 1; i <= 5; i++) tx.send(i);
    const err = await rx.recv().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LaggedError);
    expect((err as LaggedError).skipped).toBe(3);
    expect(await rx.recv()).toBe(4);
    expect(await rx.recv()).toBe(5);
    expect(rx.lagged).toBe(3);
  });

  it("lag: 'error' with overlapping recv() calls: the first rejects, the second reads on", async () => {
    const [tx, rx] = broadcast<number>(1, { lag: 'error' });
    tx.send(1);
    tx.send(2);
    const first = rx.recv();
    const second = rx.recv();
    await expect(first).rejects.toMatchObject({ name: 'LaggedError', skipped: 1 });
    expect(await second).toBe(2);
  });

  it("lag: 'error' makes tryRecv() report the skip once", () => {
    const [tx, rx] = broadcast<number>(2, { lag: 'error' });
    for (let i = 1; i <= 5; i++) tx.send(i);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'lagged', skipped: 3 });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 4 });
    expect(rx.tryRecv()).toEqual({ ok: true, value: 5 });
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' });
  });

  it("lag: 'error' ends a stream: the loop throws LaggedError and the receiver is gone", async () => {
    const [tx, rx] = broadcast<number>(2, { lag: 'error' });
    const seen: number[] = [];
    const loop = rx[Symbol.asyncIterator]();
    tx.send(1);
    expect(await loop.next()).toEqual({ done: false, value: 1 });
    for (let i = 2; i <= 6; i++) tx.send(i);
    const countBefore = tx.receiverCount;
    await expect(loop.next()).rejects.toMatchObject({ name: 'LaggedError', skipped: 3 });
    expect(await loop.next()).toEqual({ done: true, value: undefined });
    expect(countBefore - tx.receiverCount).toBe(1);
    for await (const v of loop) seen.push(v);
    expect(seen).toEqual([]);
  });

  it('onLag throwing fails that read instead of the sender', async () => {
    const boom = new Error('onLag failed');
    const [tx, rx] = broadcast<number>(1, {
      onLag: () => {
        throw boom;
      },
    });
    const p = puller(rx);
    tx.send(1);
    tx.send(2);
    p.demand.request(1);
    expect(p.log).toEqual(['error:Error']);
    await expect(rx.recv()).rejects.toBe(boom);
    expect(await rx.recv()).toBe(2);
    tx.send(3);
    tx.send(4);
    expect(() => rx.tryRecv()).toThrow(boom);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 4 });
  });
});

describe('broadcast: recv and tryRecv', () => {
  it("rx's own cursor starts at creation; resubscribe() starts at the tail", async () => {
    const [tx, rx] = broadcast<string>(4);
    tx.send('a');
    const rx2 = rx.resubscribe();
    tx.send('b');
    expect(rx.tryRecv()).toEqual({ ok: true, value: 'a' });
    expect(await rx.recv()).toBe('b');
    expect(await rx2.recv()).toBe('b');
    expect(rx2.tryRecv()).toEqual({ ok: false, reason: 'empty' });
  });

  it('a waiting recv() resolves on the next send; overlapping calls in call order', async () => {
    const [tx, rx] = broadcast<number>(2);
    const order: string[] = [];
    const first = rx.recv().then((v) => order.push(`first:${v}`));
    const second = rx.recv().then((v) => order.push(`second:${v}`));
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' }); // earlier calls come first
    tx.send(1);
    tx.send(2);
    await Promise.all([first, second]);
    expect(order).toEqual(['first:1', 'second:2']);
  });

  it('aborting a waiting recv() rejects with the reason and consumes nothing', async () => {
    const [tx, rx] = broadcast<string>(2);
    const ctl = new AbortController();
    const waiting = rx.recv({ signal: ctl.signal });
    const reason = new Error('gave up');
    ctl.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    tx.send('kept');
    expect(rx.tryRecv()).toEqual({ ok: true, value: 'kept' });
  });

  it('an aborted recv() between two waiting calls is skipped', async () => {
    const [tx, rx] = broadcast<string>(2);
    const ctl = new AbortController();
    const a = rx.recv();
    const b = rx.recv({ signal: ctl.signal });
    const c = rx.recv();
    ctl.abort('stop');
    tx.send('x');
    tx.send('y');
    expect(await a).toBe('x');
    await expect(b).rejects.toBe('stop');
    expect(await c).toBe('y');
  });

  it('an already aborted signal rejects at once without reading', async () => {
    const [tx, rx] = broadcast<string>(2);
    tx.send('x');
    await expect(rx.recv({ signal: AbortSignal.abort('no') })).rejects.toBe('no');
    expect(rx.tryRecv()).toEqual({ ok: true, value: 'x' });
  });

  it('values are released once every receiver read them', () => {
    const [tx, rx] = broadcast<{ n: number }>(4);
    const rx2 = rx.resubscribe();
    tx.send({ n: 1 });
    tx.send({ n: 2 });
    expect(tx.size).toBe(2);
    rx.tryRecv();
    expect(tx.size).toBe(2); // rx2 has not read the first yet
    rx2.tryRecv();
    expect(tx.size).toBe(1);
    rx2.close(); // rx2 gives up its unread message
    rx.tryRecv();
    expect(tx.size).toBe(0);
  });

  it('received counts deliveries summed over receivers', () => {
    const [tx, rx] = broadcast<number>(2);
    rx.subscribe();
    rx.subscribe();
    tx.send(1);
    rx.tryRecv();
    expect(tx.received).toBe(3);
  });
});

describe('broadcast: closing', () => {
  it('after the last sender closes, receivers read what they had not read, then complete', async () => {
    const [tx, rx] = broadcast<number>(3);
    const tx2 = tx.clone();
    const pushed: string[] = [];
    rx.subscribe({ next: (v) => pushed.push(`${v}`), complete: () => pushed.push('|') });
    const p = puller(rx);
    tx.send(1);
    tx2.send(2);
    tx.close();
    expect(tx.isClosed).toBe(true);
    expect(tx2.isClosed).toBe(false);
    expect(pushed).toEqual(['1', '2']); // not complete: tx2 is still open
    tx2.send(3);
    tx2.complete();
    expect(pushed).toEqual(['1', '2', '3', '|']);
    expect(p.log).toEqual([]); // unread messages: the pull consumer has not finished
    p.demand.request(10);
    expect(p.got).toEqual([1, 2, 3]);
    expect(p.log).toEqual(['complete']);
    expect(await rx.recv()).toBe(1);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 2 });
    expect(await rx.recv()).toBe(3);
    await expect(rx.recv()).rejects.toBeInstanceOf(ChannelClosedError);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
    expect(rx.isClosed).toBe(true);
  });

  it('a caught-up pull consumer with no demand completes at close (complete needs no demand)', () => {
    const [tx, rx] = broadcast<number>(1);
    const p = puller(rx);
    tx.close();
    expect(p.log).toEqual(['complete']);
  });

  it('a waiting recv() rejects with ChannelClosedError when the last sender closes', async () => {
    const [tx, rx] = broadcast<number>(1);
    const waiting = rx.recv();
    tx.close();
    await expect(waiting).rejects.toThrow('broadcast: channel is closed');
  });

  it('tx.error(e): receivers read the rest, then get e', async () => {
    const [tx, rx] = broadcast<number>(2);
    const boom = new Error('producer failed');
    const errors: unknown[] = [];
    rx.subscribe({ error: (e) => errors.push(e) });
    tx.send(1);
    tx.clone(); // another open handle does not keep a failed channel open
    tx.error(boom);
    expect(errors).toEqual([boom]);
    expect(await rx.recv()).toBe(1);
    await expect(rx.recv()).rejects.toBe(boom);
    await expect(rx.recv()).rejects.toBe(boom);
    const late = puller(rx);
    expect(late.log).toEqual(['error:Error']);
  });

  it('send on a closed handle or channel throws ChannelClosedError carrying the message', () => {
    const [tx] = broadcast<string>(1);
    const tx2 = tx.clone();
    tx.close();
    expect(() => tx.send('late')).toThrow(ChannelClosedError);
    try {
      tx.next('late');
    } catch (err) {
      expect((err as ChannelClosedError<string>).value).toBe('late');
    }
    expect(() => tx.clone()).toThrow(ChannelClosedError);
    tx2.error(new Error('x'));
    const [tx3] = broadcast<string>(1);
    const tx4 = tx3.clone();
    tx3.error(new Error('failed'));
    expect(() => tx4.send('v')).toThrow('a producer failed it');
  });

  it('closing a sender inside a subscriber delivers messages sent before it first', () => {
    const [tx, rx] = broadcast<number>(1);
    const seen: string[] = [];
    rx.subscribe({
      next: (v) => {
        seen.push(`a${v}`);
        if (v === 1) {
          tx.send(2);
          tx.close();
        }
      },
      complete: () => seen.push('a|'),
    });
    rx.subscribe({ next: (v) => seen.push(`b${v}`), complete: () => seen.push('b|') });
    tx.send(1);
    expect(seen).toEqual(['a1', 'b1', 'a2', 'b2', 'a|', 'b|']);
  });
});

describe('broadcast: receiver handles', () => {
  it("rx.close() closes only the handle's own cursor; subscriptions and loops go on", async () => {
    const [tx, rx] = broadcast<number>(4);
    const other = rx.resubscribe();
    const pushed: number[] = [];
    rx.subscribe((v) => pushed.push(v));
    const p = puller(rx);
    tx.send(1);
    expect(tx.receiverCount).toBe(4); // rx, other, the subscription, the pull consumer
    expect(tx.size).toBe(1);
    rx.close();
    expect(tx.receiverCount).toBe(3);
    expect(rx.isClosed).toBe(true);
    expect(other.isClosed).toBe(false);
    await expect(rx.recv()).rejects.toThrow('broadcast: this receiver is closed');
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
    expect(tx.send(2)).toBe(3);
    expect(pushed).toEqual([1, 2]);
    p.demand.request(5);
    expect(p.got).toEqual([1, 2]);
    expect(other.tryRecv()).toEqual({ ok: true, value: 1 }); // what rx gave up, others still read
    const late: number[] = [];
    rx.subscribe((v) => late.push(v)); // still an Observable
    const fresh = rx.resubscribe(); // and can still make a new handle
    tx.send(3);
    expect(late).toEqual([3]);
    expect(fresh.tryRecv()).toEqual({ ok: true, value: 3 });
  });

  it('rx.close() rejects a waiting recv() with ChannelClosedError', async () => {
    const [, rx] = broadcast<number>(1);
    const waiting = rx.recv();
    rx.close();
    await expect(waiting).rejects.toBeInstanceOf(ChannelClosedError);
  });

  it('for-await loops each start at the tail when the loop starts', async () => {
    const [tx, rx] = broadcast<number>(8);
    tx.send(0);
    const first = rx[Symbol.asyncIterator]();
    tx.send(1);
    const second = rx[Symbol.asyncIterator]();
    tx.send(2);
    tx.close();
    const a: number[] = [];
    const b: number[] = [];
    for await (const v of first) a.push(v);
    for await (const v of second) b.push(v);
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([2]);
  });

  it('break out of a loop releases that receiver', async () => {
    const [tx, rx] = broadcast<number>(8);
    rx.close(); // leave only the loop as a receiver
    const seen: number[] = [];
    const consumed = (async () => {
      const loop = rx.resubscribe();
      for await (const v of loop) {
        seen.push(v);
        if (v === 2) break;
      }
      loop.close();
    })(); // runs synchronously up to the loop's first next(), which now waits
    expect(tx.receiverCount).toBe(2); // the new handle's cursor and its loop
    tx.send(1);
    tx.send(2);
    await consumed;
    expect(seen).toEqual([1, 2]);
    expect(tx.receiverCount).toBe(0);
    expect(tx.send(3)).toBe(0);
  });

  it('a loop started after the channel closed ends at once', async () => {
    const [tx, rx] = broadcast<number>(2);
    tx.send(1);
    tx.close();
    const seen: number[] = [];
    for await (const v of rx) seen.push(v);
    expect(seen).toEqual([]);
    expect(await rx.recv()).toBe(1); // rx's own cursor still had it
  });
});

describe('broadcast: counting receivers', () => {
  it('send returns the receivers reached; with none it returns 0 and counts unreceived', () => {
    const [tx, rx] = broadcast<number>(2);
    expect(tx.send(1)).toBe(1); // rx's own cursor
    const sub = rx.subscribe();
    const loop = rx[Symbol.asyncIterator]();
    const rx2 = rx.resubscribe();
    expect(tx.send(2)).toBe(4);
    sub.unsubscribe();
    void loop.return?.();
    rx2.close();
    rx.close();
    expect(tx.receiverCount).toBe(0);
    expect(tx.send(3)).toBe(0);
    expect(tx.unreceived).toBe(1);
    expect(tx.sent).toBe(3);
    expect(tx.size).toBe(0); // nothing kept for nobody
  });

  it('tx.closed() resolves when the last receiver leaves, or when sending closes', async () => {
    const [tx, rx] = broadcast<number>(2);
    const sub = rx.subscribe();
    let resolved = false;
    const closed = tx.closed().then(() => (resolved = true));
    rx.close();
    await Promise.resolve();
    expect(resolved).toBe(false);
    sub.unsubscribe();
    await closed;
    expect(resolved).toBe(true);

    const [tx2, rx2] = broadcast<number>(2);
    const waiting = tx2.closed();
    tx2.close();
    await waiting;
    expect(rx2.isClosed).toBe(true);
  });

  it('tx.closed() waits again once a receiver joins after the last one left', async () => {
    const [tx, rx] = broadcast<number>(2);
    rx.close();
    await tx.closed(); // nobody reads
    const sub = rx.subscribe(); // a receiver of its own joins
    const again = track(tx.closed());
    const alsoAgain = track(tx.closed());
    await flush();
    expect([again.status, alsoAgain.status]).toEqual(['pending', 'pending']);
    sub.unsubscribe();
    await flush();
    expect([again.status, alsoAgain.status]).toEqual(['resolved', 'resolved']);
  });
});

describe('broadcast: re-entrancy', () => {
  it('a subscriber sending from next: every subscriber still sees send order, nobody lags', () => {
    const [tx, rx] = broadcast<number>(1);
    rx.close(); // subscriptions only
    const c: number[] = [];
    const d: number[] = [];
    rx.subscribe((v) => {
      c.push(v);
      if (v < 3) tx.send(v + 1);
    });
    rx.subscribe((v) => d.push(v));
    tx.send(1);
    expect(c).toEqual([1, 2, 3]);
    expect(d).toEqual([1, 2, 3]); // not [1, 3, 2], and 2 was not overwritten in a 1-slot ring
    expect(tx.lagged).toBe(0);
    expect(tx.received).toBe(6);
  });

  it('re-entrant sends also keep order for a pull receiver reading from the ring', () => {
    const [tx, rx] = broadcast<number>(4);
    rx.subscribe((v) => {
      if (v < 3) tx.send(v + 1);
    });
    const p = puller(rx);
    p.demand.request(10);
    tx.send(1);
    expect(p.got).toEqual([1, 2, 3]);
    expect(rx.tryRecv()).toEqual({ ok: true, value: 1 });
  });

  it('a subscriber unsubscribing another from next stops delivery to it at once', () => {
    const [tx, rx] = broadcast<number>(1);
    const b: number[] = [];
    let subB: { unsubscribe(): void } | undefined;
    rx.subscribe((v) => {
      if (v === 2) subB?.unsubscribe();
    });
    subB = rx.subscribe((v) => b.push(v));
    tx.send(1);
    tx.send(2);
    tx.send(3);
    expect(b).toEqual([1]);
  });

  it('a subscriber subscribing another from next: the new one gets only later messages', () => {
    const [tx, rx] = broadcast<number>(1);
    const late: number[] = [];
    let added = false;
    rx.subscribe((v) => {
      if (!added) {
        added = true;
        rx.subscribe((w) => late.push(w));
        tx.send(v + 100);
      }
    });
    tx.send(1);
    tx.send(2);
    expect(late).toEqual([101, 2]);
  });

  it('a pull consumer requesting and sending from inside next keeps its order', () => {
    const [tx, rx] = broadcast<number>(4);
    const got: number[] = [];
    const demand: Demand = (rx as unknown as Pullable<number>)[pull]({
      next: (v) => {
        got.push(v);
        if (v < 3) tx.send(v + 1);
        demand.request(1);
      },
      error: () => {},
      complete: () => {},
    });
    demand.request(1);
    tx.send(1);
    expect(got).toEqual([1, 2, 3]);
  });

  it('feeding a Subject: works as an Observer', () => {
    const [tx, rx] = broadcast<string>(2);
    const seen: string[] = [];
    rx.subscribe((v) => seen.push(v));
    const source = new Subject<string>();
    source.subscribe(tx);
    source.next('x');
    source.complete();
    expect(seen).toEqual(['x']);
    expect(tx.isClosed).toBe(true);
  });
});

describe('broadcast: memory', () => {
  it('one ring of capacity slots, whatever the number of receivers', () => {
    const capacity = 8;
    const [tx, rx] = broadcast<number>(capacity);
    const handles = Array.from({ length: 50 }, () => rx.resubscribe()); // never read
    const pulls = Array.from({ length: 25 }, () => puller(rx)); // never request
    for (let i = 0; i < 25; i++) rx.subscribe();
    expect(tx.receiverCount).toBe(101);
    for (let i = 0; i < 1000; i++) tx.send(i);
    expect(tx.allocatedSlots).toBe(capacity);
    expect(rx.allocatedSlots).toBe(capacity); // one figure for the channel, on either half
    expect(tx.size).toBe(capacity);
    expect(handles[0]!.tryRecv()).toEqual({ ok: true, value: 992 });
    pulls[0]!.demand.request(1);
    expect(pulls[0]!.got).toEqual([992]);
  });

  it('with only plain subscribers nothing is stored', () => {
    const [tx, rx] = broadcast<number>(8);
    for (let i = 0; i < 100; i++) rx.subscribe();
    rx.close();
    for (let i = 0; i < 1000; i++) tx.send(i);
    expect(tx.allocatedSlots).toBe(0);
    expect(tx.size).toBe(0);
    expect(tx.received).toBe(100_000);
  });
});

describe('broadcast: properties', () => {
  type Op =
    | { kind: 'send' }
    | { kind: 'read'; who: number }
    | { kind: 'join' }
    | { kind: 'leave'; who: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.constant<Op>({ kind: 'send' }) },
    { weight: 4, arbitrary: fc.nat(7).map<Op>((who) => ({ kind: 'read', who })) },
    { weight: 1, arbitrary: fc.constant<Op>({ kind: 'join' }) },
    { weight: 1, arbitrary: fc.nat(7).map<Op>((who) => ({ kind: 'leave', who })) },
  );

  it("recv cursors (lag: 'error'): exact model; an ordered subsequence; skipped + received == sent after join", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(op, { maxLength: 80 }),
        (capacity, ops) => {
          const [tx, rx] = broadcast<number>(capacity, { lag: 'error' });
          interface R {
            rx: BroadcastReceiver<number>;
            joinedAt: number;
            closedAt: number | undefined; // messages sent when it closed
            cursor: number; // the model's cursor
            got: number[];
            skipped: number;
          }
          const rs: R[] = [
            { rx, joinedAt: 0, closedAt: undefined, cursor: 0, got: [], skipped: 0 },
          ];
          let sent = 0; // message i is the number i; one handle always stays open, so all are stored
          let ended = false;
          /** One tryRecv, checked against a model of a ring of `capacity` slots. */
          const read = (r: R) => {
            const res = r.rx.tryRecv();
            const head = Math.max(0, sent - capacity);
            if (r.closedAt !== undefined) {
              expect(res).toEqual({ ok: false, reason: 'closed' });
            } else if (r.cursor < head) {
              expect(res).toEqual({ ok: false, reason: 'lagged', skipped: head - r.cursor });
              r.skipped += head - r.cursor;
              r.cursor = head;
            } else if (r.cursor < sent) {
              expect(res).toEqual({ ok: true, value: r.cursor });
              r.got.push(r.cursor++);
            } else {
              expect(res).toEqual({ ok: false, reason: ended ? 'closed' : 'empty' });
            }
            return res;
          };
          for (const o of ops) {
            if (o.kind === 'send')
              expect(tx.send(sent++)).toBe(rs.filter((r) => r.closedAt === undefined).length);
            else if (o.kind === 'join') {
              rs.push({
                rx: rx.resubscribe(),
                joinedAt: sent,
                closedAt: undefined,
                cursor: sent,
                got: [],
                skipped: 0,
              });
            } else {
              const r = rs[o.who % rs.length]!;
              if (o.kind === 'read') read(r);
              else if (
                r.closedAt === undefined &&
                rs.filter((x) => x.closedAt === undefined).length > 1
              ) {
                r.rx.close();
                r.closedAt = sent;
              }
            }
          }
          tx.close();
          ended = true;
          for (const r of rs) {
            for (let res = read(r); res.ok || res.reason === 'lagged'; res = read(r)) {}
            // what it got is an ordered subsequence of what was sent while it listened
            for (let i = 0; i < r.got.length; i++) {
              expect(r.got[i]!).toBeGreaterThanOrEqual(r.joinedAt);
              if (i > 0) expect(r.got[i]!).toBeGreaterThan(r.got[i - 1]!);
            }
            // a closed handle gave up the rest; an open one accounts for every message exactly
            if (r.closedAt === undefined) expect(r.skipped + r.got.length).toBe(sent - r.joinedAt);
            else expect(r.skipped + r.got.length).toBeLessThanOrEqual(r.closedAt - r.joinedAt);
          }
          expect(tx.lagged).toBe(rs.reduce((sum, r) => sum + r.skipped, 0));
          expect(tx.received).toBe(rs.reduce((sum, r) => sum + r.got.length, 0));
          expect(tx.size).toBe(0);
          expect(tx.allocatedSlots).toBeLessThanOrEqual(capacity);
        },
      ),
    );
  });

  it("pull streams (lag: 'skip'): an ordered subsequence; skipped + received == sent after join", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(op, { maxLength: 80 }),
        (capacity, ops) => {
          let lagReports = 0;
          const [tx, rx] = broadcast<number>(capacity, { onLag: (n) => (lagReports += n) });
          rx.close(); // only the streams below
          const rs: Array<ReturnType<typeof puller<number>> & { joinedAt: number }> = [];
          let next = 0;
          for (const o of ops) {
            if (o.kind === 'send') tx.send(next++);
            else if (o.kind === 'join' || rs.length === 0)
              rs.push({ ...puller(rx), joinedAt: next });
            else if (o.kind === 'read') rs[o.who % rs.length]!.demand.request(1);
          }
          tx.close();
          let skipped = 0;
          for (const r of rs) {
            r.demand.request(Number.POSITIVE_INFINITY);
            expect(r.log).toEqual(['complete']);
            for (let i = 1; i < r.got.length; i++) expect(r.got[i]!).toBeGreaterThan(r.got[i - 1]!);
            for (const v of r.got) expect(v).toBeGreaterThanOrEqual(r.joinedAt);
            // exact lag: each receiver skipped precisely the messages it did not get
            skipped += next - r.joinedAt - r.got.length;
          }
          expect(tx.lagged).toBe(skipped);
          expect(lagReports).toBe(skipped);
          expect(tx.received).toBe(rs.reduce((s, r) => s + r.got.length, 0));
          expect(tx.size).toBe(0);
        },
      ),
    );
  });
});
