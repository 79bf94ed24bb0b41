--[[
  Included (--- @include) by the scripts that answer what to enqueue after a node that is
  already terminal (a redelivered job). Port of healReady in shared/src/engine/apply-commit.ts.
]]
--- @include "includes/map-items.lua"

-- Children of `id` that are ready and not terminal, appended to `into` (once each).
local function appendReadyChildren(ctx, id, into, seen)
  for _, child in ipairs(cjson.decode(redis.call('HGET', ctx.k.children, id) or '[]')) do
    if not seen[child] and redis.call('HEXISTS', ctx.k.results, child) == 0
      and tonumber(redis.call('HGET', ctx.k.pending, child) or '0') == 0
      and tonumber(redis.call('HGET', ctx.k.taken, child) or '0') > 0 then
      into[#into + 1] = child
      seen[child] = true
    end
  end
end

-- What should be enqueued after a node that is already terminal (healReady in apply-commit.ts):
-- its ready children and, for a map item's node, its map's queued item nodes and (when the map
-- has ended) the map's ready children.
local function healReady(ctx, nodeId)
  local ready, seen = {}, {}
  appendReadyChildren(ctx, nodeId, ready, seen)
  local mapId = parseItemNodeId(nodeId)
  if mapId then
    for _, id in ipairs(queuedItemNodes(ctx, mapId)) do
      if not seen[id] then
        ready[#ready + 1] = id
        seen[id] = true
      end
    end
    if redis.call('HEXISTS', ctx.k.results, mapId) == 1 then
      appendReadyChildren(ctx, mapId, ready, seen)
    end
  end
  return ready
end
