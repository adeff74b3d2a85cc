import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { MAX_TIMER_DELAY } from '../../src/internal/deadlineTimer.js';
import { AckDeadlines, type AwaitingAck } from '../../src/internal/operator/ackDeadlines.js';

class Entry implements AwaitingAck<Entry> {
  waiting = false;
  before: Entry | undefined = undefined;
  after: Entry | undefined = undefined;
  constructor(
    readonly name: string,
    public deadline: number,
  ) {}
}

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('AckDeadlines', () => {
  it('expires entries in deadline order, each at its deadline', () => {
    const ts = scheduler();
    const expired: Array<[string, number]> = [];
    ts.run(() => {
      const line = new AckDeadlines<Entry>(
        ts,
        (e) => expired.push([e.name, ts.now()]),
        () => false,
      );
      line.add(new Entry('a', 3));
      line.add(new Entry('b', 3));
      line.add(new Entry('c', 7));
      ts.flush();
    });
    expect(expired).toEqual([
      ['a', 3],
      ['b', 3],
      ['c', 7],
    ]);
  });

  it('an entry removed before its deadline never expires; the timer finds nothing and moves on', () => {
    const ts = scheduler();
    const expired: string[] = [];
    ts.run(({ cold }) => {
      const line = new AckDeadlines<Entry>(
        ts,
        (e) => expired.push(e.name),
        () => false,
      );
      const a = new Entry('a', 2);
      line.add(a);
      line.add(new Entry('b', 5));
      cold('-x').subscribe(() => line.remove(a));
      ts.flush();
    });
    expect(expired).toEqual(['b']);
  });

  it('an ack at the deadline instant, after the timer fired, still counts (second pass)', () => {
    const ts = scheduler();
    const expired: string[] = [];
    ts.run(() => {
      const line = new AckDeadlines<Entry>(
        ts,
        (e) => expired.push(e.name),
        () => false,
      );
      const a = new Entry('a', 4);
      line.add(a);
      // scheduled after the timer's action, at the same virtual instant
      ts.schedule(() => line.remove(a), 4);
      ts.flush();
    });
    expect(expired).toEqual([]);
  });

  it('reaches a deadline beyond the longest timer in clamped steps', () => {
    const ts = scheduler();
    const expired: number[] = [];
    ts.run(() => {
      const line = new AckDeadlines<Entry>(
        ts,
        () => expired.push(ts.now()),
        () => false,
      );
      line.add(new Entry('far', MAX_TIMER_DELAY * 2 + 5));
      ts.flush();
    });
    expect(expired).toEqual([MAX_TIMER_DELAY * 2 + 5]);
  });

  it('cancel stops the timer; an ended stage expires nothing', () => {
    const ts = scheduler();
    const expired: string[] = [];
    let over = false;
    ts.run(() => {
      const line = new AckDeadlines<Entry>(
        ts,
        (e) => expired.push(e.name),
        () => over,
      );
      line.add(new Entry('a', 3));
      line.cancel();
      const other = new AckDeadlines<Entry>(
        ts,
        (e) => expired.push(e.name),
        () => over,
      );
      other.add(new Entry('b', 3));
      over = true;
      ts.flush();
    });
    expect(expired).toEqual([]);
  });
});
