
--[[
Follows (lh_follow). Whether the requests a host sends to AI APIs follow
the requests it receives, for the ai_api_relay rule. The two legs end on
different workers and at different times, so both are stored and every
arrival matches itself against the other side:
  dir "in"   the start times of an inbound client's requests (who = the
             client): each is matched against the stored outbound starts;
  dir "out"  the start times of the host's own outbound AI API requests:
             each is matched against the stored inbound starts;
  dir "req"  the same for requests inside a kept-alive connection
             (analyze/turns.h): each is also a request of its own that
             breaks the quiet, like a connection start.
An inbound start s of client c is followed when an outbound start o has
s <= o <= s + lag and no outbound connection started in [s - lag, s):
the host was quiet toward the API until the request came (a job opening
a connection to the API more often than once per lag is always busy and
never follows). The first start of an outbound leg is its connection's
first packet (detect_request_starts in rules/detect_flow.c); later ones
are ON periods of that connection, which may be a TLS close as well as a
request, so only connection starts break the quiet. The
followed clients of the window holding s form an exact set, and every
pair is tested by whichever of the two arrives last (the marks, K:fol,
answer the call). The quiet test can be undone by an outbound start that
arrives later and falls just before s, so the alert is decided by the
settle (10_alert.lua) once the window and the lag after it have closed,
from the complete start sets (CHECK.follow), never from the marks.
Starts are kept per bucket of their own time, and a match may cross a
bucket edge.
  K:fin:<W>:<b>   zset  "<s>|<client>" -> s   inbound starts     (TTL ttl_s)
  K:fout:<W>:<b>  zset  "<o>" -> o            outbound starts    (TTL ttl_s)
  K:fcon:<W>:<b>  zset  "<o>" -> o            outbound connection and request
                                               starts
                                                                 (TTL ttl_s)
  K:fol:<W>:<b>   zset  client -> earliest followed start        (TTL ttl_s)
The start sets stop growing at cap members, like exact sets.
]]

ARGS.lh_follow = { req = { 'ev', 'ts_us', 'dir', 'who', 'starts', 'window_us', 'lag_us', 'cap', 'ttl_s', 'threshold' }, opt = { 'fid' }, alert = 'opt' }

local FOLLOW_SCAN = 1000 -- inbound starts read per outbound start (a work bound, no source)

local function follow_key(keys, what, w, b)
  return keys[1] .. ':' .. what .. ':' .. fmt(w) .. ':' .. fmt(b)
end

local function follow_add(key, cap, ts, member, ttl)
  if redis.call('ZCARD', key) < cap then redis.call('ZADD', key, fmt(ts), member) end
  redis.call('EXPIRE', key, num(ttl))
end

-- Marks client who followed at inbound start s; remembers the bucket.
local function follow_mark(keys, w, s, who, ttl, touched)
  local b = window(s, w)
  local key = follow_key(keys, 'fol', w, b)
  redis.call('ZADD', key, 'LT', fmt(s), who)
  redis.call('EXPIRE', key, num(ttl))
  touched[b] = true
end

-- 1 when a start of set `what` (fout, fcon) lies in [lo, hi].
local function follow_any(keys, what, w, lo, hi)
  if hi < lo then return false end
  for b = window(lo, w), window(hi, w) do
    local hit = redis.call('ZRANGEBYSCORE', follow_key(keys, what, w, b), fmt(lo), fmt(hi),
                           'LIMIT', 0, 1)
    if #hit > 0 then return true end
  end
  return false
end

