/**
 * The dead letters of a `RedisQueue` (internal to `sluice/redis`): reading, redriving and
 * purging them in bounded script calls, tailing them as they happen, and reporting evictions.
 * @module
 */
import { Observable, share, takeUntil } from 'rxjs';
import type { QueueDeadLetter, RedriveResult } from 'sluice';
import { checkIdList } from '../queue/queueFamily.js';
import {
  type DeadLetterAccess,
  purgeInPages,
  readDeadLetters,
  redriveInPages,
} from './deadLetterPages.js';
import { tailDeadLetters } from './deadLetterTail.js';
import { limit, NAME, type RedisQueueConfig } from './redisQueueConfig.js';
import { deadLetterOf, type Fields } from './replies.js';
import type { ScriptRunner } from './scriptRunner.js';

/** What the dead letters need from their queue handle. */
export interface RedisDeadLettersHost<T> {
  readonly config: RedisQueueConfig<T>;
  readonly runner: ScriptRunner;
  /** True once the handle's close finished. */
  finalized(): boolean;
  /** Emits when the handle's close finished. */
  readonly finished: Observable<void>;
}

/** One handle's view of the queue's dead letters. */
export class RedisDeadLetters<T> {
  /** Dead letters of the whole queue as they happen (hot); completes when the close finishes. */
  readonly live: Observable<QueueDeadLetter<T>>;
  private readonly config: RedisQueueConfig<T>;
  private readonly runner: ScriptRunner;

  constructor(host: RedisDeadLettersHost<T>) {
    const config = host.config;
    const runner = host.runner;
    this.config = config;
    this.runner = runner;
    this.live = new Observable<QueueDeadLetter<T>>((subscriber) =>
      tailDeadLetters(
        {
          name: NAME,
          connection: config.connection,
          deadKey: config.keys.dead,
          blockTime: config.blockTime,
          finalized: () => host.finalized(),
          command: (where, command, args) => runner.command(where, command, args),
          letter: (fields) => this.letter(fields),
          failure: (where, error) => runner.failure(where, error),
        },
        subscriber,
      ),
    ).pipe(takeUntil(host.finished), share());
  }

  /** A dead letter from its stored fields. */
  letter(flat: Fields): QueueDeadLetter<T> {
    return deadLetterOf(flat, this.config.serializer);
  }

  /** Reports dead letters evicted by a script to `onEvict`. */
  evicted(evicted: Fields[]): void {
    const onEvict = this.config.onEvict;
    if (onEvict === undefined) return;
    for (const fields of evicted) onEvict(this.letter(fields));
  }

  /** Every dead letter kept, oldest first (due expiries are processed first). */
  async list(): Promise<QueueDeadLetter<T>[]> {
    const where = `${NAME}.deadLetters`;
    await this.runner.run(where, 'stats', []);
    const entries = await readDeadLetters(this.access(), where);
    return entries.map(([, fields]) => this.letter(fields));
  }

  /** `RedisQueue.redrive`, in bounded script calls (deadLetterPages.ts). */
  async redrive(ids?: Iterable<string>): Promise<RedriveResult> {
    const where = `${NAME}.redrive`;
    const list = checkIdList(where, ids);
    const capacity = limit(this.config.capacity);
    const reply = await redriveInPages(this.access(), where, capacity, list);
    const skipped = reply.skipped.map(([id, reason]) => ({
      id,
      reason: reason as 'missing' | 'live' | 'full',
    }));
    return { redriven: reply.redriven, skipped };
  }

  /** `RedisQueue.purgeDeadLetters`, in bounded script calls (deadLetterPages.ts). */
  async purge(ids?: Iterable<string>): Promise<QueueDeadLetter<T>[]> {
    const where = `${NAME}.purgeDeadLetters`;
    const list = checkIdList(where, ids);
    const purged = await purgeInPages(this.access(), where, list);
    return purged.map((fields) => this.letter(fields));
  }

  private access(): DeadLetterAccess {
    const runner = this.runner;
    return {
      run: (where, name, args) => runner.run(where, name, args),
      command: (where, command, args) => runner.command(where, command, args),
      dead: this.config.keys.dead,
    };
  }
}
