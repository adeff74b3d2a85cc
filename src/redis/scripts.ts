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
 * Q:s        stream of visible and in-flight messages; an entry holds only k = <seq>
 * Q:l        sorted set of leases: member "<ticket>:<seq>", score = deadline (ms)
 * Q:d        sorted set of delayed messages: member "<ticket>:<seq>", score = due time (ms)
 * Q:x        stream of dead letters (a full snapshot of each)
 * Q:xi       hash: caller's id -> the entry ids of its dead letters, space-separated, so that
 *            targeted redrive and purge find them without reading the stream
 * Q:c        hash of counters (enqueued, acked, ...), the seq and ticket sequences, and xi = 1
 *            once every dead letter is in Q:xi (xic: where indexing older ones got to)
 * Q:cfg      hash of the settings every handle must agree on (see sharedSettings.ts)
 * Q:m:<seq>  hash, one message: i id, p payload, t enqueuedAt, w named, a attempts,
 *            n deliveries, s state, e current entry, rk nonce of the latest delivery,
 *            dl its deadline (-1: none), lk lease member, dm delay member, le last error, end how the last lease ended,
 *            tk token of the last settling call, etk token of the enqueue
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
import { GROUP_KEYS, GROUP_LUA } from './groupScripts.js';
import { DEAD_IDS, DEAD_PAGE, RECEIVE_CAP } from './limits.js';

export { DEAD_IDS, DEAD_PAGE, RECEIVE_CAP };

/** A Lua script with its SHA1, for EVALSHA with a fallback to EVAL. */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

