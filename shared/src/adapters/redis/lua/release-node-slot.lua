-- Gives a workspace's node slot back (ports/node-admission.ts) and answers the parked holders
-- first in line for the slots now free: the caller promotes their jobs back to their queues.
-- KEYS[1] slots zset, KEYS[2] parked line zset, KEYS[3] parked expiry zset (one hash tag)
-- ARGV: holder, max, now (ms)
local now = tonumber(ARGV[3])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for i = 1, #stale do
  redis.call('ZREM', KEYS[2], stale[i])
  redis.call('ZREM', KEYS[3], stale[i])
end
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
if free <= 0 then return {} end
return redis.call('ZRANGE', KEYS[2], 0, free - 1)
