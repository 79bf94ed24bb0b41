--[[
  What should be enqueued after a node that is already terminal (a redelivered job whose node
  committed before its worker died): its ready children and, for a map item's node, its map's
  queued item nodes and the map's ready children once it ended; with a lease job id, also what
  ran under that job by eager dispatch (each leased node still open, and what each leased node
  that ended made ready, in the order of their ids). Reads only. Port of applyReadyAfter
  (shared/src/engine/apply-commit.ts).

  KEYS[1] meta  KEYS[2] results  KEYS[3] status  KEYS[4] pending  KEYS[5] taken
  KEYS[6] children  KEYS[7] events  KEYS[8] maps  KEYS[9] items  KEYS[10] slots  KEYS[11] leases
  ARGV[1] executionId   ARGV[2] nodeId   ARGV[3] the redelivered job's id, or ''   (ARGV[4..5] unused: '')

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
local ready = healReady(ctx, nodeId)
if ARGV[3] ~= '' then
  local leased = {}
  local flat = redis.call('HGETALL', KEYS[11])
  for i = 1, #flat, 2 do
    if flat[i + 1] == ARGV[3] then
      leased[#leased + 1] = flat[i]
    end
  end
  table.sort(leased)
  for _, id in ipairs(leased) do
    if redis.call('HEXISTS', KEYS[2], id) == 1 then
      for _, child in ipairs(healReady(ctx, id)) do
        ready[#ready + 1] = child
      end
    else
      ready[#ready + 1] = id
    end
  end
  local seen, unique = {}, {}
  for _, id in ipairs(ready) do
    if not seen[id] then
      seen[id] = true
      unique[#unique + 1] = id
    end
  end
  ready = unique
end
return { 'ok', ready, mapRound(ctx, nodeId) }
