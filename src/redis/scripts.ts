/**
 * The Lua scripts of `RedisQueue` (not exported from the package). Every state change of a
 * message happens inside one script, so it is atomic: Redis runs a script to the end before
 * any other command.
 *
 * Calling convention, the same for every script:
 *
 * ```text
 * KEYS[1…8] the queue's keys Q:s Q:l Q:d Q:x Q:c Q:xi Q:cfg Q:p (`redisQueueKeys(…).declared`):
 *          every key a script touches is one of them or is derived from Q (messages, ids,
 *          groups), and
 *          all carry the queue's hash tag, so they live in one cluster slot; the stream exists
 *          from the first call on, so a slot migration moves the script with the keys (TRYAGAIN
 *          while they are split) instead of running it on a partial copy
 * ARGV[1]  now in ms, or "" to read the Redis server's TIME
 * ARGV[2]  maxAttempts      ARGV[3] visibilityTimeout      ARGV[4] dedupWindow
 * ARGV[5]  deadLetter.capacity                 (-1 stands for Infinity in ARGV[2..5])
 * ARGV[6…] the script's own arguments
 * ```
 *
 * Keys under the base `Q` (see `redisQueueKeys`):
 *
 * ```text
 * Q:s        stream of visible and in-flight messages; an entry holds only k = <seq>; also
 *            acknowledged entries not trimmed yet (counted in gh of Q:c; prelude.ts)
 * Q:l        sorted set of leases: member "<ticket>:<seq>", score = deadline (ms)
 * Q:d        sorted set of delayed messages: member "<ticket>:<seq>", score = due time (ms)
 * Q:x        stream of dead letters (a full snapshot of each)
 * Q:xi       hash: caller's id -> the entry ids of its dead letters, space-separated, so that
 *            targeted redrive and purge find them without reading the stream
 * Q:c        hash of counters (enqueued, acked, ...), the seq and ticket sequences, gh (the
 *            acknowledged entries Q:s still holds), and xi = 1
 *            once every dead letter is in Q:xi (xic: where indexing older ones got to)
 * Q:cfg      hash of the settings every handle must agree on (see sharedSettings.ts)
 * Q:m:<seq>  hash, one message: i id, p payload, t enqueuedAt, w named, a attempts,
 *            n deliveries, s state, e current entry, rk nonce of the latest delivery,
 *            dl its deadline (-1: none), lk lease member, dm delay member, le last error,
 *            end how the last lease ended otherwise than by an ack (x expired, r released or
 *            nacked; read only when s is neither f nor a), tk token of the last settling
 *            call, etk token of the enqueue
 * Q:i:<id>   the seq of the message enqueued under a caller's id (deduplication)
 * Q:p, Q:g:<group>, and the fields g, pr, and gw, fo, bell of Q:c: groups and priorities,
 *            described in groupScripts.ts
 * ```
 *
 * Bounded work: no script reads a whole stream or set. Dead letters beyond the capacity are
 * evicted at most TRIM_STEP per call (later calls evict the rest); whole-queue redrive and
 * purge read one page per call and the client calls again; `stats` processes at most 1000 due
 * leases and delays; `receive` reads at most RECEIVE_CAP entries (the client caps `max`).
 *
 * States (`s`): v visible (in the stream, not delivered; or in Q:p, or waiting in its group,
 * with no entry), d delayed, f in flight (lease in Q:l; pending in the consumer group, unless
 * leased from Q:p), a acked, x dead, g gone (a dead letter evicted or purged).
 *
 * A receipt is `<seq>:<n>:<nonce>:<base key>`, the nonce being 96 random bits (16 base64url
 * characters from `node:crypto`) that the receive script stored with delivery `n` (field rk,
 * beside the deadline dl). It is trusted only when it names this queue's base key, the
 * message's latest delivery is number `n`, the nonce is that delivery's, the message is in
 * flight and its deadline is after now.
 * @module
 */
import { createHash } from 'node:crypto';
import { PURGE, REDRIVE, SETTINGS } from './deadLetterScripts.js';
import { DEAD_IDS, DEAD_PAGE, RECEIVE_CAP } from './limits.js';
import { PRELUDE } from './prelude.js';

export { DEAD_IDS, DEAD_PAGE, RECEIVE_CAP };

/** A Lua script with its SHA1, for EVALSHA with a fallback to EVAL. */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

