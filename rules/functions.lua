#!lua name=loophole
--[[
functions.lua -- the loophole Redis Functions library: entity state,
windowed distinct counts, and alerts published once per (rule, entity,
window) and severity, later events of the window folded into the stored
alert (raise, below).

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
lh_absent is the one exception: an absence is decided when the raise
arrives (its section below).

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
  K:need:<kind>:<W>:<b>   string a value that qualifies was seen  (TTL ttl_s)
  K:hll:<kind>:<W>:<b>    hll   approximate distinct values        (TTL ttl_s)
  K:alert:<rule>:<W>:<b>  hash  ev = event id that raised it, first = the
                                line it published, json = the alert as it
                                stands (later qualifying events' evidence
                                and counts, "events"), sev/add = severity
                                and score of the latest published line,
                                ev:<id> = a later event's answer; dedup of
                                (rule, entity, window)            (TTL ttl_s)
  K:alert:<rule>:<W>:<b>:evd  zset  evidence of the qualifying events of an
                                alert without a kept set, by packet time
                                                                  (TTL ttl_s)
  K:cand:<alert id>       hash  what every event of the window adds (see
                                candidate()); named by the stream entry
                                                                  (TTL ttl_s)
Keys for dashboards (interface.md section 6, docs/redis-schema.md):
  KEYS[2] <prefix>host:<ip>  hash, KEYS[3] <prefix>risk  zset,
  KEYS[4] <prefix>alerts     stream; channel <prefix>alerts:live (ARGV).

Redis Cluster. A call must touch the keys of one slot, and the dashboard
keys are global. A caller in a cluster therefore passes KEYS[1] alone (one
slot: the entity's), and raise() answers, instead of the alert line, the
next step: an array `FCALL lh_risk 1 <prefix>risk ...` in the reply's list
of alerts. The writer sends it (redis/writer.c); lh_risk adds the score
(once per alert id) and answers two more steps: lh_emit (the alerts stream
and the live channel, once per alert id; it answers the finished line) and
lh_host (the host hash). Each step keys its once-only mark by the alert id
in its own slot ({<key>}:id:<alert id>, TTL ttl_s), so a resent step
changes nothing. The line is the one a single server writes: the same
head, the score from lh_risk, the same tail. docs/redis-schema.md.

Exactly once. Every event carries an id unique to the sensor run (`ev`).
When a connection breaks after Redis ran a call but before its reply
arrived, the writer sends the call again; the dedup hash then holds the
same event id and the function returns the alert again without adding it
to the stream, the risk or the channel a second time, so the caller writes
it exactly once. What is counted by increments that do not absorb a repeat
(the byte sums, the knocks) is counted once per `fact`: the sensor's name
and what the event describes (the flow record), the same in every replay
of the same capture, so a second replay into the same Redis adds nothing
(a resent call neither). Sets, HyperLogLogs, minima and maxima absorb
repeats by themselves.

Evidence. An observation may carry one evidence item (the JSON object of
detect_evidence() in rules/detect.c, built and escaped by the sensor), the
argument `evidence`. The items of one (entity,
kind, window[, member]) are kept in a sorted set, at most EVIDENCE_MAX:
by packet time (the earliest) for counts and time profiles, by bytes (the
largest) for sums, so the kept items do not depend on arrival order either
(the set always holds the EVIDENCE_MAX smallest scores, ties by bytes).
When an alert is raised, the kept items are spliced into its "evidence"
array; the sensor sends that array empty in that case. Items are checked
to be JSON objects without raw line breaks before they are stored.
  K:evd:<kind>:<W>:<b>[:<member>]  zset  item -> ts_us or -bytes   (TTL ttl_s)

Sums (lh_sum). A windowed byte sum per (entity, kind, member, bucket):
HINCRBY, which commutes, once per fact (a resent call or a replay of the
same capture adds nothing).
The alert is raised when the sum reaches the threshold and the member is
flagged (any event of the bucket said so: the destination is in China, a
relay country, Chinese object storage) or is in the entity's gate set (an
exact lh_observe/lh_gate set, e.g. the networks that control a GPU host)
of the gate window holding the start of the sum's bucket. lh_gate records
a gate member and checks the sums of the buckets starting in its window,
so whichever of the bytes and the control session arrives last raises the
alert. Dedup per (rule, entity, member, window).
  K:sum:<kind>:<W>:<b>     hash  member -> bytes, flag:<member> -> 1
  K:sum:<kind>:<W>:<b>:ev  set   facts already added            (TTL ttl_s)

Legs (lh_leg). The ON-period starts of the two legs of a possible stepping
stone, under the intermediary's key: dir "in" (an interactive session into
it) or "out" (a control session from it to a GPU host), per bucket of the
first and of the last start. A leg is matched against every stored leg of
the other direction in the same buckets with the same (in, out) argument
order whatever arrived first (Zhang and Paxson 2000, detection-notes.md).
Each leg stores a JSON part (its own party: "peer" for in, "gpu_host" for
out) spliced into the alert raised by the other leg, and its evidence item.
  K:leg:<dir>:<W>:<b>  K:legp:<dir>:<W>:<b>  K:lege:<dir>:<W>:<b>
                           hash  leg id -> starts / part / item   (TTL ttl_s)

Hours (lh_hours). Session start times of an entity in an hour-of-week
histogram in local time (the caller's UTC offset), once per session id;
sessions inside the caller's profile (hour and weekday masks) also mark
their local day. Raised when the sessions inside reach min_in on at least
min_days distinct days: both only grow, so the alert does not depend on
arrival order. The share inside is reported, not tested (it can fall).
  K:tz:<W>:<b>   hash  h:<0..167> -> sessions, d:<local day> -> 1
  K:tzs:<W>:<b>  set   session ids counted                      (TTL ttl_s)

Arguments. After KEYS, the ARGV of every call is name, value pairs, in
any order. ARGS below declares the names of each function: `req` must be
there, `opt` may be, and `alert` says whether the alert part (ALERT, plus
`host:<field>` pairs for the host hash) is required, optional or absent.
A call with an undeclared, repeated or missing name fails, and so does a
function that reads a name it does not declare, so the call builders of
rules/event.c and this file cannot drift apart unnoticed: lh_args returns
ARGS, and tests/unit/test_redis_functions.c checks every builder against
it on a real server.

Reply of every function that raises: { count, { alert_json, ... } }.
]]

