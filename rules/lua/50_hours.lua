--[[
Hours (lh_hours). Session start times of an entity in an hour-of-week
histogram in local time (the caller's UTC offset), once per session id;
sessions inside the caller's profile (hour and weekday masks) also mark
their local day. Raised when the sessions inside reach min_in on at least
min_days distinct days and the profile fits better than its neighbours,
decided when the window has closed (the fit can fall as sessions
arrive). The share inside is reported, not tested.
  K:tz:<W>:<b>   hash  h:<0..167> -> sessions, d:<local day> -> 1
  K:tzs:<W>:<b>  set   session ids counted                      (TTL ttl_s)
]]

ARGS.lh_hours = { req = { 'ev', 'ts_us', 'session', 'window_us', 'ttl_s', 'offset_s', 'hours_mask', 'days_mask', 'min_in', 'min_days' }, opt = { 'evidence', 'fit_margin_pct', 'fit_shift_h', 'fid' }, alert = 'opt' }

-- The histogram of c.key against the profile: sessions inside, all
-- sessions, distinct local days inside, and with `fit` the best
-- neighbouring zone's sessions inside and whether the profile fits
-- clearly better (only the settle decides on the fit: a call needs the
-- counts alone).
local function hours_eval(c, fit)
  local hmask, dmask, margin, max_shift = c.hmask, c.dmask, c.margin, c.shift
  local h = redis.call('HGETALL', c.key)
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
      local cnt = tonumber(h[k + 1])
      total = total + cnt
      if inside_at(how) then cin = cin + cnt end
      for sh = -(fit and max_shift or 0), fit and max_shift or 0 do
        if sh ~= 0 and inside_at(how + sh) then shifted[sh] = (shifted[sh] or 0) + cnt end
      end
    end
  end
  -- The offset must explain clearly more sessions than the zones up to
  -- fit_shift_h hours either side (the same profile on their clock).
  local best = 0
  for _, cnt in pairs(shifted) do if cnt > best then best = cnt end end
  return cin, total, days, best, not margin or cin * 100 >= best * (100 + margin)
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
-- That comparison can fall as sessions arrive, so it is made by the settle
-- when the window has closed (fact() in 10_alert.lua), on the complete
-- histogram; the sessions inside the profile name the alert. Returns
-- { sessions inside, { settle hint } }.
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
    redis.call('HINCRBY', key, 'h:' .. fmt(wday * 24 + hour), '1')
    if inside then redis.call('HSET', key, 'd:' .. fmt(day), '1') end
  end
  local ttls = num(ttl)
  redis.call('EXPIRE', key, ttls)
  redis.call('EXPIRE', keys[1] .. ':tzs:' .. fmt(w) .. ':' .. fmt(b), ttls)
  local evkey = keys[1] .. ':evd:tz:' .. fmt(w) .. ':' .. fmt(b)
  if item and inside then evidence_add(evkey, item, ts, ttl) end
  local chk = { fn = 'hours', key = key, hmask = hmask, dmask = dmask, min_in = min_in,
                min_days = min_days, margin = margin, shift = max_shift }
  local cin, _, days = hours_eval(chk, false)
  local hints = {}
  if min_in > 0 then
    -- sessions inside and their days only grow; the fit is the settle's
    hints[1] = fact(keys, w, b, ttl, alert_args(ca), nil,
                    { evkey = evkey, ts = ts, chk = chk, q = inside,
                      ready = cin >= min_in and days >= min_days })
  end
  return { cin, hints }
end

CHECK.hours = function(_, c)
  local cin, total, days, best, fits = hours_eval(c, true)
  if not (cin >= c.min_in and days >= c.min_days and fits) then return false end
  local figures = { { 'sessions_in_profile', fmt(cin) }, { 'sessions', fmt(total) },
                   { 'days', fmt(days) } }
  if c.margin then figures[#figures + 1] = { 'best_neighbour_in_profile', fmt(best) } end
  return true, figures
end

redis.register_function('lh_hours', hours_fn)
