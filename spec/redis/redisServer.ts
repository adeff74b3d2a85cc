/**
 * A private redis-server for a spec file: started on a free loopback port with persistence
 * off, stopped (and awaited) after the file's tests. When redis-server is not installed the
 * suite is skipped with a message, unless SLUICE_REQUIRE_REDIS=1 (set by .ci/run), which turns
 * the skip into a failing test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, it } from 'vitest';

function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, command);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const redisServerPath = which('redis-server');
export const redisBenchmarkPath = which('redis-benchmark');
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts redis-server and resolves once it says it accepts connections. */
export async function startRedisServer(): Promise<RedisServer> {
  if (redisServerPath === undefined) throw new Error('redis-server is not installed');
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(
      redisServerPath,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--loglevel',
        'notice',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        let log = '';
        const onData = (chunk: Buffer) => {
          log += chunk.toString();
          if (log.includes('Ready to accept connections')) {
            child.stdout?.off('data', onData);
            resolve();
          }
        };
        child.stdout?.on('data', onData);
        child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${log}`)));
        child.once('error', reject);
      });
      child.stdout?.resume();
      child.stderr?.resume();
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        process: child,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
    } catch (error) {
      lastError = error;
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    }
  }
  throw lastError;
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
