import fc from 'fast-check';
import { take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ChannelClosedError, type WatchReceiver, watch } from 'sluice';
import { describe, expect, it } from 'vitest';
import { type Pullable, pull } from '../../src/internal/demand.js';
import { caught, flush, track } from '../support/promises.js';

/** A raw pull reader that logs what reaches it. */
function puller<T>(rx: WatchReceiver<T>) {
  const log: string[] = [];
  const demand = (rx as unknown as Pullable<T>)[pull]({
    next: (v) => log.push(`next ${String(v)}`),
    error: (e) => log.push(`error ${(e as Error).message}`),
    complete: () => log.push('complete'),
  });
  return { log, demand };
}

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('watch: seen and unseen versions of a handle', () => {
  it('the initial value counts as seen by rx', async () => {
    const [, rx] = watch('init');
    expect(rx.hasChanged).toBe(false);
    expect(rx.size).toBe(0);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' });
    const changed = track(rx.changed());
    const received = track(rx.recv());
    await flush();
    expect(changed.status).toBe('pending');
    expect(received.status).toBe('pending');
    expect(rx.borrow()).toBe('init');
  });

  it('a send makes hasChanged true; borrow does not mark it seen, borrowAndUpdate does', () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    expect(rx.hasChanged).toBe(true);
    expect(rx.size).toBe(1);
    expect(rx.borrow()).toBe(1);
    expect(rx.hasChanged).toBe(true);
    expect(rx.borrowAndUpdate()).toBe(1);
    expect(rx.hasChanged).toBe(false);
    expect(rx.size).toBe(0);
    expect(rx.borrowAndUpdate()).toBe(1); // still the value, nothing new
  });

  it('changed() after several sends resolves once, at once, and marks the latest seen', async () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    tx.send(2);
    tx.send(3);
    await rx.changed();
    expect(rx.hasChanged).toBe(false);
    expect(rx.borrow()).toBe(3);
    const again = track(rx.changed());
    await flush();
    expect(again.status).toBe('pending');
    tx.send(4);
    await flush();
    expect(again.status).toBe('resolved');
    expect(again.value).toBeUndefined();
    expect(rx.hasChanged).toBe(false);
  });

  it('a waiting changed() wakes on the next send', async () => {
    const [tx, rx] = watch('a');
    const changed = track(rx.changed());
    await flush();
    expect(changed.status).toBe('pending');
    tx.send('b');
    expect(rx.hasChanged).toBe(false); // marked seen synchronously by the waiting changed()
    await flush();
    expect(changed.status).toBe('resolved');
  });

  it('overlapping changed() and recv() on one handle all settle on the same version', async () => {
    const [tx, rx] = watch(0);
    const a = track(rx.changed());
    const b = track(rx.recv());
    const c = track(rx.recv());
    tx.send(1);
    tx.send(2);
    await flush();
    expect(a.status).toBe('resolved');
    expect(b.value).toBe(1);
    expect(c.value).toBe(1);
    expect(rx.hasChanged).toBe(true); // 2 arrived after they settled
  });

  it('recv() waits for an unseen version and returns it marked seen', async () => {
    const [tx, rx] = watch(0);
    const r = track(rx.recv());
    await flush();
    expect(r.status).toBe('pending');
    tx.send(5);
    await flush();
    expect(r.value).toBe(5);
    expect(rx.hasChanged).toBe(false);
    tx.send(6);
    tx.send(7);
    expect(await rx.recv()).toBe(7);
  });

  it('tryRecv returns the unseen value once, then empty', () => {
    const [tx, rx] = watch('a');
    tx.send('b');
    tx.send('c');
    expect(rx.tryRecv()).toEqual({ ok: true, value: 'c' });
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'empty' });
  });

  it('sendIfModified returning false neither bumps the version nor wakes changed()', async () => {
    const [tx, rx] = watch({ n: 0 });
    const changed = track(rx.changed());
    expect(tx.sendIfModified(() => false)).toBe(false);
    await flush();
    expect(changed.status).toBe('pending');
    expect(rx.hasChanged).toBe(false);
    expect(tx.sent).toBe(0);
    expect(
      tx.sendIfModified((v) => {
        v.n = 1;
        return true;
      }),
    ).toBe(true);
    await flush();
    expect(changed.status).toBe('resolved');
    expect(rx.borrow()).toEqual({ n: 1 });
    expect(tx.sent).toBe(1);
  });

  it('sendIfModified must return a boolean; otherwise TypeError and no notification', () => {
    const [tx, rx] = watch({ n: 0 });
    const values: unknown[] = [];
    rx.subscribe((v) => values.push(v));
    const forgotReturn = ((v: { n: number }) => {
      v.n = 1;
    }) as unknown as (v: { n: number }) => boolean;
    expect(() => tx.sendIfModified(forgotReturn)).toThrow(
      new TypeError('sendIfModified: the result of modify must be true or false, got undefined'),
    );
    expect(values).toHaveLength(1);
    expect(tx.sent).toBe(0);
  });

  it('sendModify mutates in place and always notifies, even without a change', async () => {
    const [tx, rx] = watch<number[]>([]);
    const seen: number[][] = [];
    rx.subscribe((v) => seen.push([...v]));
    tx.sendModify((v) => v.push(1));
    tx.sendModify(() => {});
    expect(seen).toEqual([[], [1], [1]]);
    expect(tx.sent).toBe(2);
    expect(rx.hasChanged).toBe(true);
    expect(await rx.recv()).toEqual([1]);
  });

  it('sendModify whose callback throws notifies nobody and rethrows', () => {
    const [tx, rx] = watch({ n: 0 });
    const seen: number[] = [];
    rx.subscribe((v) => seen.push(v.n));
    const boom = new Error('boom');
    expect(() =>
      tx.sendModify((v) => {
        v.n = 9;
        throw boom;
      }),
    ).toThrow(boom);
    expect(seen).toEqual([0]);
    expect(rx.hasChanged).toBe(false);
    expect(rx.borrow().n).toBe(9); // the partial change stays, as documented
  });

  it('sendReplace returns the old value and notifies', () => {
    const [tx, rx] = watch('a');
    expect(tx.sendReplace('b')).toBe('a');
    expect(tx.sendReplace('c')).toBe('b');
    expect(rx.hasChanged).toBe(true);
    expect(tx.borrow()).toBe('c');
  });

  it('a clone starts with the seen version of its source, then keeps its own', () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    const unseenClone = rx.clone();
    expect(unseenClone.hasChanged).toBe(true);
    rx.borrowAndUpdate();
    expect(unseenClone.hasChanged).toBe(true); // rx marking does not touch the clone
    const seenClone = rx.clone();
    expect(seenClone.hasChanged).toBe(false);
    tx.send(2);
    expect(seenClone.tryRecv()).toEqual({ ok: true, value: 2 });
    expect(rx.hasChanged).toBe(true);
    expect(unseenClone.hasChanged).toBe(true);
    expect(tx.receiverCount).toBe(3);
  });

  it('subscriptions and iterators do not mark the handle seen', async () => {
    const [tx, rx] = watch(0);
    rx.subscribe();
    tx.send(1);
    const it = rx[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ done: false, value: 1 });
    expect(rx.hasChanged).toBe(true);
    await it.return?.();
  });

  it('model check: handle operations follow the version rules', () => {
    type Op =
      | { kind: 'send'; value: number }
      | { kind: 'sendIfModified'; modified: boolean }
      | { kind: 'borrow' }
      | { kind: 'borrowAndUpdate' }
      | { kind: 'tryRecv' }
      | { kind: 'clone' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), value: fc.integer() }),
      fc.record({ kind: fc.constant('sendIfModified' as const), modified: fc.boolean() }),
      fc.record({ kind: fc.constant('borrow' as const) }),
      fc.record({ kind: fc.constant('borrowAndUpdate' as const) }),
      fc.record({ kind: fc.constant('tryRecv' as const) }),
      fc.record({ kind: fc.constant('clone' as const) }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(op, fc.nat(7)), { maxLength: 60 }), (ops) => {
        const [tx, rx] = watch(0);
        const handles: WatchReceiver<number>[] = [rx];
        const model = { value: 0, version: 0, seen: [0] };
        for (const [o, pick] of ops) {
          const i = pick % handles.length;
          const h = handles[i]!;
          switch (o.kind) {
            case 'send':
              tx.send(o.value);
              model.value = o.value;
              model.version++;
              break;
            case 'sendIfModified':
              tx.sendIfModified(() => o.modified);
              if (o.modified) model.version++;
              break;
            case 'borrow':
              expect(h.borrow()).toBe(model.value);
              break;
            case 'borrowAndUpdate':
              expect(h.borrowAndUpdate()).toBe(model.value);
              model.seen[i] = model.version;
              break;
            case 'tryRecv':
              if (model.seen[i]! < model.version) {
                expect(h.tryRecv()).toEqual({ ok: true, value: model.value });
                model.seen[i] = model.version;
              } else {
                expect(h.tryRecv()).toEqual({ ok: false, reason: 'empty' });
              }
              break;
            case 'clone':
              handles.push(h.clone());
              model.seen.push(model.seen[i]!);
              break;
          }
          handles.forEach((handle, j) => {
            expect(handle.hasChanged).toBe(model.seen[j]! < model.version);
          });
          expect(tx.sent).toBe(model.version);
          expect(tx.receiverCount).toBe(handles.length);
        }
      }),
    );
  });
});

