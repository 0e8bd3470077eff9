-- The alert: its id, candidate record, evidence, facts, settling and publication.

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

-- Checks that an item from the caller is one JSON object on one line.
local function check_object(item, what)
  if item == nil or string.sub(item, 1, 1) ~= '{' or string.sub(item, -1) ~= '}' or
     string.find(item, '\n', 1, true) or string.find(item, '\r', 1, true) then
    error('ERR loophole: ' .. what .. ' must be a JSON object')
  end
  local ok, v = pcall(cjson.decode, item)
  if not ok or type(v) ~= 'table' then error('ERR loophole: ' .. what .. ' must be a JSON object') end
  return v
end

-- Keeps item in the evidence set evkey: the EVIDENCE_MAX lowest scores.
local function evidence_add(evkey, item, score, ttl)
  check_object(item, 'an evidence item')
  redis.call('ZADD', evkey, num(score), item)
  if redis.call('ZCARD', evkey) > EVIDENCE_MAX then
    redis.call('ZREMRANGEBYRANK', evkey, EVIDENCE_MAX_TEXT, '-1')
  end
  redis.call('EXPIRE', evkey, num(ttl))
end

-- The alert id of (rule, entity, window[, sub]): the first 24 hex digits
-- of its SHA-1, the same whichever event raises it.
local function alert_id(a, w, b, sub)
  local idtext = a.rule .. '\0' .. a.ip .. '\0' .. fmt(w) .. '\0' .. fmt(b)
  if sub then idtext = idtext .. '\0' .. sub end
  return string.sub(redis.sha1hex(idtext), 1, 24)
end

-- Records what one fact adds to the alert of (rule, entity, window[,
-- sub]), whether the window qualifies or not: the peer and intermediary it
-- names, the flows of its evidence (its alert part's and the items
-- given), and its packet time. Unions, minima and maxima, so the record of
-- a window is the same whatever the order in which the events arrive.
-- The stream entry of the alert names the record (field `cand`); the
-- end-of-run summary reads it. Every fact adds to it when it is stored
-- (fact() below: a held fact when its window becomes ready);
-- ttl is text (num()).
--   K:cand:<alert id>  hash  peer:<ip> -> 1, flow:<src>|<dst>|<first> ->
--                            "<bytes up> <bytes down>", first, last (TTL ttl_s)
local function cand_key(keys, a, w, b, sub)
  return keys[1] .. ':cand:' .. alert_id(a, w, b, sub)
end

