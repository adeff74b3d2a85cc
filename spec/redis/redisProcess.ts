/**
 * Starts and stops a private redis-server (no test framework here, so bench/redis.bench.ts
 * uses it too): a free loopback port, persistence off, stopped and awaited by `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

export function which(command: string): string | undefined {
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

export function freePort(): Promise<number> {
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

/**
 * Starts redis-server and resolves once it says it accepts connections. `extra` are further
 * command-line settings, e.g. `['--requirepass', secret]`.
 */
export async function startRedisServer(extra: readonly string[] = []): Promise<RedisServer> {
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
        ...extra,
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
