--[[
  Ends a map still running when its timeoutMs elapsed, in the round its timer was set in: it
  fails with the given error as an item's failure would end it (unstarted item nodes skipped,
  the failure flows on or fails the execution), and its running item nodes are answered so
  that workers abort them. Port of applyTimeoutMap (shared/src/engine/apply-map.ts).

  KEYS[1] meta  KEYS[2] results  KEYS[3] status  KEYS[4] pending  KEYS[5] taken
  KEYS[6] children  KEYS[7] events  KEYS[8] maps  KEYS[9] items  KEYS[10] slots
  ARGV[1] executionId   ARGV[2] map node id   ARGV[3] at
  ARGV[4] channel prefix (workspaceId appended) or '!' + sharded channel   ARGV[5] stream MAXLEN
  ARGV[6] the round the timer was set in   ARGV[7] the error JSON
  ARGV[8] queued status JSON   ARGV[9] pending status JSON   ARGV[10] skipped result JSON
  ARGV[11] node.skipped data JSON   ARGV[12] execution.completed data JSON

  Returns { 'missing' } | { 'not-running' } |
    { 'ok', running ids, ready ids, settled maps (id, result JSON, …), execution status,
      finished (1|0), events (JSON with id) }
]]
--- @include "includes/append-event.lua"
--- @include "includes/live.lua"
--- @include "includes/map-end.lua"

local mapId = ARGV[2]
local meta = readMeta(KEYS[1])
if not meta then
  return { 'missing' }
end
local ctx = graphContext(meta, {
  queued = ARGV[8], pending = ARGV[9], skipped = ARGV[10], skippedData = ARGV[11], completedData = ARGV[12],
})
local record = getMap(ctx, mapId)
if not isLive(meta[1]) or not record or record.state ~= 'running' or record.round ~= tonumber(ARGV[6]) then
  return { 'not-running' }
end

local running = itemNodesWithStatus(ctx, mapId, record, 'running')
local ending = endMap(ctx, mapId, record, cjson.decode(ARGV[7]))
ending.failExecution = record.failExecution
putMap(ctx, mapId, record)
local finished = propagateMapEnd(ctx, ending) or completeIfDone(ctx)
return { 'ok', running, ctx.ready, ctx.settled, redis.call('HGET', KEYS[1], 'status'), finished and 1 or 0, ctx.env.events }
