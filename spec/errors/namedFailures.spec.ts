/**
 * Every failure sluice raises has a class a caller can test for: the failures that used to be
 * plain `Error`s, each where a caller meets it.
 */
import { asyncScheduler, EMPTY, firstValueFrom, NEVER, of, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  atLeastOnce,
  DeliveryFailedError,
  HandlerTimeoutError,
  idempotent,
  LeaseLostError,
  MessageQueue,
  NoAckError,
  NoResultError,
  UnsubscribedError,
} from 'sluice';
import { RedisCommandError } from 'sluice/redis';
import { describe, expect, it } from 'vitest';

const testScheduler = () =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('NoAckError', () => {
  it('is the error of an attempt that completed without an ack, retried like any failure', () => {
    const errors: unknown[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('a|').pipe(
        atLeastOnce((_m: string, { attempt }) => (attempt < 3 ? cold<string>('-|') : of('k')), {
          backoff: 1,
          onRetry: (event) => errors.push(event.error),
        }),
      );
      expectObservable(output).toBe('----(x|)', { x: { message: 'a', ack: 'k', attempts: 3 } });
    });
    expect(errors).toHaveLength(2);
    errors.forEach((error, i) => {
      expect(error).toBeInstanceOf(NoAckError);
      expect(error).toMatchObject({
        name: 'NoAckError',
        attempt: i + 1,
        message: `atLeastOnce: delivery completed without an ack (attempt ${i + 1})`,
      });
    });
  });

  it('is the cause of the DeliveryFailedError when it was the last attempt', async () => {
    const failure = await firstValueFrom(
      of('a').pipe(atLeastOnce(() => EMPTY, { maxAttempts: 1 })),
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeliveryFailedError);
    expect((failure as DeliveryFailedError).cause).toBeInstanceOf(NoAckError);
  });
});

describe('NoResultError', () => {
  it('is the error of the outcome of a handler that completed without a result', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const output = cold('a|').pipe(idempotent(() => cold<string>('--|')));
      expectObservable(output).toBe('--(x|)', {
        x: { message: 'a', ok: false, error: new NoResultError(), shared: false },
      });
    });
  });

  it('names itself, and leaves the key unremembered so a copy runs the handler again', async () => {
    let runs = 0;
    const outcomes = await firstValueFrom(
      of('a', 'a').pipe(
        idempotent(() => (++runs === 1 ? EMPTY : of('done'))),
        toArray(),
      ),
    );
    const [first, second] = outcomes;
    expect(first?.ok === false && first.error).toBeInstanceOf(NoResultError);
    expect(first?.ok === false && (first.error as Error).name).toBe('NoResultError');
    expect(second).toMatchObject({ ok: true, result: 'done', shared: false });
    expect(runs).toBe(2);
  });
});

describe('LeaseLostError', () => {
  it('aborts a handler whose keepAlive extension was refused, with the store reason', () => {
    testScheduler().run(({ expectObservable, flush }) => {
      const queue = new MessageQueue<string>({ visibilityTimeout: 100 });
      queue.enqueue('x');
      let receipt = '';
      let id = '';
      let reason: unknown;
      const outcomes = queue.consume(
        (message, { signal }) => {
          receipt = message.receipt;
          id = message.id;
          signal.addEventListener('abort', () => (reason = signal.reason));
          return NEVER;
        },
        { keepAlive: true },
      );
      // someone else acknowledges the delivery at frame 60; the heartbeat at 100 finds out
      asyncScheduler.schedule(() => queue.ack(receipt), 60);
      expectObservable(outcomes.pipe(take(1))).toBe(`${'-'.repeat(100)}(a|)`, {
        a: expect.objectContaining({ status: 'lost', reason: 'acked' }),
      });
      flush();
      expect(reason).toBeInstanceOf(LeaseLostError);
      expect(reason).toMatchObject({ name: 'LeaseLostError', messageId: id, reason: 'acked' });
      expect((reason as Error).message).toBe(`consume: the lease on message "${id}" was lost`);
    });
  });

  it("aborts a handler whose lease close() released, with reason 'released'", async () => {
    const queue = new MessageQueue<string>();
    queue.enqueue('x');
    let reason: unknown;
    const outcome = firstValueFrom(
      queue.consume((_message, { signal }) => {
        signal.addEventListener('abort', () => (reason = signal.reason));
        return NEVER;
      }),
    );
    await queue.close({ grace: 0 });
    expect(await outcome).toMatchObject({ status: 'lost', reason: 'released' });
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect(reason).toMatchObject({ reason: 'released' });
    expect((reason as Error).message).toMatch(/^consume: the queue closed and released the lease/);
  });
});

describe('UnsubscribedError', () => {
  it('aborts a running handler when its consumer is unsubscribed', () => {
    const queue = new MessageQueue<string>();
    queue.enqueue('x');
    let reason: unknown;
    const subscription = queue
      .consume((_message, { signal }) => {
        signal.addEventListener('abort', () => (reason = signal.reason));
        return NEVER;
      })
      .subscribe();
    expect(reason).toBeUndefined();
    subscription.unsubscribe();
    expect(reason).toBeInstanceOf(UnsubscribedError);
    expect(reason).toMatchObject({
      name: 'UnsubscribedError',
      where: 'consume',
      message: 'consume: unsubscribed',
    });
    expect(queue.stats()).toMatchObject({ visible: 1, inFlight: 0 });
  });
});

describe('HandlerTimeoutError', () => {
  it("is a consumer handler's failure past its timeout: the signal's reason and the nack's error", () => {
    testScheduler().run(({ flush }) => {
      const queue = new MessageQueue<string>({ maxAttempts: 1 });
      const { id } = queue.enqueue('slow') as { id: string };
      let reason: unknown;
      queue
        .consume(
          (_m, { signal }) => {
            signal.addEventListener('abort', () => (reason = signal.reason));
            return NEVER;
          },
          { timeout: 30 },
        )
        .subscribe();
      flush();
      expect(reason).toBeInstanceOf(HandlerTimeoutError);
      expect(reason).toMatchObject({ name: 'HandlerTimeoutError', messageId: id, timeout: 30 });
      expect(queue.deadLetters()[0]?.lastError).toBe(reason);
    });
  });

  it('names the consumer, the message when it has an id, and the limit', () => {
    expect(new HandlerTimeoutError('consumeAmqp', undefined, 5).message).toBe(
      'consumeAmqp: the handler did not finish within its timeout of 5 ms',
    );
    expect(new HandlerTimeoutError('consumeQueue', 'm-1', 5).message).toBe(
      'consumeQueue: the handler for message "m-1" did not finish within its timeout of 5 ms',
    );
  });
});

describe('RedisCommandError', () => {
  it('names the operation and keeps the client error as its cause', () => {
    const cause = new Error('Connection is closed.');
    const error = new RedisCommandError('RedisQueue.ack', cause);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'RedisCommandError', operation: 'RedisQueue.ack', cause });
    expect(error.message).toBe('RedisQueue.ack: the Redis call failed: Connection is closed.');
    expect(new RedisCommandError('redisBroadcast.send', 'ECONNRESET').message).toBe(
      'redisBroadcast.send: the Redis call failed: ECONNRESET',
    );
  });
});
