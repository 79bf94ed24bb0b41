--[[
  A wait node suspends: its status becomes waiting (with its resume token's hash), the execution
  waits, and node.waiting (with the given data) and execution.waiting are appended. Other
  branches keep running. Port of applyWait (shared/src/engine/apply-commit.ts).

  KEYS[1] meta  KEYS[2] results  KEYS[3] status  KEYS[4] events
  ARGV[1] executionId  ARGV[2] nodeId  ARGV[3] at  ARGV[4] channel prefix (workspaceId appended)
  ARGV[5] stream MAXLEN  ARGV[6] token hash ('' for none)  ARGV[7] node.waiting data JSON

  Returns { 'missing' } | { 'execution-ended', status } | { 'node-terminal' } | { 'ok', events }
]]
--- @include "includes/append-event.lua"
--- @include "includes/live.lua"

local meta, ended = liveMeta(KEYS[1], 'execution-ended')
if not meta then
  return ended
end
local status = meta[1]
local nodeId = ARGV[2]
if redis.call('HEXISTS', KEYS[2], nodeId) == 1 then
  return { 'node-terminal' }
end
local previous = redis.call('HGET', KEYS[3], nodeId)
local entry = { status = 'waiting', attempts = 1, startedAt = ARGV[3], workerId = cjson.null }
if previous then
  local p = cjson.decode(previous)
  entry.attempts = p.attempts or 1
  entry.startedAt = p.startedAt or ARGV[3]
  entry.workerId = p.workerId or cjson.null
end
if ARGV[6] ~= '' then
  entry.tokenHash = ARGV[6]
end
redis.call('HSET', KEYS[3], nodeId, cjson.encode(entry))
local env = {
  executionId = ARGV[1], flowId = meta[3], workspaceId = meta[2], at = ARGV[3],
  streamKey = KEYS[4], channel = eventChannel(ARGV[4], meta[2]), maxlen = ARGV[5], events = {},
}
appendEvent(env, 'node.waiting', nodeId, ARGV[7])
if status ~= 'waiting' then
  redis.call('HSET', KEYS[1], 'status', 'waiting')
  appendEvent(env, 'execution.waiting', nil, cjson.encode({ nodeId = nodeId }))
end
return { 'ok', env.events }
