import { broadcast } from 'sluice';
import { describeBroadcast } from './broadcastSemantics.js';

describeBroadcast('broadcast (in memory)', (capacity, options) => {
  const [tx, rx] = broadcast<number>(capacity, options);
  rx.close(); // only the receivers a test opens count
  return {
    send: async (value) => {
      tx.send(value);
    },
    close: async () => tx.close(),
    fail: async (error) => tx.error(error),
    rx,
    joined: async () => {},
    retained: async () => tx.size,
    dispose: async () => tx.close(),
  };
});
