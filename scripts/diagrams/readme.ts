import type { Diagram } from './timeline.js';

/** docs/diagrams/README.md: every diagram with its caption, in scenario order. */
export function renderReadme(diagrams: readonly Diagram[]): string {
  const lines = [
    '# Diagrams',
    '',
    'Every picture here is drawn by running the real operators in RxJS `TestScheduler` virtual',
    'time and recording what they emitted, and when: the inputs, the output, and the callbacks',
    '(`onOverflow`, `onRetry`, `deadLetter`, ...) as annotation rows. One column is one frame of',
    'virtual time (one millisecond for the operators that take a scheduler). A label `a#2` reads',
    '"message a, attempt 2".',
    '',
    'The scenarios are in `scripts/diagrams/scenarios.ts`. `npm run diagrams` regenerates the',
    'SVGs and this page; `spec/diagrams.spec.ts` checks what each scenario recorded and fails',
    'when a committed file differs from what the code draws now.',
    '',
  ];
  for (const d of diagrams) {
    lines.push(`## ${d.title}`, '', `![${d.title}](${d.name}.svg)`, '', d.caption, '');
  }
  return lines.join('\n');
}
