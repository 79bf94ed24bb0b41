--[[
  Expands a started map node: stores its items and record and releases the first `concurrency`
  items; a map that already ran and was re-opened (retry) keeps its completed items and runs the
  others again in a new round; a redelivered job gets the queued item nodes re-announced. A map
  with nothing to run ends at once, as a commit would end it. Port of applyStartMap
  (shared/src/engine/apply-map.ts).

  KEYS[1] meta  KEYS[2] results  KEYS[3] status  KEYS[4] pending  KEYS[5] taken
  KEYS[6] children  KEYS[7] events  KEYS[8] maps  KEYS[9] items  KEYS[10] slots
  ARGV[1] executionId   ARGV[2] map node id   ARGV[3] at
  ARGV[4] channel prefix (workspaceId appended) or '!' + sharded channel   ARGV[5] stream MAXLEN
  ARGV[6] new map record JSON (used when the map has none)
  ARGV[7] queued status JSON   ARGV[8] pending status JSON   ARGV[9] skipped result JSON
  ARGV[10] node.skipped data JSON   ARGV[11] execution.completed data JSON
  ARGV[12..] the items, one JSON value each (stored when the map has no record yet)

  Returns one of { 'missing' } | { 'execution-ended', status } | { 'node-terminal' } |
    { 'ok', resumed (1|0), round, reset count, ready ids, settled maps (id, result JSON, …),
      execution status, finished (1|0), events (JSON with id) }
]]
--- @include "includes/append-event.lua"
--- @include "includes/live.lua"
--- @include "includes/map-end.lua"

local mapId, at = ARGV[2], ARGV[3]
local meta, ended = liveMeta(KEYS[1], 'execution-ended')
if not meta then
  return ended
end
if redis.call('HEXISTS', KEYS[2], mapId) == 1 then
  return { 'node-terminal' }
end

local ctx = graphContext(meta, {
  queued = ARGV[7], pending = ARGV[8], skipped = ARGV[9], skippedData = ARGV[10], completedData = ARGV[11],
})

local record = getMap(ctx, mapId)
if record and record.state == 'running' then
  return { 'ok', 1, record.round, 0, queuedItemNodes(ctx, mapId), {}, meta[1], 0, {} }
end
local reset = 0
if record then
  -- Re-opened by a retry: completed items stand, the others run again in a new round.
  record.state = 'running'
  record.active = 0
  record.round = record.round + 1
  for index = 0, record.count - 1 do
    local mark = itemMark(record, index)
    if mark ~= 'c' and mark ~= '.' then
      resetItem(ctx, mapId, record, index)
      reset = reset + 1
    end
  end
else
  record = cjson.decode(ARGV[6])
  for i = 12, #ARGV do
    redis.call('HSET', KEYS[9], mapId .. '[' .. (i - 12) .. ']', ARGV[i])
  end
end
fillWindow(ctx, mapId, record)
local finished = false
if record.active == 0 then
  local ending = endMap(ctx, mapId, record, nil)
  finished = propagateMapEnd(ctx, ending) or completeIfDone(ctx)
end
putMap(ctx, mapId, record)
return { 'ok', 0, record.round, reset, ctx.ready, ctx.settled, redis.call('HGET', KEYS[1], 'status'), finished and 1 or 0, ctx.env.events }
