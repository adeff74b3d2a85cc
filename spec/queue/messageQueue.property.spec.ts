import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageQueue } from '../../src/queue/messageQueue.js';
import type { Delivery } from '../../src/queue/types.js';
import { ManualClock } from './manualClock.js';

type Kind =
  | 'ack' // acks within the lease
  | 'crash' // never answers
  | 'stall' // acks long after the lease ran out
  | 'ackAtDeadline' // acks exactly at the deadline: must be refused
  | 'doubleAck' // acks twice
  | 'nack' // gives up, sometimes with a delay
  | 'extendThenAck'; // extends the lease, then acks late in the extension

interface Behavior {
  readonly kind: Kind;
  readonly wait: number;
}

interface Params {
  readonly visibilityTimeout: number;
  readonly maxAttempts: number;
  readonly consumers: number;
  readonly batch: number;
  readonly behaviors: readonly Behavior[];
  readonly duplicateEvery: number;
}

const MESSAGES = 10_000;

function check(condition: boolean, message: () => string): void {
  if (!condition) throw new Error(message());
}

/**
 * Producers enqueue MESSAGES messages (plus refused duplicates) in batches; every tick each
 * consumer dequeues one message and treats it with the next behaviour of a cycle. Afterwards
 * the books must balance.
 */
function simulate(p: Params): void {
  const clock = new ManualClock();
  const queue = new MessageQueue<number>({
    visibilityTimeout: p.visibilityTimeout,
    maxAttempts: p.maxAttempts,
    capacity: Number.POSITIVE_INFINITY,
    deadLetter: { capacity: Number.POSITIVE_INFINITY },
    scheduler: clock,
  });
  const vt = p.visibilityTimeout;
  const acks = new Map<string, number>();
  const dead = new Map<string, number>();
  const lastAttempt = new Map<string, number>();
  /** When the latest lease of each message ended (or will end). */
  const leaseEnd = new Map<string, number>();
  const latestReceipt = new Map<string, string>();
  let deliveries = 0;
  let produced = 0;
  let duplicatesTried = 0;

  queue.deadLettered.subscribe((letter) => {
    dead.set(letter.id, (dead.get(letter.id) ?? 0) + 1);
    check(letter.attempts === p.maxAttempts, () => `dead letter with ${letter.attempts} attempts`);
  });

  const later = (ms: number, work: () => void) => clock.schedule(work, ms);

  const tryAck = (d: Delivery<number>) => {
    const now = clock.now();
    const result = queue.ack(d.receipt);
    if (result.ok) {
      check(
        now < leaseEnd.get(d.id)!,
        () => `ack accepted at ${now} for a lease ending ${leaseEnd.get(d.id)}`,
      );
      check(latestReceipt.get(d.id) === d.receipt, () => `${d.id}: a stale receipt was accepted`);
      acks.set(d.id, (acks.get(d.id) ?? 0) + 1);
    }
    return result;
  };

  const handle = (d: Delivery<number>) => {
    const now = clock.now();
    const previous = lastAttempt.get(d.id) ?? 0;
    check(d.attempt === previous + 1, () => `${d.id}: attempt ${d.attempt} after ${previous}`);
    check(d.attempt <= p.maxAttempts, () => `${d.id}: attempt ${d.attempt} > maxAttempts`);
    const ended = leaseEnd.get(d.id);
    check(
      ended === undefined || now >= ended,
      () => `${d.id}: redelivered at ${now}, lease ends ${ended}`,
    );
    check(!acks.has(d.id), () => `${d.id}: delivered after it was acknowledged`);
    check(d.deadline === now + vt, () => 'the lease is counted from the delivery');
    lastAttempt.set(d.id, d.attempt);
    leaseEnd.set(d.id, d.deadline);
    latestReceipt.set(d.id, d.receipt);

    const behavior = p.behaviors[deliveries++ % p.behaviors.length]!;
    const inTime = Math.min(behavior.wait, vt - 1);
    switch (behavior.kind) {
      case 'ack':
        later(inTime, () => tryAck(d));
        break;
      case 'crash':
        break;
      case 'stall':
        later(vt + behavior.wait, () => {
          check(!tryAck(d).ok, () => `${d.id}: a stalled ack was accepted`);
        });
        break;
      case 'ackAtDeadline':
        later(vt, () => {
          const result = queue.ack(d.receipt);
          check(
            !result.ok && (result.reason === 'expired' || result.reason === 'stale'),
            () => `${d.id}: ack at the deadline gave ${JSON.stringify(result)}`,
          );
        });
        break;
      case 'doubleAck':
        later(inTime, () => {
          const first = tryAck(d);
          const second = queue.ack(d.receipt);
          check(!second.ok, () => `${d.id}: a second ack was accepted`);
          if (first.ok) check(!second.ok && second.reason === 'acked', () => 'double ack reason');
        });
        break;
      case 'nack':
        later(inTime, () => {
          const result = queue.nack(d.receipt, { delay: behavior.wait % 7, error: behavior.wait });
          if (result.ok) leaseEnd.set(d.id, clock.now());
        });
        break;
      case 'extendThenAck':
        later(inTime, () => {
          const result = queue.extend(d.receipt, vt);
          if (!result.ok) return;
          leaseEnd.set(d.id, result.deadline);
          later(vt - 1, () => tryAck(d));
        });
        break;
    }
  };

  const settled = () => acks.size + dead.size;
  const tick = () => {
    for (let i = 0; i < p.batch && produced < MESSAGES; i++) {
      const result = queue.enqueue(produced, { id: `m${produced}` });
      check(result.ok, () => `m${produced} refused`);
      produced++;
      if (produced % p.duplicateEvery === 0) {
        const earlier = `m${Math.floor(produced / 2)}`;
        duplicatesTried++;
        const again = queue.enqueue(-1, { id: earlier });
        check(!again.ok && again.reason === 'duplicate', () => `${earlier} enqueued twice`);
      }
    }
    for (let c = 0; c < p.consumers; c++) {
      const d = queue.dequeue();
      if (d !== undefined) handle(d);
    }
    if (produced < MESSAGES || settled() < MESSAGES) later(1, tick);
  };
  later(0, tick);
  clock.runAll(10_000_000);
  check(clock.now() < 300_000, () => 'simulation outlived the deduplication window');

  // the books balance: every message acknowledged exactly once, or dead-lettered, not both
  expect(produced).toBe(MESSAGES);
  expect(settled()).toBe(MESSAGES);
  for (const [id, count] of acks) {
    check(count === 1, () => `${id} acknowledged ${count} times`);
    check(!dead.has(id), () => `${id} both acknowledged and dead`);
  }
  for (const [id, count] of dead) {
    check(count === 1, () => `${id} dead-lettered ${count} times`);
    check(lastAttempt.get(id) === p.maxAttempts, () => `${id} died before maxAttempts`);
  }
  expect(queue.stats()).toMatchObject({
    visible: 0,
    inFlight: 0,
    delayed: 0,
    dead: dead.size,
    enqueued: MESSAGES,
    duplicates: duplicatesTried,
    acked: acks.size,
    deadLettered: dead.size,
  });
  expect(queue.deadLetters()).toHaveLength(dead.size);
  expect(clock.pending).toBe(0); // no timer left behind
}

