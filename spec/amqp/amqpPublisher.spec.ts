import amqplib from 'amqplib';
import { ChannelClosedError, ChannelFullError } from 'sluice';
import { AmqpPublisher, PublishFailedError, UnroutableError } from 'sluice/amqp';
import { describe as describePlain, expect, it } from 'vitest';
import { amqpUrl, describeAmqp, useAmqp } from './amqpServer.js';

describePlain('AmqpPublisher arguments', () => {
  const connection = {
    createChannel: () => Promise.reject(new Error('unused')),
    createConfirmChannel: () => Promise.reject(new Error('unused')),
  };
  it('names the bad option', () => {
    expect(
      () => new AmqpPublisher({ connection: null as never, exchange: '', routingKey: 'q' }),
    ).toThrow(/connection must be an amqplib connection, got null/);
    expect(() => new AmqpPublisher({ connection, exchange: 1 as never, routingKey: 'q' })).toThrow(
      /exchange must be a string/,
    );
    expect(() => new AmqpPublisher({ connection, exchange: '', routingKey: 2 as never })).toThrow(
      /routingKey must be a string or a function/,
    );
    expect(
      () => new AmqpPublisher({ connection, exchange: '', routingKey: 'q', maxUnconfirmed: 0 }),
    ).toThrow(/maxUnconfirmed/);
  });
  it('refuses a payload the serializer cannot encode, naming it, without publishing', async () => {
    let opened = 0;
    const counting = {
      ...connection,
      createConfirmChannel: () => {
        opened++;
        return connection.createConfirmChannel();
      },
    };
    const publisher = new AmqpPublisher<unknown>({
      connection: counting,
      exchange: '',
      routingKey: 'q',
    });
    await expect(publisher.send({ n: 1n })).rejects.toThrow(/"n" is a BigInt/);
    expect(opened).toBe(0);
    await publisher.close();
  });
  it('reports a channel that cannot be opened as PublishFailedError carrying the message', async () => {
    const publisher = new AmqpPublisher<string>({ connection, exchange: '', routingKey: 'q' });
    const error = await publisher.send('m').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishFailedError);
    expect((error as PublishFailedError<string>).value).toBe('m');
    expect((error as PublishFailedError<string>).reason).toBe('closed');
    expect(publisher.unconfirmed).toBe(0);
    await publisher.close();
    await expect(publisher.send('late')).rejects.toBeInstanceOf(ChannelClosedError);
  });
});

