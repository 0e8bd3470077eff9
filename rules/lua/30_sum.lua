--[[
Sums (lh_sum). A windowed byte sum per (entity, kind, member, bucket):
HINCRBY, which commutes, once per fact (a resent call or a replay of the
same capture adds nothing).
The alert is raised when the sum reaches the threshold and the member is
flagged (any event of the bucket said so: the destination is in China, a
relay country, Chinese object storage) or is in the entity's gate set (an
exact lh_observe/lh_gate set, e.g. the networks that control a GPU host)
of the gate window holding the start of the sum's bucket. Every sum event
records its alert as a fact; the window is settled when it closes
(10_alert.lua). lh_gate records a gate member and marks the sum windows
starting in its gate window pending again, so a control session seen
after the window closed still raises it, with the same line. Dedup per
(rule, entity, member, window).
  K:sum:<kind>:<W>:<b>     hash  member -> bytes, flag:<member> -> 1
  K:sum:<kind>:<W>:<b>:ev  set   facts already added            (TTL ttl_s)
]]

ARGS.lh_sum = { req = { 'ev', 'fact', 'ts_us', 'kind', 'member', 'bytes', 'flag', 'window_us', 'ttl_s', 'threshold', 'gate_kind', 'gate_window_us' }, opt = { 'evidence', 'fid' }, alert = 'opt' }
ARGS.lh_gate = { req = { 'ev', 'ts_us', 'kind', 'member', 'window_us', 'ttl_s', 'sum_kind', 'sum_window_us', 'threshold' }, opt = { 'fid' }, alert = 'opt' }

local GATE_EXISTS = 256 -- keys per EXISTS of lh_gate (within Lua's C stack; a work bound, no source)

local function sum_key(keys, kind, w, b)
  return keys[1] .. ':sum:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
end

local function sum_evkey(keys, kind, w, b, member)
  return keys[1] .. ':evd:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b) .. ':' .. member
end

-- FCALL lh_sum 4 K host risk alerts, by name: ev fact ts_us kind member bytes flag
--       window_us ttl_s threshold gate_kind gate_window_us
--       [evidence] [alert part when threshold > 0]
-- Adds bytes to member's sum in the window of ts_us (once per fact);
-- flag "1" marks the member as a destination that counts by itself. The
-- settle raises when the sum reached threshold and the member is flagged
-- or in the gate set K:obs:<gate_kind>:<gate_window_us>:<gate bucket of
-- the window's start> (gate_kind "" = flag only). Returns { sum, { settle
-- hint } }.
local function sum_fn(keys, argv)
  local ca = args('lh_sum', argv)
  local ev, ts, kind, member = ca.ev, n(ca.ts_us, 'ts_us'), ca.kind, ca.member
  local bytes, flag = n(ca.bytes, 'bytes'), ca.flag
  local w, ttl, threshold = n(ca.window_us, 'window_us'), n(ca.ttl_s, 'ttl_s'), n(ca.threshold, 'threshold')
  local gate_kind, gate_w = ca.gate_kind, n(ca.gate_window_us, 'gate_window_us')
  local item = ca.evidence
  if bytes < 0 or member == '' or string.sub(member, 1, 5) == 'flag:' then
    error('ERR loophole: a sum needs a member and bytes >= 0')
  end
  local b = window(ts, w)
  local key = sum_key(keys, kind, w, b)
  if redis.call('SADD', key .. ':ev', ca.fact) == 1 then
    redis.call('HINCRBY', key, member, fmt(bytes))
    if flag == '1' then redis.call('HSET', key, 'flag:' .. member, '1') end
  end
  local ttls = num(ttl)
  redis.call('EXPIRE', key, ttls)
  redis.call('EXPIRE', key .. ':ev', ttls)
  local evkey = sum_evkey(keys, kind, w, b, member)
  if item then evidence_add(evkey, item, -bytes, ttl) end
  local total = tonumber(redis.call('HGET', key, member)) or 0
  local hints = {}
  if threshold > 0 then
    local chk = { fn = 'sum', key = key, member = member, thr = threshold }
    if gate_kind ~= '' then
      local gb = window(b * w, gate_w)
      chk.gkey = keys[1] .. ':obs:' .. gate_kind .. ':' .. fmt(gate_w) .. ':' .. fmt(gb)
    end
    -- the sum only grows (bytes >= 0): below the threshold the window
    -- cannot qualify yet
    hints[1] = fact(keys, w, b, ttl, alert_args(ca), nil,
                    { sub = member, evkey = evkey, ts = ts, chk = chk, ready = total >= threshold })
  end
  return { total, hints }