describe('watch: subscriptions (push)', () => {
  it('a subscriber gets the current value, then every change synchronously', () => {
    const [tx, rx] = watch('a');
    const seen: string[] = [];
    rx.subscribe((v) => seen.push(v));
    expect(seen).toEqual(['a']);
    tx.send('b');
    expect(seen).toEqual(['a', 'b']);
    tx.send('b'); // no equality check: every send is a version
    tx.send('c');
    expect(seen).toEqual(['a', 'b', 'b', 'c']);
  });

  it('a later subscriber starts with the value current at that moment', () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    tx.send(2);
    const seen: number[] = [];
    rx.subscribe((v) => seen.push(v));
    tx.send(3);
    expect(seen).toEqual([2, 3]);
  });

  it('unsubscribing ends only that subscription; the handle stays open', () => {
    const [tx, rx] = watch(0);
    const a: number[] = [];
    const b: number[] = [];
    const subA = rx.subscribe((v) => a.push(v));
    rx.subscribe((v) => b.push(v));
    subA.unsubscribe();
    tx.send(1);
    expect(a).toEqual([0]);
    expect(b).toEqual([0, 1]);
    expect(tx.receiverCount).toBe(1);
    expect(tx.isClosed).toBe(false);
  });

  it('a send from inside a subscriber: nobody sees values go backwards', () => {
    const [tx, rx] = watch(0);
    const a: number[] = [];
    const b: number[] = [];
    rx.subscribe((v) => {
      a.push(v);
      if (v === 1) tx.send(2);
    });
    rx.subscribe((v) => b.push(v));
    tx.send(1);
    expect(a).toEqual([0, 1, 2]);
    expect(b).toEqual([0, 2]); // 1 was replaced before b was told: conflated, never stale
    expect(rx.dropped).toBe(0); // 1 was read (by a)
  });

  it('a subscription made from inside a subscriber gets the current value', () => {
    const [tx, rx] = watch(0);
    const inner: number[] = [];
    rx.subscribe((v) => {
      if (v === 1) rx.subscribe((w) => inner.push(w));
    });
    tx.send(1);
    tx.send(2);
    expect(inner).toEqual([1, 2]);
  });

  it('take(n) on rx unsubscribes after n values without closing anything', () => {
    const [tx, rx] = watch(0);
    const seen: number[] = [];
    let completed = false;
    rx.pipe(take(2)).subscribe({ next: (v) => seen.push(v), complete: () => (completed = true) });
    for (let i = 1; i <= 100; i++) tx.send(i);
    expect(seen).toEqual([0, 1]);
    expect(completed).toBe(true);
    expect(rx.isClosed).toBe(false);
  });

  it('marble: a hot source feeds tx; subscribers see the current value then each change', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('  -a--b-c--|');
      const sourceSubs = '  ^--------!';
      const [tx, rx] = watch('i');
      source.subscribe(tx);
      expectObservable(rx).toBe('ia--b-c--|');
      expectObservable(rx, '  --^--!').toBe('--a-b');
      expectObservable(rx, '  -----^').toBe('-----bc--|');
      expectObservable(rx, '  -----------^').toBe('-----------(c|)'); // after close: value, then complete
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('marble: a source error reaches subscribers after the value', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const [tx, rx] = watch('i');
      hot('-a--#', undefined, 'boom').subscribe(tx);
      expectObservable(rx).toBe('ia--#', undefined, 'boom');
      expectObservable(rx, '------^').toBe('------(a#)', undefined, 'boom');
    });
  });

  it('marble: an empty source completes subscribers after the initial value', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const [tx, rx] = watch('i');
      hot('---|').subscribe(tx);
      expectObservable(rx).toBe('i--|');
    });
  });

  it('marble: a never source leaves subscribers with the initial value', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const [tx, rx] = watch('i');
      hot('-').subscribe(tx);
      expectObservable(rx, '^---!').toBe('i----');
    });
  });

  it('marble: a synchronous firehose into tx, stopped by take(n) on rx', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const [tx, rx] = watch('i');
      cold('-(abcdef)').subscribe(tx);
      expectObservable(rx.pipe(take(3))).toBe('i(ab|)');
      expectObservable(rx).toBe('i(abcdef)');
    });
  });
});