const PRELUDE = `
local S = KEYS[1]
local Q = string.sub(S, 1, -3)
local L = KEYS[2]
local D = KEYS[3]
local X = KEYS[4]
local C = KEYS[5]
local XI = KEYS[6]
local CFG = KEYS[7]
local TRIM_STEP = 100
local G = 'sluice'
local INF = math.huge
local function M(seq) return Q .. ':m:' .. seq end
local function I(id) return Q .. ':i:' .. id end
local function num(v) local n = tonumber(v); if n == nil or n < 0 then return INF end; return n end
local function str(n) return string.format('%.0f', n) end
local function score(n) if n == INF then return '+inf' end; return str(n) end
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local MAXA = num(ARGV[2])
local VT = num(ARGV[3])
local WIN = num(ARGV[4])
local DEADCAP = num(ARGV[5])
local evicted = {}

local function field(flat, name)
  for i = 1, #flat, 2 do if flat[i] == name then return flat[i + 1] end end
  return nil
end

local function ticket()
  return string.format('%016d', redis.call('HINCRBY', C, 'ticket', 1))
end

${GROUP_KEYS}
local function live()
  return redis.call('XLEN', S) + redis.call('ZCARD', D) + offStream()
end

-- The message left the live queue: a caller's id (and the record) is kept for the rest of its
-- deduplication window, counted from the enqueue, then expires. A message without a caller's
-- id has nothing to deduplicate: its record stays at most a minute (so a resent call or a late
-- receipt still gets its true answer), whatever the window, Infinity included.
local function finish(seq, known)
  local r = known or redis.call('HMGET', M(seq), 't', 'w', 'i')
  if not r[1] then return end
  local keys = { M(seq) }
  local ttl = tonumber(r[1]) + WIN - now
  if r[2] ~= '1' then
    ttl = math.min(ttl, 60000)
  else
    if redis.call('GET', I(r[3])) == seq then keys[2] = I(r[3]) end
    if WIN == INF then return end
  end
  for _, k in ipairs(keys) do
    if ttl > 0 then redis.call('PEXPIRE', k, str(math.ceil(ttl))) else redis.call('DEL', k) end
  end
end

-- Makes a message visible at the back of the stream.
local function addEntry(seq)
  local e = redis.call('XADD', S, '*', 'k', seq)
  redis.call('HSET', M(seq), 'e', e, 's', 'v')
  return e
end
${GROUP_LUA}

-- The dead-letter index: a caller's id -> entry ids of its dead letters (usually one).
local function indexDead(id, e)
  if not id or id == '' then return end
  local cur = redis.call('HGET', XI, id)
  if not cur then redis.call('HSET', XI, id, e); return end
  for x in string.gmatch(cur, '%S+') do if x == e then return end end
  redis.call('HSET', XI, id, cur .. ' ' .. e)
end

local function unindexDead(id, e)
  if not id or id == '' then return end
  local cur = redis.call('HGET', XI, id)
  if not cur then return end
  local rest = {}
  for x in string.gmatch(cur, '%S+') do if x ~= e then rest[#rest + 1] = x end end
  if #rest == 0 then redis.call('HDEL', XI, id) else redis.call('HSET', XI, id, table.concat(rest, ' ')) end
end

-- Dead letters stored before the index existed are indexed a page per call; true once done.
local function indexReady()
  if redis.call('HGET', C, 'xi') == '1' then return true end
  local from = redis.call('HGET', C, 'xic') or '-'
  local page = redis.call('XRANGE', X, from, '+', 'COUNT', 1000)
  for _, entry in ipairs(page) do indexDead(field(entry[2], 'i'), entry[1]) end
  if #page < 1000 then
    redis.call('HSET', C, 'xi', '1')
    redis.call('HDEL', C, 'xic')
    return true
  end
  redis.call('HSET', C, 'xic', '(' .. page[#page][1])
  return false
end

-- Evicts the oldest dead letters beyond the capacity, at most TRIM_STEP per call (later calls
-- evict the rest); the caller reports them.
local function trimDead()
  if DEADCAP == INF then return end
  local over = redis.call('XLEN', X) - DEADCAP
  if over <= 0 then return end
  for _, oldest in ipairs(redis.call('XRANGE', X, '-', '+', 'COUNT', math.min(over, TRIM_STEP))) do
    redis.call('XDEL', X, oldest[1])
    unindexDead(field(oldest[2], 'i'), oldest[1])
    redis.call('HINCRBY', C, 'deadEvicted', 1)
    evicted[#evicted + 1] = oldest[2]
    local seq = field(oldest[2], 'k')
    if seq and seq ~= '' and redis.call('HGET', M(seq), 's') == 'x' then
      redis.call('HSET', M(seq), 's', 'g')
      finish(seq)
    end
  end
end

local function kill(seq, reason)
  local r = redis.call('HMGET', M(seq), 'i', 'p', 'a', 'le', 't', 'w', 'g', 'pr')
  local x = redis.call('XADD', X, '*', 'k', seq, 'i', r[1] or '', 'p', r[2] or '', 'a', r[3] or '0',
    'le', r[4] or '', 'r', reason, 't', r[5] or '0', 'd', str(now), 'w', r[6] or '0',
    'g', r[7] or '', 'pr', r[8] or '0')
  indexDead(r[1], x)
  redis.call('HSET', M(seq), 's', 'x', 'e', '')
  redis.call('HDEL', M(seq), 'p', 'lk', 'dm')
  groupDone(seq, r[7])
  redis.call('HINCRBY', C, 'deadLettered', 1)
  trimDead()
end

-- A lease ran out (or was processed as run out): the message goes to the back of the stream,
-- or to the dead letters on its last attempt.
local function expire(seq, lk)
  redis.call('ZREM', L, lk)
  local r = redis.call('HMGET', M(seq), 'e', 'a', 's', 'lk')
  if r[3] ~= 'f' or (r[4] and r[4] ~= lk) then return end
  if r[1] and r[1] ~= '' then
    redis.call('XACK', S, G, r[1])
    redis.call('XDEL', S, r[1])
  else
    offLeaseEnded()
  end
  redis.call('HINCRBY', C, 'expired', 1)
  redis.call('HSET', M(seq), 'end', 'x')
  redis.call('HDEL', M(seq), 'lk')
  if tonumber(r[2]) >= MAXA then kill(seq, 'expired') else back(seq) end
end

-- Every lease past its deadline and every delayed message come due, in time order (a lease
-- first on a tie), at most limit of each. Returns how many it processed.
local function processDue(limit)
  local ls = redis.call('ZRANGEBYSCORE', L, '-inf', str(now), 'WITHSCORES', 'LIMIT', 0, limit)
  local ds = redis.call('ZRANGEBYSCORE', D, '-inf', str(now), 'WITHSCORES', 'LIMIT', 0, limit)
  local i, j = 1, 1
  while i <= #ls or j <= #ds do
    local lease
    if i > #ls then lease = false
    elseif j > #ds then lease = true
    else lease = tonumber(ls[i + 1]) <= tonumber(ds[j + 1]) end
    if lease then
      expire(string.match(ls[i], ':(%d+)$'), ls[i])
      i = i + 2
    else
      local seq = string.match(ds[j], ':(%d+)$')
      redis.call('ZREM', D, ds[j])
      if redis.call('HGET', M(seq), 's') == 'd' then
        redis.call('HDEL', M(seq), 'dm')
        back(seq)
      end
      j = j + 2
    end
  end
  return (#ls + #ds) / 2
end

-- The message whose current lease a receipt names, or why not.
-- A receipt is "<seq>:<n>:<nonce>:<queue base key>": nonce is the random part the receive
-- stored with delivery n; a receipt of another queue (another base key) names nothing here.
-- Returns seq, record  or  nil, reason, record (the record is HMGET n, rk, s, end, lk, tk, a,
-- e, t, w, i, dl, g). One read of the message's hash: the script that leased it wrote the nonce,
-- the owner's delivery number and the deadline there, in the same call as its XREADGROUP.
local function resolve(receipt)
  local seq, n, nonce, base = string.match(receipt, '^([1-9]%d*):([1-9]%d*):([%w_%-]+):(.+)$')
  if not seq or base ~= Q then return nil, 'unknown' end
  local r = redis.call('HMGET', M(seq), 'n', 'rk', 's', 'end', 'lk', 'tk', 'a', 'e', 't', 'w', 'i', 'dl', 'g')
  if not r[1] then return nil, 'unknown' end
  local dn = tonumber(r[1])
  n = tonumber(n)
  if n > dn then return nil, 'unknown' end
  if n < dn then return nil, 'stale', r end
  if r[2] ~= nonce then return nil, 'unknown' end
  if r[3] ~= 'f' then
    if r[3] == 'a' then return nil, 'acked', r end
    if r[4] == 'x' then return nil, 'expired', r end
    return nil, 'released', r
  end
  local deadline = tonumber(r[12])
  if (not deadline) or (deadline >= 0 and deadline <= now) then
    expire(seq, r[5] or '')
    return nil, 'expired', r
  end
  return seq, r
end

-- Ends the lease in the consumer group and the lease set.
local function unlease(seq, r)
  if r[8] and r[8] ~= '' then
    redis.call('XACK', S, G, r[8])
    redis.call('XDEL', S, r[8])
  else
    offLeaseEnded()
  end
  redis.call('ZREM', L, r[5])
  redis.call('HDEL', M(seq), 'lk')
end

-- Leases up to max entries of the stream to consumer (one XREADGROUP), with one nonce (16
-- characters of nonces) per delivery, all with one deadline. Returns the deliveries as
-- { id, payload, attempt, receipt, deadline or -1 }. A foreign or corrupt entry is
-- dead-lettered with its reason, never handed out.
local function lease(consumer, max, nonces)
  local out = {}
  max = math.min(max, ${RECEIVE_CAP})
  if max < 1 then return out end
  leaseReady(out, max, nonces, true)
  clearBell()
  local want = max - #out
  local read = want > 0 and redis.pcall('XREADGROUP', 'GROUP', G, consumer, 'COUNT', want, 'STREAMS', S, '>')
  if type(read) == 'table' and read.err then
    if string.find(read.err, 'NOGROUP', 1, true) then
      redis.call('XGROUP', 'CREATE', S, G, '0', 'MKSTREAM')
      read = redis.call('XREADGROUP', 'GROUP', G, consumer, 'COUNT', want, 'STREAMS', S, '>')
    else
      error(read)
    end
  end
  if read then
    local entries = read[1][2]
    streamRead = #entries
    -- one ticket per entry, reserved at once; leases added with one ZADD
    local t0 = redis.call('HINCRBY', C, 'ticket', #entries) - #entries
    local leases = {}
    local dl = now + VT
    local deadline = -1
    if dl ~= INF then deadline = dl end
    -- the same for every entry of the batch: formatted once
    local dlScore, dlText = score(dl), str(deadline)
    for k, entry in ipairs(entries) do
      local e, fields = entry[1], entry[2] or {}
      local seq = field(fields, 'k')
      local problem, r
      if not seq or not string.match(seq, '^[1-9]%d*$') then
        problem = 'has no message key (field k)'
        seq = nil
      else
        r = redis.call('HMGET', M(seq), 's', 'e', 'a', 'n', 'i', 'p')
        if not r[1] then
          problem = 'names message ' .. seq .. ', which does not exist'
          seq = nil
        elseif r[1] ~= 'v' or r[2] ~= e then
          problem = 'names message ' .. seq .. ', which is not waiting on this entry'
          seq = nil
        end
      end
      if problem then
        -- A foreign or corrupt entry: dead-lettered with its reason, never handed out.
        redis.call('XACK', S, G, e)
        redis.call('XDEL', S, e)
        local message = 'RedisQueue: stream entry ' .. e .. ' ' .. problem .. ': ' .. cjson.encode(fields)
        redis.call('XADD', X, '*', 'k', '', 'i', '', 'p', '', 'a', '0',
          'le', cjson.encode({ e = { name = 'TypeError', message = message } }),
          'r', 'corrupt', 't', str(now), 'd', str(now), 'w', '0')
        redis.call('HINCRBY', C, 'deadLettered', 1)
        trimDead()
      else
        local a = (tonumber(r[3]) or 0) + 1
        local n = (tonumber(r[4]) or 0) + 1
        local lk = string.format('%016d', t0 + k) .. ':' .. seq
        local nonce = string.sub(nonces, k * 16 - 15, k * 16)
        leases[#leases + 1] = dlScore
        leases[#leases + 1] = lk
        redis.call('HSET', M(seq), 'a', a, 'n', n, 's', 'f', 'rk', nonce, 'lk', lk, 'end', '', 'dl', dlText)
        out[#out + 1] = { r[5], r[6] or '', a, seq .. ':' .. n .. ':' .. nonce .. ':' .. Q, deadline }
      end
    end
    if #leases > 0 then
      redis.call('ZADD', L, unpack(leases))
      redis.call('HINCRBY', C, 'delivered', #leases / 2)
    end
  end
  -- priorities below 0 once the stream has nothing more (a read short of want)
  if streamRead < want then leaseReady(out, max, nonces, false) end
  return out
end
`;

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
   * Returns { now, nextDue or -1, lastId or '', deliveries, evicted } with deliveries as
   * { id, payload, attempt, receipt, deadline or -1 }.
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
return { now, nextDue, lastId, out, evicted }
`,

  /**
   * A batch of acks, in order, then the next deliveries of the consumer whose workers they
   * free: one round trip per batch. ARGV[6] consumer, [7] how many to lease after the acks (0:
   * none), [8] that many nonces of 16 characters; then per ack two arguments from ARGV[9]:
   * receipt, token. Returns { result per ack, deliveries (as receive's), now, evicted }. Entries
   * and leases of the batch are removed together; the consumer never holds more leases than
   * before the call.
   */
  ack: `
