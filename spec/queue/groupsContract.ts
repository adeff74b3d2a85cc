/**
 * Message groups and priorities on every store, on the store's manual clock:
 * `describeGroups(name, open)` runs on `MessageQueue` and on `RedisQueue`, like
 * `describeQueueStore`. Every call is awaited, so a synchronous store and a remote one are
 * driven alike; nothing sleeps.
 *
 * The rules under test (documented on `EnqueueOptions.group` and `.priority`):
 * - a group delivers one message at a time, in order; the next becomes visible when the one
 *   before it is acknowledged or dead-lettered; a nack, a release or a lease that runs out
 *   keeps the message at the head of its group; groups are independent;
 * - higher priority first, first in first out within a priority, default 0; inside a group the
 *   group's order wins;
 * - a delayed message takes its place in its group when its delay ends; a redriven dead letter
 *   joins the back of its group; ids are deduplicated across groups;
 * - waiting group members count as `visible` in `stats()`.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueStore } from '../../src/queue/store.js';
import type { Delivery, EnqueueOptions } from '../../src/queue/types.js';
import { ManualClock } from './manualClock.js';
import type { ContractOptions, OpenStore, StoreHarness } from './storeContract.js';

/** How hard the property tests try (a remote store is slower per call). */
export interface GroupsContractSettings {
  /** fast-check runs per property. @default 60 */
  readonly runs?: number;
  /** Commands per run. @default 40 */
  readonly commands?: number;
}

/** The store's error for a call, whether it throws or rejects; undefined if it succeeds. */
async function failure(call: () => unknown): Promise<unknown> {
  try {
    await call();
    return undefined;
  } catch (error) {
    return error;
  }
}

