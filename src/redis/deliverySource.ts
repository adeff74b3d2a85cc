/**
 * The pull source `RedisQueue.consume` reads deliveries from, and the read-ahead that leases a
 * consumer's next deliveries in the same script call as its acks (internal to `sluice/redis`).
 * @module
 */
import type { Delivery, ReceiveOptions } from 'sluice';
import type { Demand, Sink } from './demand.js';

/** The most deliveries one `receive` asks for (a plain subscriber's demand is unlimited). */
const MAX_RECEIVE = 1_000;

/** What the source needs from the queue. */
export interface DeliveryStore<T> {
  receive(options: ReceiveOptions): Promise<Delivery<T>[]>;
  release(receipt: string): Promise<unknown>;
  readonly isClosed: boolean;
  /** Where the source registers, so that acks of its deliveries lease its next ones. */
  readonly readAhead: AckReadAhead<T>;
}

/** One open pull source, as the read-ahead sees it. */
interface Reader<T> {
  /** False once the source ended: it takes nothing more. */
  readonly open: boolean;
  /** `count` deliveries are being leased for it (with a batch of acks). */
  expect(count: number): void;
  /** What came of them (fewer than expected, or none when the call failed). */
  arrive(count: number, deliveries: readonly Delivery<T>[]): void;
}

/** What a batch of acks leases, and for whom. */
export interface ReadAheadPlan<T> {
  /** How many deliveries to lease after the acks (0: none). */
  readonly want: number;
  /** Hands the deliveries leased (in order; none when the call failed) to their sources. */
  deliver(deliveries: readonly Delivery<T>[]): void;
}

const NOTHING: ReadAheadPlan<never> = Object.freeze({ want: 0, deliver: () => {} });

/** A plan that leases `want` deliveries for the readers counted in `shares`, in that order. */
class Shares<T> implements ReadAheadPlan<T> {
  constructor(
    readonly want: number,
    private readonly shares: Map<Reader<T>, number>,
  ) {}

  deliver(deliveries: readonly Delivery<T>[]): void {
    let at = 0;
    for (const [reader, count] of this.shares) {
      const end = Math.min(at + count, deliveries.length);
      reader.arrive(
        count,
        at === 0 && end === deliveries.length ? deliveries : deliveries.slice(at, end),
      );
      at = end;
    }
  }
}

/**
 * Knows which open pull source handed out which receipt. A batch of acks frees, once it is
 * answered, one worker of that source per ack, and each freed worker asks for one delivery at
 * once: so the ack script leases that many in the same call, and the source serves the
 * workers' requests from them instead of sending a `receive` after the acks. The consumer
 * never holds more leases than it did before the call (each ack ends one), only one round trip
 * per batch instead of two.
 *
 * A receipt is forgotten when its ack is planned or its lease ends through the queue (nack,
 * release, a refused extend). One whose lease ran out with no call is swept once its deadline
 * has passed, whenever the map has doubled since the last sweep.
 */
export class AckReadAhead<T> {
  private readonly owners = new Map<string, { reader: Reader<T>; deadline: number }>();
  private sweepAt = 1_024;

  /** @param now The store's clock (deadlines are on it). */
  constructor(private readonly now: () => number) {}

  /** `reader` handed out `delivery`. */
  handedOut(reader: Reader<T>, delivery: Delivery<T>): void {
    this.owners.set(delivery.receipt, { reader, deadline: delivery.deadline });
    if (this.owners.size >= this.sweepAt) this.sweep();
  }

  /** The lease of `receipt` ended otherwise than by an ack. */
  forget(receipt: string): void {
    this.owners.delete(receipt);
  }

  /** The source ended: its receipts free no worker of its any more. */
  drop(reader: Reader<T>): void {
    for (const [receipt, owner] of this.owners) {
      if (owner.reader === reader) this.owners.delete(receipt);
    }
  }

  /** How many deliveries to lease with acks of `receipts`, capped at `max`. */
  plan(receipts: readonly string[], max: number): ReadAheadPlan<T> {
    if (this.owners.size === 0) return NOTHING;
    let counts: Map<Reader<T>, number> | undefined;
    let want = 0;
    for (const receipt of receipts) {
      const owner = this.owners.get(receipt);
      if (owner === undefined) continue;
      this.owners.delete(receipt);
      if (!owner.reader.open || want >= max) continue;
      counts ??= new Map();
      counts.set(owner.reader, (counts.get(owner.reader) ?? 0) + 1);
      want++;
    }
    if (counts === undefined) return NOTHING;
    for (const [reader, count] of counts) reader.expect(count);
    return new Shares(want, counts);
  }

