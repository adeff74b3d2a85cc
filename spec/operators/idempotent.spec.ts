import {
  catchError,
  map,
  mergeMap,
  NEVER,
  Observable,
  type ObservableInput,
  of,
  Subject,
  take,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import {
  ChannelFullError,
  type HandlerContext,
  type IdempotentOutcome,
  idempotent,
  mpsc,
} from '../../src/index.js';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const ok = <T, R>(message: T, result: R, shared = false): IdempotentOutcome<T, R> => ({
  message,
  ok: true,
  result,
  shared,
});

/** Outcomes as short strings: "a:A" ran, "a=A" shared, "a!err" failed, "a?err" shared a failure. */
const brief = map((o: IdempotentOutcome<string, string>) => {
  if (o.ok) return `${o.message}${o.shared ? '=' : ':'}${o.result}`;
  const reason = o.error instanceof Error ? o.error.message : String(o.error);
  return `${o.message}${o.shared ? '?' : '!'}${reason}`;
});

describe('idempotent: marble tests', () => {
  it('runs the handler once per key; copies share the running or the remembered outcome', () => {
    let runs = 0;
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-a-----a-|');
      const work = cold('  ---r|');
      const output = source.pipe(
        idempotent(
          () => {
            runs++;
            return work;
          },
          { ttl: 10 },
        ),
      );
      expectObservable(output).toBe('---(xy)-z-|', {
        x: ok('a', 'r'),
        y: ok('a', 'r', true),
        z: ok('a', 'r', true),
      });
      // the handler is unsubscribed at its first value
      expectSubscriptions(work.subscriptions).toBe('^--!');
      expectSubscriptions(source.subscriptions).toBe('^---------!');
    });
    expect(runs).toBe(1);
  });

  it('a failure is shared with copies in flight but not remembered: the next copy runs again', () => {
    const calls: number[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const attempts = [cold<string>('--#', undefined, new Error('db down')), cold('--r|')];
      const output = cold('aa--a|').pipe(
        idempotent(() => attempts[calls.push(calls.length) - 1]!),
        brief,
      );
      expectObservable(output).toBe('--(xy)(z|)', {
        x: 'a!db down',
        y: 'a?db down',
        z: 'a:r',
      });
    });
    expect(calls).toHaveLength(2);
  });

  it('a succeeded key is forgotten ttl after its success', () => {
    let runs = 0;
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('a--a-a|').pipe(
        idempotent(
          () => {
            runs++;
            return cold('-r|');
          },
          { ttl: 4 },
        ),
        brief,
      );
      // success at 1: remembered until 5; the copy at 3 shares, the one at 5 runs again
      expectObservable(output).toBe('-x-y--(z|)', { x: 'a:r', y: 'a=r', z: 'a:r' });
    });
    expect(runs).toBe(2);
  });

  it('maxKeys forgets the oldest succeeded key first', () => {
    const ran: string[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('abab|').pipe(
        idempotent(
          (m: string) => {
            ran.push(m);
            return of(m.toUpperCase());
          },
          { maxKeys: 1 },
        ),
        brief,
      );
      expectObservable(output).toBe('abcd|', { a: 'a:A', b: 'b:B', c: 'a:A', d: 'b:B' });
    });
    expect(ran).toEqual(['a', 'b', 'a', 'b']);
  });

  it('keys by a key function, reports duplicates, and passes the key to the handler', () => {
    const duplicates: Array<[string, number]> = [];
    const keys: number[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const values = { a: { id: 1, v: 'a' }, b: { id: 1, v: 'b' } };
      const output = cold('ab|', values).pipe(
        idempotent(
          (m: { id: number; v: string }, { key }: HandlerContext<number>) => {
            keys.push(key);
            return of(m.v);
          },
          { key: (m) => m.id, onDuplicate: (m, key) => duplicates.push([m.v, key]) },
        ),
        map((o) => (o.ok ? `${o.message.v}:${o.result}:${o.shared}` : 'failed')),
      );
      expectObservable(output).toBe('ab|', { a: 'a:a:false', b: 'b:a:true' });
    });
    expect(keys).toEqual([1]);
    expect(duplicates).toEqual([['b', 1]]);
  });

  it('runs at most concurrency handlers; others wait for a slot', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const inners = { a: cold('---A'), b: cold('---B'), c: cold('---C') };
      const output = cold('abc|').pipe(
        idempotent((m: string) => inners[m as keyof typeof inners], { concurrency: 2 }),
        map((o) => (o.ok ? o.result : '?')),
      );
      expectObservable(output).toBe('---AB-(C|)');
      expectSubscriptions(inners.a.subscriptions).toBe('^--!');
      expectSubscriptions(inners.b.subscriptions).toBe('-^--!');
      expectSubscriptions(inners.c.subscriptions).toBe('---^--!');
    });
  });

  it('a copy that arrives while its key runs attaches, and does not run', () => {
    let runs = 0;
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('aba|').pipe(
        idempotent(
          (m: string) => {
            runs++;
            return m === 'a' ? cold('--r|', { r: 'A' }) : cold('-----r|', { r: 'B' });
          },
          { concurrency: 1 },
        ),
        brief,
      );
      // the second a arrives at 2 while a still runs: it shares a's outcome; then b runs
      expectObservable(output).toBe('--(xy)-(b|)', { x: 'a:A', y: 'a=A', b: 'b:B' });
    });
    expect(runs).toBe(2);
  });

  it('a copy waiting for a slot attaches to its running key when its turn comes', () => {
    const ran: string[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const work = { a: '-------r|', b: '---r|', c: '-r|' };
      const output = cold('abca|').pipe(
        idempotent(
          (m: string) => {
            ran.push(m);
            return cold(work[m as keyof typeof work], { r: m.toUpperCase() });
          },
          { concurrency: 2 },
        ),
        brief,
      );
      // c and the copy of a wait; b ends at 4 and c runs; c ends at 5 and the copy, a still
      // running, attaches instead of running
      expectObservable(output).toBe('----bc-(xy|)', {
        b: 'b:B',
        c: 'c:C',
        x: 'a:A',
        y: 'a=A',
      });
    });
    expect(ran).toEqual(['a', 'b', 'c']);
  });

  it('a handler that throws, completes empty or returns a non-input fails the message', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const handler = (m: string): ObservableInput<string> => {
        if (m === 'a') throw new Error('thrown');
        if (m === 'b') return cold<string>('-|');
        return 42 as unknown as ObservableInput<string>;
      };
      const output = cold('a-b-c|').pipe(
        idempotent(handler),
        map((o) => (o.ok ? 'ok' : `${o.message}!`)),
      );
      expectObservable(output).toBe('a--bc|', { a: 'a!', b: 'b!', c: 'c!' });
    });
  });

  it('empty completes, never stays silent', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      expectObservable(cold('|').pipe(idempotent(() => of(1)))).toBe('|');
      const never = cold('-');
      expectObservable(never.pipe(idempotent(() => of(1)))).toBe('-');
      expectSubscriptions(never.subscriptions).toBe('^');
    });
  });

  it('a source error reaches the output once accepted messages have their outcome', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('ab#').pipe(
        idempotent((m: string) => cold('----r|', { r: m }), { concurrency: 1 }),
        brief,
      );
      expectObservable(output).toBe('----a---(b#)', { a: 'a:a', b: 'b:b' });
    });
  });

  it('a throwing key or onDuplicate fails the output at once', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const work = cold('---r');
      const source = cold('ab');
      const key = (m: string) => {
        if (m === 'b') throw new Error('bad key');
        return m;
      };
      expectObservable(source.pipe(idempotent(() => work, { key, concurrency: 2 }))).toBe(
        '-#',
        undefined,
        new Error('bad key'),
      );
      expectSubscriptions(work.subscriptions).toBe('^!');
      const onDuplicate = () => {
        throw new Error('bad hook');
      };
      expectObservable(cold('aa').pipe(idempotent(() => NEVER, { onDuplicate }))).toBe(
        '-#',
        undefined,
        new Error('bad hook'),
      );
    });
  });

  it('early unsubscribe keeps the chain intact and cancels running handlers', () => {
    const signals: AbortSignal[] = [];
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('-a--b--c--|');
      const work = cold('  -r---');
      const output = source.pipe(
        mergeMap((x) => of(x)),
        idempotent((_m: string, { signal }) => {
          signals.push(signal);
          return work;
        }),
        mergeMap((o) => of(o.message)),
      );
      expectObservable(output, '--------!').toBe('--a--b--');
      expectSubscriptions(source.subscriptions).toBe('^-------!');
      expectSubscriptions(work.subscriptions).toBe(['-^!', '----^!', '-------^!']);
    });
    expect(signals.map((s) => s.aborted)).toEqual([false, false, true]);
  });

  it('a synchronous firehose is stopped by take(n)', () => {
    const seen: number[] = [];
    const firehose = new Observable<number>((subscriber) => {
      for (let i = 0; !subscriber.closed && i < 1000; i++) {
        seen.push(i);
        subscriber.next(i);
      }
    });
    const out: number[] = [];
    firehose
      .pipe(
        idempotent((m) => of(m * 10)),
        take(3),
      )
      .subscribe((o) => out.push(o.ok ? o.result : -1));
    expect(out).toEqual([0, 10, 20]);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('each subscription has its own memory', () => {
    const subject = new Subject<string>();
    let runs = 0;
    const handled = subject.pipe(
      idempotent(() => {
        runs++;
        return of('done');
      }),
    );
    const sub = handled.subscribe();
    subject.next('a');
    subject.next('a');
    sub.unsubscribe();
    handled.subscribe();
    subject.next('a');
    expect(runs).toBe(2);
  });
});

