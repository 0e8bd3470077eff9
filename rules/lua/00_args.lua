#!lua name=loophole
--[[
rules/lua/ -- the loophole Redis Functions library: entity state,
windowed distinct counts, and alerts decided when their window is
settled, published once per (rule, entity, window) and severity, later
facts of the window folded into the stored alert (10_alert.lua,
95_settle.lua).

The library is one Lua chunk: CMake concatenates the files of rules/lua/ in
the order of their names into build/generated/functions.lua. This file
holds what every function shares (the argument checking); 05_line.lua the
alert line; 10_alert.lua the alert; each further file one library function or a family of them, with
its keys, its ARGS row and its registration, so a new rule's Lua is one
new file.

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
(b+1)*W belongs to the next window. Fixed buckets make the state order-
independent: the distinct set of a bucket is a union, a sum commutes.
No call publishes an alert: a call records facts, and the window is
decided by lh_settle once the sender's packet clock shows that nothing
more can arrive for it (10_alert.lua, 95_settle.lua), so neither the
alerts nor their lines depend on the order in which workers, threads or
a journal replay deliver events.

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
  K:obs:<kind>:<W>:<b>    zset  exact distinct values of a bucket  (TTL ttl_s,
                                from its creation: observe_exact())
  K:need:<kind>:<W>:<b>   string a value that qualifies was seen  (TTL ttl_s)
  K:hll:<kind>:<W>:<b>    hll   approximate distinct values        (TTL ttl_s)
  K:alert:<rule>:<W>:<b>  hash  the window's check and where it is (chk,
                                w, b, sub, evkey, early), the facts
                                recorded (events); once published, first =
                                the first line, json = the alert as it
                                stands, sev/add = severity and score
                                added, id/score = the id and score of the
                                latest published line; dedup
                                of (rule, entity, window)  (TTL ttl_s; once
                                published, the larger of ttl_s and keep_s)
  K:alert:...:f:<sev>, :fj  the window's facts, at most FACTS_KEPT bodies
                          per severity (10_alert.lua)      (TTL ttl_s)
  K:alert:...:held        hash  the facts of a window that cannot qualify
                                yet, at most facts_held() bodies
                                (10_alert.lua)                  (TTL ttl_s)
  K:pend                  zset  windows due for settling, those that may
                                qualify (fact())         (TTL ttl_s)
  K:cand:<alert id>       hash  what every event of the window adds (see
                                candidate()); named by the stream entry
                                                                  (TTL ttl_s)
Keys for dashboards (interface.md section 6, docs/redis-schema.md):
  KEYS[2] <prefix>host:<ip>  hash, KEYS[3] <prefix>risk  zset,
  KEYS[4] <prefix>alerts     stream; channel <prefix>alerts:live (ARGV).

Redis Cluster. A call must touch the keys of one slot, and the dashboard
keys are global. A caller in a cluster therefore passes KEYS[1] alone (one
slot: the entity's), and lh_settle answers, instead of the alert line, the
next step: an array `FCALL lh_risk 1 <prefix>risk ...` in the reply's list
of alerts. The writer sends it (redis/writer.c); lh_risk adds the score
(once per alert id) and answers two more steps: lh_emit (the alerts stream
and the live channel, once per alert id; it answers the finished line) and
lh_host (the host hash). Each step keys its once-only mark by the alert id
in its own slot ({<key>}:id:<alert id>, TTL ttl_s), so a resent step
changes nothing. The line is the one a single server writes: lh_risk
builds it with alert_line() (05_line.lua) from the members lh_settle
passes and the score it gives. docs/redis-schema.md.

Exactly once. A fact is named by what it describes (fact() in
10_alert.lua): the argument `fid` of the alert part, which the sensor
derives from every argument of the call but `ev` (rules/event.c), or
without it the SHA-1 of the fact's line; so a call sent again after a
broken connection, or a second replay of the same capture, records
nothing new; a settle call
sent again gets its first answer back (its `ev`, K:settle:<ev>, kept
when it published; one that did not finds nothing due again). What
is counted by increments that do not absorb a repeat (the byte sums, the
knocks) is counted once per `fact` argument: the sensor's name and what
the event describes (the flow record), the same in every replay of the
same capture. Sets, HyperLogLogs, minima and maxima absorb repeats by
themselves. The event id `ev` names one delivery.

Evidence. An observation may carry one evidence item (the JSON object of
detect_evidence() in rules/detect.c, built and escaped by the sensor), the
argument `evidence`. The items of one (entity,
kind, window[, member]) are kept in a sorted set, at most EVIDENCE_MAX:
by packet time (the earliest) for counts and time profiles, by bytes (the
largest) for sums, so the kept items do not depend on arrival order either
(the set always holds the EVIDENCE_MAX smallest scores, ties by bytes).
When an alert is published, the kept items are its "evidence" member
(05_line.lua); the sensor sends its own evidence empty in that case. Items are checked
to be JSON objects without raw line breaks before they are stored.
  K:evd:<kind>:<W>:<b>[:<member>]  zset  item -> ts_us or -bytes   (TTL ttl_s)

Arguments. After KEYS, the ARGV of every call is name, value pairs, in
any order. ARGS declares the names of each function (each file adds its rows): `req` must be
there, `opt` may be, and `alert` says whether the alert part (ALERT, the
parties of ALERT_OPT, and `host:<field>` pairs for the host hash) is
required, optional or absent.
A call with an undeclared, repeated or missing name fails, and so does a
function that reads a name it does not declare, so the call builders of
rules/event.c and this file cannot drift apart unnoticed: lh_args returns
ARGS, and tests/unit/test_redis_functions.c checks every builder against
it on a real server.

Reply of every function that records facts: { count, { settle hint } }
(FCALL lh_settle with the caller's keys, `upto_us` and the entity's
earliest due time, which the writer keeps: redis/settle.h; no hint when
the fact leaves nothing pending: fact() in 10_alert.lua); of lh_settle:
{ next due time, { alert_json, or lh_risk step, ... } }.
]]

