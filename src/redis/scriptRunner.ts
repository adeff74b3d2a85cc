/**
 * How `RedisQueue` talks to Redis (internal to `sluice/redis`): its scripts by SHA, plain
 * commands, the shared-settings check before the first call, and failures as
 * `RedisCommandError`.
 * @module
 */
import type { SchedulerLike } from 'rxjs';
import type { RedisQueueKeys } from './keys.js';
import { RedisCommandError } from './redisCommandError.js';
import type { RedisQueueClock, RedisQueueConnection } from './redisQueueOptions.js';
import { decodeReply, type Fields, type ScriptReplies } from './replies.js';
import { type ScriptName, scripts } from './scripts.js';
import {
  isSettingsRefusal,
  SettingsGate,
  type SharedSettings,
  settingsMismatch,
} from './sharedSettings.js';

/** What the runner needs from its queue handle. */
export interface ScriptRunnerHost {
  /** The name errors start with. */
  readonly name: string;
  readonly connection: RedisQueueConnection;
  readonly keys: RedisQueueKeys;
  readonly clock: RedisQueueClock;
  readonly scheduler: SchedulerLike;
  /** The settings every script call carries after the clock. */
  readonly settings: readonly string[];
  /** The settings every handle must agree on, checked before the first call. */
  readonly shared: SharedSettings;
  /** Dead letters a script evicted (its reply's last element), as stored fields. */
  evicted(evicted: Fields[]): void;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Runs the queue's scripts and commands on its connection. */
export class ScriptRunner {
  /** The first call stores or compares the shared settings (sharedSettings.ts). */
  private readonly gate: SettingsGate;
  private readonly tokenPrefix = Math.random().toString(36).slice(2, 10);
  private tokenSeq = 0;

  constructor(private readonly host: ScriptRunnerHost) {
    const { name, shared } = host;
    this.gate = new SettingsGate(async () => {
      const reply = await this.run(name, 'settings', Object.entries(shared).flat());
      return settingsMismatch(name, host.keys.base, shared, reply);
    });
  }

  /** The queue's base key, which every receipt of this queue ends with. */
  get base(): string {
    return this.host.keys.base;
  }

  /** A token that names one call, so a call the client resends after a reconnect is recognised. */
  token(): string {
    return `${this.tokenPrefix}.${++this.tokenSeq}`;
  }

  private now(): string {
    return this.host.clock === 'redis' ? '' : String(Math.floor(this.host.scheduler.now()));
  }

  /**
   * Runs a script by SHA, loading it with EVAL when the server does not know it yet, and
   * decodes its reply (`replies.ts`); evicted dead letters go to the host.
   */
  async run<N extends ScriptName>(
    where: string,
    name: N,
    args: Array<string | number>,
  ): Promise<ScriptReplies[N]> {
    const gate = name === 'settings' ? undefined : this.gate.ready();
    if (gate !== undefined) await gate;
    const script = scripts[name];
    const argv = this.argv(script.sha, args);
    let reply: unknown;
    try {
      try {
        reply = await this.host.connection.call('EVALSHA', argv);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        reply = await this.host.connection.call('EVAL', [script.lua, ...argv.slice(1)]);
      }
    } catch (error) {
      throw this.failure(where, error);
    }
    const { result, evicted } = decodeReply(name, where, reply);
    if (evicted.length > 0) this.host.evicted(evicted);
    return result;
  }

  /** A script call's arguments: the script, its keys, the clock, the settings, then `args`. */
  private argv(script: string, args: Array<string | number>): Array<string | number> {
    const { declared } = this.host.keys;
    const { settings } = this.host;
    const argv: Array<string | number> = [script, declared.length];
    for (const key of declared) argv.push(key);
    argv.push(this.now());
    for (const setting of settings) argv.push(setting);
    for (const arg of args) argv.push(arg);
    return argv;
  }

  /** Sends one command, after the settings check. */
  async command(where: string, command: string, args: Array<string | number>): Promise<unknown> {
    const gate = this.gate.ready();
    if (gate !== undefined) await gate;
    try {
      return await this.host.connection.call(command, args);
    } catch (error) {
      throw this.failure(where, error);
    }
  }

  /** A batched call's failure, named after the call that made it (`send` shares `enqueue`'s batch). */
  rename(error: unknown, where: string): unknown {
    if (!(error instanceof Error) || error.message.startsWith(`${where}:`)) return error;
    if (isSettingsRefusal(error)) return error;
    return this.failure(where, error.cause ?? error);
  }

  /** The client's failure of the call `where`, as a `RedisCommandError` (a copy of its cause). */
  failure(where: string, error: unknown): Error {
    return new RedisCommandError(where, error);
  }
}
