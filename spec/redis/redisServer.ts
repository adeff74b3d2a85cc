/**
 * A private redis-server for a spec file: started on a free loopback port with persistence
 * off, stopped (and awaited) after the file's tests. When redis-server is not installed the
 * suite is skipped with a message, unless SLUICE_REQUIRE_REDIS=1 (set by .ci/run), which turns
 * the skip into a failing test.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { type RedisServer, redisServerPath, startRedisServer } from './redisProcess.js';

export { redisBenchmarkPath, redisServerPath } from './redisProcess.js';

const required = process.env.SLUICE_REQUIRE_REDIS === '1';

/** `describe` when redis-server is installed; otherwise a skip with a reason (or a failure in CI). */
export function describeRedis(name: string, body: () => void): void {
  if (redisServerPath !== undefined) {
    describe(name, body);
    return;
  }
  if (required) {
    describe(name, () => {
      it('needs redis-server', () => {
        throw new Error(
          'redis-server is not installed, and SLUICE_REQUIRE_REDIS=1 says these tests must run (apt-get install -y redis-server)',
        );
      });
    });
    return;
  }
  describe.skip(
    `${name} (skipped: redis-server is not installed; apt-get install -y redis-server)`,
    body,
  );
}

/** Anything with a `close()`: a queue handle, a broadcast sender, ... */
interface Closable {
  close(): Promise<unknown>;
}

/**
 * Closes, after each test of the suite that calls it, every handle given to `push`: the
 * handles a test opens on the private server, so that none is left polling into the next.
 */
export function closeAfterEach() {
  let opened: Closable[] = [];
  afterEach(async () => {
    for (const handle of opened) await handle.close();
    opened = [];
  });
  return {
    push(...handles: Closable[]): void {
      opened.push(...handles);
    },
  };
}

/**
 * Registers beforeAll/afterAll for a private server; `connect()` opens a client that is closed
 * after the file, `flush()` empties the server between tests.
 */
export function useRedisServer() {
  let server: RedisServer | undefined;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });
  const handle = {
    get url(): string {
      if (server === undefined) throw new Error('redis-server is not running');
      return server.url;
    },
    get port(): number {
      if (server === undefined) throw new Error('redis-server is not running');
      return server.port;
    },
    connect(): Redis {
      const client = new Redis(handle.url, { lazyConnect: false, maxRetriesPerRequest: 3 });
      clients.push(client);
      return client;
    },
    async flush(): Promise<void> {
      const client = handle.connect();
      await client.flushall();
    },
  };
  return handle;
}

/**
 * Waits until `check` holds, looking again every `every` ms, and fails after `timeout` ms.
 *
 * Only for what another process decides (redis-server, worker processes): fake timers and
 * virtual time cannot move them, so these tests poll a condition on the real clock. They never
 * assert how long anything took; the bound only stops a broken run.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  {
    timeout = 5_000,
    every = 10,
    what = 'the condition',
  }: { timeout?: number; every?: number; what?: string } = {},
): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
