--[[
The alert line (interface.md section 2; docs/redis-schema.md, "The alert
line"): this file alone orders and frames its members.
  ts, event_type, sensor, rule, severity, entity
  gpu_host, peer, intermediary  the parties the fact's alert names, in this
                                order, then those another fact lends it
                                (lh_leg: the outbound leg's GPU host)
  evidence                      the items the settle chose
  summary
  id, score                     the alert id; the entity's risk after it
  figures                       the window's (count, bytes, ...: CHECK) or
                                the fact's own (lh_leg's coincidences)
  events                        the stored alert only (K:alert:...: json)
The sensor serialises what only it knows, the line:<member> values of the
alert part (00_args.lua): its name, the summary and the parties, which
hold wire and geo strings, and its own evidence items; they are joined as
they came, never decoded and encoded again. The rest are plain names the
library quotes (rule, severity, role, address, RFC 3339 time) and numbers.
]]

local LINE_PARTIES = { 'gpu_host', 'peer', 'intermediary' }

-- A JSON string of a plain name: nothing in it to escape (the sensor's
-- JSON writer leaves '/' as it is, as here: a network "a.b.c.0/24").
local plain_names = memo_new()
local function plain_name(s, what)
  if plain_names[s] then return end
  if type(s) ~= 'string' or not string.find(s, '^[%w%.:_/%-]+$') then
    error('ERR loophole: the alert\'s ' .. what .. ' must be a plain name')
  end
  memo_put(plain_names, s, true)
end

local function line_name(s, what)
  plain_name(s, what)
  return '"' .. s .. '"'
end

-- ,"name":value for each { name, value text } pair.
local function line_members(pairs_)
  local out = {}
  for _, p in ipairs(pairs_ or {}) do out[#out + 1] = ',"' .. p[1] .. '":' .. p[2] end
  return table.concat(out)
end

-- Checks the names line_head() quotes, so that a fact whose line could
-- not be built is refused when it is recorded, not when it is settled.
local function line_check(f)
  plain_name(f.ts, 'ts'); plain_name(f.rule, 'rule'); plain_name(f.sev, 'severity')
  plain_name(f.role, 'role'); plain_name(f.ip, 'ip')
end

-- The members before the evidence items, through '"evidence":['.
local function line_head(f)
  local m, parties = f.line, {}
  for _, k in ipairs(LINE_PARTIES) do
    if m[k] then parties[#parties + 1] = { k, m[k] } end
  end
  for _, p in ipairs(f.lent or {}) do parties[#parties + 1] = p end
  return '{"ts":' .. line_name(f.ts, 'ts') .. ',"event_type":"alert","sensor":' .. m.sensor ..
         ',"rule":' .. line_name(f.rule, 'rule') .. ',"severity":' .. line_name(f.sev, 'severity') ..
         ',"entity":{"role":' .. line_name(f.role, 'role') .. ',"ip":' .. line_name(f.ip, 'ip') ..
         '}' .. line_members(parties) .. ',"evidence":['
end

-- The alert line of fact f (ts, rule, sev, role, ip, line: the sensor's
-- members, lent: { name, party } pairs) with the evidence items `items`
-- (texts) and tail: id and score (text), figures ({ name, number text }
-- pairs), events (text), each optional.
local function alert_line(f, items, tail)
  local t = { line_head(f), table.concat(items, ','), '],"summary":', f.line.summary }
  if tail.id then t[#t + 1] = ',"id":"' .. tail.id .. '","score":' .. tail.score end
  t[#t + 1] = line_members(tail.figures)
  if tail.events then t[#t + 1] = ',"events":' .. tail.events end
  t[#t + 1] = '}'
  return table.concat(t)
end

-- What names the alert of fact f and its figures (fact() in 10_alert.lua
-- takes the SHA-1): the line before the sensor's own evidence, that
-- evidence, the summary, and the figures, separated by NUL bytes.
local function line_ident(f, figures)
  return line_head(f) .. '\0' .. f.line.own .. '\0' .. ',"summary":' .. f.line.summary .. '\0' ..
         line_members(figures)
end
