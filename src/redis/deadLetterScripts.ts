/**
 * The Lua bodies of `RedisQueue`'s dead-letter scripts and its settings script (internal; run
 * after the prelude of scripts.ts, whose calling convention, keys and helpers they use).
 * @module
 */
import { DEAD_PAGE } from './limits.js';

/**
 * ARGV[6] capacity (-1: none), ARGV[7] 'ids' with up to DEAD_IDS ids in ARGV[8…], found through
 * Q:xi; or 'page' with ARGV[8] the first entry to read ('-' or '(<id>'), ARGV[9] the last,
 * reading at most DEAD_PAGE dead letters. Returns { redriven ids, skipped { id, reason }...,
 * next page ('' when done, 'again' while older dead letters are being indexed), evicted }.
 */
export const REDRIVE = `
local cap = num(ARGV[6])
local redriven, skipped = {}, {}
local function redriveEntry(entry)
  local f = entry[2]
  local id = field(f, 'i') or ''
  local seq = field(f, 'k') or ''
  if seq == '' or field(f, 'r') == 'corrupt' then return false end
  if field(f, 'w') == '1' then
    local cur = redis.call('GET', I(id))
    if cur and cur ~= seq then
      local s = redis.call('HGET', M(cur), 's')
      if s == 'v' or s == 'd' or s == 'f' then
        skipped[#skipped + 1] = { id, 'live' }
        return true
      end
    end
  end
  if live() >= cap then
    skipped[#skipped + 1] = { id, 'full' }
    return true
  end
  redis.call('XDEL', X, entry[1])
  unindexDead(id, entry[1])
  if redis.call('EXISTS', M(seq)) == 0 then
    redis.call('HSET', M(seq), 'i', id, 't', field(f, 't') or str(now), 'w', field(f, 'w') or '0', 'n', 0)
  end
  redis.call('HSET', M(seq), 'p', field(f, 'p') or '', 'a', 0, 'end', '')
  redis.call('HDEL', M(seq), 'le', 'tk')
  redis.call('PERSIST', M(seq))
  if field(f, 'w') == '1' then redis.call('SET', I(id), seq) end
  setOrder(seq, field(f, 'g'), field(f, 'pr'))
  back(seq)
  redis.call('HINCRBY', C, 'redriven', 1)
  redriven[#redriven + 1] = id
  return true
end
if ARGV[7] == 'ids' then
  if not indexReady() then return { redriven, skipped, 'again', evicted } end
  for i = 8, #ARGV do
    local id = ARGV[i]
    local found = false
    for e in string.gmatch(redis.call('HGET', XI, id) or '', '%S+') do
      local entry = redis.call('XRANGE', X, e, e)[1]
      if entry then
        if redriveEntry(entry) then found = true end
      else
        unindexDead(id, e)
      end
    end
    if not found then skipped[#skipped + 1] = { id, 'missing' } end
  end
  return { redriven, skipped, '', evicted }
end
local page = redis.call('XRANGE', X, ARGV[8], ARGV[9], 'COUNT', ${DEAD_PAGE})
for _, entry in ipairs(page) do redriveEntry(entry) end
local nextPage = ''
if #page == ${DEAD_PAGE} then nextPage = '(' .. page[#page][1] end
return { redriven, skipped, nextPage, evicted }
`;

/**
 * ARGV[6] 'ids' with up to DEAD_IDS ids in ARGV[7…]; or 'page' with ARGV[7] the first entry
 * ('-' or '(<id>') and ARGV[8] the last, at most DEAD_PAGE dead letters. Returns { entries,
 * next page ('' when done, 'again' while older dead letters are being indexed), evicted }.
 */
export const PURGE = `
local purged = {}
local function purgeEntry(entry)
  local f = entry[2]
  redis.call('XDEL', X, entry[1])
  unindexDead(field(f, 'i'), entry[1])
  purged[#purged + 1] = f
  local seq = field(f, 'k')
  if seq and seq ~= '' and redis.call('HGET', M(seq), 's') == 'x' then
    redis.call('HSET', M(seq), 's', 'g')
    finish(seq)
  end
end
if ARGV[6] == 'ids' then
  if not indexReady() then return { purged, 'again', evicted } end
  for i = 7, #ARGV do
    for e in string.gmatch(redis.call('HGET', XI, ARGV[i]) or '', '%S+') do
      local entry = redis.call('XRANGE', X, e, e)[1]
      if entry then purgeEntry(entry) else unindexDead(ARGV[i], e) end
    end
  end
  return { purged, '', evicted }
end
local page = redis.call('XRANGE', X, ARGV[7], ARGV[8], 'COUNT', ${DEAD_PAGE})
for _, entry in ipairs(page) do purgeEntry(entry) end
local nextPage = ''
if #page == ${DEAD_PAGE} then nextPage = '(' .. page[#page][1] end
return { purged, nextPage, evicted }
`;

/**
 * ARGV[6…] name, value pairs of the settings every handle must agree on: stores those not
 * stored yet and returns { every stored setting (flat), evicted }.
 */
export const SETTINGS = `
for i = 6, #ARGV - 1, 2 do redis.call('HSETNX', CFG, ARGV[i], ARGV[i + 1]) end
if redis.call('XLEN', X) == 0 then redis.call('HSET', C, 'xi', '1') end
return { redis.call('HGETALL', CFG), evicted }
`;