  private sweep(): void {
    const now = this.now();
    for (const [receipt, owner] of this.owners) {
      if (owner.deadline <= now) this.owners.delete(receipt);
    }
    this.sweepAt = Math.max(1_024, this.owners.size * 2);
  }
}

/**
 * A demand-aware source of deliveries: it leases only what its consumer asked for, and asks
 * Redis for the whole of it at once. Requests made in one turn of the event loop (the workers
 * that a batch of acks freed together) become one `receive` of that many; a request that comes
 * while a `receive` is on its way starts another for the difference, so the queue's receive
 * scripts and the consumer's ack scripts overlap on the connection instead of taking turns.
 * Deliveries leased in the same script call as a batch of acks (`AckReadAhead`) count as asked
 * for: they wait here, leased, for the requests of the workers those acks free.
 *
 * Each `receive` long-polls without a time limit: the queue wakes it on a new entry, a due
 * lease or delay, and at least every `blockTime`. `cancel()` aborts the receives on their way
 * (an aborted receive leases nothing) and releases the deliveries held here; a delivery that
 * still arrives after it is released. The source completes when the queue's handle is closed.
 */
export function pullDeliveries<T>(store: DeliveryStore<T>, sink: Sink<Delivery<T>>): Demand {
  /** Requested and not yet delivered. */
  let demand = 0;
  /** Deliveries asked for by the receives and ack batches on their way. */
  let asked = 0;
  let done = false;
  let scheduled = false;
  const receives = new Set<AbortController>();
  /** Deliveries leased ahead of a request; `head` is the next to hand out. */
  let held: Delivery<T>[] = [];
  let head = 0;

  const giveBack = (delivery: Delivery<T>) => {
    store.release(delivery.receipt).then(undefined, () => {
      // the lease runs out on its own: nothing is lost
    });
  };
  const reader: Reader<T> = {
    get open() {
      return !done;
    },
    expect: (count) => {
      asked += count;
    },
    arrive: (count, deliveries) => {
      asked -= count;
      if (done || store.isClosed) {
        for (const delivery of deliveries) giveBack(delivery);
        schedule();
        return;
      }
      if (head === held.length) {
        held = deliveries.slice();
        head = 0;
      } else held.push(...deliveries);
      serve();
      // fewer than expected: the rest of the demand goes to a receive
      if (deliveries.length < count) schedule();
    },
  };
  const end = (finish: () => void) => {
    if (done) return;
    done = true;
    for (const controller of receives) controller.abort();
    receives.clear();
    for (; head < held.length; head++) giveBack(held[head]!);
    held = [];
    head = 0;
    store.readAhead.drop(reader);
    finish();
  };
  const handOut = (delivery: Delivery<T>) => {
    demand--;
    store.readAhead.handedOut(reader, delivery);
    sink.next(delivery);
  };
  /** Serves the demand from the deliveries held (`sink.next` may cancel or request). */
  const serve = () => {
    while (!done && demand > 0 && head < held.length) {
      const delivery = held[head]!;
      held[head++] = undefined as unknown as Delivery<T>;
      handOut(delivery);
    }
    if (head === held.length && head > 0) {
      held = [];
      head = 0;
    }
  };
  const fetch = () => {
    scheduled = false;
    if (done) return;
    if (store.isClosed && demand > 0) {
      // a closed handle hands out nothing more, not even what it leased ahead
      end(() => sink.complete());
      return;
    }
    serve();
    if (done) return;
    const want = Math.min(demand - asked - (held.length - head), MAX_RECEIVE);
    if (want <= 0) return;
    asked += want;
    const controller = new AbortController();
    receives.add(controller);
    store.receive({ max: want, wait: Number.POSITIVE_INFINITY, signal: controller.signal }).then(
      (batch) => {
        receives.delete(controller);
        asked -= want;
        for (const delivery of batch) {
          if (!done && demand > 0 && head === held.length) handOut(delivery);
          else if (!done) held.push(delivery);
          else giveBack(delivery);
        }
        if (done) return;
        serve();
        if (batch.length === 0 && store.isClosed) end(() => sink.complete());
        else schedule();
      },
      (error: unknown) => {
        receives.delete(controller);
        asked -= want;
        end(() => sink.error(error));
      },
    );
  };
  const schedule = () => {
    if (scheduled || done) return;
    scheduled = true;
    queueMicrotask(fetch);
  };
  return {
    request: (n: number) => {
      if (done) return;
      demand += n;
      schedule();
    },
    cancel: () => end(() => {}),
  };
}