-- The address of a party (a JSON object, line:peer or line:intermediary
-- as the sensor wrote it), false when it names none, nil when it is not
-- JSON. The sensor writes "ip" first (detect_party() in rules/detect.c):
-- read by a pattern, that spares decoding the whole party (2% of the
-- library's instructions on gpu-fleet, docs/performance.md "Redis");
-- anything else is decoded.
local function party_ip(text)
  local ip = string.match(text, '^{"ip":"([%x%.:]+)"[,}]')
  if ip then return ip end
  local ok, v = pcall(cjson.decode, text)
  if not ok or type(v) ~= 'table' then return nil end
  return type(v.ip) == 'string' and v.ip
end

local function candidate(keys, w, b, ttl, a, items, sub)
  local ckey = cand_key(keys, a, w, b, sub)
  local args = {}
  for _, part in ipairs({ 'peer', 'intermediary' }) do
    local text = a.line[part]
    if text then
      local ip = party_ip(text)
      if ip == nil then return end
      if ip then args[#args + 1] = 'peer:' .. ip; args[#args + 1] = '1' end
    end
  end
  local ev = {}
  if a.line.own ~= '' then -- no evidence of its own (most facts): nothing to decode
    local ok, v = pcall(cjson.decode, '[' .. a.line.own .. ']')
    if not ok or type(v) ~= 'table' then return end
    for _, it in ipairs(v) do ev[#ev + 1] = it end
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


-- Writes a new alert line: risk, host hash, stream (naming the window's
-- candidate record ckey) and channel.
local function publish(keys, a, line, score, ckey)
  redis.call('ZADD', keys[3], num(score), a.ip)
  host_update(prefix_of(keys[1]) .. 'host:' .. a.ip, a, score)
  local xadd = { keys[4] }
  if tonumber(a.maxlen) and tonumber(a.maxlen) > 0 then
    xadd[#xadd + 1] = 'MAXLEN'; xadd[#xadd + 1] = '~'; xadd[#xadd + 1] = a.maxlen
  end
  redis.call('XADD', unpack(xadd), '*', 'json', line, 'rule', a.rule,
             'severity', a.severity, 'entity', a.ip, 'cand', ckey)
  redis.call('PUBLISH', a.channel, line)
end


local SEVERITY_RANK = { low = 1, medium = 2, high = 3, critical = 4 }
local SEVERITIES = { 'critical', 'high', 'medium', 'low' } -- highest first
-- Fact bodies kept per (alert window, severity): the earliest by (packet
-- time, fact id), so the kept set is a function of the window's facts,
-- whatever their arrival order. A line reads the earliest qualifying fact
-- of its severity and the evidence of the earliest qualifying facts of
-- the window, at most EVIDENCE_MAX items, each fact bringing the evidence
-- of its own record: EVIDENCE_MAX facts per severity hold all a settle
-- reads, and 1 when the window keeps its evidence set (evkey), whose
-- lines take their items from that set. A window that never qualifies,
-- however many facts hostile traffic sends it, keeps no more.
local FACTS_KEPT = EVIDENCE_MAX

-- The bodies a window keeps per severity (opt: fact()'s).
local function facts_kept(opt) return opt.evkey and 1 or FACTS_KEPT end

-- The bodies a window that cannot qualify yet holds before it is stored
-- (fact()): as many as it would keep, and 3 for a window that keeps 1
-- (its own evidence set): measured with MEMORY USAGE on gpu-fleet, a
-- stored window of two facts takes 2 688 bytes (its hash 920, :fids 320,
-- :fj 1 032 with one body of 759, :f:<sev> 184, the candidate record
-- 232) and a held hash 1 032 bytes with that body, about 800 more per
-- body, so three held bodies take about what the window they stand for
-- would take stored, and the windows of two or three facts (most of
-- those not of one) skip storing (docs/performance.md, "Three bodies
-- held").
local function facts_held(opt) return opt.evkey and 3 or FACTS_KEPT end


--[[
Facts and settling (docs/rules-correlation.md, "Settling"). An event that
may raise an alert does not publish it. It records a fact of its (rule,
entity, window[, sub]) -- the alert the sensor sent for it, with its
packet time -- and, once the window may qualify (fact()), marks it
pending in K:pend, due at a packet time (the window's end, or for
lh_raise the fact's own time). The sensor
that sent the event remembers the entity key and calls lh_settle once
its packet clock shows that no record that could still add to the window
can arrive (redis/settle.c). lh_settle then decides from the complete
stored state, with the rule's check (CHECK[fn], registered by the rule's
file), and publishes. So neither the decision nor the line depends on
the order in which records reached Redis:
  - the line is built from the earliest qualifying fact (by packet time,
    ties by fact id) of the highest severity the window reached: its ts,
    peer, gpu_host, intermediary and summary;
  - its evidence is the window's kept set (the earliest or largest), or
    the items of the qualifying facts, the earliest 16 by (time, id);
  - count, bytes and the rule's other figures are the window's at the
    settle (final: the window has closed).
A window settled before is settled again when a new fact arrives (a
record later than the settle lag, or another sensor's): a higher
severity is published as an escalation, anything else only updates the
stored alert.
  K:pend                  zset  alert key -> packet time it is due   (TTL ttl_s)
  K:alert:...:f:<sev>     zset  fact id -> packet time, the earliest FACTS_KEPT
                                of the facts that name the alert (TTL ttl_s)
  K:alert:...:fj          hash  fact id -> the fact (JSON), of those kept
                                                                   (TTL ttl_s)
  K:alert:...:fids        set   every fact id recorded              (TTL ttl_s)
  K:alert:...:held        hash  fact id -> the fact (JSON), of a window
                                that cannot qualify yet, at most
                                facts_held() of them (fact())   (TTL ttl_s)
  K:settle:<ev>           string the answer of a settle call that published,
                                for a resend                       (TTL 1 h)
]]

local CHECK = {} -- fn -> function(keys, chk): the window qualifies, its figures (or nil)

local function alert_key(keys, rule, w, b, sub)
  local dkey = keys[1] .. ':alert:' .. rule .. ':' .. fmt(w) .. ':' .. fmt(b)
  if sub then dkey = dkey .. ':' .. sub end
  return dkey
end

-- The next step a fact answers: FCALL lh_settle with the caller's keys
-- and the earliest due time of the entity. The writer keeps it instead of
-- sending it (redis/settle.c).
local function settle_hint(keys)
  local first = redis.call('ZRANGE', keys[1] .. ':pend', '0', '0', 'WITHSCORES')
  local call = { 'FCALL', 'lh_settle', fmt(#keys), unpack(keys) }
  local c = #call
  call[c + 1] = 'upto_us'
  call[c + 2] = first[2] or '0'
  return call
end

-- Marks the window of dkey pending until `due` (us). early: the first
-- cut is the earliest fact's own time (ZADD LT), else the latest due of
-- its facts (GT). ttl: text (num()).
local function pend(keys, dkey, due, early, ttl)
  local pkey = keys[1] .. ':pend'
  redis.call('ZADD', pkey, early and 'LT' or 'GT', fmt(due), dkey)
  redis.call('EXPIRE', pkey, ttl)
end

-- Stores fact `id` of the window dkey: its id among the window's, its
-- body (text, or a function that makes it: encoded only when kept) among
-- the earliest FACTS_KEPT of its severity `sev` when it names the alert
-- (q), one more event in the window's hash with the window's fields
-- (opt: chk, sub, evkey, early; ts: the fact's packet time, us; keep:
-- the retention once published). Returns whether the id was stored before.
local function fact_store(dkey, w, b, ttl, keep, id, ts, sev, q, body, opt)
  local ttls = num(ttl)
  -- every fact id is remembered, the bodies of the earliest FACTS_KEPT only
  if redis.call('SADD', dkey .. ':fids', id) == 0 then
    redis.call('EXPIRE', dkey .. ':fids', ttls)
    return true
  end
  redis.call('EXPIRE', dkey .. ':fids', ttls)
  -- a fact that does not name the alert by itself (q false) is never read
  -- by a settle: counted, its body not kept
  if q then
    local fz, kept = dkey .. ':f:' .. sev, facts_kept(opt)
    -- A fact later than every one of a full kept set would be trimmed at
    -- once: it changes nothing, so it is not added (most facts of a busy
    -- window; a tie in time goes the long way, where ZADD orders by id).
    local card, later = redis.call('ZCARD', fz), false
    if card >= kept then
      local last = redis.call('ZRANGE', fz, fmt(kept - 1), fmt(kept - 1), 'WITHSCORES')
      later = last[2] ~= nil and tonumber(last[2]) < ts
    end
    if not later then
      card = card + redis.call('ZADD', fz, fmt(ts), id)
      -- the fact's body is kept when its id stays among the earliest (the
      -- new id is in the set unless the trim took it)
      local kept_id = true
      if card > kept then
        for _, old in ipairs(redis.call('ZRANGE', fz, fmt(kept), '-1')) do
          redis.call('HDEL', dkey .. ':fj', old)
        end
        redis.call('ZREMRANGEBYRANK', fz, fmt(kept), '-1')
        kept_id = redis.call('ZSCORE', fz, id)
      end
      if kept_id then
        redis.call('HSET', dkey .. ':fj', id, type(body) == 'function' and body() or body)
        redis.call('EXPIRE', dkey .. ':fj', ttls)
      end
    end
    redis.call('EXPIRE', fz, ttls)
  end
  -- the window's first fact (events 1) finds no alert out
  local first = redis.call('HINCRBY', dkey, 'events', '1') == 1
  redis.call('HSET', dkey, 'chk', cjson.encode(opt.chk or { fn = 'raise' }), 'w', fmt(w),
             'b', fmt(b), 'sub', opt.sub or '', 'evkey', opt.evkey or '',
             'early', opt.early and '1' or '', 'keep', fmt(keep), 'ttl', ttls)
  -- the window lives as long as its facts until its alert is out, then
  -- for the retention (lh_settle), so a replay raises nothing new
  redis.call('EXPIRE', dkey, not first and redis.call('HEXISTS', dkey, 'sev') == 1 and num(keep) or ttls)
  return false
end

-- Records one fact of the alert of `a` in window (w, b), with the fact's
-- own figures (nil, or { name, number text } pairs: 05_line.lua). opt:
-- sub, evkey (the window's kept evidence), items (evidence items besides
-- the alert's own), lent (parties another fact lends the line: { name,
-- party } pairs), ts (the fact's packet time, us), chk (the window's
-- check, CHECK[chk.fn]), q (false: the fact does not name the alert by
-- itself), span (lh_absent: the windows that must stay unmarked), due
-- (packet time the window may be settled at; default its end), early
-- (settle first at the earliest fact's time), ready (false: the window
-- cannot qualify on what it holds now). Returns the settle hint when the
-- fact is new and its window ready, or the fact was seen and its window
-- is pending, else nil, and whether the fact is new.
--
-- A window that is not ready is held: its check fails on a precondition
-- that only grows (a count, a sum), so until a fact makes it true the
-- window can raise nothing, and most windows never get there (on
-- gpu-fleet most get one fact and never qualify). Its facts are kept as
-- they arrive, each body under its id in K:alert:...:held, and nothing
-- else: no candidate record, no window hash, no pending mark, no settle.
-- The fact that finds the window ready first stores the held facts as if
-- each had been stored on arrival (candidate record, ids, kept bodies,
-- events), then itself, and marks the window pending. So does a fact
-- that finds the window holding facts_held() bodies (as many as a stored
-- window keeps, FACTS_KEPT; 3 with its own evidence set, which keeps 1),
-- without the mark: a held window takes about the memory it would take
-- stored, and a window flooded with facts that never make it qualify
-- keeps their ids and its earliest bodies, as any window does. The
-- stored state of a window that qualifies is the same as if no fact had
-- been held (unions, minima and the earliest facts: the order of
-- storing does not matter); one that never qualifies costs its facts'
-- bodies only (docs/performance.md, "Windows that cannot
-- qualify yet"). Only calls with an alert part make a window ready: the
-- sensor sends every observation of a thresholded kind, and every sum
-- and session, with its threshold.
local function fact(keys, w, b, ttl, a, figures, opt)
  local dkey = alert_key(keys, a.rule, w, b, opt.sub)
  local ttls = num(ttl)
  local items = opt.items or {}
  local f = { t = fmt(opt.ts), ts = a.ts, rule = a.rule, sev = a.severity, add = a.score_add,
              ip = a.ip, role = a.role, maxlen = a.maxlen, channel = a.channel, host = a.host,
              line = a.line, lent = opt.lent, figures = figures, items = items,
              q = opt.q ~= false, span = opt.span }
  -- The sensor's fid names the call, and everything of the fact but a
  -- lent party, figures or items (lh_leg's pairs) follows from the call:
  -- used as it is, it spares building and hashing the line (a tenth of a
  -- fact's cost, docs/performance.md "Redis"); the line's names are still
  -- checked here.
  local id = a.fid
  if id and not figures and not opt.lent and #items == 0 then
    line_check(f)
  else
    id = string.sub(redis.sha1hex(fmt(opt.ts) .. '\0' .. line_ident(f, figures) .. '\0' ..
                                  table.concat(items, '\0') .. '\0' ..
                                  (opt.q == false and 'n' or 'q')), 1, 24)
  end
  local hkey = dkey .. ':held'
  if opt.ready == false then
    -- held while the window has held facts or none stored (its hash),
    -- and fewer than facts_held(); a full one is stored below, not
    -- pending
    local n = redis.call('HLEN', hkey)
    if n > 0 or redis.call('EXISTS', dkey) == 0 then
      if n < facts_held(opt) then
        if redis.call('HSETNX', hkey, id, cjson.encode(f)) == 0 then return nil, false end
        redis.call('EXPIRE', hkey, ttls)
        return nil, true
      end
      if redis.call('HEXISTS', hkey, id) == 1 then return nil, false end -- sent again
    end
  end
  local keep = math.max(ttl, a.keep)
  local held = opt.ready ~= nil and redis.call('HGETALL', hkey) or {}
  for i = 1, #held, 2 do
    local rec = cjson.decode(held[i + 1])
    candidate(keys, w, b, ttls, { rule = rec.rule, ip = rec.ip, ts = rec.ts, line = rec.line },
              rec.items, opt.sub)
    fact_store(dkey, w, b, ttl, keep, held[i], tonumber(rec.t), rec.sev, rec.q, held[i + 1], opt)
  end
  if #held > 0 then redis.call('DEL', hkey) end
  candidate(keys, w, b, ttls, a, opt.items, opt.sub)
  if fact_store(dkey, w, b, ttl, keep, id, opt.ts, a.severity, opt.q ~= false,
                function() return cjson.encode(f) end, opt) then
    -- seen before: a resent call (its first answer was lost) still tells
    -- its sender the window is pending; a replay of a settled one does not
    if redis.call('ZSCORE', keys[1] .. ':pend', dkey) then return settle_hint(keys), false end
    return nil, false
  end
  if opt.ready == false then return nil, true end
  pend(keys, dkey, opt.early and opt.ts or (opt.due or (b + 1) * w), opt.early, ttls)
  return settle_hint(keys), true
end

-- Whether a stored fact names the alert: it qualifies by itself and,
-- with a span, no window of the span is marked.
local function qualifies(keys, rec)
  if rec.q == false then return false end
  local s = rec.span
  if s then
    for b = s.first, s.last do
      if redis.call('EXISTS', keys[1] .. ':mark:' .. s.kind .. ':' .. fmt(s.w) .. ':' .. fmt(b)) == 1 then
        return false
      end
    end
  end
  return true
end

-- The evidence of a line: the window's kept set, or the items of the
-- qualifying facts up to packet time `upto`, the earliest 16 by (time, id).
local function settle_items(evkey, facts, base, upto)
  local items = {}
  if evkey ~= '' then
    for _, it in ipairs(redis.call('ZRANGE', evkey, '0', fmt(EVIDENCE_MAX - 1))) do items[#items + 1] = it end
    if base.line.own ~= '' then items[#items + 1] = base.line.own end
    return items
  end
  table.sort(facts, function(x, y)
    local tx, ty = tonumber(x.rec.t), tonumber(y.rec.t)
    if tx ~= ty then return tx < ty end
    return x.id < y.id
  end)
  local seen = {}
  for _, f in ipairs(facts) do
    if tonumber(f.rec.t) > upto then break end
    local chunks = {}
    for _, it in ipairs(f.rec.items or {}) do chunks[#chunks + 1] = it end
    if f.rec.line.own ~= '' then chunks[#chunks + 1] = f.rec.line.own end
    for _, it in ipairs(chunks) do
      if #items < EVIDENCE_MAX and not seen[it] then
        seen[it] = true
        items[#items + 1] = it
      end
    end
  end
  return items
end

-- Cluster: the next step (lh_risk) of a line; `line` holds what
-- alert_line() needs besides the score, which lh_risk adds.
local function raise_next(k, id, add, line, base, cand)
  local p = prefix_of(k)
  local call = { 'FCALL', 'lh_risk', '1', p .. 'risk', id, base.ip, fmt(add), fmt(base.ttl),
                 cjson.encode(line), p .. 'alerts', base.channel, base.maxlen, base.rule,
                 base.sev, p .. 'host:' .. base.ip, base.role, base.ts, cand }
  for _, h in ipairs(base.host or {}) do call[#call + 1] = h[1]; call[#call + 1] = h[2] end
  return call
end

-- Settles the window of dkey at packet time cut: decides with its check
-- and its facts up to cut, publishes the line (appended to out: the line,
-- or in a cluster its lh_risk step) or updates the stored alert. Returns
-- the window's fields as it read them (chk, w, b, sub, evkey, early, sev,
-- add, events, id, ttl, first, score, keep: lh_settle needs some) and
-- the severity it published, if it did.
local function settle_window(keys, dkey, cut, out)
  local h = redis.call('HMGET', dkey, 'chk', 'w', 'b', 'sub', 'evkey', 'early', 'sev', 'add',
                       'events', 'id', 'ttl', 'first', 'score', 'keep')
  if not h[1] then return h, h[7] end
  local chk = cjson.decode(h[1])
  local ok, wfigures = CHECK[chk.fn](keys, chk)
  if not ok then return h, h[7] end
  local base, facts = nil, {}
  for _, sev in ipairs(SEVERITIES) do
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', dkey .. ':f:' .. sev, '-inf', fmt(cut))) do
      local text = redis.call('HGET', dkey .. ':fj', id)
      if text then
        local rec = cjson.decode(text)
        if qualifies(keys, rec) then
          facts[#facts + 1] = { id = id, rec = rec }
          if not base then base = rec end -- the earliest of the highest severity
        end
      end
    end
  end
  if not base then return h, h[7] end
  local w, b, sub = tonumber(h[2]), tonumber(h[3]), h[4] ~= '' and h[4] or nil
  local ttl = tonumber(h[11])
  base.ttl = ttl
  local fold = h[7] and (SEVERITY_RANK[base.sev] or 0) <= (SEVERITY_RANK[h[7]] or 0)
  -- a line of an early window shows the facts up to its own (so the same
  -- whichever settle publishes it); the stored alert all of them so far
  local upto = (h[6] == '1' and not fold) and tonumber(base.t) or cut
  local items = settle_items(h[5], facts, base, upto)
  local figures = wfigures or base.figures
  local events = tonumber(h[9]) or 1
  local cand = cand_key(keys, { rule = base.rule, ip = base.ip }, w, b, sub)
  if fold then
    local json = alert_line(base, items, { id = h[10], score = h[13], figures = figures,
                                          events = events > 1 and fmt(events) or nil })
    redis.call('HSET', dkey, 'json', json)
    return h, h[7]
  end
  local add = math.max(0, base.add)
  local id = alert_id({ rule = base.rule, ip = base.ip }, w, b, sub)
  if h[7] then
    -- an escalation: its own id; the risk grows by the difference
    add = math.max(0, add - (tonumber(h[8]) or 0))
    id = string.sub(redis.sha1hex(id .. '\0' .. base.sev), 1, 24)
  end
  if #keys == 1 then
    -- the line is finished by lh_risk, which adds `add` to the risk
    local line = { f = { ts = base.ts, rule = base.rule, sev = base.sev, role = base.role,
                         ip = base.ip, line = base.line, lent = base.lent },
                   items = items, id = id, figures = figures }
    out[#out + 1] = raise_next(keys[1], id, add, line, base, cand)
    redis.call('HSET', dkey, 'json', alert_line(base, items, { id = id, score = fmt(add),
               figures = figures }), 'sev', base.sev, 'add', fmt(math.max(0, base.add)),
               'id', id, 'score', fmt(add))
    return h, base.sev
  end
  local old = tonumber(redis.call('ZSCORE', keys[3], base.ip) or '0') or 0
  local score = math.min(100, old + add)
  local line = alert_line(base, items, { id = id, score = fmt(score), figures = figures })
  redis.call('HSET', dkey, 'json', line, 'sev', base.sev, 'add', fmt(math.max(0, base.add)),
             'id', id, 'score', fmt(score))
  if not h[12] then redis.call('HSET', dkey, 'first', line) end
  local a = { ip = base.ip, role = base.role, rule = base.rule, ts = base.ts, host = base.host or {},
              maxlen = base.maxlen, channel = base.channel, severity = base.sev }
  publish(keys, a, line, score, cand)
  out[#out + 1] = line
  return h, base.sev
end

CHECK.raise = function() return true, nil end