local VERSION = 'loophole-functions 5'
local EVIDENCE_MAX = 16

local function n(s, what)
  local v = tonumber(s)
  if v == nil then error('ERR loophole: ' .. what .. ' is not a number') end
  return v
end

local function fmt(v) return string.format('%.0f', v) end

-- The alert part (event_alert_args in rules/event.c): rule, severity,
-- score (added to the entity's risk), ip and role of the entity, ts (packet
-- time as RFC 3339 text), maxlen of the stream, channel, alert (the JSON
-- object the sensor built), and host:<field> pairs.
local ALERT = { 'rule', 'severity', 'score', 'ip', 'role', 'ts', 'maxlen', 'keep_s', 'channel',
                'alert' }

local ARGS = {
  lh_observe = { req = { 'ev', 'ts_us', 'kind', 'value', 'window_us', 'mode', 'cap', 'ttl_s',
                         'threshold' }, opt = { 'evidence', 'need' }, alert = 'opt' },
  lh_raise = { req = { 'ev', 'ts_us', 'window_us', 'ttl_s' }, opt = {}, alert = 'req' },
  lh_sum = { req = { 'ev', 'fact', 'ts_us', 'kind', 'member', 'bytes', 'flag', 'window_us', 'ttl_s',
                     'threshold', 'gate_kind', 'gate_window_us' }, opt = { 'evidence' },
             alert = 'opt' },
  lh_gate = { req = { 'ev', 'ts_us', 'kind', 'member', 'window_us', 'ttl_s', 'sum_kind',
                      'sum_window_us', 'threshold' }, opt = {}, alert = 'opt' },
  lh_leg = { req = { 'ev', 'ts_us', 'dir', 'leg', 'starts', 'part', 'item', 'window_us', 'ttl_s',
                     'delta_us', 'min_ratio_pct', 'min_run', 'min_match' }, opt = {},
             alert = 'req' },
  lh_hours = { req = { 'ev', 'ts_us', 'session', 'window_us', 'ttl_s', 'offset_s', 'hours_mask',
                       'days_mask', 'min_in', 'min_days' },
                opt = { 'evidence', 'fit_margin_pct', 'fit_shift_h' }, alert = 'opt' },
  lh_follow = { req = { 'ev', 'ts_us', 'dir', 'who', 'starts', 'window_us', 'lag_us', 'cap',
                        'ttl_s', 'threshold' }, opt = {}, alert = 'opt' },
  lh_absent = { req = { 'ev', 'ts_us', 'op', 'kind', 'lo_us', 'hi_us', 'window_us', 'ttl_s' },
                opt = {}, alert = 'opt' },
}

-- The set of names spec declares, built at its first call (the library's
-- load runs in a sandbox without the base functions).
local function declared(spec)
  if not spec.names then
    spec.names = {}
    for _, k in ipairs(spec.req) do spec.names[k] = true end
    for _, k in ipairs(spec.opt) do spec.names[k] = true end
    for _, k in ipairs(ALERT) do spec.names[k] = true end
  end
  return spec.names
end