describe('watch: conflation for pull readers', () => {
  it('a pull reader starts with the current value and then sees only the newest', () => {
    const [tx, rx] = watch(0);
    const { log, demand } = puller(rx);
    expect(log).toEqual([]); // no demand, nothing delivered
    demand.request(1);
    expect(log).toEqual(['next 0']);
    tx.send(1);
    tx.send(2);
    tx.send(3);
    expect(log).toEqual(['next 0']);
    demand.request(1);
    expect(log).toEqual(['next 0', 'next 3']);
    demand.request(1); // waits for a newer version
    expect(log).toEqual(['next 0', 'next 3']);
    tx.send(4);
    expect(log).toEqual(['next 0', 'next 3', 'next 4']);
    expect(rx.dropped).toBe(2);
  });

  it('for await collapses the values sent while its body awaited', async () => {
    const [tx, rx] = watch(0);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const n of rx) {
        seen.push(n);
        if (n === 0) await gate;
      }
    })();
    await flush();
    expect(seen).toEqual([0]);
    for (let i = 1; i <= 5; i++) tx.send(i);
    release();
    await flush();
    expect(seen).toEqual([0, 5]);
    tx.send(6);
    await flush();
    expect(seen).toEqual([0, 5, 6]);
    tx.close();
    await consumer;
    expect(seen).toEqual([0, 5, 6]);
  });

  it('the pull stream starts with the current value even after the sender closed', async () => {
    const [tx, rx] = watch('last');
    tx.close();
    const seen: string[] = [];
    for await (const v of rx) seen.push(v);
    expect(seen).toEqual(['last']);
  });

  it('breaking out of for await ends only that iteration', async () => {
    const [tx, rx] = watch(0);
    for await (const _ of rx) break;
    tx.send(1);
    expect(rx.isClosed).toBe(false);
    expect(await rx.recv()).toBe(1);
    expect(tx.receiverCount).toBe(1);
  });

  it('dropped counts versions replaced before any receiver read them', () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    tx.send(2); // 1 replaced unread
    expect(rx.dropped).toBe(1);
    expect(rx.borrow()).toBe(2); // a borrow is a read
    tx.send(3);
    expect(rx.dropped).toBe(1);
    tx.borrow(); // the sender's own borrow is not
    tx.send(4);
    expect(rx.dropped).toBe(2);
    rx.subscribe();
    tx.send(5);
    tx.send(6);
    expect(rx.dropped).toBe(2);
  });

  it('introspection', () => {
    const [tx, rx] = watch(0);
    expect([rx.capacity, rx.size, rx.sent, rx.received, rx.dropped, rx.isClosed]).toEqual([
      1,
      0,
      0,
      0,
      0,
      false,
    ]);
    rx.subscribe();
    expect(rx.received).toBe(1); // the subscription read the initial value
    tx.send(1);
    expect([rx.size, rx.sent, rx.received, tx.sent]).toEqual([1, 1, 2, 1]);
    rx.borrowAndUpdate();
    expect([rx.size, rx.received]).toEqual([0, 3]);
  });
});