describeAmqp('AmqpPublisher on RabbitMQ', () => {
  const amqp = useAmqp();

  it('resolves send() on confirm, and the message is in the queue', async () => {
    const connection = await amqp.connect();
    const queue = amqp.name('q');
    const setup = await connection.createChannel();
    await setup.assertQueue(queue);
    const publisher = new AmqpPublisher<{ n: number }>({
      connection,
      exchange: '',
      routingKey: queue,
    });
    await Promise.all([1, 2, 3].map((n) => publisher.send({ n }, { headers: { h: n } })));
    await publisher.close();
    const got = await setup.get(queue, { noAck: true });
    if (got === false) throw new Error('the queue is empty');
    expect(JSON.parse(got.content.toString())).toEqual({ n: 1 });
    expect(got.properties.headers?.h).toBe(1);
    expect((await setup.checkQueue(queue)).messageCount).toBe(2);
  });

  it('routes by a function of the message', async () => {
    const connection = await amqp.connect();
    const [a, b] = [amqp.name('a'), amqp.name('b')];
    const setup = await connection.createChannel();
    await setup.assertQueue(a);
    await setup.assertQueue(b);
    const publisher = new AmqpPublisher<{ to: string }>({
      connection,
      exchange: '',
      routingKey: (m) => m.to,
    });
    await publisher.send({ to: a });
    await publisher.send({ to: b });
    await publisher.send({ to: b });
    await publisher.close();
    expect((await setup.checkQueue(a)).messageCount).toBe(1);
    expect((await setup.checkQueue(b)).messageCount).toBe(2);
  });

  it('rejects an unroutable mandatory message with UnroutableError carrying it', async () => {
    const connection = await amqp.connect();
    const exchange = amqp.name('x');
    const setup = await connection.createChannel();
    await setup.assertExchange(exchange, 'direct', { autoDelete: false });
    const publisher = new AmqpPublisher<string>({ connection, exchange, routingKey: 'nobody' });
    const error = await publisher.send('lost?').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnroutableError);
    expect((error as UnroutableError<string>).value).toBe('lost?');
    expect((error as UnroutableError<string>).replyText).toBe('NO_ROUTE');
    expect((error as UnroutableError<string>).name).toBe('UnroutableError');
    await publisher.close();
  });

  it('holds at most maxUnconfirmed in flight; a waiting send can be aborted without leaking its place', async () => {
    const connection = await amqp.connect();
    const queue = amqp.name('q');
    const setup = await connection.createChannel();
    await setup.assertQueue(queue);
    const publisher = new AmqpPublisher<number>({
      connection,
      exchange: '',
      routingKey: queue,
      maxUnconfirmed: 2,
    });
    let most = 0;
    const sends: Promise<void>[] = [];
    for (let n = 0; n < 50; n++) {
      sends.push(publisher.send(n));
      most = Math.max(most, publisher.unconfirmed);
    }
    // the third send onwards wait: synchronously, two places are taken
    expect(publisher.unconfirmed).toBe(2);
    const abort = new AbortController();
    const withdrawn = publisher.send(-1, { signal: abort.signal });
    abort.abort(new Error('changed my mind'));
    await expect(withdrawn).rejects.toThrow('changed my mind');
    await Promise.all(sends);
    expect(most).toBe(2);
    expect(publisher.unconfirmed).toBe(0);
    expect(() => {
      publisher.next(100);
      publisher.next(101);
      publisher.next(102);
    }).toThrow(ChannelFullError);
    await publisher.close();
    expect((await setup.checkQueue(queue)).messageCount).toBe(52);
  });

  it('as an Observer, reports a failure of a message given to next() to onFailure', async () => {
    const connection = await amqp.connect();
    const exchange = amqp.name('x');
    const setup = await connection.createChannel();
    await setup.assertExchange(exchange, 'topic');
    const failures: unknown[] = [];
    const publisher = new AmqpPublisher<string>({
      connection,
      exchange,
      routingKey: 'a.b',
      onFailure: (e) => failures.push(e),
    });
    publisher.next('nobody listens');
    await publisher.close();
    expect(failures).toHaveLength(1);
    expect((failures[0] as UnroutableError<string>).value).toBe('nobody listens');
  });

  it('rejects every unconfirmed send with PublishFailedError carrying its message when the connection is closed mid-publish', async () => {
    const connection = await amqplib.connect(amqpUrl);
    connection.on('error', () => {});
    const queue = amqp.name('q');
    const setup = await connection.createChannel();
    await setup.assertQueue(queue);
    const publisher = new AmqpPublisher<number>({
      connection,
      exchange: '',
      routingKey: queue,
      maxUnconfirmed: 1000,
    });
    const outcomes = Array.from({ length: 2000 }, (_, n) =>
      publisher.send(n).then(
        () => 'confirmed',
        (e: unknown) => e,
      ),
    );
    // once the first is confirmed, the rest are published or waiting: pull the connection out
    await outcomes[0];
    await connection.close();
    const settled = await Promise.all(outcomes);
    const failed = settled.filter((o) => o !== 'confirmed');
    for (const [i, o] of settled.entries()) {
      if (o === 'confirmed') continue;
      expect(o).toBeInstanceOf(PublishFailedError);
      expect((o as PublishFailedError<number>).value).toBe(i);
      expect((o as PublishFailedError<number>).reason).toBe('closed');
    }
    // every confirmed message is in the queue: a confirmation is never a loss
    const check = await (await amqp.connect()).createChannel();
    const inQueue = (await check.checkQueue(queue)).messageCount;
    expect(inQueue).toBeGreaterThanOrEqual(settled.length - failed.length);
    expect(failed.length).toBeGreaterThan(0);
    expect(publisher.unconfirmed).toBe(0);
    await publisher.close();
  });

  it('rejects sends nacked by the broker with PublishFailedError (a full queue that rejects publishes)', async () => {
    const connection = await amqp.connect();
    const queue = amqp.name('q');
    const setup = await connection.createChannel();
    await setup.assertQueue(queue, {
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
    });
    const publisher = new AmqpPublisher<string>({ connection, exchange: '', routingKey: queue });
    await publisher.send('first');
    const error = await publisher.send('second').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishFailedError);
    expect((error as PublishFailedError<string>).reason).toBe('nacked');
    expect((error as PublishFailedError<string>).value).toBe('second');
    await publisher.close();
  });

  it('reopens its channel after the broker closed it, when the connection still stands', async () => {
    const connection = await amqp.connect();
    const queue = amqp.name('q');
    const setup = await connection.createChannel();
    await setup.assertQueue(queue);
    const missing = new AmqpPublisher<string>({
      connection,
      exchange: amqp.name('missing'),
      routingKey: 'k',
    });
    const error = await missing.send('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishFailedError);
    await missing.close();
    const publisher = new AmqpPublisher<string>({ connection, exchange: '', routingKey: queue });
    await publisher.send('ok');
    await publisher.close();
  });
});
