-- A workspace's node slot (ports/node-admission.ts): take one, or park the job in line.
-- KEYS[1] zset holder -> lease expiry (ms)   the workspace's slots
-- KEYS[2] zset holder -> rank                 its parked jobs, in line order
-- KEYS[3] zset holder -> expiry (ms)          when a parked entry lapses (its job vanished)
-- All three carry the workspace's hash tag: one slot on a cluster.
-- ARGV: holder, max, now (ms), leaseMs, rank, parkTtlMs
-- Returns {1, active} when admitted, {0, active, position} when parked.
local holder = ARGV[1]
local max = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local leaseMs = tonumber(ARGV[4])
local parkTtlMs = tonumber(ARGV[6])

--- @include "includes/node-slots-lapse.lua"

-- Slots of crashed workers lapse; so do parked entries whose jobs are gone.
lapseNodeSlots(KEYS[1], KEYS[2], KEYS[3], now)

local function admit()
  redis.call('ZADD', KEYS[1], now + leaseMs, holder)
  redis.call('PEXPIRE', KEYS[1], leaseMs * 2)
  redis.call('ZREM', KEYS[2], holder)
  redis.call('ZREM', KEYS[3], holder)
  return {1, redis.call('ZCARD', KEYS[1])}
end

-- A redelivered job (its worker died, its lease still runs): it has its slot.
if redis.call('ZSCORE', KEYS[1], holder) then return admit() end

local active = redis.call('ZCARD', KEYS[1])
local free = max - active
if free > 0 then
  local position = redis.call('ZRANK', KEYS[2], holder)
  -- A parked job may take a slot when it is among the first `free` in line; a newcomer only when
  -- every parked job has a slot waiting for it as well.
  if (position and position < free) or ((not position) and redis.call('ZCARD', KEYS[2]) < free) then
    return admit()
  end
end

redis.call('ZADD', KEYS[2], 'NX', tonumber(ARGV[5]), holder)
redis.call('ZADD', KEYS[3], now + parkTtlMs, holder)
redis.call('PEXPIRE', KEYS[2], parkTtlMs * 2)
redis.call('PEXPIRE', KEYS[3], parkTtlMs * 2)
return {0, active, redis.call('ZRANK', KEYS[2], holder)}
