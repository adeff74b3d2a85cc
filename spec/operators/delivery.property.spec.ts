/**
 * Exactly-once effect = at-least-once delivery + idempotent handling, checked over a simulated
 * transport that drops, delays and duplicates messages and acks at random (from a seed), in
 * virtual time.
 *
 *   producer: source -> atLeastOnce(deliver) ------ transport ------> consumer inbox
 *                               ^                                           |
 *                               +------------ transport (ack / nack) <- idempotent(effect)
 */
import fc from 'fast-check';
import { from, map, type Observable, Subject, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import {
  atLeastOnce,
  type DeadLetter,
  type Delivered,
  fromIterable,
  idempotent,
} from '../../src/index.js';

/** A small deterministic PRNG (mulberry32): the whole run follows from one seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Params {
  seed: number;
  messages: number;
  drop: number;
  duplicate: number;
  maxDelay: number;
  handlerFailure: number;
  maxWork: number;
  ackTimeout: number;
  maxAttempts: number;
  producerConcurrency: number;
  consumerConcurrency: number;
  pullSource: boolean;
}

const params: fc.Arbitrary<Params> = fc.record({
  seed: fc.integer(),
  messages: fc.integer({ min: 0, max: 25 }),
  drop: fc.double({ min: 0, max: 0.5, noNaN: true }),
  duplicate: fc.double({ min: 0, max: 0.5, noNaN: true }),
  maxDelay: fc.integer({ min: 0, max: 10 }),
  handlerFailure: fc.double({ min: 0, max: 0.3, noNaN: true }),
  maxWork: fc.integer({ min: 0, max: 6 }),
  ackTimeout: fc.integer({ min: 1, max: 40 }),
  maxAttempts: fc.integer({ min: 1, max: 6 }),
  producerConcurrency: fc.integer({ min: 1, max: 5 }),
  consumerConcurrency: fc.integer({ min: 1, max: 4 }),
  pullSource: fc.boolean(),
});

interface Delivery {
  readonly id: number;
  readonly attempt: number;
}

interface Report {
  readonly acked: Delivered<number, string>[];
  readonly dead: DeadLetter<number>[];
  readonly effects: number[];
  readonly deliverCalls: number[];
  readonly completed: boolean;
  readonly error: unknown;
  readonly staleAcks: number;
}

function simulate(p: Params): Report {
  const scheduler = new TestScheduler(() => {});
  const random = prng(p.seed);
  const acked: Delivered<number, string>[] = [];
  const dead: DeadLetter<number>[] = [];
  const effects = new Array<number>(p.messages).fill(0);
  const deliverCalls = new Array<number>(p.messages).fill(0);
  let completed = false;
  let error: unknown;
  let staleAcks = 0;

  scheduler.run(() => {
    /** The unreliable wire: each send may be dropped, is delayed, and may arrive twice. */
    const transport = (arrive: () => void): void => {
      if (random() < p.drop) return;
      scheduler.schedule(arrive, Math.floor(random() * (p.maxDelay + 1)));
      if (random() < p.duplicate) {
        scheduler.schedule(arrive, Math.floor(random() * (p.maxDelay + 1)));
      }
    };

    // ---- consumer: applies each message's effect through idempotent -------------------
    const inbox = new Subject<Delivery>();
    const replies = new Map<string, Subject<string>>();
    const reply = (d: Delivery) => replies.get(`${d.id}/${d.attempt}`);
    inbox
      .pipe(
        idempotent(
          (d: Delivery) =>
            timer(Math.floor(random() * (p.maxWork + 1)), scheduler).pipe(
              map(() => {
                if (random() < p.handlerFailure) throw new Error(`effect ${d.id} failed`);
                effects[d.id]!++;
                return `done ${d.id}`;
              }),
            ),
          {
            key: (d) => d.id,
            ttl: Number.POSITIVE_INFINITY,
            maxKeys: Number.POSITIVE_INFINITY,
            concurrency: p.consumerConcurrency,
            capacity: Number.POSITIVE_INFINITY,
            scheduler,
          },
        ),
      )
      .subscribe((outcome) => {
        // ack a success, nack a failure; both travel back over the unreliable wire
        transport(() => {
          const ack = reply(outcome.message);
          if (outcome.ok) ack?.next(outcome.result);
          else ack?.error(outcome.error);
        });
      });

    // ---- producer: at-least-once delivery over the wire --------------------------------
    const ids = Array.from({ length: p.messages }, (_, i) => i);
    const source: Observable<number> = p.pullSource ? fromIterable(ids) : from(ids);
    source
      .pipe(
        atLeastOnce(
          (id: number, { attempt }) => {
            deliverCalls[id]!++;
            const ack = new Subject<string>();
            replies.set(`${id}/${attempt}`, ack);
            transport(() => inbox.next({ id, attempt }));
            return ack;
          },
          {
            ackTimeout: p.ackTimeout,
            maxAttempts: p.maxAttempts,
            backoff: { initial: 2, factor: 2, max: 20, jitter: 0.5 },
            random,
            concurrency: p.producerConcurrency,
            capacity: Number.POSITIVE_INFINITY,
            deadLetter: (record) => dead.push(record),
            onStaleAck: () => staleAcks++,
            scheduler,
          },
        ),
      )
      .subscribe({
        next: (d) => acked.push(d),
        error: (err: unknown) => (error = err),
        complete: () => (completed = true),
      });
  });
  return { acked, dead, effects, deliverCalls, completed, error, staleAcks };
}

