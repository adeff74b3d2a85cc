/**
 * Message groups: each group has at most one message out (visible, in flight, or delayed after
 * a nack); the others wait behind it in order and the next goes out when it is acked or dead.
 * @module
 */
import { Ring } from '../ring.js';

interface Group<M> {
  head: M;
  readonly waiting: Ring<M>;
}

export class MessageGroups<M extends { readonly group: string | undefined }> {
  private readonly groups = new Map<string, Group<M>>();
  /** Messages waiting behind their group's head. */
  waiting = 0;

  /**
   * `message` of `group` is ready: true if it may go out now (its group was idle, or it is
   * already the group's head), false if it waits behind the head.
   */
  enter(message: M, group: string): boolean {
    const current = this.groups.get(group);
    if (current === undefined) {
      this.groups.set(group, { head: message, waiting: new Ring<M>(4) });
      return true;
    }
    if (current.head === message) return true;
    current.waiting.push(message);
    this.waiting++;
    return false;
  }

  /**
   * `message` left the queue (acked, dead, discarded): if it headed its group, the next message
   * of the group, which may go out now; undefined otherwise.
   */
  leave(message: M, group: string): M | undefined {
    const current = this.groups.get(group);
    if (current === undefined || current.head !== message) return undefined;
    if (current.waiting.size === 0) {
      this.groups.delete(group);
      return undefined;
    }
    this.waiting--;
    current.head = current.waiting.shift();
    return current.head;
  }
}
