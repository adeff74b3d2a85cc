/**
 * Hands on the answers that arrive together one turn of the event loop apart (internal to
 * `sluice/redis`).
 * @module
 */
import { setImmediate } from 'node:timers';

/**
 * Lets the first caller of a turn of the event loop go on at once, and each later caller of
 * the same turn in a later turn, one per turn.
 *
 * Why: Redis writes the replies of every command it read in one pass of its event loop
 * together. Two script calls of one consumer that reach it at once (the two halves of a turn's
 * acks) therefore come back in one read, and if the process handled both answers in the same
 * turn, their acks would go out together again, and again be answered together: Redis and the
 * process would take turns instead of working at the same time. Handing on the second answer
 * a turn later sends the first answer's acks first: Redis runs them while the process handles
 * the second, so the two halves drift apart and stay apart.
 *
 * `setImmediate` from `node:timers` (not the global one, which fake timers replace): a turn is
 * not a duration, and nothing is kept alive by it.
 */
export class TurnPacer {
  private taken = false;
  private readonly release = (): void => {
    this.taken = false;
  };

  /** `undefined` when the caller may go on now; else a promise of the turn it may go on in. */
  turn(): Promise<void> | undefined {
    if (this.taken)
      return new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.turn());
    this.taken = true;
    setImmediate(this.release);
    return undefined;
  }
}