-- The arguments of a call to fn, by name (see "Arguments" above); host
-- holds the host:<field> pairs in their order.
local function args(fn, argv)
  local spec, a, host = ARGS[fn], {}, {}
  declared(spec)
  if #argv % 2 ~= 0 then error('ERR loophole: ' .. fn .. ': arguments come in name, value pairs') end
  for i = 1, #argv, 2 do
    local k = argv[i]
    if string.sub(k, 1, 5) == 'host:' and spec.alert then
      host[#host + 1] = { string.sub(k, 6), argv[i + 1] }
    elseif not spec.names[k] then
      error('ERR loophole: ' .. fn .. ': unknown argument ' .. k)
    elseif a[k] ~= nil then
      error('ERR loophole: ' .. fn .. ': argument ' .. k .. ' given twice')
    else
      a[k] = argv[i + 1]
    end
  end
  for _, k in ipairs(spec.req) do
    if a[k] == nil then error('ERR loophole: ' .. fn .. ': argument ' .. k .. ' missing') end
  end
  local parts = 0
  for _, k in ipairs(ALERT) do if a[k] ~= nil then parts = parts + 1 end end
  if (spec.alert == 'req' or parts > 0) and parts < #ALERT then
    error('ERR loophole: ' .. fn .. ': the alert part is incomplete')
  end
  rawset(a, 'host', host)
  return setmetatable(a, { __index = function(_, k)
    if spec.names[k] then return nil end
    error('ERR loophole: ' .. fn .. ' reads argument ' .. tostring(k) .. ', which it does not declare')
  end })
end

-- The alert part of a call's arguments.
local function alert_args(c)
  local a = {
    rule = c.rule, severity = c.severity, score_add = n(c.score, 'score'), ip = c.ip,
    role = c.role, ts = c.ts, maxlen = c.maxlen, channel = c.channel, json = c.alert,
    host = c.host, keep = n(c.keep_s, 'keep_s'),
  }
  if a.json == nil or string.sub(a.json, 1, 1) ~= '{' or string.sub(a.json, -1) ~= '}' then
    error('ERR loophole: the alert must be a JSON object')
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

-- The last position of plain text pat in s, or nil.
local function find_last(s, pat)
  local pos, last = 1, nil
  while true do
    local at = string.find(s, pat, pos, true)
    if not at then return last end
    last, pos = at, at + 1
  end
end

-- ',"evidence":[' cannot occur inside a JSON string (a quote there is
-- escaped), and the top-level array comes after every object member that
-- could hold such an array (event_alert_json writes only the summary, a
-- string, after it), so its last occurrence is the one.
local EVIDENCE_AT = ',"evidence":['

-- Checks that an item from the caller is one JSON object on one line.
local function check_object(item, what)
  if item == nil or string.sub(item, 1, 1) ~= '{' or string.sub(item, -1) ~= '}' or
     string.find(item, '[\r\n]') then
    error('ERR loophole: ' .. what .. ' must be a JSON object')
  end
  local ok, v = pcall(cjson.decode, item)
  if not ok or type(v) ~= 'table' then error('ERR loophole: ' .. what .. ' must be a JSON object') end
  return v
end

local PART_KEYS = { gpu_host = 1, peer = 1 }

-- Splices the members of part (a checked object text of PART_KEYS only)
-- before the evidence array, unless the alert has them already.
local function splice_part(json, part)
  local v = check_object(part, 'a leg part')
  local alert = cjson.decode(json)
  for k, _ in pairs(v) do
    if not PART_KEYS[k] then error('ERR loophole: a leg part may hold gpu_host and peer only') end
    if alert[k] ~= nil then return json end
  end
  local inner = string.sub(part, 2, -2)
  local at = find_last(json, EVIDENCE_AT)
  if inner == '' or not at then return json end
  return string.sub(json, 1, at - 1) .. ',' .. inner .. string.sub(json, at)
end

-- Keeps item in the evidence set evkey: the EVIDENCE_MAX lowest scores.
local function evidence_add(evkey, item, score, ttl)
  check_object(item, 'an evidence item')
  redis.call('ZADD', evkey, score, item)
  if redis.call('ZCARD', evkey) > EVIDENCE_MAX then
    redis.call('ZREMRANGEBYRANK', evkey, EVIDENCE_MAX, -1)
  end
  redis.call('EXPIRE', evkey, ttl)
end

-- The alert id of (rule, entity, window[, sub]): the first 24 hex digits
-- of its SHA-1, the same whichever event raises it.
local function alert_id(a, w, b, sub)
  local idtext = a.rule .. '\0' .. a.ip .. '\0' .. fmt(w) .. '\0' .. fmt(b)
  if sub then idtext = idtext .. '\0' .. sub end
  return string.sub(redis.sha1hex(idtext), 1, 24)
end

-- Records what one event adds to the alert of (rule, entity, window[,
-- sub]), whether it raises it, comes after, or comes before the threshold:
-- the peer and intermediary it names, the flows of its evidence (its alert
-- part's and the items given), and its packet time. Unions, minima and
-- maxima, so the record of a window is the same whatever the order in
-- which the events arrive, which the alert line itself is not (its peer
-- and evidence are the raising event's). The stream entry of the alert
-- names the record (field `cand`); the end-of-run summary reads it.
-- lh_raise, lh_observe, lh_sum and lh_hours record every event of the
-- window; lh_gate, lh_leg, lh_follow and lh_absent only those that call
-- raise() (from the threshold on).
--   K:cand:<alert id>  hash  peer:<ip> -> 1, flow:<src>|<dst>|<first> ->
--                            "<bytes up> <bytes down>", first, last (TTL ttl_s)
local function cand_key(keys, a, w, b, sub)
  return keys[1] .. ':cand:' .. alert_id(a, w, b, sub)
end

local function candidate(keys, w, b, ttl, a, items, sub)
  local ckey = cand_key(keys, a, w, b, sub)
  local ok, j = pcall(cjson.decode, a.json)
  if not ok or type(j) ~= 'table' then return end
  local args = {}
  for _, part in ipairs({ 'peer', 'intermediary' }) do
    if type(j[part]) == 'table' and type(j[part].ip) == 'string' then
      args[#args + 1] = 'peer:' .. j[part].ip; args[#args + 1] = '1'
    end
  end
  local ev = {}
  if type(j.evidence) == 'table' then
    for _, it in ipairs(j.evidence) do ev[#ev + 1] = it end
  end
  for _, text in ipairs(items or {}) do
    local iok, it = pcall(cjson.decode, text)
    if iok then ev[#ev + 1] = it end
  end
  for _, it in ipairs(ev) do
    local f = type(it) == 'table' and it.flow
    if type(f) == 'table' and type(f.src) == 'string' and type(f.dst) == 'string' then
      args[#args + 1] = 'flow:' .. f.src .. '|' .. f.dst .. '|' .. tostring(f.first or '')
      args[#args + 1] = fmt(tonumber(f.bytes_up) or 0) .. ' ' .. fmt(tonumber(f.bytes_down) or 0)
    end
  end
  local h = redis.call('HMGET', ckey, 'first', 'last')
  if not h[1] or a.ts < h[1] then args[#args + 1] = 'first'; args[#args + 1] = a.ts end
  if not h[2] or a.ts > h[2] then args[#args + 1] = 'last'; args[#args + 1] = a.ts end
  if #args > 0 then redis.call('HSET', ckey, unpack(args)) end
  redis.call('EXPIRE', ckey, ttl)
end

-- The global keys of a cluster caller, beside the entity key K =
-- <prefix>{e:<entity>}: the prefix is what precedes '{e:'.
local function prefix_of(k)
  local i = string.find(k, '{e:', 1, true)
  if not i then error('ERR loophole: KEYS[1] must be <prefix>{e:<entity>}') end
  return string.sub(k, 1, i - 1)
end

-- The once-only mark of an alert id in the slot of key.
local function step_mark(key, id) return '{' .. key .. '}:id:' .. id end

-- Cluster: records the raise in the entity's slot and returns the next
-- step (lh_risk) as a call for the writer to send.
local function raise_next(k, dkey, ev, ttl, a, id, head, tail, cand)
  local p = prefix_of(k)
  local call = { 'FCALL', 'lh_risk', '1', p .. 'risk', id, a.ip, fmt(a.score_add), fmt(ttl),
                 head, tail, p .. 'alerts', a.channel, a.maxlen, a.rule, a.severity,
                 p .. 'host:' .. a.ip, a.role, a.ts, cand }
  for _, h in ipairs(a.host) do call[#call + 1] = h[1]; call[#call + 1] = h[2] end
  redis.call('HSET', dkey, 'ev', ev, 'next', cjson.encode(call))
  redis.call('EXPIRE', dkey, math.max(ttl, a.keep))
  return call
end

local SEVERITY_RANK = { low = 1, medium = 2, high = 3, critical = 4 }
local EVENTS_KEPT = 256 -- ids of later events remembered per alert

-- The position of the bracket that closes the array or object opened
-- right before position i of JSON text s (strings skipped), or nil.
local function json_close(s, i)
  local depth, in_str = 1, false
  while i <= #s do
    local c = string.sub(s, i, i)
    if in_str then
      if c == '\\' then i = i + 1 elseif c == '"' then in_str = false end
    elseif c == '"' then
      in_str = true
    elseif c == '[' or c == '{' then
      depth = depth + 1
    elseif c == ']' or c == '}' then
      depth = depth - 1
      if depth == 0 then return i end
    end
    i = i + 1
  end
  return nil
end

-- The alert text of `a` with opt.parts spliced, cut around its top-level
-- evidence array: the text through '"evidence":[', the sensor's own items
-- ('' when none), and the text after the array's ']' up to the final '}'.
local function alert_cut(a, opt)
  local json = a.json
  for _, p in ipairs(opt.parts or {}) do json = splice_part(json, p) end
  local at = find_last(json, EVIDENCE_AT)
  local close = at and json_close(json, at + #EVIDENCE_AT)
  if not close then error('ERR loophole: the alert has no evidence array') end
  at = at + #EVIDENCE_AT
  return string.sub(json, 1, at - 1), string.sub(json, at, close - 1), string.sub(json, close + 1, -2)
end

-- The evidence of an alert: opt.items, then the kept set opt.evkey (the
-- earliest or largest) and the sensor's own items, else the alert's own
-- set akey (items of every qualifying event, by packet time).
local function alert_items(akey, own, opt)
  local items = {}
  for _, it in ipairs(opt.items or {}) do items[#items + 1] = it end
  for _, it in ipairs(redis.call('ZRANGE', opt.evkey or akey, 0, EVIDENCE_MAX - 1 - #items)) do
    local dup = false
    for _, have in ipairs(items) do if have == it then dup = true end end
    if not dup then items[#items + 1] = it end
  end
  if opt.evkey and own ~= '' then items[#items + 1] = own end
  return items
end

-- Adds the evidence of one qualifying event to the alert's own set akey.
local function alert_keep(akey, own, opt, ttl)
  if opt.evkey then return end
  local t = opt.ts or 0
  if own ~= '' then redis.call('ZADD', akey, t, own) end
  for _, it in ipairs(opt.items or {}) do redis.call('ZADD', akey, t, it) end
  if redis.call('ZCARD', akey) > EVIDENCE_MAX then
    redis.call('ZREMRANGEBYRANK', akey, EVIDENCE_MAX, -1)
  end
  redis.call('EXPIRE', akey, ttl)
end

-- Writes a new alert line: risk, host hash, stream (naming the window's
-- candidate record ckey) and channel.
local function publish(keys, a, line, score, ckey)
  redis.call('ZADD', keys[3], score, a.ip)
  host_update(keys[2], a, score)
  local xadd = { keys[4] }
  if tonumber(a.maxlen) and tonumber(a.maxlen) > 0 then
    xadd[#xadd + 1] = 'MAXLEN'; xadd[#xadd + 1] = '~'; xadd[#xadd + 1] = a.maxlen
  end
  redis.call('XADD', unpack(xadd), '*', 'json', line, 'rule', a.rule,
             'severity', a.severity, 'entity', a.ip, 'cand', ckey)
  redis.call('PUBLISH', a.channel, line)
end

-- Raises the alert of `a` for window (w, b), once per (rule, entity,
-- window[, sub]). opt (may be nil): sub = a member that is part of the
-- dedup key (one alert per destination network), evkey = the evidence set
-- to splice, items = evidence items to splice first, parts = JSON parts to
-- splice, ts = the event's packet time (orders the evidence of later
-- events). Every call adds to the window's candidate record (candidate()).
-- Returns the alert line, or nil when the window's alert was published
-- before and this event does not escalate it.
--
-- A later qualifying event of the same window is not dropped: its evidence
-- joins the stored alert (K:alert:...:evd, up to EVIDENCE_MAX by packet
-- time, or the kept set of the window) and so do its counts, so the
-- stored alert (field json) always shows the window's evidence and
-- latest count, with "events" = the qualifying events folded in; the
-- host hash's first_seen/last_seen follow. Nothing is published for it
-- (a SOC gets no flood of repeats) unless its severity is higher than the
-- published one: then a new line (its own id, the evidence so far) is
-- published and the risk grows by the difference of the scores, so a
-- weaker event early in the window never hides a stronger one.
local function raise(keys, ev, w, b, ttl, a, extra, opt)
  opt = opt or {}
  local dkey = keys[1] .. ':alert:' .. a.rule .. ':' .. fmt(w) .. ':' .. fmt(b)
  if opt.sub then dkey = dkey .. ':' .. opt.sub end
  candidate(keys, w, b, ttl, a, opt.items, opt.sub)
  local akey = dkey .. ':evd'
  local cluster = #keys == 1 -- the risk, host and stream steps go to lh_risk
  local prev = redis.call('HMGET', dkey, 'ev', 'first', 'sev', 'add', 'events', 'ev:' .. ev,
                          'next')
  if prev[1] and prev[1] == ev then -- a resent call: same answer
    if prev[7] then return cjson.decode(prev[7]) end
    return prev[2]
  end
  if prev[6] then -- a resent later event
    if prev[6] == '' then return nil end
    if string.sub(prev[6], 1, 1) == '[' then return cjson.decode(prev[6]) end
    return prev[6]
  end
  local pre, own, post = alert_cut(a, opt)
  local escalate = prev[1] and (SEVERITY_RANK[a.severity] or 0) > (SEVERITY_RANK[prev[3]] or 0)
  -- Every event of the window counts once per fact (its packet time,
  -- evidence and severity: the same in every replay of the capture), and a
  -- later event of the same or lower severity only from the alert's own
  -- time on, so a second replay into the same Redis folds in nothing new.
  local keep = math.max(ttl, a.keep)
  local fkey = dkey .. ':facts'
  if prev[1] and not escalate then
    local ts0 = redis.call('HGET', dkey, 'ts0')
    if ts0 and a.ts < ts0 then return nil end
  end
  if redis.call('SADD', fkey, redis.sha1hex(a.ts .. '\0' .. own .. '\0' .. a.severity)) == 0 and
     prev[1] then
    return nil
  end
  redis.call('EXPIRE', fkey, keep)
  if not prev[1] then redis.call('HSET', dkey, 'ts0', a.ts) end
  alert_keep(akey, own, opt, ttl)
  local items = alert_items(akey, own, opt)
  local old = cluster and 0 or tonumber(redis.call('ZSCORE', keys[3], a.ip) or '0') or 0
  if prev[1] and not escalate then
    local events = (tonumber(prev[5]) or 1) + 1
    local h = redis.call('HMGET', dkey, 'pre', 'post', 'idscore')
    local json = h[1] .. table.concat(items, ',') .. ']' .. h[2] .. h[3] .. extra ..
                 ',"events":' .. fmt(events) .. '}'
    redis.call('HSET', dkey, 'json', json, 'events', fmt(events))
    if events <= EVENTS_KEPT then redis.call('HSET', dkey, 'ev:' .. ev, '') end
    if not cluster then host_update(keys[2], a, old) end
    return nil
  end
  local add = math.max(0, a.score_add)
  local id = alert_id(a, w, b, opt.sub)
  if escalate then
    -- its own id: the line of a higher severity is a new alert
    add = math.max(0, add - (tonumber(prev[4]) or 0))
    id = string.sub(redis.sha1hex(id .. '\0' .. a.severity), 1, 24)
  end
  local events = (tonumber(prev[5]) or 0) + 1
  if cluster then
    -- the line is finished by lh_risk, which adds `add` to the risk; the
    -- stored copy carries the score this alert adds
    local head = pre .. table.concat(items, ',') .. ']' .. post .. ',"id":"' .. id .. '","score":'
    local step = {}
    for k, v in pairs(a) do step[k] = v end
    step.score_add = add
    local call = raise_next(keys[1], dkey, ev, ttl, step, id, head, extra .. '}',
                            cand_key(keys, a, w, b, opt.sub))
    redis.call('HSET', dkey, 'ev', prev[1] or ev, 'json', head .. fmt(add) .. extra .. '}',
               'sev', a.severity, 'add', fmt(math.max(0, a.score_add)), 'events', fmt(events),
               'pre', pre, 'post', post, 'idscore', ',"id":"' .. id .. '","score":' .. fmt(add))
    if prev[1] then
      redis.call('HSET', dkey, 'ev:' .. ev, cjson.encode(call), 'next', prev[7] or '')
      if not prev[7] then redis.call('HDEL', dkey, 'next') end
    end
    return call
  end
  local score = math.min(100, old + add)
  local idscore = ',"id":"' .. id .. '","score":' .. fmt(score)
  local line = pre .. table.concat(items, ',') .. ']' .. post .. idscore .. extra .. '}'
  redis.call('HSET', dkey, 'ev', prev[1] or ev, 'json', line, 'sev', a.severity,
             'add', fmt(math.max(0, a.score_add)), 'events', fmt(events), 'pre', pre,
             'post', post, 'idscore', idscore)
  if prev[1] then
    redis.call('HSET', dkey, 'ev:' .. ev, line)
  else
    redis.call('HSET', dkey, 'first', line)
  end
  redis.call('EXPIRE', dkey, math.max(ttl, a.keep))
  publish(keys, a, line, score, cand_key(keys, a, w, b, opt.sub))
  return line
end

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
-- flag "1" marks the member as a destination that counts by itself. Raises
-- when the sum reaches threshold and the member is flagged or in the gate
-- set K:obs:<gate_kind>:<gate_window_us>:<gate bucket of the window's
-- start> (gate_kind "" = flag only). Returns { sum, { alert } }.
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
  redis.call('EXPIRE', key, ttl)
  redis.call('EXPIRE', key .. ':ev', ttl)
  local evkey = sum_evkey(keys, kind, w, b, member)
  if item then evidence_add(evkey, item, -bytes, ttl) end
  local h = redis.call('HMGET', key, member, 'flag:' .. member)
  local total = tonumber(h[1]) or 0
  local raised = {}
  if threshold > 0 then
    candidate(keys, w, b, ttl, alert_args(ca), { item }, member)
  end
  if threshold > 0 and total >= threshold then
    local ok = h[2] == '1'
    if not ok and gate_kind ~= '' then
      local gb = window(b * w, gate_w)
      local gkey = keys[1] .. ':obs:' .. gate_kind .. ':' .. fmt(gate_w) .. ':' .. fmt(gb)
      ok = redis.call('ZSCORE', gkey, member) ~= false
    end
    if ok then
      local a = alert_args(ca)
      local line = raise(keys, ev, w, b, ttl, a, ',"bytes":' .. fmt(total),
                         { sub = member, evkey = evkey })
      if line then raised[1] = line end
    end
  end
  return { total, raised }
end

-- FCALL lh_gate 4 K host risk alerts, by name: ev ts_us kind member window_us ttl_s
--       sum_kind sum_window_us threshold [alert part when threshold > 0]
-- Records member in the exact set of kind (as lh_observe does), then
-- raises for each sum bucket of sum_kind starting inside this window whose
-- sum for member has reached threshold. Returns { set size, { alerts } }.
local function gate_fn(keys, argv)
  local ca = args('lh_gate', argv)
  local ev, ts, kind, member = ca.ev, n(ca.ts_us, 'ts_us'), ca.kind, ca.member
  local w, ttl, sum_kind = n(ca.window_us, 'window_us'), n(ca.ttl_s, 'ttl_s'), ca.sum_kind
  local sw, threshold = n(ca.sum_window_us, 'sum_window_us'), n(ca.threshold, 'threshold')
  local b = window(ts, w)
  local key = keys[1] .. ':obs:' .. kind .. ':' .. fmt(w) .. ':' .. fmt(b)
  redis.call('ZADD', key, 'LT', ts, member)
  redis.call('EXPIRE', key, ttl)
  local raised = {}
  if threshold > 0 then
    local lo, hi = math.ceil(b * w / sw), window((b + 1) * w - 1, sw)
    if hi - lo > 10000 then error('ERR loophole: too many sum windows in the gate window') end
    local a = nil
    for sb = lo, hi do
      local total = tonumber(redis.call('HGET', sum_key(keys, sum_kind, sw, sb), member)) or 0
      if total >= threshold and #raised < 32 then -- reply.h: at most 64 lines
        a = a or alert_args(ca)
        local line = raise(keys, ev, sw, sb, ttl, a, ',"bytes":' .. fmt(total),
                           { sub = member, evkey = sum_evkey(keys, sum_kind, sw, sb, member) })
        if line then raised[#raised + 1] = line end
      end
    end
  end
  return { redis.call('ZCARD', key), raised }
end

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
-- least half of them agree. The alert gets the other leg's part and both
-- evidence items. Returns { best coincidences, { alert } }.
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
  check_object(part, 'a leg part')
  check_object(item, 'an evidence item')
  local buckets = { window(mine[1].t, w) }
  local last = window(mine[#mine].t, w)
  if last ~= buckets[1] then buckets[2] = last end
  local best, raised = 0, {}
  for _, b in ipairs(buckets) do
    local sfx = ':' .. fmt(w) .. ':' .. fmt(b)
    for _, pre in ipairs({ ':leg:', ':legp:', ':lege:' }) do
      local v = pre == ':leg:' and text or pre == ':legp:' and part or item
      redis.call('HSET', keys[1] .. pre .. dir .. sfx, leg, v)
      redis.call('EXPIRE', keys[1] .. pre .. dir .. sfx, ttl)
    end
    local others = redis.call('HGETALL', keys[1] .. ':leg:' .. other .. sfx)
    for k = 1, #others, 2 do
      local theirs = leg_parse(others[k + 1])
      local a, c = mine, theirs
      if dir == 'out' then a, c = theirs, mine end
      local coinc, run, agree = leg_match(a, c, delta)
      if coinc > best then best = coinc end
      local on = math.min(#a, #c)
      if #raised == 0 and coinc >= min_match and coinc * 100 > min_ratio * on and
         run >= min_run and agree * 2 >= coinc then
        local oleg = others[k]
        local opart = redis.call('HGET', keys[1] .. ':legp:' .. other .. sfx, oleg)
        local oitem = redis.call('HGET', keys[1] .. ':lege:' .. other .. sfx, oleg)
        local items = { item }
        if oitem then items[2] = oitem end
        if dir == 'out' and oitem then items = { oitem, item } end
        local extra = ',"coincidences":' .. fmt(coinc) .. ',"on_periods":' .. fmt(on) ..
                      ',"back_to_back":' .. fmt(run) .. ',"packets_agree":' .. fmt(agree)
        local line = raise(keys, ev, w, b, ttl, alert_args(ca), extra,
                           { items = items, parts = { opart } })
        if line then raised[1] = line end
      end
    end
  end
  return { best, raised }
end

-- FCALL lh_hours 4 K host risk alerts, by name: ev ts_us session window_us ttl_s
--       offset_s hours_mask days_mask min_in min_days
--       [evidence] [fit_margin_pct fit_shift_h] [alert part when min_in > 0]
-- Counts session (once per id) in the hour-of-week histogram of the window
-- of ts_us in local time (UTC + offset_s). hours_mask has 24 characters
-- (local hour 0..23), days_mask 7 (Sunday..Saturday); "1" is inside the
-- profile. Raises when min_in sessions inside it fell on min_days distinct
-- local days and, with fit_shift_h, the sessions inside are at least
-- fit_margin_pct % more than inside the same profile shifted by any whole
-- hour up to fit_shift_h either way (the neighbouring zones' working day).
-- That comparison can fall as sessions arrive, so then the alert can depend
-- on arrival order (docs/rules-correlation.md). Returns { sessions
-- inside, { alert } }.
local function hours_fn(keys, argv)
  local ca = args('lh_hours', argv)
  local ev, ts, session = ca.ev, n(ca.ts_us, 'ts_us'), ca.session
  local w, ttl, offset = n(ca.window_us, 'window_us'), n(ca.ttl_s, 'ttl_s'), n(ca.offset_s, 'offset_s')
  local hmask, dmask = ca.hours_mask, ca.days_mask
  local min_in, min_days = n(ca.min_in, 'min_in'), n(ca.min_days, 'min_days')
  local item = ca.evidence
  local margin, max_shift
  if ca.fit_shift_h then
    margin, max_shift = n(ca.fit_margin_pct, 'fit_margin_pct'), n(ca.fit_shift_h, 'fit_shift_h')
  end
  if #hmask ~= 24 or #dmask ~= 7 then error('ERR loophole: masks need 24 hours and 7 days') end
  local b = window(ts, w)
  local key = keys[1] .. ':tz:' .. fmt(w) .. ':' .. fmt(b)
  local local_s = math.floor(ts / 1000000) + offset
  local day = math.floor(local_s / 86400)
  local hour = math.floor((local_s % 86400) / 3600)
  local wday = (day + 4) % 7 -- 1970-01-01 was a Thursday; Sunday = 0
  local inside = string.sub(hmask, hour + 1, hour + 1) == '1' and
                 string.sub(dmask, wday + 1, wday + 1) == '1'
  if redis.call('SADD', keys[1] .. ':tzs:' .. fmt(w) .. ':' .. fmt(b), session) == 1 then
    redis.call('HINCRBY', key, 'h:' .. fmt(wday * 24 + hour), 1)
    if inside then redis.call('HSET', key, 'd:' .. fmt(day), '1') end
  end
  redis.call('EXPIRE', key, ttl)
  redis.call('EXPIRE', keys[1] .. ':tzs:' .. fmt(w) .. ':' .. fmt(b), ttl)
  local evkey = keys[1] .. ':evd:tz:' .. fmt(w) .. ':' .. fmt(b)
  if item and inside then evidence_add(evkey, item, ts, ttl) end
  local h = redis.call('HGETALL', key)
  local cin, total, days = 0, 0, 0
  local shifted = {} -- shift (hours) -> sessions inside the profile moved by it
  local function inside_at(how)
    how = how % 168
    local hd, wd = how % 24, math.floor(how / 24)
    return string.sub(hmask, hd + 1, hd + 1) == '1' and string.sub(dmask, wd + 1, wd + 1) == '1'
  end
  for k = 1, #h, 2 do
    local f = h[k]
    if string.sub(f, 1, 2) == 'd:' then
      days = days + 1
    else
      local how = tonumber(string.sub(f, 3))
      local c = tonumber(h[k + 1])
      total = total + c
      if inside_at(how) then cin = cin + c end
      for sh = -(max_shift or 0), max_shift or 0 do
        if sh ~= 0 and inside_at(how + sh) then shifted[sh] = (shifted[sh] or 0) + c end
      end
    end
  end
  -- The offset must explain clearly more sessions than the zones up to
  -- fit_shift_h hours either side (the same profile on their clock).
  local best = 0
  for _, c in pairs(shifted) do if c > best then best = c end end
  local fits = not margin or cin * 100 >= best * (100 + margin)
  local raised = {}
  if min_in > 0 then
    candidate(keys, w, b, ttl, alert_args(ca), { inside and item or nil })
  end
  if min_in > 0 and cin >= min_in and days >= min_days and fits then
    local extra = ',"sessions_in_profile":' .. fmt(cin) .. ',"sessions":' .. fmt(total) ..
                  ',"days":' .. fmt(days)
    if margin then extra = extra .. ',"best_neighbour_in_profile":' .. fmt(best) end
    local line = raise(keys, ev, w, b, ttl, alert_args(ca), extra, { evkey = evkey })
    if line then raised[1] = line end
  end
  return { cin, raised }
end

-- FCALL lh_raise 4 K host risk alerts, by name: ev ts_us window_us ttl_s [alert part]
-- Raises an alert the caller decided on, once per (rule, entity, window).
local function raise_fn(keys, argv)
  local ca = args('lh_raise', argv)
  local ev, ts, w, ttl = ca.ev, n(ca.ts_us, 'ts_us'), n(ca.window_us, 'window_us'), n(ca.ttl_s, 'ttl_s')
  local a = alert_args(ca)
  local line = raise(keys, ev, w, window(ts, w), ttl, a, '', { ts = ts })
  if line then return { 1, { line } } end
  return { 0, {} }
end

-- The three steps below take positional arguments: the library builds
-- them (raise_next, risk_fn) and the writer only forwards them, so no call
-- builder of rules/event.c, and no ARGS entry, stands for them.
-- FCALL lh_risk 1 <prefix>risk  id ip score_add ttl_s head tail alerts_key
--       channel maxlen rule severity host_key role ts cand [host field/value...]
-- Cluster step 2 (see the top): adds score_add to the ip's risk once per
-- alert id, and answers the steps lh_emit and lh_host with the score.
local function risk_fn(keys, argv)
  local id, ip, add, ttl = argv[1], argv[2], n(argv[3], 'score'), n(argv[4], 'ttl_s')
  local mark = step_mark(keys[1], id)
  local score = tonumber(redis.call('GET', mark))
  if not score then
    local old = tonumber(redis.call('ZSCORE', keys[1], ip) or '0') or 0
    score = math.min(100, old + math.max(0, add))
    redis.call('ZADD', keys[1], score, ip)
    redis.call('SET', mark, fmt(score), 'EX', ttl)
  end
  local emit = { 'FCALL', 'lh_emit', '1', argv[7], id, argv[4], argv[5] .. fmt(score) .. argv[6],
                 argv[8], argv[9], argv[10], argv[11], ip, argv[15] }
  local host = { 'FCALL', 'lh_host', '1', argv[12], fmt(score), argv[13], argv[10], argv[14] }
  for i = 16, #argv do host[#host + 1] = argv[i] end
  return { 0, { emit, host } }
end

-- FCALL lh_emit 1 <prefix>alerts  id ttl_s line channel maxlen rule severity ip cand
-- Cluster step 3: the alerts stream and the live channel, once per alert
-- id. Answers the finished line, which the writer writes out.
local function emit_fn(keys, argv)
  local id, ttl, line = argv[1], n(argv[2], 'ttl_s'), argv[3]
  if redis.call('SET', step_mark(keys[1], id), '1', 'NX', 'EX', ttl) then
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

redis.register_function('lh_observe', observe)
redis.register_function('lh_raise', raise_fn)
redis.register_function('lh_sum', sum_fn)
redis.register_function('lh_gate', gate_fn)
redis.register_function('lh_leg', leg_fn)
redis.register_function('lh_hours', hours_fn)
redis.register_function('lh_risk', risk_fn)
redis.register_function('lh_emit', emit_fn)
redis.register_function('lh_host', host_fn)
redis.register_function{ function_name = 'lh_count', callback = count_fn, flags = { 'no-writes' } }
redis.register_function{ function_name = 'lh_version', callback = function() return VERSION end,
                         flags = { 'no-writes' } }

-- FCALL lh_args 0 fn: the declared arguments of fn (ARGS), as
-- { { required names }, { optional names }, the alert part "req" or "opt",
-- { the alert part's names } }.
local function args_fn(_, argv)
  local spec = ARGS[argv[1] or '']
  if not spec then error('ERR loophole: no function ' .. tostring(argv[1]) .. ' takes named arguments') end
  return { spec.req, spec.opt, spec.alert, ALERT }
end

redis.register_function{ function_name = 'lh_args', callback = args_fn, flags = { 'no-writes' } }

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
s <= o <= s + lag and no outbound connection started in [s - lag, s):
the host was quiet toward the API until the request came (a job opening
a connection to the API more often than once per lag is always busy and
never follows). The first start of an outbound leg is its connection's
first packet (detect_request_starts in rules/detect_flow.c); later ones
are ON periods of that connection, which may be a TLS close as well as a
request, so only connection starts break the quiet. The
followed clients of the window holding s form an exact set, and every
pair is tested by whichever of the two arrives last. The quiet test can
be undone by an outbound start that arrives later and falls just before
s; a mark is not taken back, so that case (several workers, records out
of order by more than the lag) can depend on the order of arrival
(docs/rules.md). Starts are kept per bucket of their own time, and a
match may cross a bucket edge.
  K:fin:<W>:<b>   zset  "<s>|<client>" -> s   inbound starts     (TTL ttl_s)
  K:fout:<W>:<b>  zset  "<o>" -> o            outbound starts    (TTL ttl_s)
  K:fcon:<W>:<b>  zset  "<o>" -> o            outbound connection starts
                                                                 (TTL ttl_s)
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
-- and matches them with the other side. Raises, for every window where
-- this call marks a client, when its followed clients reach threshold.
-- Returns { the largest such count, { alerts } }.
local function follow_fn(keys, argv)
  local ca = args('lh_follow', argv)
  local ev, dir, who, starts = ca.ev, ca.dir, ca.who, follow_starts(ca.starts)
  n(ca.ts_us, 'ts_us')
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
    elseif dir == 'out' then
      follow_add(follow_key(keys, 'fout', w, window(t, w)), cap, t, fmt(t), ttl)
      if i == 1 then follow_add(follow_key(keys, 'fcon', w, window(t, w)), cap, t, fmt(t), ttl) end
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
      error('ERR loophole: dir must be in or out')
    end
  end
  local best, raised, a = 0, {}, nil
  for b, _ in pairs(touched) do
    local count = redis.call('ZCARD', follow_key(keys, 'fol', w, b))
    if count > best then best = count end
    if threshold > 0 and count >= threshold and #raised < 32 then
      a = a or alert_args(ca)
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
session. op "mark" records that entity K had a session of `kind`
during [lo_us, hi_us], in every window that span touches; op "raise"
raises the alert (once per rule, entity and window of ts_us) unless one
of the windows of its own span [lo_us, hi_us] is marked. An alert cannot
be taken back, so a mark that arrives after the raise does not undo it:
the decision belongs to the raise's arrival (docs/rules.md, reverse_tunnel,
for what that means across workers).
  K:mark:<kind>:<W>:<b>   string  "1"                           (TTL ttl_s)
]]

local ABSENT_SPAN = 1000 -- windows one span may touch

-- FCALL lh_absent 4 K host risk alerts, by name: ev ts_us op kind lo_us hi_us
--       window_us ttl_s [alert part when op = raise]
-- Returns { 1 when a window of the span is marked, else 0, { alert } }.
local function absent_fn(keys, argv)
  local ca = args('lh_absent', argv)
  local ev, ts, role, kind = ca.ev, n(ca.ts_us, 'ts_us'), ca.op, ca.kind
  local lo, hi, w, ttl = n(ca.lo_us, 'lo_us'), n(ca.hi_us, 'hi_us'), n(ca.window_us, 'window_us'),
                         n(ca.ttl_s, 'ttl_s')
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
      error('ERR loophole: op must be mark or raise')
    end
  end
  if role == 'mark' or marked == 1 then return { marked, {} } end
  local line = raise(keys, ev, w, window(ts, w), ttl, alert_args(ca), '', { ts = ts })
  if line then return { 0, { line } } end
  return { 0, {} }
end

redis.register_function('lh_absent', absent_fn)

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
  redis.call('EXPIRE', facts, ttl)
  if fresh == 0 then return { 0, {} } end
  local prefix = string.match(keys[1], '^(.-){')
  if not prefix then error('ERR loophole: a knock key needs its network hash tag') end
  local step = { 'FCALL', 'lh_knockers', '1', prefix .. 'knockers', fmt(ttl) }
  for i = 1, 2 do
    local k = keys[i]
    redis.call('HINCRBY', k, level, 1)
    local fl = redis.call('HMGET', k, 'first_us', 'last_us')
    local first, last = fl[1], fl[2]
    if not first or ts < tonumber(first) then redis.call('HSET', k, 'first_us', fmt(ts)) end
    if not last or ts > tonumber(last) then redis.call('HSET', k, 'last_us', fmt(ts)) end
    redis.call('PFADD', k .. ':gpu', gpu)
    redis.call('EXPIRE', k, ttl)
    redis.call('EXPIRE', k .. ':gpu', ttl)
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
    redis.call('ZADD', keys[1], 'GT', n(argv[i + 1], 'total'), argv[i])
  end
  redis.call('EXPIRE', keys[1], ttl)
  return { 0, {} }
end

redis.register_function('lh_knock', knock_fn)
redis.register_function('lh_knockers', knockers_fn)
