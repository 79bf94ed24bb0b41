--[[
  Commits a node's result atomically and decides what it unblocks: children whose last pending
  parent this was become ready when at least one incoming edge was taken, and are skipped (with
  propagation to their own children) when none was; the execution completes when no node is
  left, or fails when asked. A redelivered commit (result already stored) writes nothing but
  answers the ready children again, so a crash between commit and enqueue heals on redelivery.
  Port of applyCommit (shared/src/engine/apply-commit.ts): keep the two in step, including the
  breadth-first order in which skipped nodes are visited.

  KEYS[1] meta  KEYS[2] results  KEYS[3] status  KEYS[4] pending  KEYS[5] taken
  KEYS[6] children  KEYS[7] events
  ARGV[1] executionId          ARGV[2] nodeId                ARGV[3] at
  ARGV[4] channel prefix (the workspaceId is appended)       ARGV[5] stream MAXLEN
  ARGV[6] result JSON          ARGV[7] node event type       ARGV[8] node event data JSON
  ARGV[9] taken children, JSON array                         ARGV[10] failExecution ('1' | '0')
  ARGV[11] execution.failed data JSON                        ARGV[12] queued status JSON
  ARGV[13] skipped result JSON ARGV[14] node.skipped data JSON
  ARGV[15] execution.completed data JSON

  Returns one of
    { 'missing' }         no hot state
    { 'unknown-node' }    the node is not in the graph
    { 'ok', committed (1|0), execution status, finished (1|0), ready ids, skipped ids,
      events (JSON with id) }
]]
--- @include "includes/append-event.lua"

local metaKey, resultsKey, statusKey, pendingKey, takenKey, childrenKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local nodeId, at = ARGV[2], ARGV[3]

local meta = redis.call('HMGET', metaKey, 'status', 'workspaceId', 'flowId')
local status = meta[1]
if not status then
  return { 'missing' }
end
local childrenJson = redis.call('HGET', childrenKey, nodeId)
if not childrenJson then
  return { 'unknown-node' }
end

if redis.call('HEXISTS', resultsKey, nodeId) == 1 then
  local ready, seen = {}, {}
  for _, child in ipairs(cjson.decode(childrenJson)) do
    if not seen[child] and redis.call('HEXISTS', resultsKey, child) == 0
      and tonumber(redis.call('HGET', pendingKey, child) or '0') == 0
      and tonumber(redis.call('HGET', takenKey, child) or '0') > 0 then
      ready[#ready + 1] = child
    end
    seen[child] = true
  end
  return { 'ok', 0, status, 0, ready, {}, {} }
end

local env = {
  executionId = ARGV[1], flowId = meta[3], workspaceId = meta[2], at = at,
  streamKey = KEYS[7], channel = ARGV[4] .. meta[2], maxlen = ARGV[5], events = {},
}

redis.call('HSET', resultsKey, nodeId, ARGV[6])
redis.call('HDEL', statusKey, nodeId)
local remaining = redis.call('HINCRBY', metaKey, 'remaining', -1)
appendEvent(env, ARGV[7], nodeId, ARGV[8])

-- A wait resolved: once no node waits any more, the execution is running again.
if status == 'waiting' then
  local stillWaiting = false
  for _, entry in ipairs(redis.call('HVALS', statusKey)) do
    if cjson.decode(entry).status == 'waiting' then
      stillWaiting = true
      break
    end
  end
  if not stillWaiting then
    status = 'running'
    redis.call('HSET', metaKey, 'status', 'running')
    appendEvent(env, 'execution.resumed', nil, cjson.encode({ nodeId = nodeId }))
  end
end
local live = status == 'running' or status == 'waiting'
-- Once the execution has ended (or this commit ends it), the children's counts are still kept
-- (so that re-opening a failed node later finds them exact) but nothing becomes ready or skipped.
if not live or ARGV[10] == '1' then
  local takesNow = {}
  for _, child in ipairs(cjson.decode(ARGV[9])) do
    takesNow[child] = true
  end
  for _, child in ipairs(cjson.decode(childrenJson)) do
    redis.call('HINCRBY', pendingKey, child, -1)
    if takesNow[child] then
      redis.call('HINCRBY', takenKey, child, 1)
    end
  end
end
if not live then
  return { 'ok', 1, status, 0, {}, {}, env.events }
end
if ARGV[10] == '1' then
  redis.call('HSET', metaKey, 'status', 'failed', 'finishedAt', at)
  appendEvent(env, 'execution.failed', nil, ARGV[11])
  return { 'ok', 1, 'failed', 1, {}, {}, env.events }
end

local ready, skipped = {}, {}
local takes = {}
for _, child in ipairs(cjson.decode(ARGV[9])) do
  takes[child] = true
end
local none = {}
-- Breadth-first over (parent, edges it takes), iteratively: no recursion depth limit.
local queue = { { nodeId, takes } }
local head = 1
while head <= #queue do
  local parent, parentTakes = queue[head][1], queue[head][2]
  head = head + 1
  local children = parent == nodeId and childrenJson or redis.call('HGET', childrenKey, parent)
  for _, child in ipairs(cjson.decode(children or '[]')) do
    local left = redis.call('HINCRBY', pendingKey, child, -1)
    if parentTakes[child] then
      redis.call('HINCRBY', takenKey, child, 1)
    end
    if left == 0 and redis.call('HEXISTS', resultsKey, child) == 0 then
      if tonumber(redis.call('HGET', takenKey, child) or '0') > 0 then
        redis.call('HSET', statusKey, child, ARGV[12])
        ready[#ready + 1] = child
      else
        redis.call('HSET', resultsKey, child, ARGV[13])
        redis.call('HDEL', statusKey, child)
        remaining = redis.call('HINCRBY', metaKey, 'remaining', -1)
        skipped[#skipped + 1] = child
        appendEvent(env, 'node.skipped', child, ARGV[14])
        queue[#queue + 1] = { child, none }
      end
    end
  end
end

local finished = 0
if remaining == 0 then
  status = 'completed'
  finished = 1
  redis.call('HSET', metaKey, 'status', 'completed', 'finishedAt', at)
  appendEvent(env, 'execution.completed', nil, ARGV[15])
end
return { 'ok', 1, status, finished, ready, skipped, env.events }
