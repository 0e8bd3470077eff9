ARGS.lh_raise = { req = { 'ev', 'ts_us', 'window_us', 'ttl_s' }, opt = { 'fid' }, alert = 'req' }

-- FCALL lh_raise 4 K host risk alerts, by name: ev ts_us window_us ttl_s [alert part]
-- An alert the caller decided on from one record, once per (rule,
-- entity, window): a fact settled first at its own packet time (the
-- earliest fact of the window names the line), then again when the
-- window closes (a higher severity later in the window escalates).
-- Returns { 1 for a new fact, else 0, { the settle hint while the window
-- is pending } }.
local function raise_fn(keys, argv)
  local ca = args('lh_raise', argv)
  local ts, w, ttl = n(ca.ts_us, 'ts_us'), n(ca.window_us, 'window_us'), n(ca.ttl_s, 'ttl_s')
  local hint, fresh = fact(keys, w, window(ts, w), ttl, alert_args(ca), nil, { ts = ts, early = true })
  return { fresh and 1 or 0, { hint } }
end

-- The three steps below take positional arguments: the library builds
-- them (raise_next, risk_fn) and the writer only forwards them, so no call
-- builder of rules/event.c, and no ARGS entry, stands for them.
-- FCALL lh_risk 1 <prefix>risk  id ip score_add ttl_s line alerts_key
--       channel maxlen rule severity host_key role ts cand [host field/value...]
-- Cluster step 2 (see the top): adds score_add to the ip's risk once per
-- alert id, and answers the steps lh_emit, with the line alert_line()
-- makes of `line` (JSON: f, items, id, figures) and the score, and
-- lh_host with the score.
local function risk_fn(keys, argv)
  local id, ip, add, ttl = argv[1], argv[2], n(argv[3], 'score'), n(argv[4], 'ttl_s')
  local mark = step_mark(keys[1], id)
  local score = tonumber(redis.call('GET', mark))
  if not score then
    local old = tonumber(redis.call('ZSCORE', keys[1], ip) or '0') or 0
    score = math.min(100, old + math.max(0, add))
    redis.call('ZADD', keys[1], num(score), ip)
    redis.call('SET', mark, fmt(score), 'EX', num(ttl))
  end
  local l = cjson.decode(argv[5])
  local line = alert_line(l.f, l.items, { id = l.id, score = fmt(score), figures = l.figures })
  local emit = { 'FCALL', 'lh_emit', '1', argv[6], id, argv[4], line, argv[7], argv[8], argv[9],
                 argv[10], ip, argv[14] }
  local host = { 'FCALL', 'lh_host', '1', argv[11], fmt(score), argv[12], argv[9], argv[13] }
  for i = 15, #argv do host[#host + 1] = argv[i] end
  return { 0, { emit, host } }
end

-- FCALL lh_emit 1 <prefix>alerts  id ttl_s line channel maxlen rule severity ip cand
-- Cluster step 3: the alerts stream and the live channel, once per alert
-- id. Answers the finished line, which the writer writes out.
local function emit_fn(keys, argv)
  local id, ttl, line = argv[1], n(argv[2], 'ttl_s'), argv[3]
  if redis.call('SET', step_mark(keys[1], id), '1', 'NX', 'EX', num(ttl)) then
    local xadd = { keys[1] }
    if tonumber(argv[5]) and tonumber(argv[5]) > 0 then
      xadd[#xadd + 1] = 'MAXLEN'; xadd[#xadd + 1] = '~'; xadd[#xadd + 1] = argv[5]
    end
    redis.call('XADD', unpack(xadd), '*', 'json', line, 'rule', argv[6], 'severity', argv[7],
               'entity', argv[8], 'cand', argv[9])
    redis.call('PUBLISH', argv[4], line)
  end
  return { 1, { line } }
end

-- FCALL lh_host 1 <prefix>host:<ip>  score role rule ts [field value...]
-- Cluster step 3: the host hash. Every update in it is idempotent; the
-- score only grows, so a late step cannot lower it.
local function host_fn(keys, argv)
  local a = { role = argv[2], rule = argv[3], ts = argv[4], host = {} }
  for i = 5, #argv - 1, 2 do a.host[#a.host + 1] = { argv[i], argv[i + 1] } end
  local cur = tonumber(redis.call('HGET', keys[1], 'score') or '0') or 0
  host_update(keys[1], a, math.max(cur, n(argv[1], 'score')))
  return { 0, {} }
end

-- FCALL lh_count 1 K kind window_us mode ts_us: the distinct count of the
-- window holding ts_us, without recording anything.
local function count_fn(keys, argv)
  local kind, w, mode, ts = argv[1], n(argv[2], 'window_us'), argv[3], n(argv[4], 'ts_us')
  local b = window(ts, w)
  if mode == 'approx' then
    return redis.call('PFCOUNT', keys[1] .. ':hll:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b))
  end
  return redis.call('ZCARD', keys[1] .. ':obs:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b))
end

redis.register_function('lh_raise', raise_fn)
redis.register_function('lh_risk', risk_fn)
redis.register_function('lh_emit', emit_fn)
redis.register_function('lh_host', host_fn)
redis.register_function{ function_name = 'lh_count', callback = count_fn, flags = { 'no-writes' } }
redis.register_function{ function_name = 'lh_version', callback = function() return VERSION end,
                         flags = { 'no-writes' } }

-- FCALL lh_args 0 fn: the declared arguments of fn (ARGS), as
-- { { required names }, { optional names }, the alert part "req" or "opt",
-- { the alert part's names }, { its optional names (the parties) } }.
local function args_fn(_, argv)
  local spec = ARGS[argv[1] or '']
  if not spec then error('ERR loophole: no function ' .. tostring(argv[1]) .. ' takes named arguments') end
  return { spec.req, spec.opt, spec.alert, ALERT, ALERT_OPT }
end

redis.register_function{ function_name = 'lh_args', callback = args_fn, flags = { 'no-writes' } }