-- Parses "t,t,..." (packet times in us).
local function follow_starts(text)
  local out = {}
  for t in string.gmatch(text, '%d+') do out[#out + 1] = tonumber(t) end
  if #out == 0 or #out > 64 then error('ERR loophole: a leg needs 1 to 64 starts') end
  return out
end

-- FCALL lh_follow 4 K host risk alerts, by name: ev ts_us dir who starts window_us
--       lag_us cap ttl_s threshold [alert part when threshold > 0]
-- Stores the starts of one leg (dir "in" with who = the client, or "out")
-- and matches them with the other side. With threshold > 0, records the
-- leg's alert as a fact of every window it can count in; the settle
-- raises when the window's followed clients reach threshold. Returns
-- { the largest count of marked clients, { settle hint } }.
local function follow_fn(keys, argv)
  local ca = args('lh_follow', argv)
  local ev, dir, who, starts = ca.ev, ca.dir, ca.who, follow_starts(ca.starts)
  local ts = n(ca.ts_us, 'ts_us')
  local w, lag, cap = n(ca.window_us, 'window_us'), n(ca.lag_us, 'lag_us'), n(ca.cap, 'cap')
  local ttl, threshold = n(ca.ttl_s, 'ttl_s'), n(ca.threshold, 'threshold')
  if lag < 0 or lag >= w then error('ERR loophole: lag must be below the window') end
  local touched = {}
  for i, t in ipairs(starts) do
    if dir == 'in' then
      if who == '' or string.find(who, '|', 1, true) then error('ERR loophole: bad client') end
      follow_add(follow_key(keys, 'fin', w, window(t, w)), cap, t, fmt(t) .. '|' .. who, ttl)
      if follow_any(keys, 'fout', w, t, t + lag) and
         not follow_any(keys, 'fcon', w, t - lag, t - 1) then
        follow_mark(keys, w, t, who, ttl, touched)
      end
    elseif dir == 'out' or dir == 'req' then
      follow_add(follow_key(keys, 'fout', w, window(t, w)), cap, t, fmt(t), ttl)
      if i == 1 or dir == 'req' then
        follow_add(follow_key(keys, 'fcon', w, window(t, w)), cap, t, fmt(t), ttl)
      end
      for b = window(t - lag, w), window(t, w) do
        local hits = redis.call('ZRANGEBYSCORE', follow_key(keys, 'fin', w, b), fmt(t - lag), fmt(t),
                                'LIMIT', 0, FOLLOW_SCAN)
        for _, m in ipairs(hits) do
          local bar = string.find(m, '|', 1, true)
          local s = tonumber(string.sub(m, 1, bar - 1))
          if not follow_any(keys, 'fcon', w, s - lag, s - 1) then
            follow_mark(keys, w, s, string.sub(m, bar + 1), ttl, touched)
          end
        end
      end
    else
      error('ERR loophole: dir must be in, out or req')
    end
  end
  local best = 0
  for b, _ in pairs(touched) do
    local count = redis.call('ZCARD', follow_key(keys, 'fol', w, b))
    if count > best then best = count end
  end
  -- The windows whose inbound starts this leg can follow or be followed
  -- by: a fact in each, settled once the lag after the window's end has
  -- passed too (the quiet test needs the starts up to s + lag).
  local hints = {}
  if threshold > 0 then
    local a, wins = alert_args(ca), {}
    for _, t in ipairs(starts) do
      local lo = dir == 'in' and t or t - lag
      for b = window(lo, w), window(t, w) do wins[b] = true end
    end
    local list = {}
    for b, _ in pairs(wins) do list[#list + 1] = b end
    table.sort(list)
    for _, b in ipairs(list) do
      local chk = { fn = 'follow', w = w, b = b, lag = lag, thr = threshold }
      local hint = fact(keys, w, b, ttl, a, nil, { ts = ts, chk = chk, due = (b + 1) * w + lag })
      if hint then hints[1] = hint end
    end
  end
  return { best, hints }
end

-- The clients of window c.b whose requests the host followed, from the
-- complete start sets: an outbound start within the lag after the
-- inbound one, and no outbound connection in the lag before it.
CHECK.follow = function(keys, c)
  local seen, count = {}, 0
  for _, m in ipairs(redis.call('ZRANGE', follow_key(keys, 'fin', c.w, c.b), '0', '-1')) do
    local bar = string.find(m, '|', 1, true)
    local s, who = tonumber(string.sub(m, 1, bar - 1)), string.sub(m, bar + 1)
    if not seen[who] and follow_any(keys, 'fout', c.w, s, s + c.lag) and
       not follow_any(keys, 'fcon', c.w, s - c.lag, s - 1) then
      seen[who] = true
      count = count + 1
    end
  end
  if count < c.thr then return false end
  return true, { { 'count', fmt(count) } }
end

redis.register_function('lh_follow', follow_fn)
