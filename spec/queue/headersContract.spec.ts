import { MessageQueue } from '../../src/queue/messageQueue.js';
import { describeHeaders } from './headersContract.js';

describeHeaders('MessageQueue (in memory)', (clock, options) => {
  const store = new MessageQueue<string>({ scheduler: clock, ...options });
  return { store, clock, peer: () => store, dispose: async () => void (await store.close()) };
});
