/**
 * `sluice/amqp`: publishers, receivers and consumers on RabbitMQ (AMQP 0-9-1). A separate entry
 * point, so that the core package never loads an AMQP client: this one expects an amqplib
 * connection from the caller (amqplib is an optional peer dependency of sluice).
 * @module
 */
export { AmqpPublisher, type AmqpPublisherOptions, type AmqpSendOptions } from './amqpPublisher.js';
export { type AmqpSerializer, jsonSerializer } from './codec.js';
export type { AmqpConnection } from './connection.js';
export { PublishFailedError, UnroutableError } from './errors.js';
