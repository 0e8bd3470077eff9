--[[
Batches (lh_batch). Several calls of the functions that record facts in
one FCALL, so that the writer pays Redis's command dispatch and the
library's entry once per batch instead of once per event (redis/writer.c,
docs/performance.md "Redis"). Each call runs exactly as it would alone,
the same function with the same KEYS and ARGV, in the order given, and
answers what it would answer alone: a call that fails answers its error
in its place (the calls before it keep what they wrote, as they would
alone, and the calls after it still run). So a batch changes neither
Redis's state, nor the replies, nor exactly-once: an event sent again
after a broken connection, alone or in another batch, records nothing
new (00_args.lua, "Exactly once"). A call may also be `obs`, the short
form of a count-only observation (short_obs() below), which runs as the
lh_observe it stands for.

In a Redis Cluster every KEY of a batch must be in one slot (Redis
refuses it otherwise); the writer batches only the calls of one slot,
and keeps the order of every slot's calls.
]]

-- The functions a batch may hold: those that record facts and answer
-- { count, { settle hint or next step } }.
-- `obs` is the short form of a count-only exact observation (below).
local BATCHED = {
  lh_observe = observe, lh_sum = sum_fn, lh_gate = gate_fn, lh_leg = leg_fn,
  lh_hours = hours_fn, lh_raise = raise_fn, lh_follow = follow_fn, lh_absent = absent_fn,
  lh_knock = knock_fn,
}
local BATCH_MAX = 256 -- calls in one batch: the writer's pipeline (a work bound, no source)
-- keys or arguments of one call: far above any call the sensor builds (60
-- arguments at most), below what Lua's unpack can return (8000)
local CALL_ARGS_MAX = 4096

-- An error of one call as the reply element Redis would have sent.
local function batch_error(e)
  local s = type(e) == 'table' and e.err or tostring(e)
  if not string.find(s, '^[A-Z]+ ') then s = 'ERR ' .. s end
  return { err = s }
end

-- Count-only exact observations (lh_observe with threshold 0, no
-- evidence, no need: most observations, e.g. GPU behaviour) of a run of
-- consecutive calls are written together, per window key by one
-- observe_exact() (20_observe.lua), the one implementation lh_observe
-- uses too: one ZCARD, one ZMSCORE and one ZADD LT for every call of the
-- key (and the EXPIRE when they create the set), instead of up to three
-- commands per call. It decides the members
-- in call order, so the set, its scores, its TTL and every call's reply
-- are those of the calls run one by one. Any other call first writes the
-- run so far, then runs alone.
local COUNT_ONLY -- the names of such a call, built at the first batch (the
                 -- library's load runs without the base functions)

-- The observation of call argv[i .. i + na - 1] when it is count-only
-- and well formed (else nil: observe() runs it and says what is wrong).
local function count_only(argv, i, na)
  if not COUNT_ONLY then
    COUNT_ONLY = {}
    for _, k in ipairs(ARGS.lh_observe.req) do COUNT_ONLY[k] = true end
  end
  if na ~= 2 * #ARGS.lh_observe.req then return nil end
  local a = {}
  for j = i, i + na - 1, 2 do
    local k = argv[j]
    if not COUNT_ONLY[k] or a[k] ~= nil then return nil end
    a[k] = argv[j + 1]
  end
  local ts, w, cap, ttl = tonumber(a.ts_us), tonumber(a.window_us), tonumber(a.cap), tonumber(a.ttl_s)
  if a.mode ~= 'exact' or tonumber(a.threshold) ~= 0 or not (ts and w and cap and ttl) or w < 1 then
    return nil
  end
  -- the numbers go to Redis as the caller wrote them, which is how
  -- observe() would write them when they are plain digits (the sensor's);
  -- anything else runs as observe(), which checks it (n())
  local plain = string.find(a.ts_us, '^[1-9]%d*$') and string.find(a.ttl_s, '^[1-9]%d*$') and
                string.find(a.window_us, '^[1-9]%d*$') and ts < 2^53
  if not plain or cap ~= cap or cap == math.huge or cap == -math.huge then return nil end
  return { value = a.value, ts = ts, cap = cap, ttl = a.ttl_s, tsarg = a.ts_us, kind = a.kind,
           w = w, wtext = a.window_us }
end

-- The short form `obs` of a call (redis/writer.c sends it for a
-- count-only exact observation): 1 key, K, and 6 arguments, kind value
-- ts_us window_us cap ttl_s, the numbers as decimal digits; the same as
-- lh_observe with K, those arguments, mode exact and threshold 0, and a
-- fraction of the arguments to read (no names, no event id, no dashboard
-- keys). plain caches the numbers of a batch's texts (window, cap and TTL
-- repeat). Returns the observation, or nil and what is wrong.
local function plain_num(plain, t)
  local v = plain[t]
  if v == nil then
    v = string.find(t, '^%d+$') and tonumber(t) < 2^53 and tonumber(t) or false
    plain[t] = v
  end
  return v
end

local function short_obs(argv, i, na, plain)
  if na ~= 6 then return nil, 'obs takes kind value ts_us window_us cap ttl_s' end
  local kind, value, tstext, wtext, captext, ttltext =
    argv[i], argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4], argv[i + 5]
  local ts = string.find(tstext, '^%d+$') and tonumber(tstext)
  local w, cap, ttl = plain_num(plain, wtext), plain_num(plain, captext), plain_num(plain, ttltext)
  if not (ts and ts < 2^53 and w and w >= 1 and cap and ttl and ttl >= 1) or
     string.sub(wtext, 1, 1) == '0' then
    return nil, 'obs: ts_us, window_us, cap and ttl_s must be decimal digits (window_us and ttl_s at least 1)'
  end
  return { value = value, ts = ts, tsarg = tstext, cap = cap, ttl = ttltext, kind = kind, w = w,
           wtext = wtext }
