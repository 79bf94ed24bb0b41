--[[
  Appends one event to an execution's stream and publishes it (EventBus.publish), atomically so
  that stream order and live order agree.

  KEYS[1] events stream of the execution
  ARGV[1] channel (pub/sub, not a key; '!' + channel: SPUBLISH)
  ARGV[2] stream MAXLEN (approximate)
  ARGV[3] event body: the event JSON without id

  Returns the published event JSON, id included.
]]
--- @include "includes/append-event.lua"

local out = {}
appendEventBody(KEYS[1], ARGV[1], ARGV[2], ARGV[3], out)
return out[1]
