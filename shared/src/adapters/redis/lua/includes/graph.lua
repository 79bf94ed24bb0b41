--[[
  Included (--- @include, after append-event.lua) by the scripts that decide what a node's end
  unblocks: readiness and skip propagation, the execution's completion or failure, and map
  nodes (releasing items, ending the map). Port of shared/src/engine/propagate.ts and
  apply-map.ts: keep them in step, including the order in which nodes are visited and events
  appended, which the state-store conformance suite compares between the two adapters.

  `ctx` holds:
    k       keys: meta, results, status, pending, taken, children, events, maps, items, slots
    env     appendEvent's environment (events collected in env.events)
    at      the transition's time (ISO)
    json    queued, pending, skipped (result), skippedData (node.skipped data), completedData
    ready, skipped, settled   lists the transition answers (settled: id, result JSON pairs)
]]

-- The context of a script whose KEYS are the ten above (meta … slots, in that order) and whose
-- ARGV starts with executionId, a node id, at, the channel prefix and the stream MAXLEN.
-- `meta` is HMGET meta status, workspaceId, flowId.
local function graphContext(meta, json)
  return {
    k = {
      meta = KEYS[1], results = KEYS[2], status = KEYS[3], pending = KEYS[4], taken = KEYS[5],
      children = KEYS[6], events = KEYS[7], maps = KEYS[8], items = KEYS[9], slots = KEYS[10],
    },
    env = {
      executionId = ARGV[1], flowId = meta[3], workspaceId = meta[2], at = ARGV[3],
      streamKey = KEYS[7], channel = ARGV[4] .. meta[2], maxlen = ARGV[5], events = {},
    },
    at = ARGV[3],
    json = json,
    ready = {}, skipped = {}, settled = {},
  }
end

-- A JSON field of a hash, decoded; nil when absent.
local function decodeField(key, field)
  local json = redis.call('HGET', key, field)
  if not json then
    return nil
  end
  return cjson.decode(json)
end

-- A JSON array of strings (cjson would encode an empty table as {}).
local function jsonList(list)
  if #list == 0 then
    return '[]'
  end
  return cjson.encode(list)
end

local function remainingAdd(ctx, delta)
  return redis.call('HINCRBY', ctx.k.meta, 'remaining', delta)
end

