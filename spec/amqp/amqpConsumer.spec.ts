import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqplib, { type ChannelModel } from 'amqplib';
import { lastValueFrom, type Subscription, take, tap, toArray } from 'rxjs';
import { HandlerTimeoutError, workerPool } from 'sluice';
import {
  type AmqpConsumeOutcome,
  type AmqpDelivery,
  AmqpPublisher,
  amqpReceiver,
  amqpTopology,
  ChannelLostError,
  consumeAmqp,
} from 'sluice/amqp';
import { describe as describePlain, expect, it } from 'vitest';
import { amqpUrl, describeAmqp, useAmqp, waitFor } from './amqpServer.js';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describePlain('amqpReceiver and consumeAmqp arguments', () => {
  const connection = {
    createChannel: () => Promise.reject(new Error('unused')),
    createConfirmChannel: () => Promise.reject(new Error('unused')),
  };
  it('names the bad option', () => {
    expect(() => amqpReceiver({ connection, queue: '' })).toThrow(
      /queue must be a non-empty string/,
    );
    expect(() => amqpReceiver({ connection, queue: 'q', prefetch: 0 })).toThrow(/prefetch/);
    expect(() => amqpReceiver({ connection, queue: 'q', prefetch: 70_000 })).toThrow(
      /prefetch must be at most 65535/,
    );
    expect(() =>
      amqpReceiver({ connection, queue: 'q', deadLetter: { exchange: 1 } as never }),
    ).toThrow(/deadLetter must be \{ exchange, routingKey \}/);
    expect(() => consumeAmqp({ connection, queue: 'q' }, 'no' as never)).toThrow(/handler/);
    expect(() => consumeAmqp({ connection, queue: 'q' }, () => {}, { maxAttempts: 0 })).toThrow(
      /maxAttempts/,
    );
    const { signal } = new AbortController();
    expect(() =>
      consumeAmqp({ connection, queue: 'q' }, () => {}, { drain: signal, signal }),
    ).toThrow(
      'consumeAmqp: drain and signal (its deprecated alias) are the same option, pass only drain, got both',
    );
    expect(() => consumeAmqp({ connection, queue: 'q' }, () => {}, { drain: {} as never })).toThrow(
      'consumeAmqp: drain must be an AbortSignal',
    );
  });
  it('errors with ChannelLostError when no channel can be opened', async () => {
    const error = await lastValueFrom(amqpReceiver({ connection, queue: 'q' })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ChannelLostError);
    expect((error as ChannelLostError).queue).toBe('q');
  });
});

async function publishAll<T>(connection: ChannelModel, queue: string, values: readonly T[]) {
  const publisher = new AmqpPublisher<T>({ connection, exchange: '', routingKey: queue });
  await Promise.all(values.map((v) => publisher.send(v)));
  await publisher.close();
}