export function describeGroups(
  name: string,
  open: OpenStore,
  settings: GroupsContractSettings = {},
): void {
  describe(`message groups and priorities: ${name}`, () => {
    let harnesses: StoreHarness[] = [];
    afterEach(async () => {
      for (const harness of harnesses) await harness.dispose();
      harnesses = [];
    });

    async function setup(options: ContractOptions = {}) {
      const clock = new ManualClock();
      const harness = await open(clock, { visibilityTimeout: 100, ...options });
      harnesses.push(harness);
      return { clock, harness, store: harness.store };
    }

    async function put(
      store: QueueStore<string>,
      payload: string,
      options: EnqueueOptions = {},
    ): Promise<void> {
      const result = await store.enqueue(payload, { id: payload, ...options });
      expect(result).toEqual({ ok: true, id: payload });
    }

    /** Receives up to `max` and returns the payloads, leaving the leases held. */
    async function payloads(store: QueueStore<string>, max = 100): Promise<string[]> {
      return (await store.receive({ max })).map((d) => d.payload);
    }

    async function take(store: QueueStore<string>): Promise<Delivery<string>> {
      const [delivery] = await store.receive();
      if (delivery === undefined) throw new Error('expected a visible message');
      return delivery;
    }

    /** Receives and acks one message at a time until none is visible, returning the order. */
    async function drain(store: QueueStore<string>): Promise<string[]> {
      const order: string[] = [];
      for (let d = (await store.receive())[0]; d !== undefined; d = (await store.receive())[0]) {
        order.push(d.payload);
        expect(await store.ack(d.receipt)).toEqual({ ok: true });
      }
      return order;
    }

    describe('groups', () => {
      it('deliver one message at a time, in enqueue order, the next after the ack', async () => {
        const { store } = await setup();
        for (const p of ['a1', 'a2', 'a3']) await put(store, p, { group: 'a' });
        const first = await store.receive({ max: 10 });
        expect(first.map((d) => d.payload)).toEqual(['a1']);
        expect(await payloads(store)).toEqual([]);
        await store.ack(first[0]!.receipt);
        const second = await take(store);
        expect(second.payload).toBe('a2');
        expect(await payloads(store)).toEqual([]);
        await store.ack(second.receipt);
        expect(await drain(store)).toEqual(['a3']);
      });

      it('one in flight per group, across handles; other groups and ungrouped messages proceed', async () => {
        const { store, harness } = await setup();
        const other = await harness.peer();
        for (const p of ['a1', 'a2', 'a3']) await put(store, p, { group: 'a' });
        for (const p of ['b1', 'b2']) await put(store, p, { group: 'b' });
        await put(store, 'u1');
        await put(store, 'u2');
        const mine = await payloads(store);
        expect(mine).toEqual(['a1', 'b1', 'u1', 'u2']);
        expect(await payloads(other)).toEqual([]);
        expect(await store.stats()).toMatchObject({ visible: 3, inFlight: 4, delayed: 0 });
      });

      it('independent groups: a stuck group does not hold the others back', async () => {
        const { store, harness } = await setup({ visibilityTimeout: 10_000 });
        const other = await harness.peer();
        for (const p of ['a1', 'a2']) await put(store, p, { group: 'a' });
        for (const p of ['b1', 'b2', 'b3']) await put(store, p, { group: 'b' });
        const stuck = await take(store);
        expect(stuck.payload).toBe('a1');
        expect(await drain(other)).toEqual(['b1', 'b2', 'b3']);
        expect(await payloads(store)).toEqual([]);
        await store.ack(stuck.receipt);
        expect(await drain(store)).toEqual(['a2']);
      });

      it('a nack keeps the message at the head: redelivered as the next attempt before the rest of its group', async () => {
        const { store } = await setup();
        for (const p of ['a1', 'a2']) await put(store, p, { group: 'a' });
        const d = await take(store);
        expect(await store.nack(d.receipt)).toEqual({ ok: true, deadLettered: false });
        const again = await store.receive({ max: 10 });
        expect(again.map((x) => [x.payload, x.attempt])).toEqual([['a1', 2]]);
        await store.ack(again[0]!.receipt);
        expect(await drain(store)).toEqual(['a2']);
      });

      it('a nack with delay holds the whole group for the delay', async () => {
        const { clock, store } = await setup();
        for (const p of ['a1', 'a2']) await put(store, p, { group: 'a' });
        const d = await take(store);
        await store.nack(d.receipt, { delay: 50 });
        clock.advance(49);
        expect(await payloads(store)).toEqual([]);
        expect(await store.stats()).toMatchObject({ delayed: 1, visible: 1, inFlight: 0 });
        clock.advance(1);
        const again = await take(store);
        expect([again.payload, again.attempt]).toEqual(['a1', 2]);
      });

      it('a lease that runs out keeps the head; so does a release', async () => {
        const { clock, store } = await setup();
        for (const p of ['a1', 'a2']) await put(store, p, { group: 'a' });
        await take(store); // crashes
        clock.advance(100);
        const second = await store.receive({ max: 10 });
        expect(second.map((x) => [x.payload, x.attempt])).toEqual([['a1', 2]]);
        expect(await store.release(second[0]!.receipt)).toEqual({ ok: true });
        const third = await store.receive({ max: 10 });
        expect(third.map((x) => [x.payload, x.attempt])).toEqual([['a1', 2]]);
        await store.ack(third[0]!.receipt);
        expect(await drain(store)).toEqual(['a2']);
      });

      it('the next becomes visible when the head is dead-lettered, by nack or by expiry', async () => {
        const { clock, store } = await setup({ maxAttempts: 1 });
        for (const p of ['a1', 'a2', 'a3']) await put(store, p, { group: 'a' });
        const a1 = await take(store);
        expect(await store.nack(a1.receipt)).toEqual({ ok: true, deadLettered: true });
        const a2 = await take(store);
        expect(a2.payload).toBe('a2');
        clock.advance(100); // a2's only lease runs out: dead
        const a3 = await store.receive({ max: 10 });
        expect(a3.map((x) => x.payload)).toEqual(['a3']);
        expect((await store.deadLetters()).map((l) => [l.id, l.reason])).toEqual([
          ['a1', 'nacked'],
          ['a2', 'expired'],
        ]);
      });

      it('a delayed message takes its place in its group when its delay ends', async () => {
        const { clock, store } = await setup();
        await put(store, 'a1', { group: 'a', delay: 50 });
        await put(store, 'a2', { group: 'a' });
        const a2 = await take(store);
        expect(a2.payload).toBe('a2');
        clock.advance(50);
        expect(await payloads(store)).toEqual([]); // due, but behind a2
        expect(await store.stats()).toMatchObject({ visible: 1, delayed: 0, inFlight: 1 });
        await store.ack(a2.receipt);
        expect(await drain(store)).toEqual(['a1']);
      });

      it('redrive: a grouped dead letter joins the back of its group', async () => {
        const { store } = await setup({ maxAttempts: 1 });
        for (const p of ['a1', 'a2']) await put(store, p, { group: 'a' });
        await store.nack((await take(store)).receipt);
        const a2 = await take(store);
        expect(await store.redrive(['a1'])).toEqual({ redriven: ['a1'], skipped: [] });
        expect(await payloads(store)).toEqual([]); // a2 still holds the group
        await put(store, 'a3', { group: 'a' });
        await store.ack(a2.receipt);
        expect(await drain(store)).toEqual(['a1', 'a3']);
      });

      it('redrive into an idle group makes the message visible at once', async () => {
        const { store } = await setup({ maxAttempts: 1 });
        await put(store, 'a1', { group: 'a' });
        await store.nack((await take(store)).receipt);
        await store.redrive();
        const again = await take(store);
        expect([again.payload, again.attempt]).toEqual(['a1', 1]);
      });

      it('purging a grouped dead letter leaves its group going', async () => {
        const { store, harness } = await setup({ maxAttempts: 1 });
        for (const p of ['a1', 'a2']) await put(store, p, { group: 'a' });
        await store.nack((await take(store)).receipt);
        const purgeable = harness.store as QueueStore<string> & {
          purgeDeadLetters?(ids?: Iterable<string>): unknown;
        };
        if (purgeable.purgeDeadLetters !== undefined) {
          await purgeable.purgeDeadLetters(['a1']);
          expect(await store.deadLetters()).toEqual([]);
        }
        await put(store, 'a3', { group: 'a' });
        expect(await drain(store)).toEqual(['a2', 'a3']);
      });

      it('ids are deduplicated across groups; a refused duplicate takes no place in any group', async () => {
        const { store } = await setup();
        await put(store, 'x', { group: 'a' });
        expect(await store.enqueue('again', { id: 'x', group: 'b' })).toEqual({
          ok: false,
          reason: 'duplicate',
          id: 'x',
        });
        expect(await store.enqueue('again', { id: 'x', group: 'a' })).toMatchObject({
          reason: 'duplicate',
        });
        await put(store, 'a2', { group: 'a' });
        expect(await drain(store)).toEqual(['x', 'a2']);
        expect(await store.stats()).toMatchObject({ enqueued: 2, duplicates: 2, acked: 2 });
      });

      it('stats: waiting group members count as visible, until the queue is empty', async () => {
        const { store } = await setup();
        for (const p of ['a1', 'a2', 'a3']) await put(store, p, { group: 'a' });
        await put(store, 'b1', { group: 'b', delay: 10 });
        expect(await store.stats()).toMatchObject({ visible: 3, delayed: 1, inFlight: 0 });
        const a1 = await take(store);
        expect(await store.stats()).toMatchObject({ visible: 2, delayed: 1, inFlight: 1 });
        await store.ack(a1.receipt);
        expect(await store.stats()).toMatchObject({ visible: 2, inFlight: 0, acked: 1 });
        await drain(store);
        expect(await store.stats()).toMatchObject({ visible: 0, inFlight: 0, acked: 3 });
      });
    });

    describe('priorities', () => {
      it('higher first, first in first out within a priority, default 0', async () => {
        const { store } = await setup();
        await put(store, 'low', { priority: -1 });
        await put(store, 'zero1');
        await put(store, 'high1', { priority: 5 });
        await put(store, 'zero2', { priority: 0 });
        await put(store, 'high2', { priority: 5 });
        await put(store, 'highest', { priority: 1_000_000 });
        await put(store, 'lowest', { priority: -1_000_000 });
        expect(await drain(store)).toEqual([
          'highest',
          'high1',
          'high2',
          'zero1',
          'zero2',
          'low',
          'lowest',
        ]);
      });

      it('one batch is taken in priority order', async () => {
        const { store } = await setup();
        await put(store, 'c', { priority: 1 });
        await put(store, 'a', { priority: 3 });
        await put(store, 'b', { priority: 2 });
        expect(await payloads(store, 2)).toEqual(['a', 'b']);
        expect(await payloads(store, 2)).toEqual(['c']);
      });

      it('a retried message competes on its priority again', async () => {
        const { store } = await setup();
        await put(store, 'urgent', { priority: 9 });
        await put(store, 'normal');
        const d = await take(store);
        await store.nack(d.receipt);
        const again = await take(store);
        expect([again.payload, again.attempt]).toEqual(['urgent', 2]);
      });

      it("with groups, the group's order wins inside a group; a head competes on its own priority", async () => {
        const { store } = await setup();
        await put(store, 'a1', { group: 'a', priority: 0 });
        await put(store, 'a2', { group: 'a', priority: 10 });
        await put(store, 'u', { priority: 5 });
        const u = await take(store);
        expect(u.payload).toBe('u'); // a2 waits behind a1 whatever its priority
        const a1 = await take(store);
        expect(a1.payload).toBe('a1');
        await put(store, 'v', { priority: 5 });
        await store.ack(a1.receipt);
        expect(await payloads(store)).toEqual(['a2', 'v']);
      });

      it('delayed messages join their priority when due', async () => {
        const { clock, store } = await setup();
        await put(store, 'later-high', { priority: 2, delay: 10 });
        await put(store, 'now-low');
        clock.advance(10);
        expect(await drain(store)).toEqual(['later-high', 'now-low']);
      });
    });

    describe('bad group or priority', () => {
      const cases: Array<[EnqueueOptions, RegExp, 'TypeError' | 'RangeError']> = [
        [
          { group: '' },
          /group must be a non-empty string of at most 256 characters, got ""/,
          'RangeError',
        ],
        [
          { group: 'g'.repeat(257) },
          /group must be a non-empty string of at most 256 characters, got "g+…"/,
          'RangeError',
        ],
        [
          { group: 7 as unknown as string },
          /group must be a non-empty string of at most 256 characters, got 7/,
          'TypeError',
        ],
        [{ group: null as unknown as string }, /group must be .*, got null/, 'TypeError'],
        [
          { priority: 1.5 },
          /priority must be a whole number from -1000000 to 1000000, got 1\.5/,
          'RangeError',
        ],
        [{ priority: Number.NaN }, /priority must be .*, got NaN/, 'RangeError'],
        [{ priority: Number.POSITIVE_INFINITY }, /priority must be .*, got Infinity/, 'RangeError'],
        [{ priority: 1_000_001 }, /priority must be .*, got 1000001/, 'RangeError'],
        [{ priority: -1_000_001 }, /priority must be .*, got -1000001/, 'RangeError'],
        [
          { priority: '1' as unknown as number },
          /priority must be a whole number from -1000000 to 1000000, got "1"/,
          'TypeError',
        ],
      ];
      it('are refused at the call, naming the argument, what was expected and what was given; nothing is enqueued', async () => {
        const { store } = await setup();
        for (const [options, message, kind] of cases) {
          const error = await failure(() => store.enqueue('p', options));
          expect(error, JSON.stringify(options)).toBeInstanceOf(Error);
          expect((error as Error).name).toBe(kind);
          expect((error as Error).message).toMatch(/enqueue: /);
          expect((error as Error).message).toMatch(message);
        }
        expect(await store.stats()).toMatchObject({ enqueued: 0, visible: 0 });
        // at the limits: accepted
        await put(store, 'edge', { group: 'g'.repeat(256), priority: -1_000_000 });
      });
    });

    describe('properties', () => {
      it('random enqueues, receives, acks, nacks and expiries: per-group order and mutual exclusion, priority order, nothing lost or duplicated', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(commandArbitrary, { minLength: 1, maxLength: settings.commands ?? 40 }),
            async (commands) => {
              const { clock, store } = await setup({ maxAttempts: 3, visibilityTimeout: 100 });
              await runModel(store, clock, commands);
            },
          ),
          { numRuns: settings.runs ?? 60 },
        );
      });
    });
  });
}

