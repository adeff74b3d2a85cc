/** What a `Line` links: its neighbours and whether it is in a line now. */
export interface Linked<N> {
  prev: N | undefined;
  next: N | undefined;
  /** In a line now. */
  linked: boolean;
}

/**
 * An intrusive first-in first-out line: the entries carry their own links, so joining,
 * leaving from anywhere and taking the first are O(1) and allocate nothing. Whoever leaves
 * is unlinked at once and keeps nothing of the line alive (nor the line anything of it).
 */
export class Line<N extends Linked<N>> {
  private first: N | undefined = undefined;
  private last: N | undefined = undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  peek(): N | undefined {
    return this.first;
  }

  push(node: N): void {
    if (node.linked) return;
    node.linked = true;
    node.prev = this.last;
    node.next = undefined;
    if (this.last === undefined) this.first = node;
    else this.last.next = node;
    this.last = node;
    this.count++;
  }

  /** Takes `node` out wherever it stands; nothing happens if it is not in a line. */
  remove(node: N): void {
    if (!node.linked) return;
    node.linked = false;
    const { prev, next } = node;
    if (prev === undefined) this.first = next;
    else prev.next = next;
    if (next === undefined) this.last = prev;
    else next.prev = prev;
    node.prev = undefined;
    node.next = undefined;
    this.count--;
  }

  shift(): N | undefined {
    const node = this.first;
    if (node !== undefined) this.remove(node);
    return node;
  }

  /** Takes everyone out, first to last (for an ending that settles every entry). */
  drain(): N[] {
    const out: N[] = [];
    for (let node = this.shift(); node !== undefined; node = this.shift()) out.push(node);
    return out;
  }
}
