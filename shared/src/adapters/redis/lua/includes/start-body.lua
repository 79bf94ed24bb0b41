--[[
  Included (--- @include) by the scripts that start a node: start-node.lua, and commit-node.lua
  for the child it starts by eager dispatch. Port of markStarted in
  shared/src/engine/apply-commit.ts.
]]
--- @include "includes/append-event.lua"

-- Marks `nodeId` running (`runningJson`), appends node.started (`startedData`) through `env`, and
-- answers the results of the ids in `reads` (flat: id, JSON, …) and, when `itemField` is given
-- (`<map>[<index>]`), the item's value JSON ('null' when absent; '' without an item).
local function startNodeBody(k, env, nodeId, runningJson, startedData, reads, itemField)
  redis.call('HSET', k.status, nodeId, runningJson)
  local results = {}
  for _, id in ipairs(reads) do
    local result = redis.call('HGET', k.results, id)
    if result then
      results[#results + 1] = id
      results[#results + 1] = result
    end
  end
  appendEvent(env, 'node.started', nodeId, startedData)
  local item = ''
  if itemField then
    item = redis.call('HGET', k.items, itemField) or 'null'
  end
  return results, item
end