local results, entries, members = {}, {}, {}
for k = 0, (#ARGV - 8) / 2 - 1 do
  local receipt, token = ARGV[9 + k * 2], ARGV[10 + k * 2]
  local seq, a, b = resolve(receipt)
  if not seq then
    -- a resend of this very call (the client resends after a reconnect) succeeded the first time
    if a == 'acked' and b[6] == token then results[k + 1] = 'ok' else results[k + 1] = a end
  else
    if a[8] ~= '' then entries[#entries + 1] = a[8] else offLeaseEnded() end
    members[#members + 1] = a[5]
    -- the payload and the lease are emptied, not deleted: one call instead of two
    redis.call('HSET', M(seq), 's', 'a', 'tk', token, 'e', '', 'p', '', 'lk', '')
    finish(seq, { a[9], a[10], a[11] })
    groupDone(seq, a[13])
    results[k + 1] = 'ok'
  end
end
if #entries > 0 then
  redis.call('XACK', S, G, unpack(entries))
  redis.call('XDEL', S, unpack(entries))
end
if #members > 0 then
  redis.call('ZREM', L, unpack(members))
  redis.call('HINCRBY', C, 'acked', #members)
end
local out = {}
local want = tonumber(ARGV[7])
if want > 0 then
  processDue(100)
  out = lease(ARGV[6], want, ARGV[8])
end
return { results, out, now, evicted }
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
