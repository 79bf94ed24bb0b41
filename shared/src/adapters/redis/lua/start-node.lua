--[[
  Marks a node running and answers what it needs to run (execution input, upstream results), in
  one round trip. Port of applyStart (shared/src/engine/apply-commit.ts).

  KEYS[1] meta  KEYS[2] results  KEYS[3] status  KEYS[4] children  KEYS[5] events
  KEYS[6] maps  KEYS[7] items
  ARGV[1] executionId   ARGV[2] nodeId   ARGV[3] at   ARGV[4] channel prefix (+ workspaceId) or '!' + sharded channel
  ARGV[5] stream MAXLEN   ARGV[6] running status JSON   ARGV[7] node.started data JSON
  ARGV[8] for a map item's node: its map's id ('' otherwise)   ARGV[9] item index
  ARGV[10] the map's round the job was enqueued in
  ARGV[11..] ids of the upstream nodes whose results to return

  Returns one of
    { 'missing' }                     no hot state
    { 'gone' }                        a map item's node reset (or removed) since its job was enqueued
    { 'unknown-node' }                the node is not in the graph
    { 'execution-ended', status }     the execution is not running
    { 'node-terminal' }               the node already has a result
    { 'started', input JSON, { id1, result JSON 1, id2, ... }, events (JSON with id), item JSON or '' }
]]
--- @include "includes/append-event.lua"
--- @include "includes/live.lua"
--- @include "includes/start-body.lua"

local meta = readMeta(KEYS[1], 'input')
if not meta then
  return { 'missing' }
end
local status = meta[1]
local nodeId = ARGV[2]
local mapId = ARGV[8]
if mapId ~= '' then
  local record = redis.call('HGET', KEYS[6], mapId)
  local round = record and cjson.decode(record).round or 0
  if redis.call('HEXISTS', KEYS[4], nodeId) == 0 or round ~= tonumber(ARGV[10]) then
    return { 'gone' }
  end
end
if redis.call('HEXISTS', KEYS[4], nodeId) == 0 then
  return { 'unknown-node' }
end
if not isLive(status) then
  return { 'execution-ended', status }
end
if redis.call('HEXISTS', KEYS[2], nodeId) == 1 then
  return { 'node-terminal' }
end

local reads = {}
for i = 11, #ARGV do
  reads[#reads + 1] = ARGV[i]
end
local env = {
  executionId = ARGV[1], flowId = meta[3], workspaceId = meta[2], at = ARGV[3],
  streamKey = KEYS[5], channel = eventChannel(ARGV[4], meta[2]), maxlen = ARGV[5], events = {},
}
local results, item = startNodeBody({ status = KEYS[3], results = KEYS[2], items = KEYS[7] }, env, nodeId, ARGV[6], ARGV[7], reads,
  mapId ~= '' and (mapId .. '[' .. ARGV[9] .. ']') or nil)
return { 'started', meta[4], results, env.events, item }
