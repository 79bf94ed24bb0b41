--[[
  Writes an execution's hot state, unless it exists already (redelivered job: then nothing is
  written and the root nodes not yet terminal are answered again). Port of applyInit
  (shared/src/engine/apply-commit.ts).

  KEYS[1] meta  KEYS[2] results  KEYS[3] status  KEYS[4] pending  KEYS[5] taken
  KEYS[6] children  KEYS[7] events  KEYS[8] ended mark (cancel-execution.lua)
  ARGV[1] executionId   ARGV[2] workspaceId   ARGV[3] flowId   ARGV[4] flowVersion
  ARGV[5] input JSON    ARGV[6] at            ARGV[7] channel ('!' + channel: SPUBLISH)  ARGV[8] stream MAXLEN
  ARGV[9] execution.started data JSON
  ARGV[10] queued status JSON (roots)         ARGV[11] pending status JSON (other nodes)
  ARGV[12] the root to start when created, JSON {id, running (status JSON), data (node.started
           data JSON), reads (ids whose results it reads)}, or ''
  ARGV[13] preset result ids, JSON array (K ids, none of them a graph node)
  ARGV[14..13+2K] per preset, 2 values: id, NodeResult JSON
  ARGV[14+2K..] per node, 3 values: id, parentCount, children JSON array

  Returns { created (1|0), execution status, ready root ids, events (JSON with id) }, and when
  created with a root to start that is a root: a 5th value { root id, input JSON, { id1, result
  JSON 1, … } } (the root is then not among the ready ids).
  An execution ended before its hot state was written (the ended mark) gets none:
  { 0, the status it ended with, {}, {} }.
]]
--- @include "includes/append-event.lua"
--- @include "includes/start-body.lua"

local presetIds = cjson.decode(ARGV[13])
local FIRST_PRESET = 14
local FIRST_NODE = FIRST_PRESET + 2 * #presetIds

if redis.call('EXISTS', KEYS[1]) == 1 then
  local ready = {}
  for i = FIRST_NODE, #ARGV, 3 do
    if tonumber(ARGV[i + 1]) == 0 and redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then
      ready[#ready + 1] = ARGV[i]
    end
  end
  return { 0, redis.call('HGET', KEYS[1], 'status'), ready, {} }
end
local endedAs = redis.call('GET', KEYS[8])
if endedAs then
  return { 0, endedAs, {}, {} }
end

local total = (#ARGV - FIRST_NODE + 1) / 3
redis.call('HSET', KEYS[1], 'workspaceId', ARGV[2], 'flowId', ARGV[3], 'flowVersion', ARGV[4],
  'status', 'running', 'input', ARGV[5], 'startedAt', ARGV[6], 'total', total, 'remaining', total,
  'presets', ARGV[13])

-- Presets are results nodes read, not nodes of this execution: not counted, no events.
for i = FIRST_PRESET, FIRST_NODE - 1, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end

-- One HSET per node rather than one per hash: unpack() of a large graph would overflow Lua's stack.
local ready = {}
for i = FIRST_NODE, #ARGV, 3 do
  local id = ARGV[i]
  local root = tonumber(ARGV[i + 1]) == 0
  redis.call('HSET', KEYS[3], id, root and ARGV[10] or ARGV[11])
  redis.call('HSET', KEYS[4], id, ARGV[i + 1])
  redis.call('HSET', KEYS[6], id, ARGV[i + 2])
  if root then
    ready[#ready + 1] = id
  end
end

local env = {
  executionId = ARGV[1], flowId = ARGV[3], workspaceId = ARGV[2], at = ARGV[6],
  streamKey = KEYS[7], channel = ARGV[7], maxlen = ARGV[8], events = {},
}
appendEvent(env, 'execution.started', nil, ARGV[9])
if ARGV[12] ~= '' then
  local root = cjson.decode(ARGV[12])
  local others = {}
  for _, id in ipairs(ready) do
    if id ~= root.id then
      others[#others + 1] = id
    end
  end
  if #others < #ready then
    local results = startNodeBody({ status = KEYS[3], results = KEYS[2] }, env, root.id, root.running, root.data, root.reads, nil)
    return { 1, 'running', others, env.events, { root.id, ARGV[5], results } }
  end
end
return { 1, 'running', ready, env.events }
