ARGS.lh_observe = { req = { 'ev', 'ts_us', 'kind', 'value', 'window_us', 'mode', 'cap', 'ttl_s', 'threshold' }, opt = { 'evidence', 'need' }, alert = 'opt' }

local function window(ts, w)
  if w < 1 then error('ERR loophole: window must be at least 1 us') end
  return math.floor(ts / w)
end

-- FCALL lh_observe 4 K host risk alerts, by name: ev ts_us kind value window_us mode
--       cap ttl_s threshold [evidence] [need] [alert part when threshold > 0]
-- Records that entity K saw `value` of `kind` at packet time ts_us and
-- returns the distinct count of its window; raises the alert when the count
-- reaches threshold, with the kept evidence items (the earliest). With
-- `need`, the alert also needs a value of the window that qualified
-- (need "1": this one does; K:need:<kind>:<W>:<b> remembers it): "six
-- networks, China among them" is two conditions that only grow, so the
-- last value to arrive raises whatever the order.
local function observe(keys, argv)
  local ca = args('lh_observe', argv)
  local ev, ts, kind, value = ca.ev, n(ca.ts_us, 'ts_us'), ca.kind, ca.value
  local w, mode, cap = n(ca.window_us, 'window_us'), ca.mode, n(ca.cap, 'cap')
  local ttl, threshold = n(ca.ttl_s, 'ttl_s'), n(ca.threshold, 'threshold')
  local item = ca.evidence
  local need = ca.need
  local b = window(ts, w)
  local count
  if mode == 'exact' then
    local key = keys[1] .. ':obs:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
    count = redis.call('ZCARD', key)
    if count < cap or redis.call('ZSCORE', key, value) then
      redis.call('ZADD', key, 'LT', ts, value)
      count = redis.call('ZCARD', key)
    end
    redis.call('EXPIRE', key, ttl)
  elseif mode == 'approx' then
    local key = keys[1] .. ':hll:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
    redis.call('PFADD', key, value)
    count = redis.call('PFCOUNT', key)
    redis.call('EXPIRE', key, ttl)
  else
    error('ERR loophole: mode must be exact or approx')
  end
  local evkey = keys[1] .. ':evd:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
  if item then evidence_add(evkey, item, ts, ttl) end
  local met = true
  if need then
    local nkey = keys[1] .. ':need:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
    if need == '1' then redis.call('SET', nkey, '1', 'EX', ttl) end
    met = redis.call('EXISTS', nkey) == 1
  end
  local raised = {}
  if threshold > 0 then candidate(keys, w, b, ttl, alert_args(ca), { item }) end
  if met and threshold > 0 and count >= threshold then
    local a = alert_args(ca)
    local line = raise(keys, ev, w, b, ttl, a, ',"count":' .. fmt(count), { evkey = evkey })
    if line then raised[1] = line end
  end
  return { count, raised }
end

redis.register_function('lh_observe', observe)
