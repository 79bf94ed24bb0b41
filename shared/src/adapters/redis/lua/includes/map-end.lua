--[[
  Included (--- @include) by the scripts that settle map items and end maps: an item's end
  releases the next or ends the map; a failed item fails it; an ended map flows on as a commit
  would. Port of shared/src/engine/apply-map.ts: keep them in step, including the order in
  which nodes are visited and events appended.
]]
--- @include "includes/map-result.lua"

-- Nodes of running items that have not started yet will not, and those waiting will not be
-- resumed: they are skipped. When no node waits any more, the execution is running again.
local function skipUnstarted(ctx, mapId, record)
  local skippedWaiting = false
  for index = 0, record.count - 1 do
    if itemMark(record, index) == 'r' then
      for _, node in ipairs(record.nodes) do
        local id = itemNodeId(mapId, index, node.id)
        local entry = redis.call('HGET', ctx.k.status, id)
        local status = entry and cjson.decode(entry).status
        if status == 'pending' or status == 'queued' or status == 'waiting' then
          if status == 'waiting' then
            skippedWaiting = true
          end
          skipNode(ctx, id)
        end
      end
    end
  end
  if skippedWaiting and redis.call('HGET', ctx.k.meta, 'status') == 'waiting' then
    for _, entry in ipairs(redis.call('HVALS', ctx.k.status)) do
      if cjson.decode(entry).status == 'waiting' then
        return
      end
    end
    redis.call('HSET', ctx.k.meta, 'status', 'running')
    appendEvent(ctx.env, 'execution.resumed', nil, cjson.encode({ nodeId = mapId }))
  end
end

-- The error of a map that an item failed (`failure` names the item's node).
local function itemFailedError(index, failure)
  return {
    code = 'map_item_failed', category = failure.category,
    message = 'item ' .. index .. " failed at '" .. failure.nodeId .. "': " .. failure.message,
  }
end

-- Stores the map's result (failed with `err`, a table, or completed when nil) and announces
-- it; answers the end for propagateMapEnd.
local function endMap(ctx, mapId, record, err)
  if err then
    skipUnstarted(ctx, mapId, record)
  end
  local outputJson = err and 'null' or slotsJson(ctx, mapId, record)
  local result, eventType, data = mapResultJson(ctx, mapId, record, outputJson, err)
  record.state = 'ended'
  redis.call('HDEL', ctx.k.status, mapId)
  redis.call('HSET', ctx.k.results, mapId, result)
  remainingAdd(ctx, -1)
  appendEvent(ctx.env, eventType, mapId, data)
  ctx.settled[#ctx.settled + 1] = mapId
  ctx.settled[#ctx.settled + 1] = result
  local failedData = nil
  if err then
    failedData = cjson.encode({ status = 'failed', error = { code = err.code, category = err.category, message = err.message, nodeId = mapId } })
  end
  return { mapId = mapId, failExecution = false, failedData = failedData }
end

-- A map failed as its execution ended: its edges are counted as a failed node's commit in an
-- ended execution counts them (countEndedMapEdges in apply-map.ts).
local function countEndedMapEdges(ctx, mapId, record)
  local takes = {}
  if not record.failExecution then
    for _, child in ipairs(cjson.decode(redis.call('HGET', ctx.k.children, mapId) or '[]')) do
      takes[child] = true
    end
  end
  countEdgesOnly(ctx, mapId, takes)
end

-- Lets a map's end flow on as a commit's would; answers whether the execution ended.
local function propagateMapEnd(ctx, ending)
  if ending.failExecution then
    countEdgesOnly(ctx, ending.mapId, {})
    failExecution(ctx, ending.failedData)
    return true
  end
  local takes = {}
  for _, child in ipairs(cjson.decode(redis.call('HGET', ctx.k.children, ending.mapId) or '[]')) do
    takes[child] = true
  end
  propagate(ctx, ending.mapId, takes)
  return false
end

-- After a commit of an item's node: the item may be over; release the next, end the map.
-- `record`: the map's record when the caller decoded it already (nil: read here).
local function settleMapItem(ctx, nodeId, record)
  local mapId, index = parseItemNodeId(nodeId)
  if not mapId then
    return nil
  end
  record = record or getMap(ctx, mapId)
  if not record or record.state ~= 'running' or itemMark(record, index) ~= 'r' then
    return nil
  end
  for _, node in ipairs(record.nodes) do
    if redis.call('HEXISTS', ctx.k.results, itemNodeId(mapId, index, node.id)) == 0 then
      return nil
    end
  end
  local failure = itemFailure(ctx, mapId, record, index)
  setItem(record, index, failure and 'f' or 'c')
  record.active = record.active - 1
  if failure and record.onItemError == 'fail' then
    local ending = endMap(ctx, mapId, record, itemFailedError(index, failure))
    ending.failExecution = record.failExecution
    putMap(ctx, mapId, record)
    return ending
  end
  fillWindow(ctx, mapId, record)
  if record.active > 0 then
    putMap(ctx, mapId, record)
    return nil
  end
  local ending = endMap(ctx, mapId, record, nil)
  putMap(ctx, mapId, record)
  return ending
end

-- An item's node failed the whole execution: its map ends failed with it.
local function endMapWithExecution(ctx, nodeId, record)
  local mapId, index = parseItemNodeId(nodeId)
  if not mapId then
    return
  end
  record = record or getMap(ctx, mapId)
  local result = decodeResult(ctx, nodeId)
  if not record or record.state ~= 'running' or not result or type(result.error) ~= 'table' then
    return
  end
  local failure = { code = result.error.code, category = result.error.category, message = result.error.message, nodeId = nodeId }
  endMap(ctx, mapId, record, itemFailedError(index, failure))
  countEndedMapEdges(ctx, mapId, record)
  putMap(ctx, mapId, record)
end