/** Each script returns its result; the last element is always the list of evicted dead letters. */
const SCRIPTS = {
  /**
   * A batch of enqueues, in order, as if one after the other. ARGV[6] capacity (-1: none),
   * [7] 'drop' or other, then per message six arguments from ARGV[8]: payload, id or '',
   * delay, token, group or '', priority. Returns { { result, id } per message, evicted }.
   */
  enqueue: `
local cap = num(ARGV[6])
local count = (#ARGV - 7) / 6
local results = {}
local room = cap - live()
local first = tonumber(redis.call('HGET', C, 'seq') or '0')
local used, added, dups, drops = 0, 0, 0, 0
for k = 0, count - 1 do
  local base = 8 + k * 6
  local payload, id, delay, token = ARGV[base], ARGV[base + 1], tonumber(ARGV[base + 2]), ARGV[base + 3]
  local group, prio = ARGV[base + 4], ARGV[base + 5]
  local result
  if string.sub(id, 1, 1) == '#' then
    -- Generated ids are '#<seq>': one given back names that message, live or not; a caller id
    -- there could collide with a later generated one, so it is refused.
    result = 'reserved'
    local g = string.sub(id, 2)
    if string.match(g, '^%d+$') then
      local r = redis.call('HMGET', M(g), 's', 'i', 'w', 'etk')
      if r[2] == id and r[3] == '0' then
        if r[4] == token then result = 'ok'
        elseif r[1] == 'v' or r[1] == 'd' or r[1] == 'f' then
          dups = dups + 1
          result = 'duplicate'
        end
      end
    end
  elseif id ~= '' then
    local old = redis.call('GET', I(id))
    if old then
      local r = redis.call('HMGET', M(old), 's', 't', 'etk')
      if r[1] then
        if r[3] == token then result = 'ok'
        elseif r[1] == 'v' or r[1] == 'd' or r[1] == 'f' or tonumber(r[2]) + WIN > now then
          dups = dups + 1
          result = 'duplicate'
        end
      end
    end
  end
  if not result and room <= 0 then
    if ARGV[7] == 'drop' then
      drops = drops + 1
      result = 'dropped'
    else
      result = 'full'
    end
  end
  if not result then
    used = used + 1
    room = room - 1
    local seq = str(first + used)
    local named = '1'
    if id == '' then id = '#' .. seq; named = '0' end
    local m = M(seq)
    redis.call('DEL', m)
    if named == '1' then redis.call('SET', I(id), seq) end
    added = added + 1
    if delay > 0 then
      local dm = ticket() .. ':' .. seq
      redis.call('ZADD', D, score(now + delay), dm)
      redis.call('HSET', m, 'i', id, 'p', payload, 't', str(now), 'w', named, 'a', 0, 'n', 0,
        'etk', token, 's', 'd', 'dm', dm, 'e', '')
      setOrder(seq, group, prio)
    elseif group ~= '' or prio ~= '0' then
      redis.call('HSET', m, 'i', id, 'p', payload, 't', str(now), 'w', named, 'a', 0, 'n', 0,
        'etk', token)
      setOrder(seq, group, prio)
      arrive(seq, group, prio)
    else
      local e = redis.call('XADD', S, '*', 'k', seq)
      redis.call('HSET', m, 'i', id, 'p', payload, 't', str(now), 'w', named, 'a', 0, 'n', 0,
        'etk', token, 's', 'v', 'e', e)
    end
    result = 'ok'
  end
  results[k + 1] = { result, id }
end
if used > 0 then redis.call('HINCRBY', C, 'seq', used) end
if added > 0 then redis.call('HINCRBY', C, 'enqueued', added) end
if dups > 0 then redis.call('HINCRBY', C, 'duplicates', dups) end
if drops > 0 then redis.call('HINCRBY', C, 'dropped', drops) end
return { results, evicted }
`,

  /**
   * ARGV[6] consumer, [7] max, [8] max random nonces of 16 characters each, one per delivery.
   * Returns { now, nextDue or -1, lastId or '', deliveries, deadline or -1, evicted }, the
   * deliveries flat, three items each: id, payload, "<attempt>:<receipt>"; every delivery of
   * the call has the one deadline.
   */
  receive: `
processDue(100)
local out = lease(ARGV[6], tonumber(ARGV[7]), ARGV[8])
local nextDue, lastId = -1, ''
if #out == 0 then
  for _, key in ipairs({ L, D }) do
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if first[2] then
      local due = tonumber(first[2])
      if due and due ~= INF and (nextDue < 0 or due < nextDue) then nextDue = due end
    end
  end
  local last = redis.call('XREVRANGE', S, '+', '-', 'COUNT', 1)
  if last[1] then lastId = last[1][1] else lastId = '0-0' end
end
return { now, nextDue, lastId, out, DEADLINE, evicted }
`,

  /**
   * A batch of acks, in order, then the next deliveries of the consumer whose workers they
   * free: one round trip per batch. ARGV[6] consumer, [7] how many to lease after the acks (0:
   * none), [8] that many nonces of 16 characters, [9] the call's token, [10] the receipts
   * without their base key (the client checked it), separated by spaces ('-' for one the
   * client refused). The k-th ack's token is "<token>/<k>". Returns { the results separated by
   * spaces, deliveries (as receive's), now, the leases the queue holds (every consumer's),
   * deadline or -1 of the deliveries, evicted }. Entries and leases of the batch are removed
   * together; the consumer never holds more leases than before the call.
   */
  ack: `
local results, entries, members = {}, {}, {}
local k = 0
for head in string.gmatch(ARGV[10], '%S+') do
  k = k + 1
  local token = ARGV[9] .. '/' .. k
  local seq, a, b = resolveHead(head)
  if not seq then
    -- a resend of this very call (the client resends after a reconnect) succeeded the first time
    if a == 'acked' and b[6] == token then results[k] = 'ok' else results[k] = a end
  else
    if a[8] ~= '' then entries[#entries + 1] = a[8] else offLeaseEnded() end
    members[#members + 1] = a[5]
    if a[10] == '1' then
      -- kept to deduplicate its id: the payload is emptied, not deleted (one call instead of
      -- two); the entry and lease fields (e, lk) are read only while it is in flight
      redis.call('HSET', M(seq), 's', 'a', 'tk', token, 'p', '')
      finish(seq, a[9], a[10], a[11])
    else
      ackedUnnamed(seq, a[9], a[1], a[2], token)
    end
    groupDone(seq, a[13])
    results[k] = 'ok'
  end
end
ackedWrite()
if #members > 0 then
  redis.call('ZREM', L, unpack(members))
  local acked = redis.call('HINCRBY', C, 'acked', #members)
  if #entries > 0 then ackEntries(entries, acked) end
end
local out = {}
local want = tonumber(ARGV[7])
if want > 0 then
  processDue(100)
  out = lease(ARGV[6], want, ARGV[8])
end
return { table.concat(results, ' '), out, now, redis.call('ZCARD', L), DEADLINE, evicted }
`,

  /** ARGV[6] receipt, [7] token, [8] delay, [9] encoded error or '' */
  nack: `
local seq, r, rec = resolve(ARGV[6])
if not seq then
  if r == 'released' and rec[6] == ARGV[7] then
    if rec[3] == 'x' then return { 'dead', evicted } end
    return { 'ok', evicted }
  end
  return { r, evicted }
end
local delay = tonumber(ARGV[8])
unlease(seq, r)
redis.call('HSET', M(seq), 'end', 'r', 'tk', ARGV[7], 'e', '')
if ARGV[9] ~= '' then redis.call('HSET', M(seq), 'le', ARGV[9]) end
redis.call('HINCRBY', C, 'nacked', 1)
if tonumber(r[7]) >= MAXA then
  kill(seq, 'nacked')
  return { 'dead', evicted }
end
if delay > 0 then
  local dm = ticket() .. ':' .. seq
  redis.call('ZADD', D, score(now + delay), dm)
  redis.call('HSET', M(seq), 's', 'd', 'dm', dm)
else
  back(seq)
end
return { 'ok', evicted }
`,

  /** ARGV[6] receipt, [7] token */
  release: `
local seq, r, rec = resolve(ARGV[6])
if not seq then
  if r == 'released' and rec[6] == ARGV[7] then return { 'ok', evicted } end
  return { r, evicted }
end
unlease(seq, r)
redis.call('HSET', M(seq), 'end', 'r', 'tk', ARGV[7], 'e', '')
redis.call('HINCRBY', M(seq), 'a', -1)
redis.call('HINCRBY', C, 'released', 1)
back(seq)
return { 'ok', evicted }
`,

  /** ARGV[6] receipt, [7] ms. Returns { 'ok', deadline or -1 } or { reason } */
  extend: `
local seq, r = resolve(ARGV[6])
if not seq then return { r, -1, evicted } end
local dl = now + num(ARGV[7])
redis.call('ZADD', L, 'XX', score(dl), r[5])
local deadline = -1
if dl ~= INF then deadline = dl end
redis.call('HSET', M(seq), 'dl', str(deadline))
return { 'ok', deadline, evicted }
`,

  /** ARGV[6] receipt, [7] encoded error: a delivery whose payload could not be decoded */
  poison: `
local seq, r = resolve(ARGV[6])
if not seq then return { r, evicted } end
unlease(seq, r)
redis.call('HSET', M(seq), 'end', 'r', 'le', ARGV[7], 'e', '')
kill(seq, 'corrupt')
return { 'ok', evicted }
`,

  /** Processes what is due, then counts. Returns { counts..., counters (flat), evicted } */
  stats: `
processDue(1000)
trimDead()
local inFlight = redis.call('ZCARD', L)
local visible = redis.call('XLEN', S) - inFlight + offStream()
return { visible, inFlight, redis.call('ZCARD', D), redis.call('XLEN', X), redis.call('HGETALL', C), evicted }
`,

  redrive: REDRIVE,
  purge: PURGE,
  settings: SETTINGS,
} as const;

/** The name of each script. */
export type ScriptName = keyof typeof SCRIPTS;

function build(name: ScriptName): LuaScript {
  const lua = `${PRELUDE}\n${SCRIPTS[name]}`;
  return Object.freeze({ name, lua, sha: createHash('sha1').update(lua).digest('hex') });
}

/** Every script, built once per process. */
export const scripts: Readonly<Record<ScriptName, LuaScript>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(SCRIPTS) as ScriptName[]).map((name) => [name, build(name)]),
  ) as Record<ScriptName, LuaScript>,
);
