"""The Lua scripts of the shared store. Each runs atomically inside Redis: one round trip
decides one admission, however many proxy processes ask at once.

Rate limits mirror ``minerva_core.limits.TokenBucket`` / ``RateLimiter`` step for step (the
same double arithmetic in the same order, so an injected clock gives identical decisions):
a bucket holds ``capacity`` units, refills at capacity per ``period`` seconds, starts full,
is replaced by a full one when the limit changes, and may go below zero when a request's
real token count exceeds its estimate. Time is Redis's own (``TIME``), so processes whose
clocks disagree still share one timeline; tests may pass ``now`` instead.

    bucket hash {l = level, t = updated (s), c = capacity}; it expires once it would be full
    again, since a missing bucket and a full one mean the same.

Budgets are integers of 10**-12 USD (``units``) in one hash per key and period slot,
{spent, reserved}; the budget check ``spent + reserved + estimate <= budget`` is exact for
any 64-bit amounts (Lua numbers are doubles, so each operand is split into two exact
base-10**9 halves before adding; see ``FITS``).
"""

from __future__ import annotations

_CLOCK = """
local function clock(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

_BUCKET = """
local function level_of(key, cap, period, now)
  local v = redis.call('HMGET', key, 'l', 't', 'c')
  local level, updated, c = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
  if level == nil or updated == nil or c ~= cap then return cap end
  local elapsed = now - updated
  if elapsed < 0 then elapsed = 0 end
  level = level + elapsed * (cap / period)
  if level > cap then level = cap end
  return level
end

local function store(key, level, cap, period, now)
  redis.call('HSET', key, 'l', string.format('%.17g', level), 't', string.format('%.17g', now),
             'c', string.format('%.17g', cap))
  local full_in = (cap - level) * period / cap
  redis.call('PEXPIRE', key, math.ceil(full_in * 1000) + 1000)
end
"""

#: KEYS: rpm bucket, tpm bucket. ARGV: rpm (0 = none), tpm (0 = none), tokens, period (s),
#: now ('' = Redis TIME). Returns {1} when admitted (both buckets taken), else
#: {0, seconds to wait (text), 'rpm' | 'tpm'}; a refused request takes nothing (its buckets
#: are only brought up to date, as the in-process limiter's are).
ADMIT = _CLOCK + _BUCKET + """
local period = tonumber(ARGV[4])
local now = clock(ARGV[5])
local asks = {}
local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
if rpm > 0 then asks[#asks + 1] = {KEYS[1], rpm, 1, 'rpm'} end
if tpm > 0 then asks[#asks + 1] = {KEYS[2], tpm, tonumber(ARGV[3]), 'tpm'} end
local wait, why = 0, false
for _, ask in ipairs(asks) do
  local cap = ask[2]
  if ask[3] > cap then ask[3] = cap end
  ask[5] = level_of(ask[1], cap, period, now)
  if ask[5] < ask[3] then
    local w = (ask[3] - ask[5]) * period / cap
    if w > wait or (w == wait and ask[4] == 'tpm') then wait, why = w, ask[4] end
  end
end
local taken = 0
if not why then taken = 1 end
for _, ask in ipairs(asks) do
  store(ask[1], ask[5] - ask[3] * taken, ask[2], period, now)
end
if why then return {0, string.format('%.17g', wait), why} end
return {1}
"""

#: KEYS: tpm bucket. ARGV: tpm, actual - estimated tokens, period (s), now.
#: Takes the overrun (at most the capacity) or gives back the surplus (up to full).
SETTLE_TOKENS = _CLOCK + _BUCKET + """
local cap, delta, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = clock(ARGV[4])
local level = level_of(KEYS[1], cap, period, now)
if delta > 0 then
  if delta > cap then delta = cap end
  level = level - delta
elseif delta < 0 then
  level = level - delta
  if level > cap then level = cap end
end
store(KEYS[1], level, cap, period, now)
return 1
"""

FITS = """
local function halves(s)
  local n = string.len(s)
  if n <= 9 then return 0, tonumber(s) end
  return tonumber(string.sub(s, 1, n - 9)), tonumber(string.sub(s, n - 8))
end

-- a + b + c <= limit, exactly, for non-negative integers given as decimal text
local function fits(a, b, c, limit)
  local ah, al = halves(a)
  local bh, bl = halves(b)
  local ch, cl = halves(c)
  local hi, lo = ah + bh + ch, al + bl + cl
  hi = hi + math.floor(lo / 1000000000)
  lo = lo % 1000000000
  local lh, ll = halves(limit)
  return hi < lh or (hi == lh and lo <= ll)
end
"""

#: KEYS: budget slot. ARGV: budget, estimate, seed (spend known to this process, used only
#: when the slot is new), expire-at (Unix ms). Returns {1} when the estimate is held, else
#: {0, spent, reserved} (text) and holds nothing.
RESERVE = FITS + """
local k = KEYS[1]
redis.call('HSETNX', k, 'spent', ARGV[3])
local spent = redis.call('HGET', k, 'spent')
local reserved = redis.call('HGET', k, 'reserved') or '0'
if not fits(spent, reserved, ARGV[2], ARGV[1]) then return {0, spent, reserved} end
if ARGV[2] ~= '0' then redis.call('HINCRBY', k, 'reserved', ARGV[2]) end
redis.call('PEXPIREAT', k, ARGV[4])
return {1}
"""

#: KEYS: budget slot. ARGV: held, charge, expire-at (Unix ms). Releases the hold (never
#: below zero) and adds the charge. A slot that is gone (expired, or the store lost its
#: data) is left alone: the next reservation seeds it from the process's own knowledge.
SETTLE = """
local k = KEYS[1]
if redis.call('EXISTS', k) == 0 then return 0 end
if ARGV[1] ~= '0' then
  if redis.call('HINCRBY', k, 'reserved', '-' .. ARGV[1]) < 0 then redis.call('HSET', k, 'reserved', '0') end
end
if ARGV[2] ~= '0' then redis.call('HINCRBY', k, 'spent', ARGV[2]) end
redis.call('PEXPIREAT', k, ARGV[3])
return 1
"""

#: KEYS: budget slot. ARGV: spend loaded from the ledger, expire-at (Unix ms). The first
#: process to seed a slot wins (HSETNX); returns 1 if this call set it.
SEED = """
local k = KEYS[1]
local set = redis.call('HSETNX', k, 'spent', ARGV[1])
redis.call('PEXPIREAT', k, ARGV[2])
return set
"""

__all__ = ["ADMIT", "FITS", "RESERVE", "SEED", "SETTLE", "SETTLE_TOKENS"]
