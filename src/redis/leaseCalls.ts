/**
 * The calls on one delivery's receipt of `RedisQueue` (internal to `sluice/redis`): `ack`
 * (batched per turn of the event loop), `nack`, `extend` and `release`, each checked by its
 * script, each telling the handle's lease book that the lease ended or moved.
 * @module
 */
import type { AckResult, ExtendResult, NackOptions, NackResult, ReleaseResult } from 'sluice';
import { checkDuration, checkOptions } from '../internal/validate.js';
import { NACK_OPTIONS } from '../queue/optionNames.js';
import { CallBatch } from './batch.js';
import { encodeError } from './codec.js';
import type { HandleLeases } from './handleLeases.js';
import { limit, NAME } from './redisQueueConfig.js';
import { ACK_OK, NACK_DEAD, NACK_OK, rejection } from './replies.js';
import type { ScriptRunner } from './scriptRunner.js';

/** The most acks sent in one script call. */
const BATCH = 256;

/** `ack`, `nack`, `extend` and `release` of one handle. */
export class LeaseCalls {
  /** Acks of one turn of the event loop, sent as one script call. */
  private readonly acks = new CallBatch<[string, string], string>(
    (args) => this.runner.run(`${NAME}.ack`, 'ack', args.flat()),
    BATCH,
  );

  constructor(
    private readonly runner: ScriptRunner,
    private readonly leases: HandleLeases,
  ) {}

  /** `RedisQueue.ack`: batched with the other acks of this turn, each checked alone. */
  async ack(receipt: string): Promise<AckResult> {
    if (typeof receipt !== 'string') return rejection('unknown');
    const reply = await this.acks.add([receipt, this.runner.token()]);
    this.leases.ended(receipt);
    return reply === 'ok' ? ACK_OK : rejection(reply);
  }

  /** `RedisQueue.nack`: the delay is rounded up to whole ms; `error` is stored encoded. */
  async nack(receipt: string, options?: NackOptions): Promise<NackResult> {
    const where = `${NAME}.nack`;
    const opts = checkOptions<NackOptions>(where, options, NACK_OPTIONS);
    const delay = opts.delay === undefined ? 0 : checkDuration(where, 'delay', opts.delay);
    if (typeof receipt !== 'string') return rejection('unknown');
    const reply = await this.runner.run(where, 'nack', [
      receipt,
      this.runner.token(),
      Math.ceil(delay),
      encodeError(opts.error),
    ]);
    this.leases.ended(receipt);
    if (reply === 'ok') return NACK_OK;
    if (reply === 'dead') return NACK_DEAD;
    return rejection(reply);
  }

  /** `RedisQueue.extend`: a refused receipt ends the handle's lease; a granted one moves it. */
  async extend(receipt: string, ms: number): Promise<ExtendResult> {
    const where = `${NAME}.extend`;
    const span = checkDuration(where, 'ms', ms, true);
    if (typeof receipt !== 'string') return rejection('unknown');
    const reply = await this.runner.run(where, 'extend', [receipt, limit(Math.ceil(span))]);
    if (reply.result !== 'ok') {
      this.leases.ended(receipt);
      return rejection(reply.result);
    }
    this.leases.extended(receipt, reply.deadline);
    return { ok: true, deadline: reply.deadline };
  }

  /** `RedisQueue.release`. */
  async release(receipt: string): Promise<ReleaseResult> {
    if (typeof receipt !== 'string') return rejection('unknown');
    const reply = await this.releaseScript(`${NAME}.release`, receipt);
    this.leases.ended(receipt);
    return reply === 'ok' ? ACK_OK : rejection(reply);
  }

  /** Releases a delivery nobody will handle (its poll was aborted); failures leave it to expire. */
  giveBack(receipt: string): void {
    this.releaseScript(`${NAME}.receive`, receipt).then(
      () => {},
      () => {},
    );
  }

  /** The release script for `receipt`, on behalf of the call `where` (close uses it too). */
  releaseScript(where: string, receipt: string): Promise<string> {
    return this.runner.run(where, 'release', [receipt, this.runner.token()]);
  }
}
