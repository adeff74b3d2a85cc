/**
 * How demand crosses plain RxJS operators (docs/architecture.md, "Room across RxJS operators").
 *
 * RxJS operators such as `map`, `filter`, `tap`, `scan` or `take` subscribe to their source
 * synchronously, inside their own `subscribe`. A sluice stage that subscribes to a push source
 * publishes a `RoomLink` as the *current link* for the duration of that call; a sluice source
 * subscribed somewhere inside it (through any number of such operators) captures the link and
 * from then on produces only as much as the stage has room for. Room is a level, not a credit
 * count, so an operator that swallows values never leaks demand, and one that passes them on
 * one for one keeps the bound. An operator that holds values in time (`delay`, `observeOn`)
 * hides them from the level: the stage's overflow policy then applies, visibly.
 *
 * The current link lives under a registered symbol on `globalThis`, so that two loaded copies
 * of the library (ESM and CJS) see the same one.
 */
export interface RoomLink {
  /** How many more values the stage takes now without overflowing; Infinity once it is gone. */
  room(): number;
  /** Calls `wake` whenever room may have grown; returns the function that stops it. */
  watch(wake: () => void): () => void;
  /**
   * A linked producer hands a value on: whatever reaches the stage until the matching `exit`
   * was invited by its room, even beyond it (an operator in between that expands one value
   * into several), and is taken without the overflow policy acting.
   */
  enter(): void;
  exit(): void;
  /** Set once the stage let go because it failed: a linked producer passes it on upstream. */
  readonly failure: { readonly error: unknown } | undefined;
}

interface LinkSlot {
  current: RoomLink | undefined;
}

const KEY = Symbol.for('sluice.roomLink');
const holder = globalThis as unknown as Record<symbol, LinkSlot | undefined>;
const slot: LinkSlot = holder[KEY] ?? { current: undefined };
holder[KEY] = slot;

/** The link published by the stage whose subscribe call is running now, if any. */
export function currentLink(): RoomLink | undefined {
  return slot.current;
}

/** Runs `fn` with `link` as the current link (`undefined` hides any), then restores it. */
export function withLink<R>(link: RoomLink | undefined, fn: () => R): R {
  const previous = slot.current;
  if (previous === link) return fn();
  slot.current = link;
  try {
    return fn();
  } finally {
    slot.current = previous;
  }
}

/**
 * Hides the current link while a stage hands a value on (a job subscribed for it must not
 * capture the stage's own link); returns what `restoreLink` puts back. No closure: hot path.
 */
export function hideLink(): RoomLink | undefined {
  const previous = slot.current;
  slot.current = undefined;
  return previous;
}

export function restoreLink(previous: RoomLink | undefined): void {
  slot.current = previous;
}

/**
 * The link a stage publishes: `measure()` says its room. The stage calls `wake()` whenever its
 * room grows and `close()` when it goes away: a closed link has unlimited room, so a producer
 * still attached to it (a second subscriber of a `share`) is never frozen.
 */
export class Room implements RoomLink {
  /** Depth of linked hand-overs in progress (see `RoomLink.enter`). */
  inflow = 0;
  failure: { readonly error: unknown } | undefined;
  private watchers: Array<() => void> = [];
  private closed = false;
  private waking = false;
  private again = false;

  constructor(private readonly measure: () => number) {}

  room(): number {
    return this.closed ? Number.POSITIVE_INFINITY : this.measure();
  }

  watch(wake: () => void): () => void {
    if (this.closed) return noop;
    this.watchers.push(wake);
    return () => {
      const index = this.watchers.indexOf(wake);
      if (index >= 0) this.watchers.splice(index, 1);
    };
  }

  enter(): void {
    this.inflow++;
  }

  exit(): void {
    this.inflow--;
  }

  /** Tells every watcher that room may have grown (re-entrancy safe: a loop, never recursion). */
  wake(): void {
    if (this.watchers.length === 0) return;
    if (this.waking) {
      this.again = true;
      return;
    }
    this.waking = true;
    try {
      do {
        this.again = false;
        const watchers = this.watchers;
        for (let i = 0; i < watchers.length; i++) watchers[i]!();
      } while (this.again);
    } finally {
      this.waking = false;
    }
  }

  /** The stage is gone: room becomes unlimited and every watcher is told once more. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.again = false;
    const watchers = this.watchers;
    this.watchers = [];
    for (const wake of watchers) wake();
  }
}

function noop(): void {}
