const OPEN: Promise<void> = Promise.resolve();

/**
 * A one-way "closed" latch: `closed()` promises resolve once `open()` ran, and every caller
 * shares one promise, so a thousand `closed()` calls hold one promise, not a thousand
 * callbacks.
 */
export class Latch {
  private promise: Promise<void> | undefined;
  private release: (() => void) | undefined;
  private done = false;

  get isOpen(): boolean {
    return this.done;
  }

  /** Resolves once the latch is open. */
  wait(): Promise<void> {
    if (this.done) return OPEN;
    this.promise ??= new Promise<void>((resolve) => {
      this.release = resolve;
    });
    return this.promise;
  }

  open(): void {
    if (this.done) return;
    this.done = true;
    const release = this.release;
    this.promise = undefined;
    this.release = undefined;
    release?.();
  }
}