describeAmqp('amqpReceiver on RabbitMQ', () => {
  const amqp = useAmqp();

  it('delivers payload, headers, routing key and counts; nack requeues, ack removes', async () => {
    const connection = await amqp.connect();
    const topology = await amqpTopology(connection, { queue: amqp.name('q') });
    amqp.track(topology.deadLetterQueue, topology.deadLetter.exchange);
    const publisher = new AmqpPublisher<{ n: number }>({ connection, ...topology.publishTo });
    await publisher.send({ n: 1 }, { headers: { tenant: 'a' }, messageId: 'm-1' });
    await publisher.close();

    const seen: AmqpDelivery<{ n: number }>[] = [];
    await lastValueFrom(
      amqpReceiver<{ n: number }>({ connection, queue: topology.queue }).pipe(
        take(2),
        tap((d) => {
          seen.push(d);
          if (seen.length === 1) expect(d.nack()).toBe(true);
          else expect(d.ack()).toBe(true);
        }),
      ),
    );
    const [first, second] = seen;
    expect(first?.payload).toEqual({ n: 1 });
    expect(first?.headers.tenant).toBe('a');
    expect(first?.routingKey).toBe(topology.queue);
    expect(first?.exchange).toBe('');
    expect(first?.messageId).toBe('m-1');
    expect(first?.redelivered).toBe(false);
    expect(first?.attempt).toBe(1);
    expect(second?.redelivered).toBe(true);
    expect(second?.deliveryCount).toBe(1);
    expect(second?.attempt).toBe(2);
    // settled already: a second ack is refused
    expect(second?.ack()).toBe(false);
    const check = await connection.createChannel();
    await waitFor(async () => (await check.checkQueue(topology.queue)).messageCount === 0);
  });

  it('never holds more than prefetch unacked behind a slow pool, and hands on one per free worker', async () => {
    const connection = await amqp.connect();
    const queue = amqp.name('q');
    const setup = await connection.createChannel();
    await setup.assertQueue(queue);
    const total = 40;
    const prefetch = 5;
    const concurrency = 2;
    await publishAll(
      connection,
      queue,
      Array.from({ length: total }, (_, i) => i),
    );
    let acked = 0;
    let running = 0;
    let mostRunning = 0;
    let mostUnacked = 0;
    const done = await lastValueFrom(
      amqpReceiver<number>({ connection, queue, prefetch }).pipe(
        workerPool(
          async (delivery) => {
            running++;
            mostRunning = Math.max(mostRunning, running);
            // what the broker has handed out and not had acked: everything not ready nor acked
            const ready = (await setup.checkQueue(queue)).messageCount;
            mostUnacked = Math.max(mostUnacked, total - acked - ready);
            running--;
            delivery.ack();
            acked++;
            return delivery.payload;
          },
          { concurrency },
        ),
        take(total),
        toArray(),
      ),
    );
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(mostRunning).toBeLessThanOrEqual(concurrency);
    expect(mostUnacked).toBeLessThanOrEqual(prefetch);
    expect(mostUnacked).toBeGreaterThan(0);
  });

  it('dead-letters a body that cannot be decoded, with the reason, and goes on', async () => {
    const connection = await amqp.connect();
    const topology = await amqpTopology(connection, { queue: amqp.name('q') });
    amqp.track(topology.deadLetterQueue, topology.deadLetter.exchange);
    const raw = await connection.createChannel();
    raw.sendToQueue(topology.queue, Buffer.from('{not json'));
    raw.sendToQueue(topology.queue, Buffer.from('"fine"'));
    const first = await lastValueFrom(
      amqpReceiver<string>({
        connection,
        queue: topology.queue,
        deadLetter: topology.deadLetter,
      }).pipe(
        take(1),
        tap((d) => d.ack()),
      ),
    );
    expect(first.payload).toBe('fine');
    await waitFor(async () => (await raw.checkQueue(topology.deadLetterQueue)).messageCount === 1);
    const dead = await raw.get(topology.deadLetterQueue, { noAck: true });
    if (dead === false) throw new Error('no dead letter');
    expect(dead.content.toString()).toBe('{not json');
    expect(String(dead.properties.headers?.['x-sluice-reason'])).toMatch(
      /the body could not be decoded by the serializer \(SyntaxError/,
    );
    expect(dead.properties.headers?.['x-sluice-queue']).toBe(topology.queue);
  });

  it('errors with ChannelLostError when the broker closes the connection while consuming; nothing is lost', async () => {
    const name = `sluice-test-close-${process.pid}-${Date.now()}`;
    const connection = await amqplib.connect(amqpUrl, {
      clientProperties: { connection_name: name },
    });
    connection.on('error', () => {});
    const other = await amqp.connect();
    const queue = amqp.name('q');
    const setup = await other.createChannel();
    await setup.assertQueue(queue);
    const total = 30;
    await publishAll(
      other,
      queue,
      Array.from({ length: total }, (_, i) => i),
    );
    const acked = new Set<number>();
    const firstTen = deferred();
    const failed = deferred<unknown>();
    const unstick = deferred();
    const sub: Subscription = amqpReceiver<number>({ connection, queue, prefetch: 4 })
      .pipe(
        workerPool(
          async (d) => {
            if (acked.size >= 10) return unstick.promise; // busy in its handler
            d.ack();
            acked.add(d.payload);
            if (acked.size === 10) firstTen.resolve();
          },
          { concurrency: 2 },
        ),
      )
      .subscribe({ error: (e) => failed.resolve(e) });
    await firstTen.promise;
    const rabbitmqctl = promisify(execFile);
    const { stdout } = await rabbitmqctl('rabbitmqctl', [
      '-q',
      'list_connections',
      'pid',
      'client_properties',
    ]);
    const listed = stdout.split('\n').find((line) => line.includes(name));
    const pid = listed?.split('\t')[0];
    if (pid === undefined) throw new Error(`connection ${name} not listed`);
    await rabbitmqctl('rabbitmqctl', ['-q', 'close_connection', pid, 'test: closed by the broker']);
    // the pool lets the handlers it had taken finish (their deliveries can no longer be acked),
    // then fails with the source's error
    unstick.resolve();
    const error = await failed.promise;
    expect(error).toBeInstanceOf(ChannelLostError);
    sub.unsubscribe();
    // every message not acked is back in the queue (an ack in flight when the connection was
    // closed may be lost with it: that message is back too, and delivered again)
    let back = 0;
    await waitFor(
      async () => {
        back = (await setup.checkQueue(queue)).messageCount;
        return back + acked.size >= total;
      },
      { what: 'the unacked messages to return to the queue' },
    );
    const rest = await lastValueFrom(
      amqpReceiver<number>({ connection: other, queue }).pipe(
        take(back),
        tap((d) => d.ack()),
        toArray(),
      ),
    );
    const all = new Set([...acked, ...rest.map((d) => d.payload)]);
    expect(all.size).toBe(total);
  });
});

describeAmqp('consumeAmqp on RabbitMQ', () => {
  const amqp = useAmqp();

  it('retries with the broker count and dead-letters on the last attempt with the reason; redrive puts it back', async () => {
    const connection = await amqp.connect();
    const topology = await amqpTopology(connection, { queue: amqp.name('q'), maxAttempts: 3 });
    amqp.track(topology.deadLetterQueue, topology.deadLetter.exchange);
    await publishAll(connection, topology.queue, ['ok', 'poison']);
    const outcomes: AmqpConsumeOutcome<string>[] = [];
    const attempts: number[] = [];
    const drain = new AbortController();
    await lastValueFrom(
      consumeAmqp<string>(
        { connection, queue: topology.queue, deadLetter: topology.deadLetter },
        (d) => {
          if (d.payload !== 'poison') return;
          attempts.push(d.attempt);
          throw new Error('cannot handle poison');
        },
        { maxAttempts: 3, drain: drain.signal },
      ).pipe(
        tap((o) => {
          outcomes.push(o);
          if (outcomes.length === 4) drain.abort();
        }),
      ),
    );
    expect(attempts).toEqual([1, 2, 3]);
    expect(outcomes.map((o) => `${o.message.payload}:${o.status}`).sort()).toEqual([
      'ok:acked',
      'poison:dead-lettered',
      'poison:requeued',
      'poison:requeued',
    ]);
    const check = await connection.createChannel();
    await waitFor(
      async () => (await check.checkQueue(topology.deadLetterQueue)).messageCount === 1,
    );
    const dead = await check.get(topology.deadLetterQueue, { noAck: false });
    if (dead === false) throw new Error('no dead letter');
    expect(String(dead.properties.headers?.['x-sluice-reason'])).toBe(
      'failed on attempt 3 of 3: Error: cannot handle poison',
    );
    expect(dead.properties.headers?.['x-sluice-attempts']).toBe(3);
    check.nack(dead, false, true);
    await check.close();

    expect(await topology.redrive()).toEqual({ moved: 1 });
    const again = await lastValueFrom(
      amqpReceiver<string>({ connection, queue: topology.queue }).pipe(
        take(1),
        tap((d) => d.ack()),
      ),
    );
    expect(again.payload).toBe('poison');
    expect(again.attempt).toBe(1);
    expect(again.headers['x-sluice-reason']).toBeUndefined();
  });

  it('the broker dead-letters a message whose consumer dies on every attempt (delivery limit)', async () => {
    const connection = await amqp.connect();
    const topology = await amqpTopology(connection, { queue: amqp.name('q'), maxAttempts: 2 });
    amqp.track(topology.deadLetterQueue, topology.deadLetter.exchange);
    await publishAll(connection, topology.queue, ['crash']);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const dying = await amqplib.connect(amqpUrl);
      const got = deferred<number>();
      const sub = amqpReceiver<string>({ connection: dying, queue: topology.queue }).subscribe(
        (d) => got.resolve(d.attempt),
      );
      expect(await got.promise).toBe(attempt);
      sub.unsubscribe();
      await dying.close(); // the consumer "crashes" holding the message
    }
    const check = await connection.createChannel();
    await waitFor(
      async () => (await check.checkQueue(topology.deadLetterQueue)).messageCount === 1,
    );
    const dead = await check.get(topology.deadLetterQueue, { noAck: true });
    if (dead === false) throw new Error('no dead letter');
    expect(dead.properties.headers?.['x-first-death-reason']).toBe('delivery_limit');
  });

  it('drains on drain: stops taking, finishes and acks what it took, then completes', async () => {
    const connection = await amqp.connect();
    const topology = await amqpTopology(connection, { queue: amqp.name('q') });
    amqp.track(topology.deadLetterQueue, topology.deadLetter.exchange);
    await publishAll(
      connection,
      topology.queue,
      Array.from({ length: 20 }, (_, i) => i),
    );
    const drain = new AbortController();
    const started = deferred();
    const release = deferred();
    let running = 0;
    const outcomes = lastValueFrom(
      consumeAmqp<number>(
        { connection, queue: topology.queue, prefetch: 10 },
        async () => {
          if (++running === 3) started.resolve();
          await release.promise;
        },
        { concurrency: 3, drain: drain.signal },
      ).pipe(toArray()),
    );
    await started.promise;
    drain.abort();
    release.resolve();
    const done = await outcomes;
    expect(done.map((o) => o.status)).toEqual(['acked', 'acked', 'acked']);
    const check = await connection.createChannel();
    await waitFor(async () => (await check.checkQueue(topology.queue)).messageCount === 17, {
      what: 'the prefetched, unstarted messages to return',
    });
  });

  it('signal, the deprecated alias of drain, still drains', async () => {
    const connection = await amqp.connect();
    const topology = await amqpTopology(connection, { queue: amqp.name('q') });
    amqp.track(topology.deadLetterQueue, topology.deadLetter.exchange);
    await publishAll(connection, topology.queue, [1, 2, 3]);
    const drain = new AbortController();
    const started = deferred();
    const release = deferred();
    const outcomes = lastValueFrom(
      consumeAmqp<number>(
        { connection, queue: topology.queue, prefetch: 10 },
        async () => {
          started.resolve();
          await release.promise;
        },
        { signal: drain.signal },
      ).pipe(toArray()),
    );
    await started.promise;
    drain.abort();
    release.resolve();
    expect((await outcomes).map((o) => o.status)).toEqual(['acked']);
  });

  it("gives the handler its worker's id and a signal that unsubscribing aborts", async () => {
    const connection = await amqp.connect();
    const queue = amqp.name('q');
    const setup = await connection.createChannel();
    await setup.assertQueue(queue);
    await publishAll(connection, queue, [1, 2, 3, 4, 5]);
    const ids = new Set<number>();
    const signals: AbortSignal[] = [];
    const outcomes = await lastValueFrom(
      consumeAmqp<number>(
        { connection, queue },
        (delivery, context) => {
          ids.add(context.workerId);
          if (delivery.payload === 1) {
            signals.push(context.signal);
            return new Promise<void>(() => {}); // never settles: the unsubscribe ends it
          }
          return undefined;
        },
        { concurrency: 2 },
      ).pipe(take(4), toArray()),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['acked', 'acked', 'acked', 'acked']);
    expect([...ids].every((id) => id === 0 || id === 1)).toBe(true);
    await waitFor(() => signals.length === 1 && signals[0]?.aborted === true, {
      what: 'the running handler to be aborted by the unsubscribe',
    });
    await waitFor(async () => (await setup.checkQueue(queue)).messageCount === 1, {
      what: 'the unsettled message to be requeued',
    });
  });

  it('times a handler out: its signal aborts and it counts as a failure', async () => {
    const connection = await amqp.connect();
    const topology = await amqpTopology(connection, { queue: amqp.name('q'), maxAttempts: 1 });
    amqp.track(topology.deadLetterQueue, topology.deadLetter.exchange);
    await publishAll(connection, topology.queue, ['slow']);
    let aborted: unknown;
    const outcome = await lastValueFrom(
      consumeAmqp<string>(
        { connection, queue: topology.queue, deadLetter: topology.deadLetter },
        (_d, { signal }) =>
          new Promise<void>((resolve) => {
            signal.addEventListener('abort', () => {
              aborted = signal.reason;
              resolve();
            });
          }),
        { timeout: 20, maxAttempts: 1 },
      ).pipe(take(1)),
    );
    expect(outcome.status).toBe('dead-lettered');
    expect(aborted).toBeInstanceOf(HandlerTimeoutError);
    expect(aborted).toMatchObject({ name: 'HandlerTimeoutError', timeout: 20 });
    const check = await connection.createChannel();
    await waitFor(
      async () => (await check.checkQueue(topology.deadLetterQueue)).messageCount === 1,
    );
    const dead = await check.get(topology.deadLetterQueue, { noAck: true });
    expect(dead && String(dead.properties.headers?.['x-sluice-reason'])).toMatch(
      /HandlerTimeoutError/,
    );
  });
});