local function skipNode(ctx, id)
  redis.call('HSET', ctx.k.results, id, ctx.json.skipped)
  redis.call('HDEL', ctx.k.status, id)
  remainingAdd(ctx, -1)
  ctx.skipped[#ctx.skipped + 1] = id
  appendEvent(ctx.env, 'node.skipped', id, ctx.json.skippedData)
end

-- Breadth-first over (parent, edges it takes), iteratively: no recursion depth limit.
local function propagate(ctx, parent, takes)
  local none = {}
  local queue = { { parent, takes } }
  local head = 1
  while head <= #queue do
    local from, fromTakes = queue[head][1], queue[head][2]
    head = head + 1
    local children = redis.call('HGET', ctx.k.children, from)
    for _, child in ipairs(cjson.decode(children or '[]')) do
      local left = redis.call('HINCRBY', ctx.k.pending, child, -1)
      if fromTakes[child] then
        redis.call('HINCRBY', ctx.k.taken, child, 1)
      end
      if left == 0 and redis.call('HEXISTS', ctx.k.results, child) == 0 then
        if tonumber(redis.call('HGET', ctx.k.taken, child) or '0') > 0 then
          redis.call('HSET', ctx.k.status, child, ctx.json.queued)
          ctx.ready[#ctx.ready + 1] = child
        else
          skipNode(ctx, child)
          queue[#queue + 1] = { child, none }
        end
      end
    end
  end
end

-- Counts a node's edges without deciding anything (the execution has ended or is ending).
local function countEdgesOnly(ctx, parent, takes)
  local children = redis.call('HGET', ctx.k.children, parent)
  for _, child in ipairs(cjson.decode(children or '[]')) do
    redis.call('HINCRBY', ctx.k.pending, child, -1)
    if takes[child] then
      redis.call('HINCRBY', ctx.k.taken, child, 1)
    end
  end
end

local function failExecution(ctx, failedDataJson)
  redis.call('HSET', ctx.k.meta, 'status', 'failed', 'finishedAt', ctx.at)
  appendEvent(ctx.env, 'execution.failed', nil, failedDataJson)
end

local function completeIfDone(ctx)
  if tonumber(redis.call('HGET', ctx.k.meta, 'remaining')) ~= 0 then
    return false
  end
  redis.call('HSET', ctx.k.meta, 'status', 'completed', 'finishedAt', ctx.at)
  appendEvent(ctx.env, 'execution.completed', nil, ctx.json.completedData)
  return true
end

-- ---- Maps (apply-map.ts).

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

-- Marks an item running and creates its nodes that have no result (releaseItem in apply-map.ts).
local function releaseItem(ctx, mapId, record, index)
  local parents = parentsOf(record)
  setItem(record, index, 'r')
  record.active = record.active + 1
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
      elseif node.parentCount == 0 or tonumber(redis.call('HGET', ctx.k.taken, id) or '0') > 0 then
        redis.call('HSET', ctx.k.status, id, ctx.json.queued)
        ctx.ready[#ctx.ready + 1] = id
      else
        skipNode(ctx, id)
      end
    end
  end
end

-- Readies an item to run again (resetItem in apply-map.ts): completed nodes keep their results.
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
        if result.status == 'failed' and node.soft and not node.branching then
          for _, child in ipairs(node.children) do
            redis.call('HINCRBY', ctx.k.taken, itemNodeId(mapId, index, child), -1)
          end
        end
      end
      redis.call('HDEL', ctx.k.pending, id)
    end
  end
  setItem(record, index, '.')
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

-- Why an item failed: its output node's error, else its first node that failed hard; or nil.
local function itemFailure(ctx, mapId, record, index)
  local outputId = itemNodeId(mapId, index, record.output)
  local output = decodeResult(ctx, outputId)
  if output and output.status == 'failed' and type(output.error) == 'table' then
    return { code = output.error.code, category = output.error.category, message = output.error.message, nodeId = outputId }
  end
  for _, node in ipairs(record.nodes) do
    if not node.soft then
      local id = itemNodeId(mapId, index, node.id)
      local result = decodeResult(ctx, id)
      if result and result.status == 'failed' and type(result.error) == 'table' then
        return { code = result.error.code, category = result.error.category, message = result.error.message, nodeId = id }
      end
    end
  end
  return nil
end

-- ISO time (Date#toISOString) → epoch ms.
local function isoMs(text)
  local y, mo, d, h, mi, s, ms = string.match(text or '', '^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.?(%d*)Z$')
  if not y then
    return nil
  end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then
    y = y - 1
  end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((mo + 9) % 12) + 2) / 5) + d - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
  local frac = 0
  if ms ~= '' then
    frac = math.floor(tonumber(ms) * 10 ^ (3 - #ms))
  end
  return ((days * 24 + tonumber(h)) * 60 + tonumber(mi)) * 60000 + tonumber(s) * 1000 + frac
end

local function jsonOrNull(value)
  if value == nil or value == cjson.null then
    return 'null'
  end
  return cjson.encode(value)
end

-- The map node's result JSON and its event's type and data JSON. `outputJson` is raw JSON
-- (the slots are concatenated, never decoded: cjson would round numbers); `error` a table or nil.
local function mapResultJson(ctx, mapId, record, outputJson, err)
  local entryJson = redis.call('HGET', ctx.k.status, mapId)
  local entry = entryJson and cjson.decode(entryJson) or {}
  local startedAt = entry.startedAt
  if startedAt == cjson.null then
    startedAt = nil
  end
  local runtime = 'null'
  local from, to = isoMs(startedAt), isoMs(ctx.at)
  if from and to then
    runtime = string.format('%d', math.max(0, to - from))
  end
  local attempts = string.format('%d', tonumber(entry.attempts) or 1)
  local errorJson = 'null'
  if err then
    errorJson = cjson.encode({ code = err.code, category = err.category, message = err.message })
  end
  local status = err and 'failed' or 'completed'
  local result = '{"status":"' .. status .. '","output":' .. outputJson .. ',"error":' .. errorJson
    .. ',"usage":null,"cost":null,"attempts":' .. attempts
    .. ',"input":{"count":' .. string.format('%d', record.count) .. ',"concurrency":' .. string.format('%d', record.concurrency) .. '}'
    .. ',"provider":null,"model":null,"workerId":' .. jsonOrNull(entry.workerId)
    .. ',"startedAt":' .. jsonOrNull(startedAt) .. ',"finishedAt":' .. cjson.encode(ctx.at) .. ',"runtimeMs":' .. runtime .. '}'
  local eventType, data
  if err then
    eventType = 'node.failed'
    data = '{"error":' .. errorJson .. ',"attempts":' .. attempts .. ',"runtimeMs":' .. runtime .. '}'
  else
    eventType = 'node.completed'
    data = '{"output":' .. outputJson .. ',"usage":null,"cost":null,"attempts":' .. attempts .. ',"runtimeMs":' .. runtime
      .. ',"provider":null,"model":null}'
  end
  return result, eventType, data, errorJson
end

local function slotsJson(ctx, mapId, record)
  local slots = {}
  for index = 0, record.count - 1 do
    if itemMark(record, index) == 'f' then
      local failure = itemFailure(ctx, mapId, record, index)
      slots[#slots + 1] = '{"error":' .. jsonOrNull(failure) .. '}'
    else
      slots[#slots + 1] = redis.call('HGET', ctx.k.slots, mapId .. '[' .. index .. ']') or 'null'
    end
  end
  return '[' .. table.concat(slots, ',') .. ']'
end

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
