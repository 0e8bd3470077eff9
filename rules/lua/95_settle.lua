--[[
Settling (lh_settle). The decisions and lines of the windows an entity
has pending (K:pend, filled by fact() in 10_alert.lua), taken once the
caller's packet clock shows that no record that could add to them can
still arrive: the sensor's writer calls it with its watermark while it
runs and with no bound at the end of a replay, after every record
(redis/settle.c, docs/rules-correlation.md "Settling"). One entity key
per call in a cluster, so a call touches one slot; on one server a call
settles several entities due at the same time. The windows are
settled in the order of their due time (ties by key), so an entity's
lines, and the risk each one reports, come out in the same order
whatever the order the records arrived in.
]]

ARGS.lh_settle = { req = { 'upto_us' }, opt = { 'ev', 'per' }, alert = 'none' }

local SETTLE_MAX = 256 -- windows settled per entity and call, the rest at the next (a work bound, no source)
local SETTLE_LINES = 32 -- lines per call: with a hint per entity, within reply.h's 64 entries

-- Settles the pending windows of entity keys[1] due at or before upto,
-- in due order, while the call has made fewer than SETTLE_LINES lines
-- (appended to out). Returns the entity's next due time as Redis wrote
-- the score ('0': nothing pending).
local function settle_entity(keys, upto, out)
  local pkey = keys[1] .. ':pend'
  for _ = 1, SETTLE_MAX do
    -- the earliest pending window (ties by key): settled when it is due,
    -- else it is the answer
    local p = redis.call('ZRANGE', pkey, '0', '0', 'WITHSCORES')
    if #p == 0 then return '0' end
    local cut = tonumber(p[2])
    if cut > upto or #out >= SETTLE_LINES then return p[2] end
    local dkey = p[1]
    local h, sev = settle_window(keys, dkey, cut, out)
    local wend = h[2] and h[3] and (tonumber(h[3]) + 1) * tonumber(h[2])
    -- an alert out is remembered for the retention (fact() in 10_alert.lua)
    if sev and h[14] then redis.call('EXPIRE', dkey, h[14]) end
    if h[6] == '1' and wend and cut < wend then
      redis.call('ZADD', pkey, fmt(wend), dkey) -- a later, higher severity
    else
      redis.call('ZREM', pkey, dkey)
    end
  end
  local first = redis.call('ZRANGE', pkey, '0', '0', 'WITHSCORES')
  return first[2] or '0'
end

-- FCALL lh_settle 4 K host risk alerts (1 K in a cluster), by name:
--       upto_us [ev]
-- FCALL lh_settle <4m> K1 host1 risk alerts ... Km hostm risk alerts, by
--       name: upto_us per [ev]   (one server: m entities of per keys each)
-- Settles every pending window of each entity due at or before upto_us,
-- the entities in the order given (the writer gives those due at one
-- time in key order: redis/settle.c). ev names the call, so that one sent
-- again after a broken connection gets its first answer; only a call
-- that made lines keeps its answer (K:settle:<ev>): one that made none
-- changed nothing a resend would do differently (the windows it took
-- are no longer due). Returns { the next due time (0: none), { lines, or
-- in a cluster lh_risk steps } }; with `per`, { 0, { lines, then a
-- settle hint for each entity still pending } }.
local function settle_fn(keys, argv)
  local ca = args('lh_settle', argv)
  local upto = n(ca.upto_us, 'upto_us')
  local per = ca.per and n(ca.per, 'per') or #keys
  if per < 1 or #keys % per ~= 0 then
    error('ERR loophole: lh_settle: per must divide the keys into entities')
  end
  local mark
  if ca.ev then
    mark = keys[1] .. ':settle:' .. ca.ev
    local prev = redis.call('GET', mark)
    if prev then
      local d = cjson.decode(prev)
      return { tonumber(d.next), d.out }
    end
  end
  local out, nxt = {}, '0'
  if not ca.per then
    prefix_of(keys[1])
    nxt = settle_entity(keys, upto, out)
  else
    local hints = {}
    for i = 1, #keys, per do
      local ek = {}
      for j = 1, per do ek[j] = keys[i + j - 1] end
      prefix_of(ek[1])
      local due = settle_entity(ek, upto, out)
      if due ~= '0' then
        local hint = { 'FCALL', 'lh_settle', fmt(per) }
        for _, k in ipairs(ek) do hint[#hint + 1] = k end
        hint[#hint + 1] = 'upto_us'
        hint[#hint + 1] = due
        hints[#hints + 1] = hint
      end
    end
    local lines = #out
    for _, hint in ipairs(hints) do out[#out + 1] = hint end
    if lines == 0 then mark = nil end
  end
  if mark and #out > 0 then
    redis.call('SET', mark, cjson.encode({ next = nxt, out = out }), 'EX', '3600')
  end
  return { tonumber(nxt), out }
end

redis.register_function('lh_settle', settle_fn)
