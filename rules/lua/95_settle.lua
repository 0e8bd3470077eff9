--[[
Settling (lh_settle). The decisions and lines of the windows an entity
has pending (K:pend, filled by fact() in 10_alert.lua), taken once the
caller's packet clock shows that no record that could add to them can
still arrive: the sensor's writer calls it with its watermark while it
runs and with no bound at the end of a replay, after every record
(redis/settle.c, docs/rules-correlation.md "Settling"). One entity key
per call, so a call touches one slot (Redis Cluster). The windows are
settled in the order of their due time (ties by key), so an entity's
lines, and the risk each one reports, come out in the same order
whatever the order the records arrived in.
]]

ARGS.lh_settle = { req = { 'upto_us' }, opt = { 'ev' }, alert = 'none' }

local SETTLE_MAX = 256 -- windows settled per call, the rest at the next (a work bound, no source)

-- FCALL lh_settle 4 K host risk alerts (1 K in a cluster), by name:
--       upto_us [ev]
-- Settles every pending window of K due at or before upto_us. ev names
-- the call, so that one sent again after a broken connection gets its
-- first answer. Returns { the next due time (0: none), { lines, or in a
-- cluster lh_risk steps } }.
local function settle_fn(keys, argv)
  local ca = args('lh_settle', argv)
  local upto = n(ca.upto_us, 'upto_us')
  prefix_of(keys[1])
  local mark
  if ca.ev then
    mark = keys[1] .. ':settle:' .. ca.ev
    local prev = redis.call('GET', mark)
    if prev then
      local d = cjson.decode(prev)
      return { tonumber(d.next), d.out }
    end
  end
  local pkey, out = keys[1] .. ':pend', {}
  for _ = 1, SETTLE_MAX do
    local p = redis.call('ZRANGEBYSCORE', pkey, '-inf', fmt(upto), 'WITHSCORES', 'LIMIT', 0, 1)
    if #p == 0 or #out >= 32 then break end -- reply.h: at most 64 lines
    local dkey, cut = p[1], tonumber(p[2])
    settle_window(keys, dkey, cut, out)
    local h = redis.call('HMGET', dkey, 'early', 'w', 'b', 'sev', 'keep')
    local wend = h[2] and h[3] and (tonumber(h[3]) + 1) * tonumber(h[2])
    -- an alert out is remembered for the retention (fact() in 10_alert.lua)
    if h[4] and h[5] then redis.call('EXPIRE', dkey, h[5]) end
    if h[1] == '1' and wend and cut < wend then
      redis.call('ZADD', pkey, fmt(wend), dkey) -- a later, higher severity
    else
      redis.call('ZREM', pkey, dkey)
    end
  end
  local first = redis.call('ZRANGE', pkey, 0, 0, 'WITHSCORES')
  local nxt = first[2] or '0'
  if mark then
    redis.call('SET', mark, cjson.encode({ next = nxt, out = out }), 'EX', 3600)
  end
  return { tonumber(nxt), out }
end

redis.register_function('lh_settle', settle_fn)
