import { tap } from 'rxjs';
import { batch, rateLimit } from '../../src/index.js';
import type { Scenario } from './timeline.js';

/** The flow control scenarios drawn in docs/diagrams (docs/flow-control.md shows them). */

export const rateLimitWindow: Scenario = {
  name: 'rateLimit-window',
  title: 'rateLimit({ limit: 2, interval: 5 }): a sliding window',
  caption:
    'At most 2 messages in any window of 5 frames. a and b leave at once; c waits until a has been out for 5 frames (frame 5), d until b has (frame 6). Each span is the window a release counts in.',
  build(t) {
    const source = t.helpers.cold('abcd-----|');
    t.observe('source', 'input', source);
    t.operator('rateLimit({ limit: 2, interval: 5 })');
    const counted = t.spans('counts in the window');
    const output = source.pipe(
      rateLimit({ limit: 2, interval: 5, scheduler: t.scheduler }),
      tap((m) => {
        const leave = counted(m);
        t.at(t.now() + 5, () => leave());
      }),
    );
    t.observe('output', 'output', output);
  },
};

export const batchSizeTime: Scenario = {
  name: 'batch-size-time',
  title: 'batch({ size: 3, time: 4 }): by size, by time, at the end',
  caption:
    '[a, b, c] leaves when full (frame 2). d starts a batch and its timer; nothing joins it within 4 frames, so [d] leaves at 7. e starts another, which leaves when the source completes. Never an empty batch: no message, no timer.',
  build(t) {
    const source = t.helpers.cold('abcd-----e|');
    t.observe('source', 'input', source);
    t.operator('batch({ size: 3, time: 4 })');
    const output = source.pipe(batch({ size: 3, time: 4, scheduler: t.scheduler }));
    t.observe('output', 'output', output, (b) => `[${(b as string[]).join(',')}]`);
  },
};
