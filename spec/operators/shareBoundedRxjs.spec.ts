/**
 * RxJS 7.8's own `share` cases (see spec/channels/subjectShareCases.ts) with `shareBounded` in
 * place of `share()`: with plain subscribers it is a drop-in, resets included.
 */
import { shareBounded } from '../../src/index.js';
import {
  type Multicast,
  oneSubscriberCases,
  severalSubscriberCases,
} from '../channels/subjectShareCases.js';

for (const capacity of [1, 4]) {
  const make: Multicast = (config) => shareBounded(capacity, config);
  oneSubscriberCases(`shareBounded(${capacity})`, make);
  severalSubscriberCases(`shareBounded(${capacity})`, make);
}
