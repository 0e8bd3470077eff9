
--[[
Knocks (lh_knock). Scans and brute force as facts of their own: a flow
toward a control service of a GPU host that never became a session (a
probe: no handshake, refused; an attempt: a failed or abandoned login,
analyze/session.c) counts for its source address and for the source's
/24 (/48) network, so an operator sees who is knocking. No alert:
knocking is what every public host sees all day, never control. The
counts are totals over the keys' lifetime (TTL ttl_s, renewed by every
knock), increments that commute, so the order of arrival does not matter.
A knock is counted once per fact (the knocking flow record, as for the
sums), so neither a call sent again after a broken connection nor a
second replay of the same capture adds anything.
  KEYS[1] <prefix>{k:<net>}:src:<addr>  hash  probe, attempt -> counts;
                                              first_us, last_us
  KEYS[1] .. ':facts'                   set   facts counted
  KEYS[2] <prefix>{k:<net>}:net         hash  probe, attempt, first_us, last_us
  KEYS[1..2] .. ':gpu'                  hll   distinct GPU hosts knocked at
Both keys share the source network's hash tag, so a call touches one slot
(a Redis Cluster takes it). The index of who knocks most lives in another
slot: the call answers a next step, lh_knockers, that sets each key's
total there with ZADD GT; totals only grow, so a step sent twice or late
leaves the same index.
  <prefix>knockers                      zset  KEYS[1], KEYS[2] -> knocks
]]

ARGS.lh_knock = { req = { 'ev', 'fact', 'ts_us', 'ttl_s', 'level', 'gpu' }, opt = {}, alert = 'none' }

-- FCALL lh_knock 2 src net  ev fact ts_us ttl_s level gpu (by name)
-- Returns { 1, { the lh_knockers step } } when counted, { 0, {} } for a
-- fact already counted.
local function knock_fn(keys, argv)
  local c = args('lh_knock', argv)
  local ts, ttl, level, gpu = n(c.ts_us, 'ts_us'), n(c.ttl_s, 'ttl_s'), c.level, c.gpu
  if level ~= 'probe' and level ~= 'attempt' then
    error('ERR loophole: level must be probe or attempt')
  end
  local facts = keys[1] .. ':facts'
  local fresh = redis.call('SADD', facts, c.fact)
  local ttls = num(ttl)
  redis.call('EXPIRE', facts, ttls)
  if fresh == 0 then return { 0, {} } end
  local prefix = string.match(keys[1], '^(.-){')
  if not prefix then error('ERR loophole: a knock key needs its network hash tag') end
  local step = { 'FCALL', 'lh_knockers', '1', prefix .. 'knockers', ttls }
  for i = 1, 2 do
    local k = keys[i]
    redis.call('HINCRBY', k, level, '1')
    local fl = redis.call('HMGET', k, 'first_us', 'last_us')
    local first, last = fl[1], fl[2]
    if not first or ts < tonumber(first) then redis.call('HSET', k, 'first_us', fmt(ts)) end
    if not last or ts > tonumber(last) then redis.call('HSET', k, 'last_us', fmt(ts)) end
    redis.call('PFADD', k .. ':gpu', gpu)
    redis.call('EXPIRE', k, ttls)
    redis.call('EXPIRE', k .. ':gpu', ttls)
    local pa = redis.call('HMGET', k, 'probe', 'attempt')
    step[#step + 1] = k
    step[#step + 1] = fmt((tonumber(pa[1]) or 0) + (tonumber(pa[2]) or 0))
  end
  return { 1, { step } }
end

-- FCALL lh_knockers 1 <prefix>knockers  ttl_s key total [key total]
-- The next step of lh_knock: each key's knocks, never lowered.
local function knockers_fn(keys, argv)
  local ttl = n(argv[1], 'ttl_s')
  for i = 2, #argv - 1, 2 do
    redis.call('ZADD', keys[1], 'GT', num(n(argv[i + 1], 'total')), argv[i])
  end
  redis.call('EXPIRE', keys[1], num(ttl))
  return { 0, {} }
end

redis.register_function('lh_knock', knock_fn)
redis.register_function('lh_knockers', knockers_fn)
