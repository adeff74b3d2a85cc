/**
 * Message groups and priorities of `RedisQueue` in Lua (internal; two pieces composed into the
 * prelude of scripts.ts, whose keys, calling convention and helpers they use).
 *
 * ```text
 * Q:p          sorted set of the ready messages whose priority is not 0: member
 *              "<ticket>:<seq>", score = -priority, so the lowest score is the highest
 *              priority and members of one score sort by ticket (first in, first out)
 * Q:g:<group>  list of a group's messages in order: the head (ready, in flight, or delayed
 *              by a nack) first, then those waiting behind it
 * Q:c          gw = messages waiting behind a group's head, fo = messages in flight that
 *              have no stream entry (leased from Q:p), bell = the unread bell entry of Q:s
 * Q:m:<seq>    g group, pr priority (absent for a message with neither)
 * ```
 *
 * A message without a group and of priority 0 takes the plain path: a pointer in the stream,
 * read through the consumer group. Only a group's head is ever ready; a ready message of
 * another priority sits in Q:p, and the receive script leases from Q:p (priorities above 0)
 * before it reads the stream, and from Q:p again (below 0) when the stream had no more. A
 * message entering Q:p rings a bell: one entry `bell 1` added to the stream (replacing the
 * older one, if any), so that receives blocked on the stream wake; the next receive script
 * deletes it before it reads the stream. Every function does bounded work: a constant number
 * of calls per message.
 * @module
 */

/** Before `live()`: the key of Q:p, group lists, and the live messages outside Q:s and Q:d. */
export const GROUP_KEYS = `
local P = KEYS[8]
local function GK(group) return Q .. ':g:' .. group end

-- Live messages that neither the stream nor the delay set holds (ready in Q:p, waiting in a
-- group, in flight without an entry), minus what the stream holds that is no live message: the
-- bell, and the acknowledged entries not trimmed yet (gh, see trimGhosts in prelude.ts).
local function offStream()
  local c = redis.call('HMGET', C, 'gw', 'fo', 'bell', 'gh')
  local n = (tonumber(c[1]) or 0) + (tonumber(c[2]) or 0) + redis.call('ZCARD', P)
  if c[3] then n = n - 1 end
  return n - (tonumber(c[4]) or 0)
end
`;

/** After `addEntry`: making grouped and prioritized messages ready, leasing them, the bell. */
export const GROUP_LUA = `
local rung = false
local streamRead = 0

-- Wakes receives blocked on the stream (a blocking read of Q:s returns on any new entry), once
-- per script call.
local function ring()
  if rung then return end
  rung = true
  local old = redis.call('HGET', C, 'bell')
  if old then redis.call('XDEL', S, old) end
  redis.call('HSET', C, 'bell', redis.call('XADD', S, '*', 'bell', '1'))
end

-- Deletes the bell before the receive script reads the stream (it woke whoever waited): the
-- consumer group never reads one.
local function clearBell()
  local bell = redis.call('HGET', C, 'bell')
  if not bell then return end
  redis.call('XDEL', S, bell)
  redis.call('HDEL', C, 'bell')
end

-- Makes a message deliverable: in the stream for priority 0, in Q:p for any other.
local function ready(seq, pr)
  local p = tonumber(pr) or 0
  if p == 0 then return addEntry(seq) end
  redis.call('ZADD', P, -p, ticket() .. ':' .. seq)
  redis.call('HSET', M(seq), 'e', '', 's', 'v')
  ring()
end

-- A message joins the back of its group (enqueued, its delay over, redriven): ready when it
-- is the group's only message, else waiting behind the head.
local function arrive(seq, g, pr)
  if g and g ~= '' and redis.call('RPUSH', GK(g), seq) > 1 then
    redis.call('HSET', M(seq), 'e', '', 's', 'v')
    redis.call('HINCRBY', C, 'gw', 1)
    return
  end
  ready(seq, pr)
end

-- Stores a message's group and priority (only those it has).
local function setOrder(seq, g, pr)
  if g and g ~= '' then redis.call('HSET', M(seq), 'g', g) end
  if pr and pr ~= '' and pr ~= '0' then redis.call('HSET', M(seq), 'pr', pr) end
end

-- A message is visible again (lease over, nack, release, delay over, redrive): a group's head
-- keeps its place; any other joins its group; a plain message goes to the back of the stream.
local function back(seq)
  local r = redis.call('HMGET', M(seq), 'g', 'pr')
  if not r[1] and not r[2] then return addEntry(seq) end
  if r[1] and redis.call('LINDEX', GK(r[1]), 0) == seq then return ready(seq, r[2]) end
  arrive(seq, r[1], r[2])
end

-- The head of group g left the queue (acknowledged or dead): the next one becomes ready.
local function groupDone(seq, g)
  if not g or g == '' then return end
  local key = GK(g)
  if redis.call('LINDEX', key, 0) ~= seq then return end
  redis.call('LPOP', key)
  local nxt = redis.call('LINDEX', key, 0)
  if not nxt then return end
  redis.call('HINCRBY', C, 'gw', -1)
  ready(nxt, redis.call('HGET', M(nxt), 'pr'))
end

-- A lease without a stream entry ended.
local function offLeaseEnded()
  redis.call('HINCRBY', C, 'fo', -1)
end

-- Leases ready messages of Q:p into out (three items per delivery, see handOut):
-- those above priority 0 when high, else those below, up to the free nonce slots. The stream
-- uses nonce slots 1, 2, ... (one per entry read, streamRead of them); these use slots from the
-- last one down, so no two deliveries of a call share a nonce.
local usedSlots = 0
local function leaseReady(out, max, nonces, high)
  local n = math.min(max - #out / 3, max - usedSlots - streamRead)
  if n <= 0 then return end
  local members
  if high then
    members = redis.call('ZRANGEBYSCORE', P, '-inf', '(0', 'LIMIT', 0, n)
  else
    members = redis.call('ZRANGEBYSCORE', P, '(0', '+inf', 'LIMIT', 0, n)
  end
  if #members == 0 then return end
  redis.call('ZREM', P, unpack(members))
  local dlScore, dlText = score(now + VT), str(DEADLINE)
  local leases = {}
  for _, member in ipairs(members) do
    local seq = string.match(member, ':(%d+)$')
    local r = redis.call('HMGET', M(seq), 's', 'e', 'a', 'n', 'i', 'p')
    if r[1] == 'v' and (r[2] or '') == '' then
      local a = (tonumber(r[3]) or 0) + 1
      local k = (tonumber(r[4]) or 0) + 1
      local slot = max - usedSlots
      usedSlots = usedSlots + 1
      local nonce = string.sub(nonces, slot * 16 - 15, slot * 16)
      local lk = ticket() .. ':' .. seq
      leases[#leases + 1] = dlScore
      leases[#leases + 1] = lk
      redis.call('HSET', M(seq), 'a', a, 'n', k, 's', 'f', 'rk', nonce, 'lk', lk, 'dl', dlText,
        'e', '')
      handOut(out, r, a, seq, k, nonce)
    end
  end
  if #leases > 0 then
    redis.call('ZADD', L, unpack(leases))
    redis.call('HINCRBY', C, 'delivered', #leases / 2)
    redis.call('HINCRBY', C, 'fo', #leases / 2)
  end
end
`;
