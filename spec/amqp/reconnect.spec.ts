/**
 * consumeAmqp's opt-in `reconnect`: the back-off on the injected scheduler and its bound
 * (no server: a connection whose channels fail), its option checks, and, on the real broker, a
 * connection closed by `rabbitmqctl close_connection` mid-consume with every message still
 * handled and acked, and the stream going on rather than erroring.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { lastValueFrom, tap, VirtualTimeScheduler } from 'rxjs';
import { type AmqpConnection, AmqpPublisher, ChannelLostError, consumeAmqp } from 'sluice/amqp';
import { describe, expect, it } from 'vitest';
import { amqpUrl, describeAmqp, useAmqp, waitFor } from './amqpServer.js';

/** A connection whose channels cannot be opened: every consumer on it fails at once. */
const broken = (): AmqpConnection => ({
  createChannel: () => Promise.reject(new Error('connection closed')),
  createConfirmChannel: () => Promise.reject(new Error('connection closed')),
});

/** Lets promise callbacks run (no timers involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('consumeAmqp reconnect, without a server', () => {
  it('waits 100, 200, then 300 ms (doubling, capped at maxDelay) between tries, then errors with the last error', async () => {
    const scheduler = new VirtualTimeScheduler();
    const tries: number[] = [];
    let error: unknown;
    consumeAmqp({ connection: broken(), queue: 'q' }, () => undefined, {
      scheduler,
      reconnect: {
        connect: async () => {
          tries.push(scheduler.now());
          return broken();
        },
        maxAttempts: 4,
        initialDelay: 100,
        maxDelay: 300,
      },
    }).subscribe({ error: (e: unknown) => (error = e) });
    for (let i = 0; i < 6; i++) {
      await settle();
      scheduler.flush();
    }
    expect(tries).toEqual([100, 300, 600, 900]);
    expect(error).toBeInstanceOf(ChannelLostError);
  });

  it('counts a failed connect as a try, and stops trying once unsubscribed', async () => {
    const scheduler = new VirtualTimeScheduler();
    let calls = 0;
    const sub = consumeAmqp({ connection: broken(), queue: 'q' }, () => undefined, {
      scheduler,
      reconnect: {
        connect: () => {
          calls++;
          return Promise.reject(new Error('refused'));
        },
        maxAttempts: 2,
      },
    }).subscribe({ error: () => {} });
    await settle();
    scheduler.flush();
    await settle();
    expect(calls).toBe(1);
    sub.unsubscribe();
    scheduler.flush();
    await settle();
    expect(calls).toBe(1);
  });

  it('names a bad reconnect option', () => {
    const source = { connection: broken(), queue: 'q' };
    expect(() => consumeAmqp(source, () => undefined, { reconnect: {} as never })).toThrow(
      /consumeAmqp: reconnect\.connect must be a function/,
    );
    expect(() =>
      consumeAmqp(source, () => undefined, {
        reconnect: { connect: async () => broken(), maxAttempts: 0 },
      }),
    ).toThrow(/reconnect\.maxAttempts must be a whole number >= 1, got 0/);
    expect(() =>
      consumeAmqp(source, () => undefined, {
        reconnect: { connect: async () => broken(), maxDelai: 5 } as never,
      }),
    ).toThrow(/unknown option "maxDelai" \(did you mean "maxDelay"\?\)/);
  });
});

describeAmqp('consumeAmqp reconnect on RabbitMQ', () => {
  const amqp = useAmqp();
  const run = promisify(execFile);

  it('goes on after the broker closes its connection; every message is handled and acked', async () => {
    const name = `sluice-reconnect-${process.pid}-${Date.now()}`;
    const connect = async () => {
      const connection = await amqplib.connect(amqpUrl, {
        clientProperties: { connection_name: name },
      });
      connection.on('error', () => {});
      return connection;
    };
    const first = await connect();
    const other = await amqp.connect();
    const queue = amqp.name('q');
    const setup = await other.createChannel();
    await setup.assertQueue(queue);
    const total = 40;
    const publisher = new AmqpPublisher<number>({
      connection: other,
      exchange: '',
      routingKey: queue,
    });
    await Promise.all(Array.from({ length: total }, (_, i) => publisher.send(i)));
    await publisher.close();

    const acked = new Set<number>();
    let closed = false;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const drain = new AbortController();
    const opened: amqplib.ChannelModel[] = [];
    const done = lastValueFrom(
      consumeAmqp<number>(
        { connection: first, queue, prefetch: 4 },
        async () => {
          if (acked.size >= 10 && !closed) await gate; // busy when the connection goes
        },
        {
          concurrency: 2,
          drain: drain.signal,
          reconnect: {
            connect: async () => {
              const connection = await connect();
              opened.push(connection);
              return connection;
            },
            initialDelay: 10,
          },
        },
      ).pipe(tap((o) => o.status === 'acked' && acked.add(o.message.payload))),
      { defaultValue: undefined },
    );
    await waitFor(() => acked.size >= 10, { what: 'ten messages acked' });
    const { stdout } = await run('rabbitmqctl', [
      '-q',
      'list_connections',
      'pid',
      'client_properties',
    ]);
    const pid = stdout
      .split('\n')
      .find((line) => line.includes(name))
      ?.split('\t')[0];
    if (pid === undefined) throw new Error(`connection ${name} not listed`);
    await run('rabbitmqctl', ['-q', 'close_connection', pid, 'test: closed by the broker']);
    closed = true;
    release();
    await waitFor(() => acked.size === total, { timeout: 20_000, what: 'every message acked' });
    expect(opened.length).toBeGreaterThanOrEqual(1);
    drain.abort();
    await done; // completes: the lost channel was not an error
    await waitFor(async () => (await setup.checkQueue(queue)).consumerCount === 0, {
      what: 'the consumer to be gone',
    });
    expect((await setup.checkQueue(queue)).messageCount).toBe(0);
    await waitFor(
      async () => {
        const listed = await run('rabbitmqctl', ['-q', 'list_connections', 'client_properties']);
        return !listed.stdout.includes(name);
      },
      { what: 'the connection the consumer opened to be closed' },
    );
  }, 60_000);
});
