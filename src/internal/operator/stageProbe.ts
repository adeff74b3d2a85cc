/**
 * What a working stage reports to its `instrument` option, seen from `internal/` (the public
 * `Probe` satisfies it): a job started, a started job ended (the handle `start` returned), and
 * the subscription ended with jobs still waiting.
 */
export interface StageProbe<T> {
  start(job: T, workerId: number | undefined): object;
  end(started: object, outcome: 'done' | 'failed' | 'cancelled'): void;
  dropAll(): void;
}
