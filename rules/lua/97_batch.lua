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
new (00_args.lua, "Exactly once").

In a Redis Cluster every KEY of a batch must be in one slot (Redis
refuses it otherwise); the writer batches only the calls of one slot,
and keeps the order of every slot's calls.
]]

-- The functions a batch may hold: those that record facts and answer
-- { count, { settle hint or next step } }.
local BATCHED = {
  lh_observe = observe, lh_sum = sum_fn, lh_gate = gate_fn, lh_leg = leg_fn,
  lh_hours = hours_fn, lh_raise = raise_fn, lh_follow = follow_fn, lh_absent = absent_fn,
  lh_knock = knock_fn,
}
local BATCH_MAX = 256 -- calls in one batch: the writer's pipeline (a work bound, no source)

-- An error of one call as the reply element Redis would have sent.
local function batch_error(e)
  local s = type(e) == 'table' and e.err or tostring(e)
  if not string.find(s, '^[A-Z]+ ') then s = 'ERR ' .. s end
  return { err = s }
end

-- Count-only exact observations (lh_observe with threshold 0, no
-- evidence, no need: most observations, e.g. GPU behaviour) of a run of
-- consecutive calls are written together: per window key one ZMSCORE,
-- one ZCARD, one ZADD LT and one EXPIRE instead of up to four commands
-- per call. Members are decided in call order as observe() decides them
-- (the cap, a member already there), so the set, its scores (the
-- earliest time), its TTL (the last call's) and every call's reply (the
-- count after it) are those of the calls run one by one. Any other call
-- first writes the run so far, then runs alone.
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
  -- the numbers go to Redis as the caller wrote them when that is how
  -- observe() would write them (plain digits): no conversion back
  local plain = string.find(a.ts_us, '^[1-9]%d*$') and string.find(a.ttl_s, '^[1-9]%d*$') and
                string.find(a.window_us, '^[1-9]%d*$') and ts < 2^53
  return { value = a.value, ts = ts, cap = cap, ttl = plain and a.ttl_s or ttl,
           tsarg = plain and a.ts_us or ts, kind = a.kind, w = w, wtext = plain and a.window_us }
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
    local g, known, add, members = groups[key], {}, {}, {}
    local count = redis.call('ZCARD', key)
    if #g == 1 and count < g[1].cap then
      -- alone in its window: what observe() does
      count = count + redis.call('ZADD', key, 'LT', g[1].tsarg, g[1].value)
      out[g[1].c] = { count, {} }
      redis.call('EXPIRE', key, g[1].ttl)
      g = {}
    else
      local vals = {}
      for j, o in ipairs(g) do vals[j] = o.value end
      local scores = redis.call('ZMSCORE', key, unpack(vals))
      for j, o in ipairs(g) do
        if scores[j] then known[o.value] = true end
      end
    end
    for _, o in ipairs(g) do
      if count < o.cap or known[o.value] then
        if not known[o.value] then
          known[o.value] = true
          count = count + 1
        end
        if add[o.value] == nil then members[#members + 1] = o.value end
        if add[o.value] == nil or o.ts < add[o.value].ts then add[o.value] = o end
      end
      out[o.c] = { count, {} }
    end
    if #members > 0 then
      local zadd = { 'ZADD', key, 'LT' }
      for _, m in ipairs(members) do
        zadd[#zadd + 1] = add[m].tsarg
        zadd[#zadd + 1] = m
      end
      redis.call(unpack(zadd))
    end
    if #g > 0 then redis.call('EXPIRE', key, g[#g].ttl) end
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
    if not fn or not nk or not na or nk < 0 or na < 0 or k + nk - 1 > #keys or
       i + 2 + na > #argv then
      error('ERR loophole: lh_batch: call ' .. c .. ' is malformed')
    end
    calls[c] = { fn, k, nk, i + 3, na, name }
    i, k = i + 3 + na, k + nk
  end
  if i ~= #argv + 1 or k ~= #keys + 1 then
    error('ERR loophole: lh_batch: keys or arguments left after the last call')
  end
  local out, run = {}, {}
  local lw, lb, ltext -- the last window's text: most calls share it
  for c = 1, count do
    local call = calls[c]
    local o = call[6] == 'lh_observe' and call[3] >= 1 and count_only(argv, call[4], call[5])
    if o then
      local b = window(o.ts, o.w)
      if o.w ~= lw or b ~= lb then
        lw, lb, ltext = o.w, b, ':' .. (o.wtext or fmt(o.w)) .. ':' .. fmt(b)
      end
      o.c = c
      o.key = keys[call[2]] .. ':obs:' .. o.kind .. ltext
      run[#run + 1] = o
    else
      if #run > 0 then
        count_run(run, out)
        run = {}
      end
      local ck, ca = {}, {}
      for j = 1, call[3] do ck[j] = keys[call[2] + j - 1] end
      for j = 1, call[5] do ca[j] = argv[call[4] + j - 1] end
      local ok, r = pcall(call[1], ck, ca)
      out[c] = ok and r or batch_error(r)
    end
  end
  if #run > 0 then count_run(run, out) end
  return out
end

redis.register_function('lh_batch', batch_fn)