const behaviorArb: fc.Arbitrary<Behavior> = fc.record({
  kind: fc.constantFrom<Kind>(
    'ack',
    'crash',
    'stall',
    'ackAtDeadline',
    'doubleAck',
    'nack',
    'extendThenAck',
  ),
  wait: fc.nat({ max: 60 }),
});

describe('MessageQueue: property', () => {
  it('under crashing, stalling, late, double and failing consumers nothing is lost or doubled', () => {
    fc.assert(
      fc.property(
        fc.record({
          visibilityTimeout: fc.integer({ min: 1, max: 40 }),
          maxAttempts: fc.integer({ min: 1, max: 5 }),
          // from a deep backlog (redeliveries wait behind it) to idle consumers (redelivered at once)
          consumers: fc.integer({ min: 1, max: 24 }),
          batch: fc.integer({ min: 1, max: 48 }),
          behaviors: fc.array(behaviorArb, { minLength: 1, maxLength: 40 }),
          duplicateEvery: fc.integer({ min: 2, max: 100 }),
        }),
        (params) => simulate(params),
      ),
      { numRuns: 12 },
    );
  });

  it('a plain crash-free run acknowledges all 10k messages at attempt 1', () => {
    simulate({
      visibilityTimeout: 10,
      maxAttempts: 3,
      consumers: 4,
      batch: 50,
      behaviors: [{ kind: 'ack', wait: 1 }],
      duplicateEvery: 10,
    });
  });
});