type Command =
  | { readonly kind: 'enqueue'; readonly group: string | undefined; readonly priority: number }
  | { readonly kind: 'receive'; readonly max: number }
  | { readonly kind: 'ack' | 'nack'; readonly pick: number }
  | { readonly kind: 'expire' };

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('enqueue' as const),
      group: fc.option(fc.constantFrom('g0', 'g1', 'g2'), { nil: undefined }),
      priority: fc.integer({ min: -1, max: 1 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('receive' as const),
      max: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ack' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('nack' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const) }) },
);

interface ModelMessage {
  readonly id: string;
  readonly group: string | undefined;
  readonly priority: number;
  /** Enqueue order. */
  readonly seq: number;
  state: 'queued' | 'inFlight' | 'acked' | 'dead';
  attempts: number;
  receipt: string | undefined;
}

function check(condition: boolean, message: () => string): void {
  if (!condition) throw new Error(message());
}

/**
 * Runs `commands` against the store and a model of the rules, checking every delivery against
 * the model, then drains the store and checks that every message ended exactly once (acked or
 * dead). maxAttempts 3, visibility timeout 100, nacks without delay.
 */
async function runModel(
  store: QueueStore<string>,
  clock: ManualClock,
  commands: readonly Command[],
): Promise<void> {
  const MAX_ATTEMPTS = 3;
  const messages = new Map<string, ModelMessage>();
  /** Live members of each group, in order: the first is the head. */
  const groups = new Map<string, ModelMessage[]>();
  const held: ModelMessage[] = [];
  let seq = 0;
  let acks = 0;

  const isVisible = (m: ModelMessage) =>
    m.state === 'queued' && (m.group === undefined || groups.get(m.group)?.[0] === m);

  const leave = (m: ModelMessage, state: 'acked' | 'dead') => {
    m.state = state;
    m.receipt = undefined;
    if (m.group !== undefined) {
      const members = groups.get(m.group)!;
      check(members[0] === m, () => `${m.id} left its group ${m.group} but was not its head`);
      members.shift();
    }
  };

  /** A lease ended without an ack (nack or expiry): back at the head, or dead on the last attempt. */
  const fail = (m: ModelMessage) => {
    if (m.attempts >= MAX_ATTEMPTS) leave(m, 'dead');
    else {
      m.state = 'queued';
      m.receipt = undefined;
    }
  };

  const deliver = (d: Delivery<string>) => {
    const m = messages.get(d.id);
    check(m !== undefined, () => `delivered an unknown id ${d.id}`);
    const message = m!;
    check(isVisible(message), () => {
      const where =
        message.group === undefined
          ? ''
          : ` (group ${message.group}: ${groups
              .get(message.group)
              ?.map((x) => `${x.id}/${x.state}`)
              .join(',')})`;
      return `delivered ${d.id} in state ${message.state}, not visible${where}`;
    });
    const visible = [...messages.values()].filter(isVisible);
    const top = Math.max(...visible.map((x) => x.priority));
    check(
      message.priority === top,
      () => `delivered ${d.id} at priority ${message.priority} while ${top} was visible`,
    );
    if (message.group === undefined && message.attempts === 0) {
      const earlier = visible.find(
        (x) =>
          x.group === undefined &&
          x.attempts === 0 &&
          x.priority === message.priority &&
          x.seq < message.seq,
      );
      check(
        earlier === undefined,
        () => `delivered ${d.id} before ${earlier?.id}, enqueued earlier at the same priority`,
      );
    }
    message.attempts++;
    check(
      d.attempt === message.attempts,
      () => `${d.id}: attempt ${d.attempt}, expected ${message.attempts}`,
    );
    check(d.payload === d.id, () => `${d.id}: payload ${d.payload}`);
    message.state = 'inFlight';
    message.receipt = d.receipt;
    held.push(message);
  };

  const release = (pick: number): ModelMessage | undefined => {
    if (held.length === 0) return undefined;
    return held.splice(pick % held.length, 1)[0];
  };

  for (const command of commands) {
    switch (command.kind) {
      case 'enqueue': {
        const id = `m${seq}`;
        const m: ModelMessage = {
          id,
          group: command.group,
          priority: command.priority,
          seq: seq++,
          state: 'queued',
          attempts: 0,
          receipt: undefined,
        };
        const options: EnqueueOptions = { id, priority: command.priority };
        const result = await store.enqueue(
          id,
          command.group === undefined ? options : { ...options, group: command.group },
        );
        check(result.ok, () => `enqueue ${id} refused: ${JSON.stringify(result)}`);
        messages.set(id, m);
        if (m.group !== undefined) {
          const members = groups.get(m.group) ?? [];
          members.push(m);
          groups.set(m.group, members);
        }
        break;
      }
      case 'receive': {
        const batch = await store.receive({ max: command.max });
        const expected = Math.min(command.max, [...messages.values()].filter(isVisible).length);
        check(batch.length === expected, () => `received ${batch.length}, expected ${expected}`);
        for (const d of batch) deliver(d);
        break;
      }
      case 'ack': {
        const m = release(command.pick);
        if (m === undefined) break;
        const result = await store.ack(m.receipt!);
        check(result.ok, () => `ack ${m.id}: ${JSON.stringify(result)}`);
        leave(m, 'acked');
        acks++;
        break;
      }
      case 'nack': {
        const m = release(command.pick);
        if (m === undefined) break;
        const result = await store.nack(m.receipt!);
        const dead = m.attempts >= MAX_ATTEMPTS;
        check(
          result.ok && result.deadLettered === dead,
          () => `nack ${m.id} on attempt ${m.attempts}: ${JSON.stringify(result)}`,
        );
        fail(m);
        break;
      }
      case 'expire': {
        clock.advance(100);
        for (const m of held.splice(0)) fail(m);
        break;
      }
    }
    const stats = await store.stats();
    const count = (state: ModelMessage['state']) =>
      [...messages.values()].filter((m) => m.state === state).length;
    check(
      stats.inFlight === count('inFlight') &&
        stats.visible === count('queued') &&
        stats.delayed === 0,
      () =>
        `stats ${JSON.stringify(stats)}; model: ${count('queued')} queued, ${count('inFlight')} in flight`,
    );
    check(
      stats.acked === acks && stats.dead === count('dead'),
      () => `stats ${JSON.stringify(stats)}`,
    );
  }

  // Drain: every message ends exactly once, each group in order.
  clock.advance(100);
  for (const m of held.splice(0)) fail(m);
  for (let round = 0; round < 4 * messages.size + 4; round++) {
    const batch = await store.receive({ max: 3 });
    if (batch.length === 0) break;
    for (const d of batch) deliver(d);
    for (const m of held.splice(0)) {
      check((await store.ack(m.receipt!)).ok, () => `final ack of ${m.id}`);
      leave(m, 'acked');
      acks++;
    }
  }
  const unfinished = [...messages.values()].filter(
    (m) => m.state !== 'acked' && m.state !== 'dead',
  );
  check(unfinished.length === 0, () => `never delivered: ${unfinished.map((m) => m.id).join(',')}`);
  const dead = (await store.deadLetters()).map((l) => l.id).sort();
  const modelDead = [...messages.values()]
    .filter((m) => m.state === 'dead')
    .map((m) => m.id)
    .sort();
  check(
    JSON.stringify(dead) === JSON.stringify(modelDead),
    () => `dead ${dead} vs model ${modelDead}`,
  );
  const stats = await store.stats();
  check(
    stats.acked === acks &&
      stats.acked + stats.dead === messages.size &&
      stats.visible + stats.inFlight === 0,
    () => `final stats ${JSON.stringify(stats)}, ${messages.size} messages, ${acks} acks`,
  );
}
