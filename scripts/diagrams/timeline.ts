import type { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

/**
 * What a diagram is made of: rows of marks at virtual-time frames, recorded while the real
 * operators run in `TestScheduler` virtual time. Nothing in a diagram is typed in by hand
 * except the row names, the operator label, the title and the caption.
 */
export type Mark =
  | { readonly kind: 'next'; readonly frame: number; readonly label: string }
  | { readonly kind: 'complete'; readonly frame: number }
  | { readonly kind: 'error'; readonly frame: number; readonly label: string }
  | { readonly kind: 'note'; readonly frame: number; readonly label: string }
  | { readonly kind: 'span'; readonly frame: number; readonly end: number; readonly label: string };

/** `input` and `output` rows hold notifications, `annotation` rows notes and spans. */
export type RowRole = 'input' | 'operator' | 'output' | 'annotation';

export interface Row {
  readonly name: string;
  readonly role: RowRole;
  readonly marks: Mark[];
}

export interface Diagram {
  /** The file name, without `.svg`. */
  readonly name: string;
  readonly title: string;
  readonly caption: string;
  readonly rows: readonly Row[];
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly caption: string;
  /** Declares the rows and wires the operators; runs inside `TestScheduler.run`. */
  readonly build: (t: Timeline) => void;
}

/** Formats a value or an error as a short label. */
export type Format = (value: unknown) => string;

const defaultError: Format = (err) => (err instanceof Error ? err.name : String(err));

/** The recorder handed to a scenario: declare rows in display order, then let time run. */
export class Timeline {
  readonly rows: Row[] = [];

  constructor(
    /** The virtual-time scheduler: `now()` is the current frame. */
    readonly scheduler: TestScheduler,
    /** `hot`, `cold`, ... of the running `TestScheduler.run`. */
    readonly helpers: Parameters<Parameters<TestScheduler['run']>[0]>[0],
  ) {}

  /** The current frame. */
  now(): number {
    return this.scheduler.now();
  }

  /** A row recording every notification of `source`, subscribed now. */
  observe(
    name: string,
    role: 'input' | 'output',
    source: Observable<unknown>,
    format: Format = String,
    formatError: Format = defaultError,
  ): void {
    const row = this.row(name, role);
    source.subscribe({
      next: (v) => row.marks.push({ kind: 'next', frame: this.now(), label: format(v) }),
      error: (e) => row.marks.push({ kind: 'error', frame: this.now(), label: formatError(e) }),
      complete: () => row.marks.push({ kind: 'complete', frame: this.now() }),
    });
  }

  /** The operator box between the inputs and the output: a label only. */
  operator(label: string): void {
    this.row(label, 'operator');
  }

  /** An annotation row; returns a function that adds a note to it at the current frame. */
  notes(name: string): (label: string) => void {
    const row = this.row(name, 'annotation');
    return (label) => row.marks.push({ kind: 'note', frame: this.now(), label });
  }

  /**
   * An annotation row of spans (a job on a worker, a lease); returns a function that opens a
   * span now and returns the function that closes it at the then current frame.
   */
  spans(name: string): (label: string) => (suffix?: string) => void {
    const row = this.row(name, 'annotation');
    return (label) => {
      const frame = this.now();
      let open = true;
      return (suffix = '') => {
        if (!open) return;
        open = false;
        row.marks.push({ kind: 'span', frame, end: this.now(), label: label + suffix });
      };
    };
  }

  /** Runs `action` at `frame` of virtual time. */
  at(frame: number, action: () => void): void {
    this.scheduler.schedule(action, frame - this.now());
  }

  private row(name: string, role: RowRole): Row {
    const row: Row = { name, role, marks: [] };
    this.rows.push(row);
    return row;
  }
}

/** Runs a scenario in virtual time and returns what it recorded. */
export function record(scenario: Scenario): Diagram {
  const scheduler = new TestScheduler((actual, expected) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      throw new Error(`${scenario.name}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
    }
  });
  let rows: Row[] = [];
  scheduler.run((helpers) => {
    const t = new Timeline(scheduler, helpers);
    rows = t.rows;
    scenario.build(t);
  });
  for (const row of rows) row.marks.sort((a, b) => a.frame - b.frame);
  const { name, title, caption } = scenario;
  return { name, title, caption, rows };
}

/**
 * A row as text, for assertions: `frame:label` per mark, `|` for complete, `#label` for an
 * error, `from-to:label` for a span, e.g. `1:a 4:b 5:|`.
 */
export function describeRow(row: Row): string {
  return row.marks.map(describeMark).join(' ');
}

function describeMark(m: Mark): string {
  if (m.kind === 'complete') return `${m.frame}:|`;
  if (m.kind === 'error') return `${m.frame}:#${m.label}`;
  if (m.kind === 'span') return `${m.frame}-${m.end}:${m.label}`;
  return `${m.frame}:${m.label}`;
}

/** Every row of a diagram except operator boxes, as `describeRow` text keyed by row name. */
export function describeDiagram(diagram: Diagram): Record<string, string> {
  const out: Record<string, string> = {};
  for (const row of diagram.rows) if (row.role !== 'operator') out[row.name] = describeRow(row);
  return out;
}