describe('watch: closing', () => {
  it('tx.close(): subscribers complete; changed() rejects once nothing unseen remains', async () => {
    const [tx, rx] = watch(0);
    const log: string[] = [];
    rx.subscribe({ next: (v) => log.push(`${v}`), complete: () => log.push('|') });
    tx.send(1);
    tx.close();
    expect(log).toEqual(['0', '1', '|']);
    await rx.changed(); // 1 was unseen by the handle: reported first
    const err = await rx.changed().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelClosedError);
    expect((err as Error).message).toBe(
      'changed: the sender closed and the latest value was already seen',
    );
    await expect(rx.recv()).rejects.toThrow('recv: the sender closed');
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
    expect(rx.borrow()).toBe(1);
    expect(rx.isClosed).toBe(true);
    expect(tx.isClosed).toBe(true);
  });

  it('recv() and tryRecv() still return an unseen value after the close', async () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    tx.complete();
    const clone = rx.clone();
    expect(await rx.recv()).toBe(1);
    expect(clone.tryRecv()).toEqual({ ok: true, value: 1 });
    expect(clone.tryRecv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('a waiting changed() or recv() rejects when the sender closes', async () => {
    const [tx, rx] = watch(0);
    const c = track(rx.changed());
    const r = track(rx.recv());
    tx.close();
    tx.close(); // idempotent
    await flush();
    expect(c.error).toBeInstanceOf(ChannelClosedError);
    expect((c.error as Error).message).toMatch(/^changed:/);
    expect((r.error as Error).message).toMatch(/^recv:/);
  });

  it('sending after close throws ChannelClosedError with the value; modify is not called', () => {
    const [tx, rx] = watch(0);
    tx.close();
    for (const send of [(v: number) => tx.send(v), (v: number) => tx.next(v), tx.sendReplace]) {
      const err = caught(() => send.call(tx, 7));
      expect(err).toBeInstanceOf(ChannelClosedError);
      expect((err as ChannelClosedError<number>).value).toBe(7);
    }
    let called = false;
    expect(() => tx.sendModify(() => (called = true))).toThrow(ChannelClosedError);
    expect(() => tx.sendIfModified(() => (called = true))).toThrow(
      'sendIfModified: the watch sender is closed',
    );
    expect(called).toBe(false);
    expect(rx.borrow()).toBe(0);
  });

  it('a pull reader with an unseen version at close gets it on request, then completes', () => {
    const [tx, rx] = watch(0);
    const { log, demand } = puller(rx);
    demand.request(1);
    tx.send(1);
    tx.close();
    expect(log).toEqual(['next 0']);
    demand.request(1);
    expect(log).toEqual(['next 0', 'next 1', 'complete']);
  });

  it('a subscriber that sends then closes from inside next still gets the last value', () => {
    const [tx, rx] = watch(0);
    const log: string[] = [];
    rx.subscribe({
      next: (v) => {
        log.push(`${v}`);
        if (v === 1) {
          tx.send(2);
          tx.close();
        }
      },
      complete: () => log.push('|'),
    });
    tx.send(1);
    expect(log).toEqual(['0', '1', '2', '|']);
  });

  it('a pull reader that cancels inside next after the close gets no complete', () => {
    const [tx, rx] = watch(0);
    tx.close();
    const log: string[] = [];
    const demand = (rx as unknown as Pullable<number>)[pull]({
      next: (v) => {
        log.push(`next ${v}`);
        demand.cancel();
      },
      error: () => log.push('error'),
      complete: () => log.push('complete'),
    });
    demand.request(1);
    expect(log).toEqual(['next 0']);
  });

  it('a pull reader that has seen the latest completes at once, without demand', () => {
    const [tx, rx] = watch(0);
    const { log, demand } = puller(rx);
    demand.request(1);
    tx.close();
    expect(log).toEqual(['next 0', 'complete']);
  });

  it('tx.error(e): subscribers error; readers get the unseen value first; changed rejects e', async () => {
    const [tx, rx] = watch(0);
    const boom = new Error('boom');
    const log: string[] = [];
    rx.subscribe({ next: (v) => log.push(`${v}`), error: (e) => log.push((e as Error).message) });
    const { log: pullLog, demand } = puller(rx);
    demand.request(1);
    tx.send(1);
    const waiting = track(rx.changed());
    expect(rx.hasChanged).toBe(false);
    tx.error(boom);
    tx.error(new Error('second')); // ignored
    expect(log).toEqual(['0', '1', 'boom']);
    expect(pullLog).toEqual(['next 0']);
    demand.request(1);
    expect(pullLog).toEqual(['next 0', 'next 1', 'error boom']);
    await flush();
    expect(waiting.status).toBe('resolved'); // it had 1 to report
    await expect(rx.changed()).rejects.toBe(boom);
    const late: string[] = [];
    rx.subscribe({ next: (v) => late.push(`${v}`), error: (e) => late.push((e as Error).message) });
    expect(late).toEqual(['1', 'boom']);
    expect(() => tx.send(2)).toThrow(ChannelClosedError);
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
  });

  it('for await throws the sender error after yielding the latest value', async () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    tx.error(new Error('failed'));
    const seen: number[] = [];
    const run = async () => {
      for await (const v of rx) seen.push(v);
    };
    await expect(run()).rejects.toThrow('failed');
    expect(seen).toEqual([1]);
  });

  it('rx.close(): its subscriptions complete, waiters reject, later reads see closed', async () => {
    const [tx, rx] = watch(0);
    const log: string[] = [];
    rx.subscribe({ next: (v) => log.push(`${v}`), complete: () => log.push('|') });
    const { log: pullLog, demand } = puller(rx);
    const waiting = track(rx.recv());
    tx.send(1); // resolves the waiter
    const waiting2 = track(rx.changed());
    rx.close();
    rx.close(); // idempotent
    expect(log).toEqual(['0', '1', '|']);
    expect(pullLog).toEqual(['complete']); // completes at once, even with the value unread
    demand.request(1);
    expect(pullLog).toEqual(['complete']);
    await flush();
    expect(waiting.value).toBe(1);
    expect((waiting2.error as Error).message).toBe('changed: this receiver is closed');
    await expect(rx.recv()).rejects.toThrow('recv: this receiver is closed');
    expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });
    expect(rx.isClosed).toBe(true);
    expect(rx.hasChanged).toBe(false);
    const late: string[] = [];
    rx.subscribe({ next: (v) => late.push(`${v}`), complete: () => late.push('|') });
    expect(late).toEqual(['|']);
    expect(() => rx.clone()).toThrow(new ChannelClosedError('clone: this receiver is closed'));
    expect(rx.borrow()).toBe(1); // still readable
  });

  it('a closed handle reports no change, even with an unseen version', () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    expect(rx.hasChanged).toBe(true);
    rx.close();
    expect(rx.hasChanged).toBe(false);
    expect(rx.size).toBe(0);
  });

  it('closing one handle leaves the others alone', () => {
    const [tx, rx] = watch(0);
    const other = rx.clone();
    const seen: number[] = [];
    other.subscribe((v) => seen.push(v));
    rx.close();
    tx.send(1);
    expect(seen).toEqual([0, 1]);
    expect(tx.receiverCount).toBe(1);
    expect(tx.isClosed).toBe(false);
  });

  it('tx.closed() resolves when the last receiver handle closes; sends still store', async () => {
    const [tx, rx] = watch(0);
    const other = rx.clone();
    const closed = track(tx.closed());
    rx.close();
    await flush();
    expect(closed.status).toBe('pending');
    other.close();
    await flush();
    expect(closed.status).toBe('resolved');
    expect(tx.receiverCount).toBe(0);
    expect(tx.isClosed).toBe(true);
    tx.send(5); // stored even with nobody listening (deviation from tokio)
    expect(tx.borrow()).toBe(5);
    expect(rx.borrow()).toBe(5);
    await tx.closed();
  });

  it('tx.closed() resolves when the sender closes or fails', async () => {
    const [a] = watch(0);
    const closedA = track(a.closed());
    a.close();
    const [b] = watch(0);
    const closedB = track(b.closed());
    b.error(new Error('x'));
    await flush();
    expect(closedA.status).toBe('resolved');
    expect(closedB.status).toBe('resolved');
  });
});