describe('atLeastOnce + idempotent over an unreliable transport', () => {
  it('applies every effect exactly once or dead-letters the message; nothing is lost', () => {
    fc.assert(
      fc.property(params, (p) => {
        const r = simulate(p);
        expect(r.error).toBeUndefined();
        expect(r.completed).toBe(true);

        const ackedIds = r.acked.map((d) => d.message);
        const deadIds = r.dead.map((d) => d.message);
        // nothing lost, nothing settled twice
        expect([...ackedIds, ...deadIds].sort((a, b) => a - b)).toEqual(
          Array.from({ length: p.messages }, (_, i) => i),
        );
        for (const d of r.acked) {
          // acked: its effect was applied exactly once
          expect(r.effects[d.message]).toBe(1);
          // the ack came from its last attempt, and there was no attempt after it
          expect(d.attempts).toBe(r.deliverCalls[d.message]);
          expect(d.attempts).toBeLessThanOrEqual(p.maxAttempts);
        }
        for (const d of r.dead) {
          // dead-lettered: the effect may have happened (every ack lost), but never twice
          expect(r.effects[d.message]).toBeLessThanOrEqual(1);
          expect(d.attempts).toBe(p.maxAttempts);
          expect(r.deliverCalls[d.message]).toBe(p.maxAttempts);
        }
        for (const calls of r.deliverCalls) expect(calls).toBeLessThanOrEqual(p.maxAttempts);
      }),
      { numRuns: 200 },
    );
  });

  it('a perfect transport acks everything at the first attempt', () => {
    const r = simulate({
      seed: 1,
      messages: 20,
      drop: 0,
      duplicate: 0,
      maxDelay: 3,
      handlerFailure: 0,
      maxWork: 3,
      ackTimeout: 100,
      maxAttempts: 3,
      producerConcurrency: 4,
      consumerConcurrency: 2,
      pullSource: true,
    });
    expect(r.completed).toBe(true);
    expect(r.dead).toEqual([]);
    expect(r.acked.every((d) => d.attempts === 1)).toBe(true);
    expect(r.effects.every((n) => n === 1)).toBe(true);
  });

  it('a lossy, duplicating transport still applies each acked effect once', () => {
    const r = simulate({
      seed: 42,
      messages: 25,
      drop: 0.3,
      duplicate: 0.5,
      maxDelay: 8,
      handlerFailure: 0.1,
      maxWork: 4,
      ackTimeout: 12,
      maxAttempts: 6,
      producerConcurrency: 3,
      consumerConcurrency: 2,
      pullSource: false,
    });
    expect(r.completed).toBe(true);
    // the transport really misbehaved: some messages needed retries
    expect(r.acked.some((d) => d.attempts > 1)).toBe(true);
    for (const d of r.acked) expect(r.effects[d.message]).toBe(1);
    expect(r.acked.length + r.dead.length).toBe(25);
  });
});
