ARGS.lh_observe = { req = { 'ev', 'ts_us', 'kind', 'value', 'window_us', 'mode', 'cap', 'ttl_s', 'threshold' }, opt = { 'evidence', 'need' }, alert = 'opt' }

local function window(ts, w)
  if w < 1 then error('ERR loophole: window must be at least 1 us') end
  return math.floor(ts / w)
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
    count = redis.call('ZCARD', key)
    if count < cap or redis.call('ZSCORE', key, value) then
      -- ZADD answers the members it added (LT never keeps a new one out)
      count = count + redis.call('ZADD', key, 'LT', ts, value)
    end
    redis.call('EXPIRE', key, ttl)
  elseif mode == 'approx' then
    key = keys[1] .. ':hll:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
    redis.call('PFADD', key, value)
    count = redis.call('PFCOUNT', key)
    redis.call('EXPIRE', key, ttl)
  else
    error('ERR loophole: mode must be exact or approx')
  end
  local evkey = keys[1] .. ':evd:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
  if item then evidence_add(evkey, item, ts, ttl) end
  local nkey
  if need then
    nkey = keys[1] .. ':need:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
    if need == '1' then redis.call('SET', nkey, '1', 'EX', ttl) end
  end
  local hints = {}
  if threshold > 0 then
    local chk = { fn = 'observe', key = key, mode = mode, thr = threshold, nkey = nkey }
    hints[1] = fact(keys, w, b, ttl, alert_args(ca), '',
                    { evkey = evkey, ts = ts, chk = chk, q = need ~= '0' })
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
  return true, ',"count":' .. fmt(count)
end

redis.register_function('lh_observe', observe)
