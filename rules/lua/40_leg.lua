--[[
Legs (lh_leg). The ON-period starts of the two legs of a possible stepping
stone, under the intermediary's key: dir "in" (an interactive session into
it) or "out" (a control session from it to a GPU host), per bucket of the
first and of the last start. A leg is matched against every stored leg of
the other direction in the same buckets with the same (in, out) argument
order whatever arrived first (Zhang and Paxson 2000, detection-notes.md).
Each leg stores its party (the peer of an inbound leg, the GPU host of an
outbound one), lent to the line of the pair when the inbound leg's alert
does not name that party itself (05_line.lua), and its evidence item.
  K:leg:<dir>:<W>:<b>  K:legp:<dir>:<W>:<b>  K:lege:<dir>:<W>:<b>  K:lega:<dir>:<W>:<b>
                      hash  leg id -> starts / part / item / its alert (TTL ttl_s)
]]

ARGS.lh_leg = { req = { 'ev', 'ts_us', 'dir', 'leg', 'starts', 'part', 'item', 'window_us', 'ttl_s', 'delta_us', 'min_ratio_pct', 'min_run', 'min_match' }, opt = {}, alert = 'req' }

-- Parses "t:pkts,t:pkts,..." (ascending packet times in us) of a leg.
local function leg_parse(text)
  local out = {}
  for t, p in string.gmatch(text, '(%d+):(%d+)') do
    out[#out + 1] = { t = tonumber(t), p = tonumber(p) }
    if #out > 1 and out[#out].t < out[#out - 1].t then error('ERR loophole: leg starts must ascend') end
  end
  if #out == 0 then error('ERR loophole: a leg needs ON-period starts') end
  return out
end

-- Zhang and Paxson's coincidences of the inbound leg's ON periods with the
-- outbound leg's: an outbound start within delta of an inbound one, each
-- used once. Returns coincidences, the longest run of them back to back in
-- both legs, and how many of them have packet counts that agree (within
-- half the larger count, or 2 packets: the relay forwards what it got).
local function leg_match(a, b, delta)
  local j, coinc, run, best, agree = 1, 0, 0, 0, 0
  local pi, pj = -1, -1
  for i = 1, #a do
    while j <= #b and b[j].t < a[i].t - delta do j = j + 1 end
    if j <= #b and b[j].t <= a[i].t + delta then
      coinc = coinc + 1
      if pi == i - 1 and pj == j - 1 then run = run + 1 else run = 1 end
      if run > best then best = run end
      local d, m = math.abs(a[i].p - b[j].p), math.max(a[i].p, b[j].p)
      if d <= 2 or d * 2 <= m then agree = agree + 1 end
      pi, pj, j = i, j, j + 1
    end
  end
  return coinc, best, agree
end

-- FCALL lh_leg 4 K host risk alerts, by name: ev ts_us dir leg starts part item
--       window_us ttl_s delta_us min_ratio_pct min_run min_match
--       [alert part]
-- Stores leg (dir "in" or "out") of intermediary K and matches it against
-- the stored legs of the other direction in the buckets of its first and
-- last start. A pair is a stepping stone when at least min_match ON periods
-- coincide, they are more than min_ratio_pct % of the shorter leg's ON
-- periods, min_run of them come back to back, and the packet counts of at
-- least half of them agree. Each matching pair is a fact of the
-- intermediary's hour (fact() in 10_alert.lua): the inbound leg's alert
-- with the outbound leg's party and both evidence items. Returns { best
-- coincidences, { settle hint } }.
local function leg_fn(keys, argv)
  local ca = args('lh_leg', argv)
  local ev, dir, leg, text, part, item = ca.ev, ca.dir, ca.leg, ca.starts, ca.part, ca.item
  n(ca.ts_us, 'ts_us')
  local w, ttl, delta = n(ca.window_us, 'window_us'), n(ca.ttl_s, 'ttl_s'), n(ca.delta_us, 'delta_us')
  local min_ratio, min_run, min_match = n(ca.min_ratio_pct, 'min_ratio_pct'), n(ca.min_run, 'min_run'),
                                       n(ca.min_match, 'min_match')
  if dir ~= 'in' and dir ~= 'out' then error('ERR loophole: dir must be in or out') end
  local other = dir == 'in' and 'out' or 'in'
  local mine = leg_parse(text)
  check_object(part, 'a leg\'s party')
  check_object(item, 'an evidence item')
  local buckets = { window(mine[1].t, w) }
  local last = window(mine[#mine].t, w)
  if last ~= buckets[1] then buckets[2] = last end
  local a = alert_args(ca)
  local own = cjson.encode({ line = a.line, ts = a.ts, t = ca.ts_us })
  local best, hints, paired = 0, {}, {}
  for _, b in ipairs(buckets) do
    local sfx = ':' .. fmt(w) .. ':' .. fmt(b)
    for _, pre in ipairs({ ':leg:', ':legp:', ':lege:', ':lega:' }) do
      local v = pre == ':leg:' and text or pre == ':legp:' and part or pre == ':lege:' and item or own
      redis.call('HSET', keys[1] .. pre .. dir .. sfx, leg, v)
      redis.call('EXPIRE', keys[1] .. pre .. dir .. sfx, num(ttl))
    end
    local others = redis.call('HGETALL', keys[1] .. ':leg:' .. other .. sfx)
    for k = 1, #others, 2 do
      local theirs = leg_parse(others[k + 1])
      local x, c = mine, theirs
      if dir == 'out' then x, c = theirs, mine end
      local coinc, run, agree = leg_match(x, c, delta)
      if coinc > best then best = coinc end
      local on = math.min(#x, #c)
      local oleg = others[k]
      if not paired[oleg] and (dir == 'in' or redis.call('HEXISTS', keys[1] .. ':lega:' .. other .. sfx, oleg) == 1) and coinc >= min_match and coinc * 100 > min_ratio * on and
         run >= min_run and agree * 2 >= coinc then
        -- one fact per pair, in the earliest bucket both legs share, built
        -- from the inbound leg's alert with both legs' parties, so it is the
        -- same whichever leg ended first
        paired[oleg] = true
        local opart = redis.call('HGET', keys[1] .. ':legp:' .. other .. sfx, oleg)
        local oitem = redis.call('HGET', keys[1] .. ':lege:' .. other .. sfx, oleg)
        local oalert = redis.call('HGET', keys[1] .. ':lega:' .. other .. sfx, oleg)
        local inl, parties, items = cjson.decode(own), { part, opart }, { item, oitem }
        if dir == 'out' then
          inl, parties, items = cjson.decode(oalert), { opart, part }, { oitem, item }
        end
        local pa = {}
        for key, v in pairs(a) do pa[key] = v end
        pa.line, pa.ts = inl.line, inl.ts
        local lent = {}
        for i, name in ipairs({ 'peer', 'gpu_host' }) do
          if not pa.line[name] then lent[#lent + 1] = { name, parties[i] } end
        end
        local figures = { { 'coincidences', fmt(coinc) }, { 'on_periods', fmt(on) },
                          { 'back_to_back', fmt(run) }, { 'packets_agree', fmt(agree) } }
        local hint = fact(keys, w, b, ttl, pa, figures,
                          { items = items, lent = lent, ts = n(inl.t, 'ts_us') })
        if hint then hints[1] = hint end
      end
    end
  end
  return { best, hints }
end

CHECK.leg = function() return true, nil end

redis.register_function('lh_leg', leg_fn)
