/**
 * shareBounded's bound and accounting under random interleavings of subscribers joining,
 * asking for messages at different paces and leaving.
 *
 * Pull source (fromIterable): no message is ever lost or skipped, the producer never runs more
 * than `capacity` ahead of the slowest current reader, and a reader that wants more and could
 * have it always has it (leaving never stalls anyone).
 * Push source (a Subject): every message a reader does not get was reported to `onOverflow`,
 * and no reader ever has more than `capacity` messages held for it.
 */
import fc from 'fast-check';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { fromIterable, shareBounded } from '../../src/index.js';
import { type Demand, type Pullable, pull } from '../../src/internal/demand.js';

type Action =
  | { readonly kind: 'request'; readonly reader: number; readonly n: number }
  | { readonly kind: 'cancel'; readonly reader: number }
  | { readonly kind: 'join' }
  | { readonly kind: 'emit' };

interface Reader {
  readonly start: number;
  readonly got: number[];
  readonly log: string[];
  requested: number;
  active: boolean;
  demand: Demand;
}

function open(source: unknown, start: number): Reader {
  const reader: Reader = {
    start,
    got: [],
    log: [],
    requested: 0,
    active: true,
    demand: { request() {}, cancel() {} },
  };
  reader.demand = (source as Pullable<number>)[pull]({
    next: (v) => reader.got.push(v),
    error: (e) => reader.log.push(`error:${String(e)}`),
    complete: () => reader.log.push('complete'),
  });
  return reader;
}

const action = (emits: boolean): fc.Arbitrary<Action> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('request' as const),
        reader: fc.nat(5),
        n: fc.integer({ min: 1, max: 4 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('cancel' as const), reader: fc.nat(5) }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'join' as const }) },
    ...(emits ? [{ weight: 5, arbitrary: fc.constant({ kind: 'emit' as const }) }] : []),
  );

describe('shareBounded: property', () => {
  it('a pull source: nothing lost, bounded by the slowest reader, never stalled', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(action(false), { maxLength: 80 }),
        (capacity, total, initial, actions) => {
          let produced = 0;
          const numbers = {
            *[Symbol.iterator]() {
              for (let i = 0; i < total; i++) {
                produced++;
                yield i;
              }
            },
          };
          const shared = fromIterable(numbers).pipe(
            shareBounded(capacity, { resetOnRefCountZero: false, resetOnComplete: false }),
          );
          const readers: Reader[] = [];
          for (let i = 0; i < initial; i++) readers.push(open(shared, 0));
          const check = () => {
            const active = readers.filter((r) => r.active && r.log.length === 0);
            for (const r of readers) {
              // every message from where it joined, in order, none skipped
              expect(r.got).toEqual(Array.from({ length: r.got.length }, (_, i) => r.start + i));
              expect(r.got.length).toBeLessThanOrEqual(r.requested);
            }
            if (active.length === 0) return;
            const minPos = Math.min(...active.map((r) => r.start + r.got.length));
            expect(produced - minPos).toBeLessThanOrEqual(capacity);
            for (const r of active) {
              if (r.requested > r.got.length) {
                // it wants more: it has everything there is, and the slowest holds it back
                expect(r.start + r.got.length).toBe(produced);
                expect(produced - minPos).toBe(capacity);
              }
            }
          };
          for (const a of actions) {
            const target = a.kind === 'join' || a.kind === 'emit' ? undefined : readers[a.reader];
            if (a.kind === 'join') readers.push(open(shared, produced));
            else if (target?.active && a.kind === 'request') {
              target.requested += a.n;
              target.demand.request(a.n);
            } else if (target?.active && a.kind === 'cancel') {
              target.active = false;
              target.demand.cancel();
            }
            check();
          }
          // Drain: every reader still there reads to the end and completes.
          for (const r of readers) {
            if (!r.active) continue;
            r.requested = Number.POSITIVE_INFINITY;
            r.demand.request(Number.POSITIVE_INFINITY);
          }
          for (const r of readers) {
            if (!r.active) continue;
            expect(r.log).toEqual(['complete']);
            expect(r.start + r.got.length).toBe(total);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a push source: every message a reader misses was reported, and at most capacity wait for it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom('drop' as const, 'replace' as const),
        fc.integer({ min: 1, max: 3 }),
        fc.array(action(true), { maxLength: 80 }),
        (capacity, overflow, initial, actions) => {
          const source = new Subject<number>();
          const reported: number[] = [];
          const shared = source.pipe(
            shareBounded(capacity, {
              overflow,
              onOverflow: (v) => reported.push(v),
              resetOnRefCountZero: false,
            }),
          );
          let emitted = 0;
          const plain: number[] = [];
          shared.subscribe((v) => plain.push(v)); // unlimited: never holds anyone up
          const readers: Reader[] = [];
          for (let i = 0; i < initial; i++) readers.push(open(shared, 0));
          for (const a of actions) {
            if (a.kind === 'emit') source.next(emitted++);
            else if (a.kind === 'join') readers.push(open(shared, emitted));
            else {
              const target = readers[a.reader];
              if (!target?.active) continue;
              if (a.kind === 'cancel') {
                target.active = false;
                target.demand.cancel();
              } else {
                const before = target.got.length;
                target.requested += a.n;
                target.demand.request(a.n);
                // no message arrives during a request: it reads only what was held for it
                expect(target.got.length - before).toBeLessThanOrEqual(capacity);
              }
            }
          }
          // Drain what is held: at most capacity per reader.
          for (const r of readers) {
            if (!r.active) continue;
            const before = r.got.length;
            r.demand.request(Number.POSITIVE_INFINITY);
            expect(r.got.length - before).toBeLessThanOrEqual(capacity);
          }
          const lost = new Set(reported);
          for (const r of [...readers, { start: 0, got: plain, active: true }]) {
            // in order, from where it joined
            for (let i = 1; i < r.got.length; i++) expect(r.got[i]).toBeGreaterThan(r.got[i - 1]!);
            if (r.got.length > 0) expect(r.got[0]).toBeGreaterThanOrEqual(r.start);
            const last = r.active ? emitted - 1 : (r.got.at(-1) ?? r.start - 1);
            const got = new Set(r.got);
            for (let v = r.start; v <= last; v++) {
              // a message it did not get was reported, never lost silently
              if (!got.has(v)) expect(lost.has(v)).toBe(true);
              // under 'drop' a discarded message reaches nobody
              if (overflow === 'drop' && lost.has(v)) expect(got.has(v)).toBe(false);
            }
          }
          // the plain subscriber misses only what 'drop' discarded for everyone
          if (overflow === 'replace') expect(plain.length).toBe(emitted);
          else expect(plain.length + reported.length).toBe(emitted);
        },
      ),
      { numRuns: 300 },
    );
  });
});
