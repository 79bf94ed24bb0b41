--[[
  What should be enqueued after a node that is already terminal (a redelivered job whose node
  committed before its worker died): its ready children and, for a map item's node, its map's
  queued item nodes and the map's ready children once it ended. Reads only. Port of
  applyReadyAfter (shared/src/engine/apply-commit.ts).

  KEYS[1] meta  KEYS[2] results  KEYS[3] status  KEYS[4] pending  KEYS[5] taken
  KEYS[6] children  KEYS[7] events  KEYS[8] maps  KEYS[9] items  KEYS[10] slots
  ARGV[1] executionId   ARGV[2] nodeId   (ARGV[3..5] unused: '')

  Returns { 'missing' } | { 'unknown-node' } | { 'ok', ready ids, round }
]]
--- @include "includes/append-event.lua"
--- @include "includes/live.lua"
--- @include "includes/ready-after-node.lua"

local nodeId = ARGV[2]
local meta = readMeta(KEYS[1])
if not meta then
  return { 'missing' }
end
if redis.call('HEXISTS', KEYS[6], nodeId) == 0 then
  return { 'unknown-node' }
end
local ctx = graphContext(meta, {})
return { 'ok', healReady(ctx, nodeId), mapRound(ctx, nodeId) }
