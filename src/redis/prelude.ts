/**
 * The Lua every `RedisQueue` script starts with (not exported from the package): the key
 * names, number helpers, and the shared steps (finish, kill, expire, processDue, resolve,
 * unlease, lease) that the scripts in `scripts.ts` call. Its conventions are described there.
 * @module
 */
import { GROUP_KEYS, GROUP_LUA } from './groupScripts.js';
import { RECEIVE_CAP } from './limits.js';

export const PRELUDE = `
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
-- The acknowledgements of messages without a caller's id, by range of 100 sequence numbers.
local function A(seq)
  local range = string.sub(seq, 1, -3)
  if range == '' then range = '0' end
  return Q .. ':a:' .. range
end
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
-- Every lease a call makes has the same deadline: now + VT, or -1 for none (VT Infinity).
local DEADLINE = now + VT
if DEADLINE == INF then DEADLINE = -1 end

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
-- receipt still gets its true answer), whatever the window, Infinity included. (An ack of such
-- a message keeps no record: see ackedUnnamed below.)
-- t, w, i: the record's fields of those names, when the caller has read them already.
local function finish(seq, t, w, i)
  if t == nil then
    local r = redis.call('HMGET', M(seq), 't', 'w', 'i')
    t, w, i = r[1], r[2], r[3]
  end
  if not t then return end
  local ttl = tonumber(t) + WIN - now
  local keys = { M(seq) }
  if w ~= '1' then
    ttl = math.min(ttl, 60000)
  else
    if redis.call('GET', I(i)) == seq then keys[2] = I(i) end
    if WIN == INF then return end
  end
  for _, k in ipairs(keys) do
    if ttl > 0 then redis.call('PEXPIRE', k, str(math.ceil(ttl))) else redis.call('DEL', k) end
  end
end

-- An acknowledged message without a caller's id keeps no record: the acks of one script call
-- delete their records together (one DEL), and what a resent call or a late receipt needs to
-- get its true answer ('acked') is one field of its range's hash (A(seq)): "<delivery
-- number>:<nonce>:<token>". A range's hash expires when the longest of its fields' stays ends:
-- a minute after the ack, or the end of the deduplication window if sooner (then the field
-- may stay until the range's hash expires, at most a minute). One write per range and call
-- instead of a write and an expiry per message, and no expiring key per message.
local ackedHashes, ackedRanges, ackedOrder, ackedNow = {}, {}, {}, {}
local function ackedUnnamed(seq, t, n, nonce, token)
  ackedHashes[#ackedHashes + 1] = M(seq)
  -- until ackedWrite, this call's later receipts find the ack here
  ackedNow[seq] = n .. ':' .. nonce .. ':' .. token
  local ttl = 60000
  if t then ttl = math.min(tonumber(t) + WIN - now, ttl) end
  if ttl <= 0 then return end
  local key = A(seq)
  local range = ackedRanges[key]
  if not range then
    range = { ttl = 0, fields = {} }
    ackedRanges[key] = range
    ackedOrder[#ackedOrder + 1] = key
  end
  local fields = range.fields
  fields[#fields + 1] = seq
  fields[#fields + 1] = ackedNow[seq]
  if ttl > range.ttl then range.ttl = ttl end
end

-- Writes what ackedUnnamed gathered (once per call, after the acks).
local function ackedWrite()
  if #ackedHashes == 0 then return end
  redis.call('DEL', unpack(ackedHashes))
  for _, key in ipairs(ackedOrder) do
    local range = ackedRanges[key]
    redis.call('HSET', key, unpack(range.fields))
    local ms = math.ceil(range.ttl)
    if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, str(ms)) end
  end
end

-- An acknowledged message's entry is not deleted one by one (XDEL of a single entry was the
-- largest share of an ack's cost): it stays in the stream, acknowledged, as a "ghost" counted
-- in Q:c gh, and whole stream nodes of ghosts are trimmed at once. Every entry older than the
-- oldest pending one (or, with none pending, than the group's last read) is a ghost: entries
-- that end otherwise (expired, nacked, released, dead, corrupt, the bell) are deleted when they
-- end, and unread ones are newer than the last read. So XTRIM MINID ~ <that id> removes only
-- ghosts, whole nodes of them, at most 10,000 per call. Acks try it each time gh passes a
-- multiple of GHOST_TRIM. A lease held for long keeps the oldest pending entry in place and so
-- every ghost after it: past GHOST_CAP ghosts, acks delete their entries one by one again,
-- so a stuck lease costs bounded memory.
local GHOST_TRIM = 128
local GHOST_CAP = 10000
local function trimGhosts()
  local pending = redis.call('XPENDING', S, G)
  local bound = pending[2]
  if not bound then
    for _, info in ipairs(redis.call('XINFO', 'GROUPS', S)) do
      if field(info, 'name') == G then bound = field(info, 'last-delivered-id') end
    end
  end
  if not bound then return end
  local trimmed = redis.call('XTRIM', S, 'MINID', '~', bound)
  if trimmed > 0 then redis.call('HINCRBY', C, 'gh', -trimmed) end
end

-- The acknowledged messages' entries, pending in the consumer group, leave it: kept as ghosts
-- while there are at most GHOST_CAP, else deleted. acked is the counter of acks after these:
-- the ghosts are trimmed each time it passes a multiple of GHOST_TRIM.
local function ackEntries(entries, acked)
  redis.call('XACK', S, G, unpack(entries))
  local n = #entries
  local gh = redis.call('HINCRBY', C, 'gh', n)
  if gh > GHOST_CAP then
    redis.call('XDEL', S, unpack(entries))
    gh = redis.call('HINCRBY', C, 'gh', -n)
  end
  if gh > 0 and math.floor(acked / GHOST_TRIM) > math.floor((acked - n) / GHOST_TRIM) then
    trimGhosts()
  end
end

-- Adds a delivery to out, the list a receive or ack script answers: three items per delivery
-- (id, payload, "<attempt>:<receipt>"), its deadline being the call's DEADLINE. r is the
-- record as the lease read it (HMGET s, e, a, n, i, p); n the delivery number.
local function handOut(out, r, a, seq, n, nonce)
  local o = #out
  out[o + 1] = r[5]
  out[o + 2] = r[6] or ''
  out[o + 3] = a .. ':' .. seq .. ':' .. n .. ':' .. nonce .. ':' .. Q
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

-- The answer to delivery n with nonce of a message acknowledged without a caller's id, from
-- its ack (see ackedUnnamed; nil: nothing is known of the message). The record it returns is
-- shaped as resolveParts's (tk, the acking call's token, is its 6th field).
local function ackedAnswer(n, nonce, ack)
  local an, ark, atk
  if ack then an, ark, atk = string.match(ack, '^(%d+):([^:]+):(.*)$') end
  if not an then return nil, 'unknown' end
  an = tonumber(an)
  if n > an or (n == an and ark ~= nonce) then return nil, 'unknown' end
  if n < an then return nil, 'stale', { [6] = atk } end
  return nil, 'acked', { [6] = atk }
end

-- The message whose current lease delivery n of message seq, with nonce, is; or why not.
-- Returns seq, record  or  nil, reason, record (the record is HMGET n, rk, s, end, lk, tk, a,
-- e, t, w, i, dl, g). One read of the message's hash: the script that leased it wrote the nonce,
-- the owner's delivery number and the deadline there, in the same call as its XREADGROUP.
local function resolveParts(seq, n, nonce)
  if not seq then return nil, 'unknown' end
  n = tonumber(n)
  local acked = ackedNow[seq]
  if acked then return ackedAnswer(n, nonce, acked) end
  local r = redis.call('HMGET', M(seq), 'n', 'rk', 's', 'end', 'lk', 'tk', 'a', 'e', 't', 'w', 'i', 'dl', 'g')
  if not r[1] then return ackedAnswer(n, nonce, redis.call('HGET', A(seq), seq)) end
  local dn = tonumber(r[1])
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

-- The same for a receipt: "<seq>:<n>:<nonce>:<queue base key>", nonce being the random part
-- the receive stored with delivery n; a receipt of another queue (another base key) names
-- nothing here.
local function resolve(receipt)
  local seq, n, nonce, base = string.match(receipt, '^([1-9]%d*):([1-9]%d*):([%w_%-]+):(.+)$')
  if base ~= Q then return nil, 'unknown' end
  return resolveParts(seq, n, nonce)
end

-- The same for a receipt without its base key (the ack script's, whose caller checked it).
local function resolveHead(head)
  return resolveParts(string.match(head, '^([1-9]%d*):([1-9]%d*):([%w_%-]+)$'))
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
-- characters of nonces) per delivery, all with one deadline (DEADLINE). Returns the
-- deliveries as handOut lists them (few items for the client to decode). A foreign or corrupt
-- entry is dead-lettered with its reason, never handed out.
local function lease(consumer, max, nonces)
  local out = {}
  max = math.min(max, ${RECEIVE_CAP})
  if max < 1 then return out end
  leaseReady(out, max, nonces, true)
  clearBell()
  local want = max - #out / 3
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
    -- the same for every entry of the batch: formatted once
    local dlScore, dlText = score(now + VT), str(DEADLINE)
    for k, entry in ipairs(entries) do
      local e, fields = entry[1], entry[2] or {}
      local seq = fields[1] == 'k' and fields[2] or field(fields, 'k')
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
        -- the delivery number as text once, for the record and the receipt
        local n = tostring((tonumber(r[4]) or 0) + 1)
        local lk = string.format('%016d', t0 + k) .. ':' .. seq
        local nonce = string.sub(nonces, k * 16 - 15, k * 16)
        leases[#leases + 1] = dlScore
        leases[#leases + 1] = lk
        redis.call('HSET', M(seq), 'a', a, 'n', n, 's', 'f', 'rk', nonce, 'lk', lk, 'dl', dlText)
        handOut(out, r, a, seq, n, nonce)
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
