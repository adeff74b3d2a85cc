/**
 * The RabbitMQ examples are code too: the ```typescript amqp blocks of the doc comments under
 * src/amqp/ and of docs/amqp.md run here (spec/support/brokerDocBlocks.ts), each as its own
 * test against the server of spec/amqp/amqpServer.ts (AMQP_URL). Each example declares names
 * of its own and deletes them.
 */
import { beforeEach, expect, it } from 'vitest';
import { brokerDocBlocks } from '../support/brokerDocBlocks.js';
import { amqpUrl, describeAmqp } from './amqpServer.js';

const { blocks, run } = brokerDocBlocks('amqp');

describeAmqp('RabbitMQ examples in the docs', () => {
  beforeEach(() => {
    process.env.AMQP_URL = amqpUrl;
  });

  it('finds the examples it is meant to run', () => {
    expect(blocks.length).toBeGreaterThan(5);
  });

  for (const block of blocks) {
    it(`${block.file} block at line ${block.line} runs`, async () => {
      await run(block);
    });
  }
});
