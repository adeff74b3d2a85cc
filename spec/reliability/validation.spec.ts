import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  atLeastOnce,
  bounded,
  broadcast,
  dedupe,
  idempotent,
  MessageQueue,
  mpmc,
  mpsc,
  oneshot,
  shareBounded,
  toAsyncIterable,
  watch,
  workerPool,
} from '../../src/index.js';
import { redisBroadcast } from '../../src/redis/index.js';

/** Plain JavaScript callers: options typed loosely, as a JS file would pass them. */
const loose = (options: Record<string, unknown>): never => options as never;

describe('misspelled options are refused, with the nearest valid name', () => {
  it('MessageQueue and its calls', async () => {
    expect(() => new MessageQueue(loose({ visibilityTimout: 10 }))).toThrow(
      new TypeError(
        'MessageQueue: unknown option "visibilityTimout" (did you mean "visibilityTimeout"?)',
      ),
    );
    expect(() => new MessageQueue(loose({ deadLetter: { capacty: 1 } }))).toThrow(
      /deadLetter: unknown option "capacty" \(did you mean "capacity"\?\)/,
    );
    const queue = new MessageQueue<string>();
    expect(() => queue.enqueue('a', loose({ dealy: 5 }))).toThrow(/did you mean "delay"/);
    await expect(queue.receive(loose({ wiat: 5 }))).rejects.toThrow(/did you mean "wait"/);
    await expect(queue.send('a', loose({ singal: undefined }))).rejects.toThrow(
      /did you mean "signal"/,
    );
    expect(() => queue.consume(async () => {}, loose({ concurency: 2 }))).toThrow(
      /unknown option "concurency" \(did you mean "concurrency"\?\)/,
    );
    await expect(queue.close(loose({ grac: 1 }))).rejects.toThrow(/did you mean "grace"/);
    await queue.close();
  });

  it('channels and operators', () => {
    expect(() => mpsc(1, loose({ overflw: 'drop' }))).toThrow(/did you mean "overflow"/);
    expect(() => mpmc(1, loose({ onOverfow: () => {} }))).toThrow(/did you mean "onOverflow"/);
    expect(() => broadcast(1, loose({ lagg: 'skip' }))).toThrow(/did you mean "lag"/);
    expect(() => atLeastOnce(() => of(1), loose({ ackTimout: 5 }))).toThrow(
      /did you mean "ackTimeout"/,
    );
    expect(() => atLeastOnce(() => of(1), loose({ backoff: { intial: 5 } }))).toThrow(
      /did you mean "initial"/,
    );
    expect(() => dedupe(loose({ tll: 5 }))).toThrow(/did you mean "ttl"/);
    expect(() => idempotent(() => of(1), loose({ maxKey: 5 }))).toThrow(/did you mean "maxKeys"/);
    expect(() => workerPool(() => of(1), loose({ concurency: 2 }))).toThrow(
      new TypeError('workerPool: unknown option "concurency" (did you mean "concurrency"?)'),
    );
    expect(() => workerPool(() => of(1), loose({ orderd: true }))).toThrow(
      /did you mean "ordered"/,
    );
    expect(() => bounded(2, loose({ overfow: 'drop' }))).toThrow(/did you mean "overflow"/);
    expect(() => toAsyncIterable(of(1), loose({ capcity: 2 }))).toThrow(/did you mean "capacity"/);
    expect(() => shareBounded(2, loose({ resetOnRefcountZero: false }))).toThrow(
      /did you mean "resetOnRefCountZero"/,
    );
  });

  it('sluice/redis constructors', () => {
    expect(() => redisBroadcast(loose({ capacty: 4 }))).toThrow(
      new TypeError('redisBroadcast: unknown option "capacty" (did you mean "capacity"?)'),
    );
    expect(() => redisBroadcast(loose({ connection: {}, name: 'b', capacity: 4 }))).toThrow(
      /redisBroadcast: connection must be a Redis client/,
    );
  });

  it('a name close to none lists the valid ones', () => {
    expect(() => mpsc(1, loose({ somethingElse: 1 }))).toThrow(
      new TypeError('mpsc: unknown option "somethingElse" (valid: overflow, onOverflow)'),
    );
  });
});

describe('null is refused like any wrong type, never taken for the default', () => {
  it('MessageQueue capacity', () => {
    expect(() => new MessageQueue(loose({ capacity: null }))).toThrow(
      new TypeError('MessageQueue: capacity must be a whole number >= 1 or Infinity, got null'),
    );
  });

  it('workerPool capacity and concurrency, toAsyncIterable capacity', () => {
    expect(() => workerPool(() => of(1), loose({ capacity: null }))).toThrow(
      new TypeError('workerPool: capacity must be a whole number >= 1 or Infinity, got null'),
    );
    expect(() => workerPool(() => of(1), loose({ concurrency: null }))).toThrow(
      new TypeError('workerPool: concurrency must be a whole number >= 1 or Infinity, got null'),
    );
    expect(() => toAsyncIterable(of(1), loose({ capacity: null }))).toThrow(
      new TypeError('toAsyncIterable: capacity must be a whole number >= 1 or Infinity, got null'),
    );
  });
});

describe('Promise methods reject on bad arguments, never throw', () => {
  it('every channel kind', async () => {
    const bad = loose({ signal: 'x' });
    const [tx, rx] = mpsc<number>(1);
    await expect(tx.send(1, bad)).rejects.toThrow(TypeError);
    await expect(rx.recv(bad)).rejects.toThrow(TypeError);
    await expect(rx.recv(loose({ sgnal: 1 }))).rejects.toThrow(/did you mean "signal"/);
    const [, brx] = broadcast<number>(1);
    await expect(brx.recv(bad)).rejects.toThrow(TypeError);
    const [, orx] = oneshot<number>();
    await expect(orx.recv(bad)).rejects.toThrow(TypeError);
    const [, wrx] = watch(0);
    await expect(wrx.changed(bad)).rejects.toThrow(TypeError);
    await expect(wrx.recv(bad)).rejects.toThrow(TypeError);
  });
});
