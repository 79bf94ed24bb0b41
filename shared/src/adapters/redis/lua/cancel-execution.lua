--[[
  Cancels a live execution: status cancelled, finishedAt, execution.cancelled appended. No node
  starts afterwards (start-node answers execution-ended); the running and queued nodes are
  answered so that workers abort the first and the caller removes the jobs of the second.
  Running maps end failed first (ARGV[8] is their error), so that a retry runs their
  unfinished items. Port of applyCancel (shared/src/engine/apply-control.ts).

  KEYS[1] meta  KEYS[2] status  KEYS[3] events  KEYS[4] results  KEYS[5] maps
  KEYS[6] pending  KEYS[7] taken  KEYS[8] children  KEYS[9] ended mark
  ARGV[1] executionId  ARGV[2] at  ARGV[3] channel prefix (workspaceId appended) or '!' + sharded channel
  ARGV[4] stream MAXLEN  ARGV[5] terminal event data JSON
  ARGV[6] final status: 'cancelled' (execution.cancelled) or 'failed' (execution.failed)
  ARGV[7] error JSON stored in meta when failed ('' otherwise)
  ARGV[8] the error of the maps cut short, JSON
  ARGV[9] TTL of the ended mark, seconds

  Without hot state, the final status is left as the ended mark: an execution job that claimed
  the row before this end was recorded, and has not written hot state yet, then writes none.

  Returns { 'missing' } | { 'ended', status } |
    { 'ok', running ids, queued ids, events (JSON with id), map rounds (id, round, …) }
]]
--- @include "includes/append-event.lua"
--- @include "includes/live.lua"
--- @include "includes/map-end.lua"

local meta, ended = liveMeta(KEYS[1], 'ended')
if not meta then
  if ended[1] == 'missing' then
    redis.call('SET', KEYS[9], ARGV[6], 'EX', ARGV[9])
  end
  return ended
end
redis.call('HSET', KEYS[1], 'status', ARGV[6], 'finishedAt', ARGV[2])
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'error', ARGV[7])
end
local env = {
  executionId = ARGV[1], flowId = meta[3], workspaceId = meta[2], at = ARGV[2],
  streamKey = KEYS[3], channel = eventChannel(ARGV[3], meta[2]), maxlen = ARGV[4], events = {},
}
local ctx = {
  k = { meta = KEYS[1], status = KEYS[2], events = KEYS[3], results = KEYS[4], maps = KEYS[5], pending = KEYS[6], taken = KEYS[7], children = KEYS[8] },
  env = env, at = ARGV[2],
}
local mapEntries = redis.call('HGETALL', KEYS[5])
local mapIds = {}
for i = 1, #mapEntries, 2 do
  mapIds[#mapIds + 1] = mapEntries[i]
end
table.sort(mapIds)
local cutError = cjson.decode(ARGV[8])
local rounds = {}
for _, mapId in ipairs(mapIds) do
  local record = getMap(ctx, mapId)
  rounds[#rounds + 1] = mapId
  rounds[#rounds + 1] = record.round
  if record.state == 'running' then
    record.state = 'ended'
    putMap(ctx, mapId, record)
    local result, eventType, data = mapResultJson(ctx, mapId, record, 'null', cutError)
    redis.call('HDEL', KEYS[2], mapId)
    redis.call('HSET', KEYS[4], mapId, result)
    remainingAdd(ctx, -1)
    countEndedMapEdges(ctx, mapId, record)
    appendEvent(env, eventType, mapId, data)
  end
end
local entries = redis.call('HGETALL', KEYS[2])
local ids = {}
local byId = {}
for i = 1, #entries, 2 do
  ids[#ids + 1] = entries[i]
  byId[entries[i]] = cjson.decode(entries[i + 1]).status
end
table.sort(ids)
local running, queued = {}, {}
for _, id in ipairs(ids) do
  if byId[id] == 'running' then
    running[#running + 1] = id
  elseif byId[id] == 'queued' then
    queued[#queued + 1] = id
  end
end
appendEvent(env, ARGV[6] == 'failed' and 'execution.failed' or 'execution.cancelled', nil, ARGV[5])
return { 'ok', running, queued, env.events, rounds }