describe('idempotent: backpressure', () => {
  const asValue = catchError((err: unknown) =>
    of(err instanceof ChannelFullError ? `full:${String(err.value)}` : `error:${String(err)}`),
  );

  it("under 'block' a push source beyond capacity: stop, finish accepted, then ChannelFullError", () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('abc|');
      const output = source.pipe(
        idempotent((m: string) => cold('--r|', { r: m }), { capacity: 1 }),
        brief,
        asValue,
      );
      expectObservable(output).toBe('--a-(bf|)', { a: 'a:a', b: 'b:b', f: 'full:c' });
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('copies waiting for a running outcome count against capacity', () => {
    const dropped: string[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('aab|').pipe(
        idempotent((m: string) => cold('----r|', { r: m }), {
          capacity: 1,
          overflow: 'drop',
          onOverflow: (m) => dropped.push(m),
        }),
        brief,
      );
      // a runs, its copy waits (1 of 1), so b is dropped
      expectObservable(output).toBe('----(xy|)', { x: 'a:a', y: 'a=a' });
    });
    expect(dropped).toEqual(['b']);
  });

  it('a push copy of a remembered key is answered on arrival, even while the slots are busy', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const work = (m: string) => cold(m === 'a' ? '--r|' : '-----r|', { r: m });
      // b holds the only slot from 3 to 8; the copy of a arriving at 4 does not wait for it
      expectObservable(cold('a--ba|').pipe(idempotent(work, { capacity: 1 }), brief)).toBe(
        '--x-y---(z|)',
        { x: 'a:a', y: 'a=a', z: 'b:b' },
      );
    });
  });

  it("'drop' and 'replace' report what they discard", () => {
    const dropped: Array<[string, string]> = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const work = (m: string) => cold('--r|', { r: m });
      const onOverflow = (m: string, policy: string) => dropped.push([m, policy]);
      expectObservable(
        cold('abc|').pipe(idempotent(work, { capacity: 1, overflow: 'drop', onOverflow }), brief),
      ).toBe('--a-(b|)', { a: 'a:a', b: 'b:b' });
      expectObservable(
        cold('abc|').pipe(
          idempotent(work, { capacity: 1, overflow: 'replace', onOverflow }),
          brief,
        ),
      ).toBe('--a-(c|)', { a: 'a:a', c: 'c:c' });
      // only a copy waits: nothing older to replace, so the incoming b is dropped
      expectObservable(
        cold('aab|').pipe(
          idempotent((m: string) => cold('----r|', { r: m }), {
            capacity: 1,
            overflow: 'replace',
            onOverflow,
          }),
          brief,
        ),
      ).toBe('----(xy|)', { x: 'a:a', y: 'a=a' });
    });
    expect(dropped).toEqual([
      ['c', 'drop'],
      ['b', 'replace'],
      ['b', 'drop'],
    ]);
  });

  it('from a channel receiver, takes at most concurrency unanswered messages', () => {
    const [tx, rx] = mpsc<string>(1);
    const pending: Subject<string>[] = [];
    const out: string[] = [];
    rx.pipe(
      idempotent(() => {
        const result = new Subject<string>();
        pending.push(result);
        return result;
      }),
    ).subscribe((o) => out.push(`${o.message}${o.shared ? '=' : ':'}${o.ok ? o.result : '!'}`));
    expect(tx.trySend('a').ok).toBe(true); // taken: running
    expect(tx.trySend('a').ok).toBe(true); // buffered in the channel (capacity 1)
    expect(tx.trySend('b')).toEqual({ ok: false, reason: 'full', value: 'b' });
    expect(pending).toHaveLength(1);
    pending[0]!.next('A');
    // the copy is taken and answered from memory; its place frees at once
    expect(out).toEqual(['a:A', 'a=A']);
    expect(tx.trySend('b').ok).toBe(true);
    expect(pending).toHaveLength(2);
  });
});

describe('idempotent: argument checks', () => {
  it('rejects bad arguments at the call, naming them', () => {
    const h = () => of(1);
    expect(() => idempotent(null as never)).toThrow(
      new TypeError('idempotent: handler must be a function, got null'),
    );
    expect(() => idempotent(h, { ttl: Number.NaN })).toThrow(
      new RangeError('idempotent: ttl must be a number of milliseconds >= 0 or Infinity, got NaN'),
    );
    expect(() => idempotent(h, { maxKeys: -1 })).toThrow(RangeError);
    expect(() => idempotent(h, { concurrency: 0 })).toThrow(RangeError);
    expect(() => idempotent(h, { capacity: 0 })).toThrow(RangeError);
    expect(() => idempotent(h, { overflow: 'nope' as never })).toThrow(TypeError);
    expect(() => idempotent(h, { key: 1 as never })).toThrow(TypeError);
    expect(() => idempotent(h, { onDuplicate: 1 as never })).toThrow(TypeError);
  });
});