describe('watch: cancellation', () => {
  it('aborting a waiting changed() rejects with the reason and marks nothing seen', async () => {
    const [tx, rx] = watch(0);
    const controller = new AbortController();
    const c = track(rx.changed({ signal: controller.signal }));
    controller.abort(new Error('gave up'));
    await flush();
    expect((c.error as Error).message).toBe('gave up');
    tx.send(1);
    expect(rx.hasChanged).toBe(true); // the aborted waiter did not consume the change
    expect(await rx.recv()).toBe(1);
  });

  it('aborting one waiting recv() leaves the others waiting', async () => {
    const [tx, rx] = watch(0);
    const controller = new AbortController();
    const aborted = track(rx.recv({ signal: controller.signal }));
    const other = track(rx.recv());
    controller.abort('stop');
    await flush();
    expect(aborted.error).toBe('stop');
    expect(other.status).toBe('pending');
    tx.send(1);
    await flush();
    expect(other.value).toBe(1);
  });

  it('an already aborted signal rejects at once, even with an unseen version', async () => {
    const [tx, rx] = watch(0);
    tx.send(1);
    const controller = new AbortController();
    controller.abort('no');
    await expect(rx.changed({ signal: controller.signal })).rejects.toBe('no');
    await expect(rx.recv({ signal: controller.signal })).rejects.toBe('no');
    expect(rx.hasChanged).toBe(true);
  });

  it('an abort after the wait settled changes nothing', async () => {
    const [tx, rx] = watch(0);
    const controller = new AbortController();
    const p = rx.recv({ signal: controller.signal });
    tx.send(1);
    expect(await p).toBe(1);
    controller.abort();
    tx.send(2);
    expect(await rx.recv({ signal: controller.signal }).catch(() => 'aborted')).toBe('aborted');
    expect(await rx.recv()).toBe(2);
  });
});

describe('watch: argument checks', () => {
  it('rejects a non-function modify', () => {
    const [tx] = watch(0);
    expect(() => tx.sendModify(1 as never)).toThrow(
      new TypeError('sendModify: modify must be a function, got 1'),
    );
    expect(() => tx.sendIfModified(undefined as never)).toThrow(
      new TypeError('sendIfModified: modify must be a function, got undefined'),
    );
  });

  it('rejects bad wait options', async () => {
    const [, rx] = watch(0);
    await expect(rx.changed(null as never)).rejects.toThrow(
      new TypeError('changed: options must be an object, got null'),
    );
    await expect(rx.recv({ signal: {} as never })).rejects.toThrow(
      new TypeError('recv: signal must be an AbortSignal, got an object (Object)'),
    );
  });
});
