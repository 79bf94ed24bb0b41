--[[
  Included (--- @include) by the scripts that append events: the XADD + PUBLISH (SPUBLISH on a
  cluster) pair that makes
  an event part of the same atomic step as the state change it reports.

  An event body is the event's JSON without its id, starting with '{'. The stream assigns the id
  (`*`, so ids grow per execution); subscribers get the full event with the id prepended.
]]

-- The channel of an event. A base starting with '!' names a sharded channel whole (Redis Cluster:
-- the channel of the execution's slot, keys.ts executionEventsChannel); another is the workspace
-- channels' prefix, to which the workspace id is appended.
local function eventChannel(base, workspaceId)
  if string.byte(base, 1) == 33 then
    return base
  end
  return base .. workspaceId
end

-- Appends `body` to the execution's capped stream, publishes it with its id and collects the
-- published JSON in `out` (returned to the caller) unless `out` is nil. Returns the id. A channel
-- marked '!' is published with SPUBLISH (sharded pub/sub: the channel is in the script's slot),
-- another with PUBLISH.
local function appendEventBody(streamKey, channel, maxlen, body, out)
  local id = redis.call('XADD', streamKey, 'MAXLEN', '~', maxlen, '*', 'e', body)
  local full = '{"id":' .. cjson.encode(id) .. ',' .. string.sub(body, 2)
  if string.byte(channel, 1) == 33 then
    redis.call('SPUBLISH', string.sub(channel, 2), full)
  else
    redis.call('PUBLISH', channel, full)
  end
  if out then
    out[#out + 1] = full
  end
  return id
end

-- Builds an event body. `env` holds executionId, flowId, workspaceId, at, streamKey, channel,
-- maxlen and events (the out list); `nodeId` may be nil; `dataJson` is already JSON. With
-- `env.brief`, the out list gets each event's type and node id ('' for none) instead of its JSON:
-- a caller that reads only those is not sent the bodies (a node's output) back.
local function appendEvent(env, eventType, nodeId, dataJson)
  local body = '{"type":' .. cjson.encode(eventType)
    .. ',"executionId":' .. cjson.encode(env.executionId)
    .. ',"flowId":' .. cjson.encode(env.flowId)
    .. ',"workspaceId":' .. cjson.encode(env.workspaceId)
  if nodeId then
    body = body .. ',"nodeId":' .. cjson.encode(nodeId)
  end
  body = body .. ',"at":' .. cjson.encode(env.at) .. ',"data":' .. dataJson .. '}'
  if env.brief then
    local out = env.events
    out[#out + 1] = eventType
    out[#out + 1] = nodeId or ''
    return appendEventBody(env.streamKey, env.channel, env.maxlen, body, nil)
  end
  return appendEventBody(env.streamKey, env.channel, env.maxlen, body, env.events)
end
