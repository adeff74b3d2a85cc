/**
 * Dead-letter calls of `RedisQueue` in bounded steps (internal). Each script call does bounded
 * work: targeted calls send at most `DEAD_IDS` ids and find them through the dead-letter index;
 * whole-queue calls read at most `DEAD_PAGE` dead letters and are called again from where the
 * last one stopped, up to the newest dead letter present when the call began (so dead letters
 * added meanwhile, a redriven message failing again for one, cannot keep it going forever).
 * @module
 */
import { decodeEntries, type Fields, type RawEntry, type ScriptReplies } from './replies.js';
import { DEAD_IDS, type ScriptName } from './scripts.js';

/** The calls into Redis a dead-letter call needs. */
export interface DeadLetterAccess {
  /** Runs one of the queue's scripts with its arguments; resolves with its decoded reply. */
  run<N extends ScriptName>(
    where: string,
    name: N,
    args: Array<string | number>,
  ): Promise<ScriptReplies[N]>;
  /** Sends one command. */
  command(where: string, command: string, args: Array<string | number>): Promise<unknown>;
  /** The dead-letter stream's key. */
  readonly dead: string;
}

/** The newest dead letter's entry id, or undefined when there is none. */
async function newest(access: DeadLetterAccess, where: string): Promise<string | undefined> {
  const reply = await access.command(where, 'XREVRANGE', [access.dead, '+', '-', 'COUNT', 1]);
  return decodeEntries(where, reply)[0]?.[0];
}

function chunks(ids: readonly string[]): string[][] {
  const unique = [...new Set(ids)];
  const out: string[][] = [];
  for (let i = 0; i < unique.length; i += DEAD_IDS) out.push(unique.slice(i, i + DEAD_IDS));
  return out;
}

/**
 * Calls `name` over every page (ids undefined) or every chunk of ids, collecting what each call
 * returns before its `next` element. `head` are the arguments before the mode.
 */
async function paged<N extends 'redrive' | 'purge'>(
  access: DeadLetterAccess,
  where: string,
  name: N,
  head: Array<string | number>,
  ids: readonly string[] | undefined,
  collect: (reply: ScriptReplies[N]) => void,
): Promise<void> {
  if (ids !== undefined) {
    for (const chunk of chunks(ids)) {
      for (;;) {
        const reply = await access.run(where, name, [...head, 'ids', ...chunk]);
        if (reply.next === 'again') continue; // older dead letters were indexed, a page per call
        collect(reply);
        break;
      }
    }
    return;
  }
  const end = await newest(access, where);
  if (end === undefined) return;
  let from = '-';
  while (from !== '') {
    const reply = await access.run(where, name, [...head, 'page', from, end]);
    collect(reply);
    from = reply.next;
  }
}

/** `redrive` in bounded script calls: redriven ids and skipped `[id, reason]` pairs. */
export async function redriveInPages(
  access: DeadLetterAccess,
  where: string,
  capacity: string,
  ids: readonly string[] | undefined,
): Promise<{ redriven: string[]; skipped: Array<[string, string]> }> {
  const redriven: string[] = [];
  const skipped: Array<[string, string]> = [];
  await paged(access, where, 'redrive', [capacity], ids, (reply) => {
    redriven.push(...reply.redriven);
    skipped.push(...reply.skipped);
  });
  return { redriven, skipped };
}

/** `purgeDeadLetters` in bounded script calls: the fields of each purged dead letter. */
export async function purgeInPages(
  access: DeadLetterAccess,
  where: string,
  ids: readonly string[] | undefined,
): Promise<Fields[]> {
  const purged: Fields[] = [];
  await paged(access, where, 'purge', [], ids, (reply) => {
    purged.push(...reply.purged);
  });
  return purged;
}

/** Every dead letter, oldest first, read `DEAD_PAGE` at a time. */
export async function readDeadLetters(
  access: DeadLetterAccess,
  where: string,
): Promise<RawEntry[]> {
  const out: RawEntry[] = [];
  let from = '-';
  for (;;) {
    const reply = await access.command(where, 'XRANGE', [access.dead, from, '+', 'COUNT', 500]);
    const page = decodeEntries(where, reply);
    if (page.length === 0) return out;
    out.push(...page);
    if (page.length < 500) return out;
    from = `(${page[page.length - 1]![0]}`;
  }
}
