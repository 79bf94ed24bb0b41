--[[
  Admits an execution into its workspace's in-flight set, unless the set already holds `max`
  others, and publishes its execution.queued event in the same step (ExecutionAdmission.admit).
  A set, not a counter: admitting a member again changes nothing, and releasing it twice
  (SREM) takes it off once, so redelivered jobs and recovery cannot skew the count.

  KEYS[1] the workspace's in-flight set   KEYS[2] events stream of the execution
  ARGV[1] executionId   ARGV[2] max (0: unlimited)
  ARGV[3] channel (pub/sub, not a key; '!' + channel: SPUBLISH)    ARGV[4] stream MAXLEN
  ARGV[5] event body: the event JSON without id ('' to publish nothing)

  Returns { 1, published event JSON or '' } when admitted (or already a member),
    { 0, in-flight count } when the workspace is at its cap.
]]
--- @include "includes/append-event.lua"

local max = tonumber(ARGV[2])
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  local inFlight = redis.call('SCARD', KEYS[1])
  if max > 0 and inFlight >= max then
    return { 0, inFlight }
  end
  redis.call('SADD', KEYS[1], ARGV[1])
end
local out = {}
if ARGV[5] ~= '' then
  appendEventBody(KEYS[2], ARGV[3], ARGV[4], ARGV[5], out)
end
return { 1, out[1] or '' }
