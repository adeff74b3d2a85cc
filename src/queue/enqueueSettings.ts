/**
 * The options of one `MessageQueue.enqueue` or `send`, checked (internal to the queue folder).
 * @module
 */
import { checkHeaders, type Headers } from '../internal/headers.js';
import {
  checkDuration,
  checkGroup,
  checkOptions,
  checkPriority,
  checkSignal,
} from '../internal/validate.js';
import type { MessageOrder } from './coreConfig.js';
import { MessageTooLargeError } from './messageTooLargeError.js';
import { ENQUEUE_OPTIONS, ORDER_OPTIONS, SEND_OPTIONS } from './optionNames.js';
import { checkMessageId } from './queueFamily.js';
import type { EnqueueOptions, QueueSendOptions } from './types.js';

const ENQUEUE_WITH_ORDER = [...ENQUEUE_OPTIONS, ...ORDER_OPTIONS];
const SEND_WITH_ORDER = [...SEND_OPTIONS, ...ORDER_OPTIONS];

/** One message's checked options. */
export interface EnqueueSettings {
  readonly delay: number;
  readonly id: string | undefined;
  readonly headers: Headers | undefined;
  /** Undefined for the plain case (no group, priority 0). */
  readonly order: MessageOrder | undefined;
  /** `send` only. */
  readonly signal: AbortSignal | undefined;
}

/**
 * Checks the options of an enqueue (`send` false) or a send (`send` true, which allows `signal`),
 * with errors naming `where` and the option; an id longer than `maxIdLength` is refused with
 * `MessageTooLargeError`.
 */
export function enqueueSettings(
  where: string,
  options: QueueSendOptions | undefined,
  maxIdLength: number,
  send: boolean,
): EnqueueSettings {
  const opts = checkOptions<QueueSendOptions>(
    where,
    options,
    send ? SEND_WITH_ORDER : ENQUEUE_WITH_ORDER,
  );
  const delay = opts.delay === undefined ? 0 : checkDuration(where, 'delay', opts.delay);
  const id = checkMessageId(where, opts.id, maxIdLength, MessageTooLargeError);
  if (!send) {
    const headers = checkHeaders(where, opts.headers);
    return { delay, id, headers, order: messageOrder(where, opts), signal: undefined };
  }
  const signal = checkSignal(where, opts.signal);
  const order = messageOrder(where, opts);
  const headers = checkHeaders(where, opts.headers);
  return { delay, id, headers, order, signal };
}

/** The checked `group` and `priority` of a message, undefined for the plain case. */
function messageOrder(where: string, options: EnqueueOptions): MessageOrder | undefined {
  const group = checkGroup(where, options.group);
  const priority = checkPriority(where, options.priority);
  return group === undefined && priority === 0 ? undefined : { group, priority };
}
