ARGS.lh_observe = { req = { 'ev', 'ts_us', 'kind', 'value', 'window_us', 'mode', 'cap', 'ttl_s', 'threshold' }, opt = { 'evidence', 'need', 'fid' }, alert = 'opt' }

local function window(ts, w)
  if w < 1 then error('ERR loophole: window must be at least 1 us') end
  return math.floor(ts / w)
end

-- Adds observations to the exact window set `key` (K:obs:...), in call
-- order: obs[j] = { value, ts (packet time), tsarg (ts as sent to Redis),
-- cap, ttl }; counts[j] gets the distinct count after obs[j]. A value gets
-- in while the set holds fewer than its cap members, or when the set
-- already holds it; ZADD LT keeps its earliest time whatever the arrival
-- order. This is the one implementation of an exact observation:
-- lh_observe passes its one value, lh_batch (97_batch.lua) the values of
-- its calls for one window key, with the same state and replies as the
-- calls made one by one.
-- TTL: the set gets its TTL (the ttl_s of the observation that creates
-- it) when this call creates it, i.e. when it was empty (an empty set does
-- not exist in Redis): a set deleted or expired and created again gets its
-- TTL again, and no set exists without one. Not renewed by later
-- observations: live, a window is fed for at most W of wall-clock time
-- after its first value (a replay runs faster than the wire), and ttl_s =
-- 2W + 1h (rules/event.c) outlives that by W + 1h. An EXPIRE on every
-- observation was a third of the commands of a count-only one
-- (docs/performance.md, "Redis").
local function observe_exact(key, obs, counts)
  local count = redis.call('ZCARD', key)
  local empty, first = count == 0, obs[1] -- first: the observation that creates the set
  if #obs == 1 then
    local o = obs[1]
    if count < o.cap or (not empty and redis.call('ZSCORE', key, o.value)) then
      -- ZADD answers the members it added (LT never keeps a new one out)
      count = count + redis.call('ZADD', key, 'LT', o.tsarg, o.value)
    end
    counts[1] = count
  else
    local known, add, members = {}, {}, {}
    if not empty then
      local vals = {}
      for j, o in ipairs(obs) do vals[j] = o.value end
      local scores = redis.call('ZMSCORE', key, unpack(vals))
      for j, o in ipairs(obs) do
        if scores[j] then known[o.value] = true end
      end
    end
    for j, o in ipairs(obs) do
      if count < o.cap or known[o.value] then
        if not known[o.value] then
          if count == 0 then first = o end
          known[o.value] = true
          count = count + 1
        end
        if add[o.value] == nil then members[#members + 1] = o.value end
        if add[o.value] == nil or o.ts < add[o.value].ts then add[o.value] = o end
      end
      counts[j] = count
    end
    if #members > 0 then
      local zadd = { 'ZADD', key, 'LT' }
      for _, m in ipairs(members) do
        zadd[#zadd + 1] = add[m].tsarg
        zadd[#zadd + 1] = m
      end
      redis.call(unpack(zadd))
    end
  end
  if empty and count > 0 then redis.call('EXPIRE', key, first.ttl) end
end

-- FCALL lh_observe 4 K host risk alerts, by name: ev ts_us kind value window_us mode
--       cap ttl_s threshold [evidence] [need] [alert part when threshold > 0]
-- Records that entity K saw `value` of `kind` at packet time ts_us and
-- returns the distinct count of its window. With threshold > 0 it records
-- the event's alert as a fact of the window (fact() in 10_alert.lua), and
-- the settle raises it when the count reached threshold, with the kept
-- evidence items (the earliest). With `need`, the alert also needs a
-- value of the window that qualified (need "1": this one does;
-- K:need:<kind>:<W>:<b> remembers it; only such events name the alert):
-- "six networks, China among them" is two conditions that only grow.
local function observe(keys, argv)
  local ca = args('lh_observe', argv)
  local ev, ts, kind, value = ca.ev, n(ca.ts_us, 'ts_us'), ca.kind, ca.value
  local w, mode, cap = n(ca.window_us, 'window_us'), ca.mode, n(ca.cap, 'cap')
  local ttl, threshold = n(ca.ttl_s, 'ttl_s'), n(ca.threshold, 'threshold')
  local item = ca.evidence
  local need = ca.need
  local b = window(ts, w)
  local count
  local key
  if mode == 'exact' then
    key = keys[1] .. ':obs:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
    local counts = {}
    observe_exact(key, { { value = value, ts = ts, tsarg = num(ts), cap = cap, ttl = num(ttl) } }, counts)
    count = counts[1]
  elseif mode == 'approx' then
    key = keys[1] .. ':hll:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
    redis.call('PFADD', key, value)
    count = redis.call('PFCOUNT', key)
    redis.call('EXPIRE', key, num(ttl))
  else
    error('ERR loophole: mode must be exact or approx')
  end
  local evkey = keys[1] .. ':evd:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
  if item then evidence_add(evkey, item, ts, ttl) end
  local nkey
  if need then
    nkey = keys[1] .. ':need:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
    if need == '1' then redis.call('SET', nkey, '1', 'EX', num(ttl)) end
  end
  local hints = {}
  if threshold > 0 then
    local chk = { fn = 'observe', key = key, mode = mode, thr = threshold, nkey = nkey }
    -- an exact count only grows (CHECK.observe): below the threshold the
    -- window cannot qualify yet; an estimate is left to the settle
    hints[1] = fact(keys, w, b, ttl, alert_args(ca), nil,
                    { evkey = evkey, ts = ts, chk = chk, q = need ~= '0',
                      ready = mode ~= 'exact' or count >= threshold })
  end
  return { count, hints }
end

-- The window of an observation qualifies when its count reached the
-- threshold and, with `need`, a value that qualifies was seen: both only
-- grow, so the check at the settle is final.
CHECK.observe = function(_, c)
  local count
  if c.mode == 'approx' then
    count = redis.call('PFCOUNT', c.key)
  else
    count = redis.call('ZCARD', c.key)
  end
  if count < c.thr then return false end
  if c.nkey and redis.call('EXISTS', c.nkey) == 0 then return false end
  return true, { { 'count', fmt(count) } }
end

redis.register_function('lh_observe', observe)
