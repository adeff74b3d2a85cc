/**
 * Model-based property test for mpsc and mpmc under every overflow policy: random interleavings
 * of send, trySend, recv, tryRecv, close and abort run against the real channel and against a
 * plain reference model (arrays and shift, written for clarity, not speed). After every step
 * the outcomes must agree; at the end every accepted message was received exactly once or
 * reported as dropped, per-sender order held, 'block' dropped nothing, and the buffer never
 * exceeded its capacity.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChannelClosedError,
  ChannelFullError,
  mpmc,
  mpsc,
  type OverflowPolicy,
  type Receiver,
  type Sender,
} from '../../src/index.js';

type Op =
  | { kind: 'send'; producer: number }
  | { kind: 'trySend'; producer: number }
  | { kind: 'recv' }
  | { kind: 'tryRecv' }
  | { kind: 'abortSend'; index: number }
  | { kind: 'abortRecv'; index: number }
  | { kind: 'closeTx'; producer: number }
  | { kind: 'closeRx' };

const PRODUCERS = 3;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('send' as const), producer: fc.nat(PRODUCERS - 1) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('trySend' as const),
      producer: fc.nat(PRODUCERS - 1),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('recv' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('tryRecv' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('abortSend' as const), index: fc.nat(20) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('abortRecv' as const), index: fc.nat(20) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('closeTx' as const),
      producer: fc.nat(PRODUCERS - 1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('closeRx' as const) }) },
);

/** What became of a send or a recv. */
type Outcome = string;

/** The reference: the documented semantics, in the plainest code. */
class Model {
  buf: string[] = [];
  waiting: Array<{ id: number; msg: string }> = [];
  recvs: number[] = [];
  sendOutcome = new Map<number, Outcome>();
  recvOutcome = new Map<number, Outcome>();
  dropped: string[] = [];
  open = Array.from({ length: PRODUCERS }, () => true);
  sendClosed = false;
  rxClosed = false;
  ended = false;

  constructor(
    readonly capacity: number,
    readonly policy: OverflowPolicy,
  ) {}

  trySend(producer: number, msg: string): string {
    if (!this.open[producer] || this.sendClosed) return 'closed';
    if (this.waiting.length > 0) return 'full';
    if (this.buf.length === 0 && this.recvs.length > 0) {
      this.recvOutcome.set(this.recvs.shift()!, `value:${msg}`);
      this.settle();
      return 'ok';
    }
    if (this.buf.length < this.capacity) {
      this.buf.push(msg);
      this.settle();
      return 'ok';
    }
    if (this.policy === 'drop') {
      this.dropped.push(msg);
      return 'dropped';
    }
    if (this.policy === 'replace') {
      this.dropped.push(this.buf.shift()!);
      this.buf.push(msg);
      this.settle();
      return 'ok';
    }
    return 'full';
  }

  send(id: number, producer: number, msg: string): void {
    const r = this.trySend(producer, msg);
    if (r === 'ok' || r === 'dropped') this.sendOutcome.set(id, 'resolved');
    else if (r === 'closed') this.sendOutcome.set(id, 'closed');
    else if (this.policy === 'error') this.sendOutcome.set(id, 'full');
    else {
      this.waiting.push({ id, msg });
      this.sendOutcome.set(id, 'pending');
    }
  }

  tryRecv(): string {
    if (this.buf.length > 0) {
      const msg = this.buf.shift()!;
      this.settle();
      return `value:${msg}`;
    }
    return this.ended || (this.sendClosed && this.waiting.length === 0) ? 'closed' : 'empty';
  }

  recv(id: number): void {
    if (this.buf.length > 0 && this.recvs.length === 0) {
      this.recvOutcome.set(id, `value:${this.buf.shift()!}`);
      this.settle();
      return;
    }
    if (this.ended) {
      this.recvOutcome.set(id, 'closed');
      return;
    }
    this.recvs.push(id);
    this.recvOutcome.set(id, 'pending');
    this.settle();
  }

  abortSend(id: number): void {
    const i = this.waiting.findIndex((w) => w.id === id);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    this.sendOutcome.set(id, 'aborted');
    this.settle();
  }

  abortRecv(id: number): void {
    const i = this.recvs.indexOf(id);
    if (i < 0) return;
    this.recvs.splice(i, 1);
    this.recvOutcome.set(id, 'aborted');
  }

  closeTx(producer: number): void {
    if (!this.open[producer]) return;
    this.open[producer] = false;
    if (this.open.every((o) => !o)) this.sendClosed = true;
    this.settle();
  }

  closeRx(): void {
    if (this.rxClosed) return;
    this.rxClosed = true;
    this.sendClosed = true;
    for (const w of this.waiting) this.sendOutcome.set(w.id, 'closed');
    this.waiting = [];
    this.settle();
  }

  private settle(): void {
    for (;;) {
      while (this.buf.length > 0 && this.recvs.length > 0) {
        this.recvOutcome.set(this.recvs.shift()!, `value:${this.buf.shift()!}`);
      }
      let admitted = false;
      while (this.waiting.length > 0 && this.buf.length < this.capacity) {
        const w = this.waiting.shift()!;
        this.buf.push(w.msg);
        this.sendOutcome.set(w.id, 'resolved');
        admitted = true;
      }
      if (!admitted) break;
    }
    if (!this.ended && this.sendClosed && this.buf.length === 0 && this.waiting.length === 0) {
      this.ended = true;
      for (const id of this.recvs) this.recvOutcome.set(id, 'closed');
      this.recvs = [];
    }
  }
}

