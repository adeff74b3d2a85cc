import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { operate } from '../../src/internal/operator/operate.js';
import { OperatorStage } from '../../src/internal/operator/operatorStage.js';
import type { Outlet } from '../../src/internal/outlet.js';

/** A stage that holds each message until `finish()` releases it as its output. */
class Holding extends OperatorStage<number, number> {
  readonly held: number[] = [];
  constructor(out: Outlet<number>) {
    super(out);
  }
  protected busy(): boolean {
    return this.held.length > 0;
  }
  protected accept(message: number): void {
    this.held.push(message);
  }
  finish(): void {
    const message = this.held.shift();
    if (message !== undefined) this.out.next(message);
    this.checkEnd();
  }
}

function setup(): {
  input: Subject<number>;
  stage: () => Holding;
  events: string[];
} {
  const input = new Subject<number>();
  let stage: Holding | undefined;
  const events: string[] = [];
  input
    .pipe(
      operate<number, number>((source, out) => {
        const s = new Holding(out);
        stage = s;
        out.onStart = () => out.add(source.subscribe(s));
      }),
    )
    .subscribe({
      next: (n) => events.push(`next ${n}`),
      error: (e: unknown) => events.push(`error ${(e as Error).message}`),
      complete: () => events.push('complete'),
    });
  return { input, stage: () => stage as Holding, events };
}

describe('OperatorStage', () => {
  it('a completion waits for the accepted work, then completes the output', () => {
    const { input, stage, events } = setup();
    input.next(1);
    input.next(2);
    input.complete();
    expect(events).toEqual([]);
    stage().finish();
    expect(events).toEqual(['next 1']);
    stage().finish();
    expect(events).toEqual(['next 1', 'next 2', 'complete']);
  });

  it('a source error also waits for the accepted work; nothing after it is taken', () => {
    const { input, stage, events } = setup();
    input.next(1);
    input.error(new Error('boom'));
    input.next(2);
    expect(stage().held).toEqual([1]);
    stage().finish();
    expect(events).toEqual(['next 1', 'error boom']);
  });

  it('guard fails the output at once when the callback throws, and says so', () => {
    const { input, stage, events } = setup();
    input.next(1);
    expect(stage().guard(() => undefined)).toBe(true);
    expect(
      stage().guard(() => {
        throw new Error('callback');
      }),
    ).toBe(false);
    expect(events).toEqual(['error callback']);
    expect(stage().failure).toEqual({ error: new Error('callback') });
  });
});
