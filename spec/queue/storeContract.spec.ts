import { MessageQueue } from '../../src/queue/messageQueue.js';
import { describeQueueStore } from './storeContract.js';

describeQueueStore('MessageQueue (in memory)', (clock, options) => {
  const store = new MessageQueue<string>({ scheduler: clock, ...options });
  return {
    store,
    clock,
    peer: () => store,
    dispose: async () => {
      await store.close();
    },
  };
});
