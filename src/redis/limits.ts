/**
 * How much work one script call of `RedisQueue` does at most (internal).
 * @module
 */

/** The most entries one `receive` script reads; a larger `max` is served in later calls. */
export const RECEIVE_CAP = 1000;
/** The most dead letters one whole-queue `redrive` or `purge` call reads. */
export const DEAD_PAGE = 500;
/** The most ids one targeted `redrive` or `purge` call looks up. */
export const DEAD_IDS = 100;
