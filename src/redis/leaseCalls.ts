/**
 * The calls on one delivery's receipt of `RedisQueue` (internal to `sluice/redis`): `ack`
 * (batched per turn of the event loop, each batch leasing the next deliveries of the workers
 * it frees), `nack`, `extend` and `release`, each checked by its script, each telling the
 * handle's lease book that the lease ended or moved.
 * @module
 */
import type {
  AckResult,
  Delivery,
  ExtendResult,
  NackOptions,
  NackResult,
  ReleaseResult,
} from 'sluice';
import { checkDuration, checkOptions } from '../internal/validate.js';
import { NACK_OPTIONS } from '../queue/optionNames.js';
import { CallBatch } from './batch.js';
import { encodeError } from './codec.js';
import type { ReadAheadPlan } from './deliverySource.js';
import type { HandleLeases } from './handleLeases.js';
import type { NoncePool } from './nonces.js';
import { limit, NAME } from './redisQueueConfig.js';
import { ACK_OK, NACK_DEAD, NACK_OK, type RawDelivery, rejection } from './replies.js';
import type { ScriptRunner } from './scriptRunner.js';
import { TurnPacer } from './turnPacer.js';

/**
 * The most acks sent in one script call (a consumer of that many workers or more sends full
 * batches as they fill).
 */
const BATCH = 256;

/**
 * A turn's acks go out as two script calls, one after the other, once there are at least
 * twice this many: Redis runs the second while the process handles the deliveries the first
 * leased, and from then on the consumer's workers alternate in two groups, each group's batch
 * running in Redis while the process works on the other's. That pays only when Redis would
 * otherwise wait for this process: when the ack script reports leases of other consumers,
 * Redis has their calls to run meanwhile, and the turn goes out whole (half the calls, so less
 * server time per message). Measured on a 2-core machine (concurrency 16, so calls of 8 when
 * cut): one process, cut 10.2-10.6k msg/s against 9.0k whole; four processes, whole 10.2k
 * against 8.2-9.4k cut, where nearly every turn came back as a whole 16 anyway (Redis answers
 * calls that arrive together together). Halves of 4 lost a third of the rate. Holding the
 * second half until the first was answered was slower than sending both at once.
 *
 * For the same reason the two halves' answers tend to arrive in one read; handled in one
 * turn, their acks would go out together again and the groups would merge. A consumer alone
 * on its queue therefore hands the second of two such answers on a turn later (`TurnPacer`):
 * the first half's acks reach Redis while the process works on the second. Measured on a 2-core machine, one process, warm: 27-33k msg/s paced
 * against 24-28k.
 */
const HALVES = 8;

/** A receipt less its base key: `<seq>:<delivery>:<nonce>` (what the ack script parses). */
const HEAD = /^[1-9]\d*:[1-9]\d*:[\w-]+$/;

/** What the acks need to lease the next deliveries of the workers they free. */
export interface AckLeaseHost<T> {
  readonly consumer: string;
  readonly nonces: NoncePool;
  /** How many deliveries to lease with acks of `receipts`, and whose they are. */
  plan(receipts: readonly string[]): ReadAheadPlan<T>;
  /** The deliveries the ack script leased, decoded and booked (the store clock's `now` first). */
  leased(now: number, raws: readonly RawDelivery[]): Promise<Delivery<T>[]>;
  /** The lease ended otherwise than by an ack. */
  forget(receipt: string): void;
}

/** `ack`, `nack`, `extend` and `release` of one handle. */
export class LeaseCalls<T> {
  /**
   * Acks of one turn of the event loop, sent together (in two halves from `2 * HALVES`) with
   * the next deliveries they free.
   */
  private readonly acks = new CallBatch<string, string>((receipts) => this.ackBatch(receipts), {
    max: BATCH,
    halves: HALVES,
  });

  private readonly pacer = new TurnPacer();
  /** What every receipt of this queue ends with: the ack script is sent the rest. */
  private readonly suffix: string;

  constructor(
    private readonly runner: ScriptRunner,
    private readonly leases: HandleLeases,
    private readonly ahead: AckLeaseHost<T>,
  ) {
    // Whole until an answer tells that no other consumer holds leases: once the halves drift
    // apart they stay apart, which pays only for a consumer alone on its queue.
    this.acks.cutting(false);
    this.suffix = `:${runner.base}`;
  }

  /**
   * A batch of acks, and the next deliveries of the consumers whose workers they free. The
   * receipts go out without the base key they share (one not of this queue goes as '-', which
   * the script refuses as unknown), in one argument, with one token for the call.
   */
  private async ackBatch(receipts: string[]): Promise<string[]> {
    const plan = this.ahead.plan(receipts);
    let deliveries: Delivery<T>[] = [];
    try {
      const nonces = plan.want > 0 ? this.ahead.nonces.take(plan.want) : '';
      const { suffix } = this;
      let heads = '';
      for (const receipt of receipts) {
        const head = receipt.endsWith(suffix) ? receipt.slice(0, -suffix.length) : '';
        heads += `${heads === '' ? '' : ' '}${HEAD.test(head) ? head : '-'}`;
      }
      const argv = [this.ahead.consumer, plan.want, nonces, this.runner.token(), heads];
      const reply = await this.runner.run(`${NAME}.ack`, 'ack', argv);
      // Leases of other consumers (this handle's are the ones it holds, less those acked now,
      // plus those just leased): with other consumers on the queue, Redis has their calls to
      // run while this process works on an answer, so a turn's acks go out whole.
      const own = this.leases.count - receipts.length + reply.deliveries.length;
      const alone = reply.leases <= own;
      this.acks.cutting(alone);
      deliveries = await this.ahead.leased(reply.now, reply.deliveries);
      // Alone, answers that came back together are handed on a turn apart (turnPacer.ts), so
      // that the two halves keep alternating; with other consumers they may merge again.
      if (alone && deliveries.length > 0) await this.pacer.turn();
      return reply.results;
    } finally {
      plan.deliver(deliveries);
    }
  }

  /** The lease ended otherwise than by an ack (or was refused). */
  private ended(receipt: string): void {
    this.leases.ended(receipt);
    this.ahead.forget(receipt);
  }

  /** `RedisQueue.ack`: batched with the other acks of this turn, each checked alone. */
  async ack(receipt: string): Promise<AckResult> {
    if (typeof receipt !== 'string') return rejection('unknown');
    const reply = await this.acks.add(receipt);
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
    this.ended(receipt);
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
      this.ended(receipt);
      return rejection(reply.result);
    }
    this.leases.extended(receipt, reply.deadline);
    return { ok: true, deadline: reply.deadline };
  }

  /** `RedisQueue.release`. */
  async release(receipt: string): Promise<ReleaseResult> {
    if (typeof receipt !== 'string') return rejection('unknown');
    const reply = await this.releaseScript(`${NAME}.release`, receipt);
    this.ended(receipt);
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
