-- Gives a workspace's node slot back (ports/node-admission.ts) and answers the parked holders
-- first in line for the slots now free: the caller promotes their jobs back to their queues.
-- KEYS[1] slots zset, KEYS[2] parked line zset, KEYS[3] parked expiry zset (one hash tag)
-- ARGV: holder, max, now (ms)
--- @include "includes/node-slots-lapse.lua"

local now = tonumber(ARGV[3])
redis.call('ZREM', KEYS[1], ARGV[1])
lapseNodeSlots(KEYS[1], KEYS[2], KEYS[3], now)
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
if free <= 0 then return {} end
return redis.call('ZRANGE', KEYS[2], 0, free - 1)
