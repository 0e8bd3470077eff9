
--[[
Absence (lh_absent). For rules that need "and no such session": the
reverse_tunnel rule raises only for a GPU host with no inbound control
session. op "mark" records that entity K had a session of `kind`
during [lo_us, hi_us], in every window that span touches; op "raise"
records a fact of the alert (once per rule, entity and window of ts_us)
that counts only if none of the windows of its own span [lo_us, hi_us]
is marked. The settle (10_alert.lua) decides once the last of those
windows has closed, so a mark that reaches Redis after the raise still
counts, whatever the order the workers' records arrive in.
  K:mark:<kind>:<W>:<b>   string  "1"                           (TTL ttl_s)
]]

ARGS.lh_absent = { req = { 'ev', 'ts_us', 'op', 'kind', 'lo_us', 'hi_us', 'window_us', 'ttl_s' }, opt = { 'fid' }, alert = 'opt' }

local ABSENT_SPAN = 1000 -- windows one span may touch (a work bound, no source)

-- FCALL lh_absent 4 K host risk alerts, by name: ev ts_us op kind lo_us hi_us
--       window_us ttl_s [alert part when op = raise]
-- Returns { 1 when a window of the span is marked (so far), else 0,
-- { settle hint } }.
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
      redis.call('SET', key, '1', 'EX', num(ttl))
      marked = 1
    elseif role == 'raise' then
      if redis.call('EXISTS', key) == 1 then marked = 1 end
    else
      error('ERR loophole: op must be mark or raise')
    end
  end
  if role == 'mark' then return { marked, {} } end
  -- The raise is a fact of the window of ts, settled when the last window
  -- of its span has closed: a mark of any of them arrives by then.
  local hint = fact(keys, w, window(ts, w), ttl, alert_args(ca), nil,
                    { ts = ts, span = { kind = kind, w = w, first = first, last = last },
                      due = (last + 1) * w })
  if hint then return { marked, { hint } } end
  return { marked, {} }
end

redis.register_function('lh_absent', absent_fn)
