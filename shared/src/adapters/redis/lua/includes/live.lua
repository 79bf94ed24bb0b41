--[[
  The preamble of the transitions: read an execution's meta and check that it is live.
  isLive is the twin of isLive in shared/src/model/statuses.ts.
]]
local function isLive(status)
  return status == 'running' or status == 'waiting'
end

-- status, workspaceId, flowId (then any extra fields asked for), or nil without hot state.
local function readMeta(metaKey, ...)
  local meta = redis.call('HMGET', metaKey, 'status', 'workspaceId', 'flowId', ...)
  if not meta[1] then
    return nil
  end
  return meta
end

-- The meta of a live execution; otherwise nil and the reply to return as is:
-- { 'missing' } without hot state, { endedKind, status } once the execution ended.
local function liveMeta(metaKey, endedKind, ...)
  local meta = readMeta(metaKey, ...)
  if not meta then
    return nil, { 'missing' }
  end
  if not isLive(meta[1]) then
    return nil, { endedKind, meta[1] }
  end
  return meta
end
