--[[
  Included (--- @include) by acquire-node-slot.lua and release-node-slot.lua: what has lapsed
  leaves a workspace's node slots before either looks at them.
]]

-- Drops slots whose lease ran out (their worker died) from `activeKey`, and parked entries whose
-- job vanished (a cancel removed it) from the line `parkedKey` and its expiry set `parkedUntilKey`.
local function lapseNodeSlots(activeKey, parkedKey, parkedUntilKey, now)
  redis.call('ZREMRANGEBYSCORE', activeKey, '-inf', now)
  local stale = redis.call('ZRANGEBYSCORE', parkedUntilKey, '-inf', now)
  for i = 1, #stale do
    redis.call('ZREM', parkedKey, stale[i])
    redis.call('ZREM', parkedUntilKey, stale[i])
  end
end
