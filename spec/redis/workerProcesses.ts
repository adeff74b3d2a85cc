/**
 * Worker processes for the Redis multi-process specs: `start(script, args)` runs
 * `spec/redis/<script>` under tsx and resolves once it prints "ready"; every worker still
 * running after a test is killed (SIGKILL) and awaited.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));

export function useWorkerProcesses(): {
  start(script: string, args: readonly string[]): Promise<ChildProcess>;
} {
  const workers: ChildProcess[] = [];
  afterEach(async () => {
    for (const worker of workers) {
      if (worker.exitCode === null && worker.signalCode === null) {
        worker.kill('SIGKILL');
        await once(worker, 'exit');
      }
    }
    workers.length = 0;
  });
  return {
    start(script, args) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(here, script), ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
        cwd: join(here, '..', '..'),
      });
      workers.push(child);
      return new Promise((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('ready')) resolve(child);
        });
        child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
      });
    },
  };
}
