--[[
  Re-opens failed nodes of an execution (dead-letter replay, retry): removes their results,
  undoes their own commit's counts on their children (a failed node that ended the execution
  took none of its edges), sets the execution running again, clears the TTL the flusher gave
  the keys, appends execution.resumed and answers the nodes that are ready now: every node
  without a result that is not running, whose parents are all terminal, and that has a taken
  edge or no parent. Port of applyReopen (shared/src/engine/apply-commit.ts).

  KEYS[1] meta  KEYS[2] results  KEYS[3] status  KEYS[4] pending  KEYS[5] taken
  KEYS[6] children  KEYS[7] events  KEYS[8] spent  KEYS[9] maps  KEYS[10] items  KEYS[11] slots
  KEYS[12] blobs  KEYS[13] leases (every key is PERSISTed; the last six are not otherwise touched)
  ARGV[1] executionId   ARGV[2] at   ARGV[3] channel prefix (workspaceId appended) or '!' + sharded channel
  ARGV[4] stream MAXLEN ARGV[5] node ids, JSON array   ARGV[6] pending status JSON
  ARGV[7] queued status JSON   ARGV[8] execution.resumed data JSON

  Returns { 'missing' } | { 'not-failed', nodeId } | { 'ok', ready ids, events (JSON with id) }
]]
--- @include "includes/append-event.lua"
--- @include "includes/live.lua"

local metaKey, resultsKey, statusKey, pendingKey, takenKey, childrenKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local meta = readMeta(metaKey)
if not meta then
  return { 'missing' }
end
local nodeIds = cjson.decode(ARGV[5])
for _, nodeId in ipairs(nodeIds) do
  local result = redis.call('HGET', resultsKey, nodeId)
  local status = result and cjson.decode(result).status
  if status ~= 'failed' and status ~= 'cancelled' then
    return { 'not-failed', nodeId }
  end
end

for _, nodeId in ipairs(nodeIds) do
  redis.call('HDEL', resultsKey, nodeId)
  redis.call('HSET', statusKey, nodeId, ARGV[6])
  redis.call('HINCRBY', metaKey, 'remaining', 1)
  for _, child in ipairs(cjson.decode(redis.call('HGET', childrenKey, nodeId) or '[]')) do
    redis.call('HINCRBY', pendingKey, child, 1)
  end
end
redis.call('HSET', metaKey, 'status', 'running')
redis.call('HDEL', metaKey, 'finishedAt')
for i = 1, #KEYS do
  redis.call('PERSIST', KEYS[i])
end

local all = redis.call('HGETALL', childrenKey)
local order, hasParent = {}, {}
for i = 1, #all, 2 do
  order[#order + 1] = all[i]
  for _, child in ipairs(cjson.decode(all[i + 1])) do
    hasParent[child] = true
  end
end
table.sort(order)
local ready = {}
for _, nodeId in ipairs(order) do
  local status = redis.call('HGET', statusKey, nodeId)
  local running = status and cjson.decode(status).status == 'running'
  if redis.call('HEXISTS', resultsKey, nodeId) == 0 and not running
    and tonumber(redis.call('HGET', pendingKey, nodeId) or '0') == 0
    and (not hasParent[nodeId] or tonumber(redis.call('HGET', takenKey, nodeId) or '0') > 0) then
    redis.call('HSET', statusKey, nodeId, ARGV[7])
    ready[#ready + 1] = nodeId
  end
end

local env = {
  executionId = ARGV[1], flowId = meta[3], workspaceId = meta[2], at = ARGV[2],
  streamKey = KEYS[7], channel = eventChannel(ARGV[3], meta[2]), maxlen = ARGV[4], events = {},
}
appendEvent(env, 'execution.resumed', nil, ARGV[8])
return { 'ok', ready, env.events }
