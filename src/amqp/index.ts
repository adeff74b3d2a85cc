/**
 * `sluice/amqp`: publishers, receivers and consumers on RabbitMQ (AMQP 0-9-1). A separate entry
 * point, so that the core package never loads an AMQP client: this one expects an amqplib
 * connection from the caller (amqplib is an optional peer dependency of sluice).
 * @module
 */
export { AmqpPublisher, type AmqpPublisherOptions, type AmqpSendOptions } from './amqpPublisher.js';
export {
  type AmqpDelivery,
  type AmqpNackOptions,
  type AmqpReceiverOptions,
  amqpReceiver,
} from './amqpReceiver.js';
export { type AmqpRedriveOptions, type AmqpRedriveResult, amqpRedrive } from './amqpRedrive.js';
export { type AmqpTopology, type AmqpTopologyOptions, amqpTopology } from './amqpTopology.js';
export { type AmqpSerializer, jsonSerializer } from './codec.js';
export type { AmqpConnection } from './connection.js';
export {
  type AmqpConsumeContext,
  type AmqpConsumeOptions,
  type AmqpConsumeOutcome,
  type AmqpMessageHandler,
  consumeAmqp,
} from './consumeAmqp.js';
export type { AmqpDeadLetterTarget } from './deadLetter.js';
export { ChannelLostError, PublishFailedError, UnroutableError } from './errors.js';
export type { AmqpReconnectOptions } from './reconnect.js';
