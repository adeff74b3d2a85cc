/**
 * sluice/amqp errors can be logged: sluice/amqp never sees a connection URL (it is handed a
 * connection), and the client errors it wraps are reduced to name, message and code, so
 * whatever a client attaches to its errors (a URL with a password, a frame) is not carried.
 */
import { describe, expect, it } from 'vitest';
import { ChannelLostError, PublishFailedError } from '../../src/amqp/errors.js';

const SECRET = 'amqp://app:pw-51d8b604@rabbit.internal:5672/prod';

function clientError(): Error {
  const error = new Error('Connection closed: 320 (CONNECTION-FORCED)');
  Object.assign(error, { code: 320, url: SECRET, connection: { options: { url: SECRET } } });
  return error;
}

function reachable(root: unknown, seen = new Set<unknown>()): string[] {
  if (typeof root === 'string') return [root];
  if ((typeof root !== 'object' && typeof root !== 'function') || root === null) return [];
  if (seen.has(root)) return [];
  seen.add(root);
  return Reflect.ownKeys(root).flatMap((key) => {
    const descriptor = Object.getOwnPropertyDescriptor(root, key);
    return descriptor && 'value' in descriptor ? reachable(descriptor.value, seen) : [];
  });
}

describe('sluice/amqp errors that can be logged', () => {
  it('ChannelLostError keeps name, message and code of its cause, nothing else', () => {
    const error = new ChannelLostError('orders\nFORGED LOG LINE', clientError());
    expect(reachable(error).filter((s) => s.includes('pw-51d8b604'))).toEqual([]);
    expect(error.message).toBe(
      'the channel consuming queue "orders\\nFORGED LOG LINE" closed: Connection closed: 320 (CONNECTION-FORCED)',
    );
    expect(error.cause).toMatchObject({ name: 'Error', code: 320 });
  });

  it('PublishFailedError keeps name, message and code of its cause, nothing else', () => {
    const error = new PublishFailedError('payload', 'closed', clientError());
    expect(reachable(error).filter((s) => s.includes('pw-51d8b604'))).toEqual([]);
    expect((error.cause as Error).message).toBe('Connection closed: 320 (CONNECTION-FORCED)');
    expect(new PublishFailedError('payload', 'nacked').cause).toBeUndefined();
  });
});
