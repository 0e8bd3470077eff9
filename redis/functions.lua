#!lua name=loophole
--[[
functions.lua -- the loophole Redis Functions library: entity state,
windowed distinct counts, and alerts raised once per (rule, entity, window).

The sensor's writer thread loads this library with FUNCTION LOAD REPLACE on
every connection (so a restarted Redis gets it back) and checks lh_version.
Events reach it only through FCALL arguments: wire strings (SNI, host names,
AS names) are data, never part of a script. Nothing here reads the server's
clock: every window is computed from the packet time the caller passes
(ts_us, microseconds since the epoch), so a year-old capture gives the same
counts and alerts as a fresh one. Wall-clock TTLs (EXPIRE ttl_s) are only
garbage collection of correlation keys.

Windows. A window of W microseconds is a fixed, epoch-aligned bucket
[b*W, (b+1)*W) with b = floor(ts_us / W): half-open, so an event at exactly
(b+1)*W belongs to the next window. Fixed buckets make the result order-
independent: the distinct set of a bucket is a union, and "count >= N" is
monotone, so the set of (rule, entity, bucket) alerts is the same whatever
the order in which workers, threads or a journal replay deliver events.

Counting. mode "exact": one sorted set per (entity, kind, W, bucket), member
= value, score = the earliest packet time the value was seen in the bucket
(ZADD LT keeps the minimum whatever the arrival order). Exact counts are for
thresholds that are small and decisive (fan-out over GPU hosts, fan-in over
controller networks). The set stops growing at `cap` members (the count then
saturates at cap; the threshold has long been passed) so a scan cannot grow
it without bound. mode "approx": a HyperLogLog per (entity, kind, W, bucket),
12 KiB at most whatever the cardinality, about 0.81% standard error, for
large populations where the order of magnitude matters (many inbound clients
of an API relay); an approximate count must not be used for small
thresholds.

Keys owned here (K = the caller's KEYS[1] = <prefix>{e:<entity>}, whose hash
tag puts every key of one entity in one Redis Cluster slot):
  K:obs:<kind>:<W>:<b>    zset  exact distinct values of a bucket  (TTL ttl_s)
  K:hll:<kind>:<W>:<b>    hll   approximate distinct values        (TTL ttl_s)
  K:alert:<rule>:<W>:<b>  hash  ev = event id that raised it, json = the
                                alert line; dedup of (rule, entity, window)
                                                                  (TTL ttl_s)
Keys for dashboards (interface.md section 6, docs/redis-schema.md):
  KEYS[2] <prefix>host:<ip>  hash, KEYS[3] <prefix>risk  zset,
  KEYS[4] <prefix>alerts     stream; channel <prefix>alerts:live (ARGV).

Exactly once. Every event carries an id unique to the sensor run. When a
connection breaks after Redis ran a call but before its reply arrived, the
writer sends the call again; the dedup hash then holds the same event id and
the function returns the alert again without adding it to the stream, the
risk or the channel a second time, so the caller writes it exactly once.

Reply of lh_observe and lh_raise: { count, { alert_json, ... } }.
]]

local VERSION = 'loophole-functions 1'

local function n(s, what)
  local v = tonumber(s)
  if v == nil then error('ERR loophole: ' .. what .. ' is not a number') end
  return v
end

local function fmt(v) return string.format('%.0f', v) end

