/**
 * Message headers on every store: `describeHeaders(name, open)` runs on `MessageQueue`
 * (headersContract.spec.ts) and on `RedisQueue` (spec/redis/headersContract.spec.ts). Headers
 * given to `enqueue`/`send` come back on every delivery (retries, lease expiry, another
 * handle), on the dead letter, and after redrive; bad ones are refused before anything is
 * stored. Every call is awaited, so the synchronous store and the remote one are driven alike.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueueStore } from '../../src/queue/store.js';
import type { Delivery } from '../../src/queue/types.js';
import { ManualClock } from './manualClock.js';
import type { ContractOptions, OpenStore, StoreHarness } from './storeContract.js';

/** `send` is not part of `QueueStore`, but both stores have it. */
type SendingStore = QueueStore<string> & {
  send(payload: string, options?: { headers?: Readonly<Record<string, string>> }): Promise<unknown>;
};

const trace = {
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  tracestate: 'vendor=ünïcødé',
};

export function describeHeaders(name: string, open: OpenStore): void {
  describe(`message headers: ${name}`, () => {
    let harnesses: StoreHarness[] = [];
    afterEach(async () => {
      for (const harness of harnesses) await harness.dispose();
      harnesses = [];
    });

    async function setup(options: ContractOptions = {}) {
      const clock = new ManualClock();
      const harness = await open(clock, { visibilityTimeout: 100, ...options });
      harnesses.push(harness);
      return { clock, harness, store: harness.store as SendingStore };
    }

    async function take(store: QueueStore<string>): Promise<Delivery<string>> {
      const [delivery] = await store.receive();
      if (delivery === undefined) throw new Error('expected a visible message');
      return delivery;
    }

    it('hands the headers back on the delivery, as a frozen copy taken at enqueue', async () => {
      const { store } = await setup();
      const given: Record<string, string> = { ...trace };
      await store.enqueue('a', { headers: given });
      given.traceparent = 'changed after enqueue';
      const delivery = await take(store);
      expect(delivery.payload).toBe('a');
      expect(delivery.headers).toEqual(trace);
      expect(Object.isFrozen(delivery.headers)).toBe(true);
    });

    it('a message without headers, or with empty ones, has no headers field', async () => {
      const { store } = await setup();
      await store.enqueue('plain');
      await store.enqueue('empty', { headers: {} });
      const [plain, empty] = await store.receive({ max: 2 });
      expect(plain).not.toHaveProperty('headers');
      expect(empty).not.toHaveProperty('headers');
    });

    it('keeps names that look like object internals as plain headers', async () => {
      const { store } = await setup();
      const headers = JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, string>;
      await store.enqueue('a', { headers });
      const delivery = await take(store);
      expect(Object.keys(delivery.headers ?? {}).sort()).toEqual(['__proto__', 'constructor']);
      expect(Object.getPrototypeOf(delivery.headers)).toBe(Object.prototype);
    });

    it('keeps them through a nack, a lease that runs out, and on another handle', async () => {
      const { clock, harness, store } = await setup({ maxAttempts: 5 });
      await store.enqueue('a', { headers: trace });
      const first = await take(store);
      await store.nack(first.receipt);
      const second = await take(store);
      expect(second.attempt).toBe(2);
      expect(second.headers).toEqual(trace);
      clock.advance(100);
      const peer = await harness.peer();
      const third = await take(peer);
      expect(third.attempt).toBe(3);
      expect(third.headers).toEqual(trace);
    });

    it('keeps them on the dead letter and through redrive', async () => {
      const { store } = await setup({ maxAttempts: 1 });
      await store.enqueue('a', { id: 'poison', headers: trace });
      await store.enqueue('b', { id: 'plain' });
      for (const delivery of await store.receive({ max: 2 })) await store.nack(delivery.receipt);
      const letters = await store.deadLetters();
      expect(letters.map((l) => [l.id, l.headers])).toEqual([
        ['poison', trace],
        ['plain', undefined],
      ]);
      expect(letters[1]).not.toHaveProperty('headers');
      expect((await store.redrive(['poison'])).redriven).toEqual(['poison']);
      const again = await take(store);
      expect(again.id).toBe('poison');
      expect(again.headers).toEqual(trace);
    });

    it('any headers within the bound come back exactly (property)', async () => {
      const { store } = await setup();
      const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 20 });
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(name, fc.string({ unit: 'binary', maxLength: 40 })),
          async (headers) => {
            await store.enqueue('p', { headers });
            const delivery = await take(store);
            await store.ack(delivery.receipt);
            if (Object.keys(headers).length === 0) expect(delivery).not.toHaveProperty('headers');
            else expect(delivery.headers).toEqual(headers);
          },
        ),
        { numRuns: 40 },
      );
    });

    it('send takes headers as enqueue does', async () => {
      const { store } = await setup();
      await store.send('a', { headers: { tenant: 'acme' } });
      expect((await take(store)).headers).toEqual({ tenant: 'acme' });
    });

    it('refuses bad headers, naming them, before anything is stored', async () => {
      const { store } = await setup();
      const refuse = async (headers: unknown, error: RegExp, kind: ErrorConstructor) => {
        const call = async () => store.enqueue('x', { headers } as never);
        await expect(call()).rejects.toThrow(error);
        await expect(call()).rejects.toBeInstanceOf(kind);
        await expect((async () => store.send('x', { headers } as never))()).rejects.toBeInstanceOf(
          kind,
        );
      };
      await refuse(
        'a=b',
        /headers must be an object of string names to string values, got "a=b"/,
        TypeError,
      );
      await refuse(['a'], /headers must be an object .* got an array/, TypeError);
      await refuse(null, /headers must be an object .* got null/, TypeError);
      await refuse({ n: 1 }, /headers\["n"\] must be a string, got 1/, TypeError);
      await refuse({ '': 'v' }, /header names must be non-empty strings/, TypeError);
      await refuse(
        { big: 'é'.repeat(8192) },
        /headers must total at most 16384 bytes \(UTF-8 names and values\), got at least 16387/,
        RangeError,
      );
      expect((await store.stats()).enqueued).toBe(0);
      await store.enqueue('fits', { headers: { big: 'x'.repeat(16384 - 3) } });
      expect((await take(store)).headers?.big).toHaveLength(16381);
    });
  });
}