local VERSION = 'loophole-functions 18'
local EVIDENCE_MAX = 16 -- interface.md section 2: an alert's evidence holds up to 16 items
local EVIDENCE_MAX_TEXT = '16' -- the same, as Redis reads it

-- Memos of pure functions of a text or a number (a check a text passed,
-- the number it reads as, the digits of a number): the same names,
-- parties, windows, counts and times come call after call of a batch, and
-- a table read costs a fraction of a pattern match, a strtod() or a
-- string.format() (docs/performance.md "Redis"). Each holds only what its
-- keys themselves determine, so no call can see another call's data in
-- it, and is emptied when it holds MEMO_MAX keys, so it never grows
-- without bound; a text longer than MEMO_TEXT_MAX bytes (the sensor's
-- longest, a summary, is under 200) is worked out every time instead, so
-- that a caller sending huge texts cannot make a memo hold more than about
-- MEMO_MAX * MEMO_TEXT_MAX bytes. memo[false] counts its keys (no text and
-- no number is false).
local MEMO_MAX = 4096
local MEMO_TEXT_MAX = 512
local function memo_new() return { [false] = 0 } end
local function memo_put(memo, k, v)
  if type(k) == 'string' and #k > MEMO_TEXT_MAX then return v end
  if memo[false] >= MEMO_MAX then
    for old in pairs(memo) do memo[old] = nil end
    memo[false] = 0
  end
  memo[k] = v
  memo[false] = memo[false] + 1
  return v
end

-- A finite number (tonumber() takes "nan" and "inf" from strtod: a
-- window, a key or a score of them would be written before anything
-- failed).
local numbers = memo_new()
local function n(s, what)
  local v = numbers[s]
  if v ~= nil then return v end
  v = tonumber(s)
  if v == nil or v ~= v or v == math.huge or v == -math.huge then
    error('ERR loophole: ' .. what .. ' is not a number')
  end
  if type(s) == 'string' then memo_put(numbers, s, v) end
  return v
end

