/**
 * RxJS 7.8's own `share` cases with sluice's Subject views in place of `new Subject()`, and
 * with `new Subject()` itself as the control (see subjectShareCases.ts).
 *
 * `broadcastSubject` takes every case: every subscriber gets every message after it joined.
 * `mpmcSubject` gives each message to one subscriber, so it takes only the one-subscriber cases.
 */
import { repeat, retry, Subject, type SubjectLike, share, takeWhile, tap } from 'rxjs';
import { broadcastSubject, mpmcSubject } from 'sluice';
import { describe, expect, it } from 'vitest';
import {
  type Multicast,
  oneSubscriberCases,
  run,
  severalSubscriberCases,
} from './subjectShareCases.js';

type Connector = () => SubjectLike<unknown>;

const connectors: Array<[string, Connector, boolean]> = [
  ['new Subject()', () => new Subject<unknown>(), true],
  ['broadcastSubject(4)', () => broadcastSubject<unknown>(4), true],
  ['broadcastSubject(1)', () => broadcastSubject<unknown>(1), true],
  ['mpmcSubject(4)', () => mpmcSubject<unknown>(4), false],
];

for (const [name, connector, several] of connectors) {
  const make: Multicast = (config) => share({ ...config, connector: connector as never });
  oneSubscriberCases(`share({ connector: ${name} })`, make);
  if (several) severalSubscriberCases(`share({ connector: ${name} })`, make);

  describe(`share({ connector: ${name} })`, () => {
    it('calls the connector once per connection', () => {
      let made = 0;
      run(({ hot, expectObservable }) => {
        const source = hot('-a-b-E-c-d-C-e-f-');
        const result = source.pipe(
          tap((v) => {
            if (v === 'E') throw new Error('E');
          }),
          takeWhile((v) => v !== 'C'),
          share({
            connector: () => {
              made++;
              return (connector as () => SubjectLike<string>)();
            },
          }),
          retry(),
          repeat(),
        );
        expectObservable(result, '^----------------!').toBe('-a-b---c-d---e-f-');
      });
      expect(made).toBe(3);
    });
  });
}