-- Reads the alert part of ARGV starting at i (see raise_args in
-- redis/event.c): rule, severity, score_add, entity_ip, role, ts_text,
-- stream_maxlen, channel, alert_json, then host field/value pairs.
local function alert_args(argv, i)
  local a = {
    rule = argv[i], severity = argv[i + 1], score_add = n(argv[i + 2], 'score'),
    ip = argv[i + 3], role = argv[i + 4], ts = argv[i + 5],
    maxlen = argv[i + 6], channel = argv[i + 7], json = argv[i + 8], host = {},
  }
  if a.json == nil or string.sub(a.json, 1, 1) ~= '{' or string.sub(a.json, -1) ~= '}' then
    error('ERR loophole: the alert must be a JSON object')
  end
  local j = i + 9
  while argv[j] ~= nil do
    if argv[j + 1] == nil then error('ERR loophole: host fields come in pairs') end
    a.host[#a.host + 1] = { argv[j], argv[j + 1] }
    j = j + 2
  end
  return a
end

-- Adds name to a comma-separated, sorted list of distinct names.
local function list_add(list, name)
  local t, seen = {}, false
  if list then
    for v in string.gmatch(list, '[^,]+') do
      t[#t + 1] = v
      if v == name then seen = true end
    end
  end
  if not seen then t[#t + 1] = name end
  table.sort(t)
  return table.concat(t, ',')
end

local HOST_FIELDS = { gpu_source = 1, provider = 1, tenant = 1, country = 1, asn = 1, as_org = 1 }

-- The host hash: first/last seen by packet time (RFC 3339 text of a fixed
-- shape compares like the time it names), roles, rules, score, and the
-- caller's descriptive fields.
local function host_update(key, a, score)
  local h = redis.call('HMGET', key, 'first_seen', 'last_seen', 'roles', 'rules')
  local args = { 'score', fmt(score), 'roles', list_add(h[3] or nil, a.role),
                 'rules', list_add(h[4] or nil, a.rule) }
  if not h[1] or a.ts < h[1] then args[#args + 1] = 'first_seen'; args[#args + 1] = a.ts end
  if not h[2] or a.ts > h[2] then args[#args + 1] = 'last_seen'; args[#args + 1] = a.ts end
  for _, p in ipairs(a.host) do
    if HOST_FIELDS[p[1]] and p[2] ~= '' then
      args[#args + 1] = p[1]; args[#args + 1] = p[2]
    end
  end
  redis.call('HSET', key, unpack(args))
end

-- Raises the alert of `a` for window (w, b) unless it was raised already.
-- Returns the alert line, or nil when another event raised it before.
local function raise(keys, ev, w, b, ttl, a, extra)
  local dkey = keys[1] .. ':alert:' .. a.rule .. ':' .. fmt(w) .. ':' .. fmt(b)
  local prev = redis.call('HMGET', dkey, 'ev', 'json')
  if prev[1] then
    if prev[1] == ev then return prev[2] end -- a resent call: same answer
    return nil
  end
  local old = tonumber(redis.call('ZSCORE', keys[3], a.ip) or '0') or 0
  local score = math.min(100, old + math.max(0, a.score_add))
  local id = redis.sha1hex(a.rule .. '\0' .. a.ip .. '\0' .. fmt(w) .. '\0' .. fmt(b))
  local line = string.sub(a.json, 1, -2)
  if line ~= '{' then line = line .. ',' end
  line = line .. '"id":"' .. string.sub(id, 1, 24) .. '","score":' .. fmt(score) .. extra .. '}'
  redis.call('HSET', dkey, 'ev', ev, 'json', line)
  redis.call('EXPIRE', dkey, ttl)
  redis.call('ZADD', keys[3], score, a.ip)
  host_update(keys[2], a, score)
  local xadd = { keys[4] }
  if tonumber(a.maxlen) and tonumber(a.maxlen) > 0 then
    xadd[#xadd + 1] = 'MAXLEN'; xadd[#xadd + 1] = '~'; xadd[#xadd + 1] = a.maxlen
  end
  redis.call('XADD', unpack(xadd), '*', 'json', line, 'rule', a.rule,
             'severity', a.severity, 'entity', a.ip)
  redis.call('PUBLISH', a.channel, line)
  return line
end

local function window(ts, w)
  if w < 1 then error('ERR loophole: window must be at least 1 us') end
  return math.floor(ts / w)
end

-- FCALL lh_observe 4 K host risk alerts  ev ts_us kind value window_us mode
--       cap ttl_s threshold [alert part when threshold > 0]
-- Records that entity K saw `value` of `kind` at packet time ts_us and
-- returns the distinct count of its window; raises the alert when the count
-- reaches threshold.
local function observe(keys, argv)
  local ev, ts, kind, value = argv[1], n(argv[2], 'ts_us'), argv[3], argv[4]
  local w, mode, cap = n(argv[5], 'window_us'), argv[6], n(argv[7], 'cap')
  local ttl, threshold = n(argv[8], 'ttl_s'), n(argv[9], 'threshold')
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
  local raised = {}
  if threshold > 0 and count >= threshold then
    local a = alert_args(argv, 10)
    local line = raise(keys, ev, w, b, ttl, a, ',"count":' .. fmt(count))
    if line then raised[1] = line end
  end
  return { count, raised }
end

-- FCALL lh_raise 4 K host risk alerts  ev ts_us window_us ttl_s [alert part]
-- Raises an alert the caller decided on, once per (rule, entity, window).
local function raise_fn(keys, argv)
  local ev, ts, w, ttl = argv[1], n(argv[2], 'ts_us'), n(argv[3], 'window_us'), n(argv[4], 'ttl_s')
  local a = alert_args(argv, 5)
  local line = raise(keys, ev, w, window(ts, w), ttl, a, '')
  if line then return { 1, { line } } end
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

redis.register_function('lh_observe', observe)
redis.register_function('lh_raise', raise_fn)
redis.register_function{ function_name = 'lh_count', callback = count_fn, flags = { 'no-writes' } }
redis.register_function{ function_name = 'lh_version', callback = function() return VERSION end,
                         flags = { 'no-writes' } }

--[[
Follows (lh_follow). Whether the requests a host sends to AI APIs follow
the requests it receives, for the ai_api_relay rule. The two legs end on
different workers and at different times, so both are stored and every
arrival matches itself against the other side:
  dir "in"   the start times of an inbound client's requests (who = the
             client): each is matched against the stored outbound starts;
  dir "out"  the start times of the host's own outbound AI API requests:
             each is matched against the stored inbound starts.
An inbound start s of client c is followed when an outbound start o has
s <= o <= s + lag. The followed clients of the window holding s form an
exact set; since each side only grows and every pair is tested by
whichever of the two arrives last, the set (and the alert when it reaches
threshold) does not depend on the order of arrival. Starts are kept per
bucket of their own time, and a match may cross a bucket edge.
  K:fin:<W>:<b>   zset  "<s>|<client>" -> s   inbound starts     (TTL ttl_s)
  K:fout:<W>:<b>  zset  "<o>" -> o            outbound starts    (TTL ttl_s)
  K:fol:<W>:<b>   zset  client -> earliest followed start        (TTL ttl_s)
The start sets stop growing at cap members, like exact sets.
]]

local FOLLOW_SCAN = 1000 -- inbound starts read per outbound start

local function follow_key(keys, what, w, b)
  return keys[1] .. ':' .. what .. ':' .. fmt(w) .. ':' .. fmt(b)
end

local function follow_add(key, cap, ts, member, ttl)
  if redis.call('ZCARD', key) < cap then redis.call('ZADD', key, fmt(ts), member) end
  redis.call('EXPIRE', key, ttl)
end

-- Marks client who followed at inbound start s; remembers the bucket.
local function follow_mark(keys, w, s, who, ttl, touched)
  local b = window(s, w)
  local key = follow_key(keys, 'fol', w, b)
  redis.call('ZADD', key, 'LT', fmt(s), who)
  redis.call('EXPIRE', key, ttl)
  touched[b] = true
end

-- Parses "t,t,..." (packet times in us).
local function follow_starts(text)
  local out = {}
  for t in string.gmatch(text, '%d+') do out[#out + 1] = tonumber(t) end
  if #out == 0 or #out > 64 then error('ERR loophole: a leg needs 1 to 64 starts') end
  return out
end

-- FCALL lh_follow 4 K host risk alerts  ev ts_us dir who starts window_us
--       lag_us cap ttl_s threshold [alert part when threshold > 0]
-- Stores the starts of one leg (dir "in" with who = the client, or "out")
-- and matches them with the other side. Raises, for every window where
-- this call marks a client, when its followed clients reach threshold.
-- Returns { the largest such count, { alerts } }.
local function follow_fn(keys, argv)
  local ev, dir, who, starts = argv[1], argv[3], argv[4], follow_starts(argv[5])
  n(argv[2], 'ts_us')
  local w, lag, cap = n(argv[6], 'window_us'), n(argv[7], 'lag_us'), n(argv[8], 'cap')
  local ttl, threshold = n(argv[9], 'ttl_s'), n(argv[10], 'threshold')
  if lag < 0 or lag >= w then error('ERR loophole: lag must be below the window') end
  local touched = {}
  for _, t in ipairs(starts) do
    if dir == 'in' then
      if who == '' or string.find(who, '|', 1, true) then error('ERR loophole: bad client') end
      follow_add(follow_key(keys, 'fin', w, window(t, w)), cap, t, fmt(t) .. '|' .. who, ttl)
      for b = window(t, w), window(t + lag, w) do
        local hit = redis.call('ZRANGEBYSCORE', follow_key(keys, 'fout', w, b), fmt(t), fmt(t + lag),
                               'LIMIT', 0, 1)
        if #hit > 0 then
          follow_mark(keys, w, t, who, ttl, touched)
          break
        end
      end
    elseif dir == 'out' then
      follow_add(follow_key(keys, 'fout', w, window(t, w)), cap, t, fmt(t), ttl)
      for b = window(t - lag, w), window(t, w) do
        local hits = redis.call('ZRANGEBYSCORE', follow_key(keys, 'fin', w, b), fmt(t - lag), fmt(t),
                                'LIMIT', 0, FOLLOW_SCAN)
        for _, m in ipairs(hits) do
          local bar = string.find(m, '|', 1, true)
          follow_mark(keys, w, tonumber(string.sub(m, 1, bar - 1)), string.sub(m, bar + 1), ttl,
                      touched)
        end
      end
    else
      error('ERR loophole: dir must be in or out')
    end
  end
  local best, raised, a = 0, {}, nil
  for b, _ in pairs(touched) do
    local count = redis.call('ZCARD', follow_key(keys, 'fol', w, b))
    if count > best then best = count end
    if threshold > 0 and count >= threshold and #raised < 32 then
      a = a or alert_args(argv, 11)
      local line = raise(keys, ev, w, b, ttl, a, ',"count":' .. fmt(count))
      if line then raised[#raised + 1] = line end
    end
  end
  return { best, raised }
end

redis.register_function('lh_follow', follow_fn)

--[[
Absence (lh_absent). For rules that need "and no such session": the
reverse_tunnel rule raises only for a GPU host with no inbound control
session. role "mark" records that entity K had a session of `kind`
during [lo_us, hi_us], in every window that span touches; role "raise"
raises the alert (once per rule, entity and window of ts_us) unless one
of the windows of its own span [lo_us, hi_us] is marked. An alert cannot
be taken back, so a mark that arrives after the raise does not undo it:
the decision belongs to the raise's arrival (docs/rules.md, reverse_tunnel,
for what that means across workers).
  K:mark:<kind>:<W>:<b>   string  "1"                           (TTL ttl_s)
]]

local ABSENT_SPAN = 1000 -- windows one span may touch

-- FCALL lh_absent 4 K host risk alerts  ev ts_us role kind lo_us hi_us
--       window_us ttl_s [alert part when role = raise]
-- Returns { 1 when a window of the span is marked, else 0, { alert } }.
local function absent_fn(keys, argv)
  local ev, ts, role, kind = argv[1], n(argv[2], 'ts_us'), argv[3], argv[4]
  local lo, hi, w, ttl = n(argv[5], 'lo_us'), n(argv[6], 'hi_us'), n(argv[7], 'window_us'),
                         n(argv[8], 'ttl_s')
  local first, last = window(math.min(lo, hi), w), window(math.max(lo, hi), w)
  if last - first >= ABSENT_SPAN then first = last - ABSENT_SPAN + 1 end
  local marked = 0
  for b = first, last do
    local key = keys[1] .. ':mark:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
    if role == 'mark' then
      redis.call('SET', key, '1', 'EX', ttl)
      marked = 1
    elseif role == 'raise' then
      if redis.call('EXISTS', key) == 1 then marked = 1 end
    else
      error('ERR loophole: role must be mark or raise')
    end
  end
  if role == 'mark' or marked == 1 then return { marked, {} } end
  local line = raise(keys, ev, w, window(ts, w), ttl, alert_args(argv, 9), '')
  if line then return { 0, { line } } end
  return { 0, {} }
end

redis.register_function('lh_absent', absent_fn)
