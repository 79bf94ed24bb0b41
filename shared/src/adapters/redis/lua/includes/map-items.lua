--[[
  Included (--- @include) by the scripts that touch map nodes: item node ids, the map record
  (its items' marks, active count, round), releasing and resetting items, and why an item
  failed. Port of shared/src/engine/apply-map.ts (and map-record.ts): keep them in step.
  `ctx` is graph.lua's.
]]
--- @include "includes/graph.lua"

local function itemNodeId(mapId, index, nodeId)
  return mapId .. '[' .. index .. '].' .. nodeId
end

local function parseItemNodeId(id)
  local mapId, index, nodeId = string.match(id, '^(%a[%w_-]*)%[(%d+)%]%.(%a[%w_-]*)$')
  if not mapId or tostring(tonumber(index)) ~= index then
    return nil
  end
  return mapId, tonumber(index), nodeId
end

local function getMap(ctx, mapId)
  return decodeField(ctx.k.maps, mapId)
end

local function putMap(ctx, mapId, record)
  redis.call('HSET', ctx.k.maps, mapId, cjson.encode(record))
end

-- Item marks are 0-based like the TypeScript port; Lua strings are 1-based.
local function itemMark(record, index)
  return string.sub(record.items, index + 1, index + 1)
end

local function setItem(record, index, mark)
  record.items = string.sub(record.items, 1, index) .. mark .. string.sub(record.items, index + 2)
end

local function decodeResult(ctx, id)
  return decodeField(ctx.k.results, id)
end

-- Each sub-graph node's parents (local ids), from the record's children lists.
local function parentsOf(record)
  local parents = {}
  for _, node in ipairs(record.nodes) do
    parents[node.id] = parents[node.id] or {}
    for _, child in ipairs(node.children) do
      parents[child] = parents[child] or {}
      table.insert(parents[child], node.id)
    end
  end
  return parents
end

-- Marks an item running and creates its nodes that have no result (releaseItem in map-items.ts).
-- An item a retry re-released with nothing left to run (its last commits landed after its map had
-- ended; what is not completed is a branch not taken, skipped again) ends here, completed.
local function releaseItem(ctx, mapId, record, index)
  local parents = parentsOf(record)
  local open = false
  for _, node in ipairs(record.nodes) do
    local id = itemNodeId(mapId, index, node.id)
    if redis.call('HEXISTS', ctx.k.results, id) == 0 then
      local kids = {}
      for _, child in ipairs(node.children) do
        kids[#kids + 1] = itemNodeId(mapId, index, child)
      end
      redis.call('HSET', ctx.k.children, id, jsonList(kids))
      local left = 0
      for _, parent in ipairs(parents[node.id] or {}) do
        if redis.call('HEXISTS', ctx.k.results, itemNodeId(mapId, index, parent)) == 0 then
          left = left + 1
        end
      end
      redis.call('HSET', ctx.k.pending, id, left)
      redis.call('HINCRBY', ctx.k.meta, 'total', 1)
      remainingAdd(ctx, 1)
      if left > 0 then
        redis.call('HSET', ctx.k.status, id, ctx.json.pending)
        open = true
      elseif node.parentCount == 0 or tonumber(redis.call('HGET', ctx.k.taken, id) or '0') > 0 then
        redis.call('HSET', ctx.k.status, id, ctx.json.queued)
        ctx.ready[#ctx.ready + 1] = id
        open = true
      else
        skipNode(ctx, id)
      end
    end
  end
  if open then
    setItem(record, index, 'r')
    record.active = record.active + 1
  else
    setItem(record, index, 'c')
  end
end

-- Readies an item to run again (resetItem in map-items.ts): completed nodes keep their results;
-- the others lose theirs (and the edges their soft failures took), to be decided afresh.
local function resetItem(ctx, mapId, record, index)
  for _, node in ipairs(record.nodes) do
    local id = itemNodeId(mapId, index, node.id)
    local result = decodeResult(ctx, id)
    if not result or result.status ~= 'completed' then
      if redis.call('HDEL', ctx.k.status, id) == 1 then
        remainingAdd(ctx, -1)
        redis.call('HINCRBY', ctx.k.meta, 'total', -1)
      end
      if result then
        redis.call('HDEL', ctx.k.results, id)
        redis.call('HINCRBY', ctx.k.meta, 'total', -1)
        local taken = record.softTaken and record.softTaken[id]
        if taken then
          for _, child in ipairs(taken) do
            redis.call('HINCRBY', ctx.k.taken, child, -1)
          end
          record.softTaken[id] = nil
        end
      end
      redis.call('HDEL', ctx.k.pending, id)
    end
  end
  if record.softTaken and next(record.softTaken) == nil then
    record.softTaken = nil
  end
  setItem(record, index, '.')
end

-- A map item's node failed softly (commitIntent's soft, passed by its commit): the record keeps
-- the edges that failure took (recordSoftFailure in map-items.ts), in the order they were counted.
local function recordSoftFailure(ctx, mapId, record, nodeId, takes)
  if record.state ~= 'running' then
    return
  end
  local taken = {}
  for _, child in ipairs(cjson.decode(redis.call('HGET', ctx.k.children, nodeId) or '[]')) do
    if takes[child] then
      taken[#taken + 1] = child
    end
  end
  record.softTaken = record.softTaken or {}
  record.softTaken[nodeId] = taken
  putMap(ctx, mapId, record)
end

local function fillWindow(ctx, mapId, record)
  while record.active < record.concurrency do
    local at = string.find(record.items, '.', 1, true)
    if not at then
      return
    end
    releaseItem(ctx, mapId, record, at - 1)
  end
end

-- Why an item failed: its output node's error, else its first node that failed hard (not recorded
-- as a soft failure); or nil.
local function itemFailure(ctx, mapId, record, index)
  local outputId = itemNodeId(mapId, index, record.output)
  local output = decodeResult(ctx, outputId)
  if output and output.status == 'failed' and type(output.error) == 'table' then
    return { code = output.error.code, category = output.error.category, message = output.error.message, nodeId = outputId }
  end
  for _, node in ipairs(record.nodes) do
    local id = itemNodeId(mapId, index, node.id)
    if not (record.softTaken and record.softTaken[id]) then
      local result = decodeResult(ctx, id)
      if result and result.status == 'failed' and type(result.error) == 'table' then
        return { code = result.error.code, category = result.error.category, message = result.error.message, nodeId = id }
      end
    end
  end
  return nil
end

-- Nodes of running items with the given status, in item then sub-graph order.
local function itemNodesWithStatus(ctx, mapId, record, status)
  local found = {}
  for index = 0, record.count - 1 do
    if itemMark(record, index) == 'r' then
      for _, node in ipairs(record.nodes) do
        local id = itemNodeId(mapId, index, node.id)
        local entry = redis.call('HGET', ctx.k.status, id)
        if entry and cjson.decode(entry).status == status then
          found[#found + 1] = id
        end
      end
    end
  end
  return found
end

-- Queued nodes of a running map's running items: what a redelivery re-announces.
local function queuedItemNodes(ctx, mapId)
  local record = getMap(ctx, mapId)
  if not record or record.state ~= 'running' then
    return {}
  end
  return itemNodesWithStatus(ctx, mapId, record, 'queued')
end

local function mapRound(ctx, nodeId)
  local mapId = parseItemNodeId(nodeId)
  if not mapId then
    return 0
  end
  local record = getMap(ctx, mapId)
  return record and record.round or 0
end