-- The text '%d' writes of a whole number (string.format costs about 1 400
-- instructions where a memo's read costs a tenth of that: 4.5% of the
-- library's instructions on gpu-fleet).
local whole_texts = memo_new()
local function whole_text(v)
  return whole_texts[v] or memo_put(whole_texts, v, string.format('%d', v))
end

-- A number as decimal digits: '%d' for a whole number from 1 below 2^53
-- (times, counts, ids: exact in a double, and an integer conversion is
-- far cheaper than '%.0f', which goes through the floating-point printer),
-- '%.0f' otherwise, which writes the same digits for those.
local function fmt(v)
  if type(v) == 'number' and v >= 1 and v < 9007199254740992 and v % 1 == 0 then
    return whole_text(v)
  end
  return string.format('%.0f', v)
end

-- A number as an argument of redis.call: the text Redis would make of it
-- ('%.17g'), by the cheaper '%d' for a whole number (the same digits).
-- Numbers reach redis.call as text: Redis turns a number argument into
-- text with snprintf's floating-point printer, about 2 500 instructions
-- each (5% of the library's instructions on gpu-fleet before library 15,
-- docs/performance.md "Redis").
local function num(v)
  if v % 1 == 0 and v > -9007199254740992 and v < 9007199254740992 then
    return whole_text(v)
  end
  return string.format('%.17g', v)
end

-- The alert part (event_alert_args in rules/event.c): rule, severity,
-- score (added to the entity's risk), ip and role of the entity, ts (packet
-- time as RFC 3339 text), maxlen of the stream, keep_s, channel, the
-- members of the alert line only the sensor knows, line:<member> (each a
-- JSON value as the sensor serialised it: sensor and summary strings, the
-- evidence array of its own items, the parties; 05_line.lua builds the
-- line), and host:<field> pairs. ALERT_OPT: the parties an alert may name.
local ALERT = { 'rule', 'severity', 'score', 'ip', 'role', 'ts', 'maxlen', 'keep_s', 'channel',
                'line:sensor', 'line:evidence', 'line:summary' }
local ALERT_OPT = { 'line:gpu_host', 'line:peer', 'line:intermediary' }

-- Each function's file adds its row: ARGS.lh_<name> = { req, opt, alert }.
local ARGS = {}

-- The names spec declares, built at its first call (the library's load
-- runs in a sandbox without the base functions): name -> 1 (the
-- function's own), 2 (the alert part, ALERT) or 3 (a party, ALERT_OPT),
-- so that one pass over a call's arguments also counts its alert part.
local function declared(spec)
  if not spec.names then
    spec.names = {}
    for _, k in ipairs(spec.req) do spec.names[k] = 1 end
    for _, k in ipairs(spec.opt) do spec.names[k] = 1 end
    for _, k in ipairs(ALERT) do spec.names[k] = 2 end
    for _, k in ipairs(ALERT_OPT) do spec.names[k] = 3 end
  end
  return spec.names
end

-- The arguments of a call to fn, by name (see "Arguments" above); host
-- holds the host:<field> pairs in their order.
local function args(fn, argv)
  local spec, a, host = ARGS[fn], {}, {}
  local names = spec.names or declared(spec)
  if #argv % 2 ~= 0 then error('ERR loophole: ' .. fn .. ': arguments come in name, value pairs') end
  local parts, party = 0, false
  for i = 1, #argv, 2 do
    local k = argv[i]
    local kind = names[k]
    if kind then -- first: a declared name never starts with host:
      if a[k] ~= nil then error('ERR loophole: ' .. fn .. ': argument ' .. k .. ' given twice') end
      a[k] = argv[i + 1]
      if kind == 2 then parts = parts + 1 elseif kind == 3 then party = true end
    elseif spec.alert and string.sub(k, 1, 5) == 'host:' then
      host[#host + 1] = { string.sub(k, 6), argv[i + 1] }
    else
      error('ERR loophole: ' .. fn .. ': unknown argument ' .. k)
    end
  end
  local req = spec.req
  for j = 1, #req do
    if a[req[j]] == nil then error('ERR loophole: ' .. fn .. ': argument ' .. req[j] .. ' missing') end
  end
  if (spec.alert == 'req' or parts > 0 or party) and parts < #ALERT then
    error('ERR loophole: ' .. fn .. ': the alert part is incomplete')
  end
  rawset(a, 'host', host)
  if not spec.mt then -- one per function, not one per call
    spec.mt = { __index = function(_, k)
      if spec.names[k] then return nil end
      error('ERR loophole: ' .. fn .. ' reads argument ' .. tostring(k) .. ', which it does not declare')
    end }
  end
  return setmetatable(a, spec.mt)
end

-- A JSON value of the alert line as the sensor serialised it: one line,
-- opened by `open` and closed by `close` (05_line.lua joins it as it is).
local line_values = { ['"'] = memo_new(), ['['] = memo_new(), ['{'] = memo_new() }
local function line_value(v, open, close, what)
  local ok = line_values[open]
  if ok[v] then return v end
  if v == 'null' and open == '"' then return v end -- a summary the sensor lacks
  if v == nil or string.sub(v, 1, 1) ~= open or string.sub(v, -1) ~= close or #v < 2 or
     string.find(v, '\n', 1, true) or string.find(v, '\r', 1, true) then
    error('ERR loophole: ' .. what .. ' must be a JSON ' .. (open == '"' and 'string' or
          open == '[' and 'array' or 'object'))
  end
  return memo_put(ok, v, v)
end

-- A count the alert part carries to the settle (keep_s, maxlen): decimal
-- digits that Redis takes as an integer, checked when the fact arrives,
-- since a value EXPIRE or XADD refuses would fail every settle of the
-- entity.
local counts_ok = memo_new()
local function alert_count(s, what)
  local v = counts_ok[s]
  if v then return v end
  if not string.find(s, '^%d+$') or #s > 15 then
    error('ERR loophole: ' .. what .. ' must be at most 15 decimal digits')
  end
  return memo_put(counts_ok, s, tonumber(s))
end

-- The alert part of a call's arguments; line holds the members of the
-- alert line the sensor sent (own: the inside of its evidence array).
local function alert_args(c)
  local line = {
    sensor = line_value(c['line:sensor'], '"', '"', 'line:sensor'),
    summary = line_value(c['line:summary'], '"', '"', 'line:summary'),
    own = string.sub(line_value(c['line:evidence'], '[', ']', 'line:evidence'), 2, -2),
  }
  for _, k in ipairs(ALERT_OPT) do
    if c[k] ~= nil then line[string.sub(k, 6)] = line_value(c[k], '{', '}', k) end
  end
  -- the fact's identity as the sensor derived it (fact() in 10_alert.lua);
  -- rawget: lh_leg, which names its facts by the pair, does not declare it
  local fid = rawget(c, 'fid')
  if fid ~= nil and not (#fid == 24 and string.find(fid, '^%x+$')) then
    error('ERR loophole: fid must be 24 hexadecimal digits')
  end
  alert_count(c.maxlen, 'maxlen')
  return {
    rule = c.rule, severity = c.severity, score_add = n(c.score, 'score'), ip = c.ip,
    role = c.role, ts = c.ts, maxlen = c.maxlen, channel = c.channel, line = line,
    host = c.host, keep = alert_count(c.keep_s, 'keep_s'), fid = fid,
  }
end
