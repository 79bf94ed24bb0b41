--[[
  Included (--- @include) by the scripts that decide what a node's end unblocks: readiness and
  skip propagation, and the execution's completion or failure. Port of
  shared/src/engine/propagate.ts: keep them in step, including the order in which nodes are
  visited and events appended, which the state-store conformance suite compares between the
  two adapters. Maps build on it: map-items.lua, map-result.lua, map-end.lua, ready-after-node.lua.

  `ctx` holds:
    k       keys: meta, results, status, pending, taken, children, events, maps, items, slots
    env     appendEvent's environment (events collected in env.events)
    at      the transition's time (ISO)
    json    queued, pending, skipped (result), skippedData (node.skipped data), completedData
    ready, skipped, settled   lists the transition answers (settled: id, result JSON pairs)
]]
--- @include "includes/append-event.lua"

-- The context of a script whose KEYS are the ten above (meta … slots, in that order) and whose
-- ARGV (or `argv`, a script's arguments for one of its steps: commit-node.lua) starts with
-- executionId, a node id, at, the channel prefix and the stream MAXLEN.
-- `meta` is HMGET meta status, workspaceId, flowId.
local function graphContext(meta, json, argv)
  local ARGV = argv or ARGV
  return {
    k = {
      meta = KEYS[1], results = KEYS[2], status = KEYS[3], pending = KEYS[4], taken = KEYS[5],
      children = KEYS[6], events = KEYS[7], maps = KEYS[8], items = KEYS[9], slots = KEYS[10],
    },
    env = {
      executionId = ARGV[1], flowId = meta[3], workspaceId = meta[2], at = ARGV[3],
      streamKey = KEYS[7], channel = eventChannel(ARGV[4], meta[2]), maxlen = ARGV[5], events = {},
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