end

-- The window of a sum qualifies when the sum reached the threshold and
-- the member is flagged or in the gate set: all only grow.
CHECK.sum = function(_, c)
  local h = redis.call('HMGET', c.key, c.member, 'flag:' .. c.member)
  local total = tonumber(h[1]) or 0
  if total < c.thr then return false end
  if h[2] ~= '1' and not (c.gkey and redis.call('ZSCORE', c.gkey, c.member)) then return false end
  return true, { { 'bytes', fmt(total) } }
end

-- FCALL lh_gate 4 K host risk alerts, by name: ev ts_us kind member window_us ttl_s
--       sum_kind sum_window_us threshold [alert part when threshold > 0]
-- Records member in the exact set of kind (as lh_observe does), then
-- marks pending each sum window of sum_kind starting inside this window
-- that has facts for member and no alert out yet. Its alert part is not used for the line (the
-- line names the egress records). Returns { set size, { settle hint } }.
local function gate_fn(keys, argv)
  local ca = args('lh_gate', argv)
  local ev, ts, kind, member = ca.ev, n(ca.ts_us, 'ts_us'), ca.kind, ca.member
  local w, ttl, sum_kind = n(ca.window_us, 'window_us'), n(ca.ttl_s, 'ttl_s'), ca.sum_kind
  local sw, threshold = n(ca.sum_window_us, 'sum_window_us'), n(ca.threshold, 'threshold')
  local b = window(ts, w)
  local key = keys[1] .. ':obs:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
  redis.call('ZADD', key, 'LT', num(ts), member)
  redis.call('EXPIRE', key, num(ttl))
  local hints = {}
  if threshold > 0 then
    local lo, hi = math.ceil(b * w / sw), window((b + 1) * w - 1, sw)
    if hi - lo > 10000 then error('ERR loophole: too many sum windows in the gate window') end
    local a, dkeys = alert_args(ca), {}
    for sb = lo, hi do dkeys[#dkeys + 1] = alert_key(keys, a.rule, sw, sb, member) end
    -- most gates find no sum window of the member with facts: one EXISTS
    -- of them all says so (a few hundred keys at a time: Lua's stack)
    local any = false
    for i = 1, #dkeys, GATE_EXISTS do
      if redis.call('EXISTS', unpack(dkeys, i, math.min(#dkeys, i + GATE_EXISTS - 1))) > 0 then
        any = true
        break
      end
    end
    for i = 1, any and #dkeys or 0 do
      local sb, dkey = lo + i - 1, dkeys[i]
      -- a window with facts whose alert is not out yet (the gate cannot
      -- change a line already published)
      if redis.call('HEXISTS', sum_key(keys, sum_kind, sw, sb), member) == 1 and
         redis.call('HEXISTS', dkey, 'chk') == 1 and redis.call('HEXISTS', dkey, 'sev') == 0 then
        pend(keys, dkey, (sb + 1) * sw, false, num(ttl))
        hints[1] = settle_hint(keys)
      end
    end
  end
  return { redis.call('ZCARD', key), hints }
end

redis.register_function('lh_sum', sum_fn)
redis.register_function('lh_gate', gate_fn)
