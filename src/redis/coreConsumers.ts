/**
 * The core's queue consumers as sluice/redis uses them: imported through 'sluice', so one copy
 * of their classes is loaded at run time.
 * @module
 */
import { consumeQueue, consumeQueueBatch } from 'sluice';
import type { QueueConsumers } from '../queue/queueFamily.js';

/** `consumeQueue` and `consumeQueueBatch` of the core, for `consumeStore`/`consumeStoreBatch`. */
export const coreConsumers: QueueConsumers = { consumeQueue, consumeQueueBatch };
