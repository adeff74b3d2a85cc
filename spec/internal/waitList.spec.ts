import { describe, expect, it } from 'vitest';
import { Latch } from '../../src/internal/waiting/latch.js';
import { Line, type Linked } from '../../src/internal/waiting/line.js';
import { WaitList } from '../../src/internal/waiting/waitList.js';
import { flush, track } from '../support/promises.js';

interface Node extends Linked<Node> {
  name: string;
}
const node = (name: string): Node => ({ name, prev: undefined, next: undefined, linked: false });

/** Counts the abort listeners a signal holds, through the EventTarget API. */
function listenerCount(signal: AbortSignal): number {
  const symbols = Object.getOwnPropertySymbols(signal);
  const kEvents = symbols.find((s) => s.description === 'kEvents');
  const events = kEvents
    ? (signal as unknown as Record<symbol, Map<string, { size: number }>>)[kEvents]
    : undefined;
  return events?.get('abort')?.size ?? 0;
}

describe('Line', () => {
  it('is first in, first out, and an entry leaves from anywhere in O(1)', () => {
    const line = new Line<Node>();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(node) as [Node, Node, Node, Node];
    for (const n of [a, b, c, d]) line.push(n);
    line.remove(c);
    line.remove(a);
    expect(line.size).toBe(2);
    expect(line.shift()?.name).toBe('b');
    expect(line.shift()?.name).toBe('d');
    expect(line.shift()).toBeUndefined();
    expect(line.size).toBe(0);
  });

  it('ignores a second push and a remove of an entry not in line; unlinks what leaves', () => {
    const line = new Line<Node>();
    const a = node('a');
    const b = node('b');
    line.push(a);
    line.push(a);
    line.remove(b);
    line.push(b);
    line.remove(b);
    expect(line.size).toBe(1);
    expect(b).toMatchObject({ linked: false, prev: undefined, next: undefined });
    expect(line.drain().map((n) => n.name)).toEqual(['a']);
    expect(a.linked).toBe(false);
  });
});

describe('WaitList', () => {
  it('serves waits first in, first out', async () => {
    const list = new WaitList<string, number>();
    const a = list.wait('a');
    const b = list.wait('b');
    expect(list.peek()?.entry).toBe('a');
    list.peek()?.resolve(1);
    list.peek()?.resolve(2);
    expect(await a.promise).toBe(1);
    expect(await b.promise).toBe(2);
    expect(list.size).toBe(0);
  });

  it('an aborted wait leaves at once from the middle of the line, rejects with the reason and tells the owner', async () => {
    let told = 0;
    const list = new WaitList<string, number>(() => {
      told++;
    });
    const controller = new AbortController();
    const a = list.wait('a');
    const b = track(list.wait('b', controller.signal).promise);
    const c = list.wait('c');
    const reason = new Error('stop');
    controller.abort(reason);
    expect(list.size).toBe(2);
    expect(told).toBe(1);
    list.peek()?.resolve(1);
    expect(list.peek()).toBe(c);
    await flush();
    expect(b).toMatchObject({ status: 'rejected', error: reason });
    expect(await a.promise).toBe(1);
  });

  it('a settled wait drops its entry and its abort listener; a later abort does nothing', async () => {
    let told = 0;
    const list = new WaitList<{ big: number[] }, number>(() => {
      told++;
    });
    const controller = new AbortController();
    const wait = list.wait({ big: [1, 2, 3] }, controller.signal);
    expect(listenerCount(controller.signal)).toBe(1);
    wait.resolve(7);
    expect(wait.entry).toBeUndefined();
    expect(wait.pending).toBe(false);
    expect(listenerCount(controller.signal)).toBe(0);
    controller.abort();
    wait.reject(new Error('late'));
    expect(told).toBe(0);
    expect(await wait.promise).toBe(7);
  });

  it('a long-lived signal collects no listeners over many waits', () => {
    const list = new WaitList<number, void>();
    const controller = new AbortController();
    for (let i = 0; i < 100; i++) list.wait(i, controller.signal).resolve();
    for (let i = 0; i < 100; i++) list.wait(i, controller.signal);
    list.resolveAll();
    expect(listenerCount(controller.signal)).toBe(0);
  });

  it('rejectAll refuses every wait with an error made from its entry, first to last', async () => {
    const list = new WaitList<string, void>();
    const seen: string[] = [];
    const waits = ['x', 'y'].map((e) => track(list.wait(e).promise));
    list.rejectAll((entry) => {
      seen.push(entry);
      return new Error(entry);
    });
    await flush();
    expect(seen).toEqual(['x', 'y']);
    expect(waits.map((w) => (w.error as Error).message)).toEqual(['x', 'y']);
  });

  it('an abort from inside a served wait callback neither double-settles nor breaks the line', async () => {
    const list = new WaitList<number, number>();
    const controller = new AbortController();
    const first = list.wait(1, controller.signal);
    const second = list.wait(2, controller.signal);
    first.promise.then(() => controller.abort());
    first.resolve(10);
    await flush();
    await expect(second.promise).rejects.toBeDefined();
    expect(list.size).toBe(0);
    expect(await first.promise).toBe(10);
  });
});

describe('Latch', () => {
  it('shares one promise among waiters and resolves them when opened; open is idempotent', async () => {
    const latch = new Latch();
    const a = latch.wait();
    expect(latch.wait()).toBe(a);
    const t = track(a);
    await flush();
    expect(t.status).toBe('pending');
    latch.open();
    latch.open();
    await flush();
    expect(t.status).toBe('resolved');
    expect(latch.isOpen).toBe(true);
    await latch.wait();
  });
});
