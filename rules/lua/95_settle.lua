--[[
Settling (lh_settle). The decisions and lines of the windows an entity
has pending (K:pend, filled by fact() in 10_alert.lua), taken once the
caller's packet clock shows that no record that could add to them can
still arrive: the sensor's writer calls it with its watermark while it
runs and with no bound at the end of a replay, after every record
(redis/settle.c, docs/rules-correlation.md "Settling"). One entity key
per call in a cluster, so a call touches one slot; on one server a call
settles several entities together. The windows are settled in the order
of their due time (ties by the order the entities are given, which the
writer makes key order), so the lines, and the risk each one reports,
come out in the same order whatever the order the records arrived in.
]]

ARGS.lh_settle = { req = { 'upto_us' }, opt = { 'ev', 'per' }, alert = 'none' }

local SETTLE_MAX = 256 -- windows settled per call, the rest at the next (a work bound, no source)
local SETTLE_LINES = 32 -- lines per call: with a hint per entity, within reply.h's 64 entries

-- The earliest pending window of the entity whose keys are ek (ties by
-- key, as the sorted set orders them): { due as a number, the window's
-- key, due as Redis wrote it }, or false when none is pending.
local function settle_head(ek)
  local p = redis.call('ZRANGE', ek[1] .. ':pend', '0', '0', 'WITHSCORES')
  return #p > 0 and { tonumber(p[2]), p[1], p[2] }
end

-- Settles the window head (settle_head()) of the entity ek, appending
-- its line to out, and takes it out of K:pend, or moves an early window
-- to its end (a later, higher severity may still come).
local function settle_one(ek, head, out)
  local pkey, cut, dkey = ek[1] .. ':pend', head[1], head[2]
  local h, sev = settle_window(ek, dkey, cut, out)
  local wend = h[2] and h[3] and (tonumber(h[3]) + 1) * tonumber(h[2])
  -- an alert out is remembered for the retention (fact() in 10_alert.lua)
  if sev and h[14] then redis.call('EXPIRE', dkey, h[14]) end
  if h[6] == '1' and wend and cut < wend then
    redis.call('ZADD', pkey, fmt(wend), dkey)
  else
    redis.call('ZREM', pkey, dkey)
  end
end

-- Settles the pending windows of the entities ents (each the list of its
-- keys) due at or before upto, one window at a time, the earliest due of
-- all first (ties by the order of ents), while the call has settled
-- fewer than SETTLE_MAX windows and made fewer than SETTLE_LINES lines
-- (appended to out). This is the order in which windows due at different
-- times would be settled one due time after the other, so one call can
-- take what would take a call per due time (a round trip each: most of
-- a replay's end, docs/performance.md "Eleventh round"). Stops at a cap,
-- not at one entity, so no window is settled before an earlier one left
-- for the next call. Returns each entity's next due time as Redis wrote
-- the score ('0': nothing pending).
local function settle_entities(ents, upto, out)
  local heads = {}
  for i, ek in ipairs(ents) do heads[i] = settle_head(ek) end
  for _ = 1, SETTLE_MAX do
    if #out >= SETTLE_LINES then break end
    local best
    for i = 1, #ents do
      local h = heads[i]
      if h and h[1] <= upto and (not best or h[1] < heads[best][1]) then best = i end
    end
    if not best then break end
    settle_one(ents[best], heads[best], out)
    heads[best] = settle_head(ents[best])
  end
  local dues = {}
  for i = 1, #ents do dues[i] = heads[i] and heads[i][3] or '0' end
  return dues
end

-- FCALL lh_settle 4 K host risk alerts (1 K in a cluster), by name:
--       upto_us [ev]
-- FCALL lh_settle <4m> K1 host1 risk alerts ... Km hostm risk alerts, by
--       name: upto_us per [ev]   (one server: m entities of per keys each)
-- Settles every pending window of each entity due at or before upto_us,
-- in due order, ties by the order the entities are given (the writer
-- gives them in key order: redis/settle.c). ev names the call, so that one sent
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
  local ents = {}
  for i = 1, #keys, per do
    local ek = {}
    for j = 1, per do ek[j] = keys[i + j - 1] end
    prefix_of(ek[1])
    ents[#ents + 1] = ek
  end
  local dues = settle_entities(ents, upto, out)
  if not ca.per then
    nxt = dues[1]
  else
    local hints = {}
    for i, ek in ipairs(ents) do
      if dues[i] ~= '0' then
        local hint = { 'FCALL', 'lh_settle', fmt(per) }
        for _, k in ipairs(ek) do hint[#hint + 1] = k end
        hint[#hint + 1] = 'upto_us'
        hint[#hint + 1] = dues[i]
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