end

-- A short-form call alone (what lh_batch does with one that is malformed:
-- its error in its place).
BATCHED.obs = function(keys, argv)
  local o, why = short_obs(argv, 1, #argv, {})
  if not o or #keys ~= 1 then error('ERR loophole: ' .. (why or 'obs takes one key')) end
  local counts = {}
  observe_exact(keys[1] .. ':obs:' .. o.kind .. ':' .. o.wtext .. ':' .. fmt(window(o.ts, o.w)),
                { o }, counts)
  return { counts[1], {} }
end

-- Writes a run of count-only observations (see above); out[c] gets the
-- reply of call c.
local function count_run(run, out)
  local groups, order = {}, {}
  for _, o in ipairs(run) do
    local g = groups[o.key]
    if not g then
      g = {}
      groups[o.key] = g
      order[#order + 1] = o.key
    end
    g[#g + 1] = o
  end
  for _, key in ipairs(order) do
    local g, counts = groups[key], {}
    observe_exact(key, g, counts)
    for j, o in ipairs(g) do out[o.c] = { counts[j], {} } end
  end
end

-- FCALL lh_batch <numkeys> <the keys of every call, in call order>
--       <count> { <function> <nkeys> <nargs> <nargs arguments> } x count
-- Checks the whole layout first (a malformed batch runs nothing), then
-- runs the calls in order. Returns { reply of call 1, ..., reply of call
-- count }, an error reply in the place of a call that failed.
local function batch_fn(keys, argv)
  local count = n(argv[1], 'count')
  if count < 1 or count > BATCH_MAX then
    error('ERR loophole: lh_batch: count must be 1 to ' .. BATCH_MAX)
  end
  local calls, i, k = {}, 2, 1
  for c = 1, count do
    local name = argv[i] or ''
    local fn, nk, na = BATCHED[name], tonumber(argv[i + 1]), tonumber(argv[i + 2])
    if not fn or not nk or not na or nk < 0 or na < 0 or nk > CALL_ARGS_MAX or
       na > CALL_ARGS_MAX or k + nk - 1 > #keys or
       i + 2 + na > #argv then
      error('ERR loophole: lh_batch: call ' .. c .. ' is malformed')
    end
    calls[c] = { fn, k, nk, i + 3, na, name }
    i, k = i + 3 + na, k + nk
  end
  if i ~= #argv + 1 or k ~= #keys + 1 then
    error('ERR loophole: lh_batch: keys or arguments left after the last call')
  end
  local out, run, plain = {}, {}, {}
  local lw, lb, ltext -- the last window's text: most calls share it
  for c = 1, count do
    local call = calls[c]
    local o
    if call[6] == 'obs' then
      o = call[3] == 1 and short_obs(argv, call[4], call[5], plain)
    elseif call[6] == 'lh_observe' and call[3] >= 1 then
      o = count_only(argv, call[4], call[5])
    end
    if o then
      local b = window(o.ts, o.w)
      if o.w ~= lw or b ~= lb then
        lw, lb, ltext = o.w, b, ':' .. o.wtext .. ':' .. fmt(b)
      end
      o.c = c
      o.key = keys[call[2]] .. ':obs:' .. o.kind .. ltext
      run[#run + 1] = o
    else
      if #run > 0 then
        count_run(run, out)
        run = {}
      end
      -- one copy each by unpack, not a loop that grows the table
      -- element by element (4% of a batched observation's instructions)
      local ck = { unpack(keys, call[2], call[2] + call[3] - 1) }
      local ca = { unpack(argv, call[4], call[4] + call[5] - 1) }
      local ok, r = pcall(call[1], ck, ca)
      out[c] = ok and r or batch_error(r)
    end
  end
  if #run > 0 then count_run(run, out) end
  return out
end

redis.register_function('lh_batch', batch_fn)
