-- The alert: its id, candidate record, evidence, publication and raise().

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
local EVENTS_KEPT = 256 -- ids of later events remembered per alert (a memory bound, no source)

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