const flush = async () => {
  for (let i = 0; i < 4; i++) await Promise.resolve();
};

function outcomeOf(err: unknown): Outcome {
  if (err instanceof ChannelClosedError) return 'closed';
  if (err instanceof ChannelFullError) return 'full';
  if (err instanceof Error && err.name === 'AbortError') return 'aborted';
  return `unexpected:${String(err)}`;
}

async function runProgram(
  make: typeof mpsc,
  capacity: number,
  policy: OverflowPolicy,
  ops: Op[],
): Promise<void> {
  const dropped: string[] = [];
  const [first, rx]: [Sender<string>, Receiver<string>] = make<string>(capacity, {
    overflow: policy,
    onOverflow: (m) => dropped.push(m),
  });
  const txs = [first, first.clone(), first.clone()];
  const model = new Model(capacity, policy);
  const sendOutcome = new Map<number, Outcome>();
  const recvOutcome = new Map<number, Outcome>();
  const sendAborts: Array<[number, AbortController]> = [];
  const recvAborts: Array<[number, AbortController]> = [];
  const seq = Array.from({ length: PRODUCERS }, () => 0);
  const received: string[] = [];
  let ids = 0;

  for (const op of ops) {
    switch (op.kind) {
      case 'send': {
        const id = ids++;
        const msg = `${op.producer}:${seq[op.producer]!++}`;
        const ac = new AbortController();
        sendAborts.push([id, ac]);
        sendOutcome.set(id, 'pending');
        txs[op.producer]!.send(msg, { signal: ac.signal }).then(
          () => sendOutcome.set(id, 'resolved'),
          (err: unknown) => sendOutcome.set(id, outcomeOf(err)),
        );
        model.send(id, op.producer, msg);
        break;
      }
      case 'trySend': {
        const msg = `${op.producer}:${seq[op.producer]!++}`;
        const r = txs[op.producer]!.trySend(msg);
        expect(r.ok ? 'ok' : r.reason).toBe(model.trySend(op.producer, msg));
        break;
      }
      case 'recv': {
        const id = ids++;
        const ac = new AbortController();
        recvAborts.push([id, ac]);
        recvOutcome.set(id, 'pending');
        rx.recv({ signal: ac.signal }).then(
          (v) => {
            received.push(v);
            recvOutcome.set(id, `value:${v}`);
          },
          (err: unknown) => recvOutcome.set(id, outcomeOf(err)),
        );
        model.recv(id);
        break;
      }
      case 'tryRecv': {
        const r = rx.tryRecv();
        if (r.ok) received.push(r.value);
        expect(r.ok ? `value:${r.value}` : r.reason).toBe(model.tryRecv());
        break;
      }
      case 'abortSend': {
        const entry = sendAborts[op.index % Math.max(1, sendAborts.length)];
        if (entry) {
          entry[1].abort();
          model.abortSend(entry[0]);
        }
        break;
      }
      case 'abortRecv': {
        const entry = recvAborts[op.index % Math.max(1, recvAborts.length)];
        if (entry) {
          entry[1].abort();
          model.abortRecv(entry[0]);
        }
        break;
      }
      case 'closeTx':
        txs[op.producer]!.close();
        model.closeTx(op.producer);
        break;
      case 'closeRx':
        rx.close();
        model.closeRx();
        break;
    }
    await flush();
    expect(rx.size).toBeLessThanOrEqual(capacity);
    expect(rx.size).toBe(model.buf.length);
    expect(Object.fromEntries(sendOutcome)).toEqual(Object.fromEntries(model.sendOutcome));
    expect(Object.fromEntries(recvOutcome)).toEqual(Object.fromEntries(model.recvOutcome));
  }

  // Drain: close everything and read what is left.
  for (const [, ac] of sendAborts) ac.abort();
  for (const tx of txs) tx.close();
  await flush();
  for (let r = rx.tryRecv(); r.ok; r = rx.tryRecv()) received.push(r.value);
  expect(rx.tryRecv()).toEqual({ ok: false, reason: 'closed' });

  expect(dropped).toEqual(model.dropped);
  if (policy === 'block' || policy === 'error') expect(dropped).toEqual([]);
  // every accepted message was received exactly once or reported dropped
  const accepted = new Set<string>();
  for (const m of [...received, ...dropped]) {
    expect(accepted.has(m)).toBe(false);
    accepted.add(m);
  }
  expect(rx.sent).toBe(received.length + (policy === 'replace' ? dropped.length : 0));
  // per-sender order
  const last = new Map<string, number>();
  for (const m of received) {
    const [p, n] = m.split(':');
    expect(Number(n)).toBeGreaterThan(last.get(p!) ?? -1);
    last.set(p!, Number(n));
  }
}

const policies: OverflowPolicy[] = ['block', 'drop', 'replace', 'error'];

describe.each([
  ['mpsc', mpsc],
  ['mpmc', mpmc],
] as const)('%s against the reference model', (_name, make) => {
  for (const policy of policies) {
    it(`'${policy}': random interleavings agree with the model`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 4 }),
          fc.array(opArb, { maxLength: 60 }),
          (capacity, ops) => runProgram(make, capacity, policy, ops),
        ),
        { numRuns: 150 },
      );
    });
  }
});
