--[[
  Commits a node's result atomically and decides what it unblocks: children whose last pending
  parent this was become ready when at least one incoming edge was taken, and are skipped (with
  propagation to their own children) when none was; a map item's node may end its item,
  release the next item and end the map; the execution completes when no node is left, or
  fails when asked. A redelivered commit (result already stored) writes nothing but answers what
  should be enqueued again, so a crash between commit and enqueue heals on redelivery.
  Port of applyCommit (shared/src/engine/apply-commit.ts): keep the two in step, including the
  order in which nodes are visited and events appended.

  KEYS[1] meta  KEYS[2] results  KEYS[3] status  KEYS[4] pending  KEYS[5] taken
  KEYS[6] children  KEYS[7] events  KEYS[8] maps  KEYS[9] items  KEYS[10] slots
  ARGV[1] executionId          ARGV[2] nodeId                ARGV[3] at
  ARGV[4] channel prefix (workspaceId appended) or '!' + sharded channel       ARGV[5] stream MAXLEN
  ARGV[6] result JSON          ARGV[7] node event type       ARGV[8] node event data JSON
  ARGV[9] taken children, JSON array                         ARGV[10] failExecution ('1' | '0')
  ARGV[11] execution.failed data JSON                        ARGV[12] queued status JSON
  ARGV[13] skipped result JSON ARGV[14] node.skipped data JSON
  ARGV[15] execution.completed data JSON                     ARGV[16] pending status JSON
  ARGV[17] the output's JSON when the result is completed and the node is a map item's, '' otherwise (its slot)
  ARGV[18] soft ('1' | '0'): commitIntent's; a map item's soft failure is recorded in its map's record
  KEYS[11] leases  KEYS[12] the flush stream, or KEYS[11] again where commits do not append to it
  (Redis Cluster: the stream is in another slot)
  ARGV[19] eager dispatch: JSON array of candidates {id, reads, map?, index?} in order of
           preference, or '' (none). The first ARGV[24] that this commit made ready are started
           (as start-node.lua would) and leased to the job ARGV[20]; they are left out of the ready ids
  ARGV[20] lease job id   ARGV[21] its running status JSON   ARGV[22] its node.started data JSON
  ARGV[23] the node's flush entry JSON up to its result (ending '"result":'), or '': when the
           commit writes, the entry (with ARGV[6] and '}') is appended to KEYS[12], and so is
           the execution's end entry when the commit ended it
  ARGV[24] how many candidates may start

  A fused run (StateStore.commitNodes): ARGV holds several steps of these 24 arguments, committed
  in order in this one script. Each step but the last names only the next step's node as its
  candidate; the run stops after a step that did not start it (the execution ended, or the
  commit was a redelivery's), and the steps after it are not committed. A continuing step's eager
  start is answered by its id only (input 'null', no results): the worker ran that node already.

  Returns a list with one reply per step committed, each one of
    { 'missing' }         no hot state
    { 'unknown-node' }    the node is not in the graph
    { 'ok', committed (1|0), execution status, finished (1|0), ready ids, skipped ids,
      events (type, node id or '', … : brief, the bodies are on the bus), settled maps
      (id, result JSON, …), round, eager, more eager }
    eager: {} or { child id, execution input JSON, { id1, result JSON 1, … }, item JSON or '',
      map id or '', item index }; more eager: a list of the others started, each as eager
]]
--- @include "includes/append-event.lua"
--- @include "includes/live.lua"
--- @include "includes/map-end.lua"
--- @include "includes/ready-after-node.lua"
--- @include "includes/start-body.lua"

local ARGS_PER_STEP = 24

-- `continuing`: a fused run's step before its last, whose eager start is answered by id only.
local function commitOne(A, continuing)
  local nodeId, at = A[2], A[3]
  local meta = readMeta(KEYS[1])
  if not meta then
    return { 'missing' }
  end
  local status = meta[1]
  if redis.call('HEXISTS', KEYS[6], nodeId) == 0 then
    return { 'unknown-node' }
  end

  local ctx = graphContext(meta, {
    queued = A[12], pending = A[16], skipped = A[13], skippedData = A[14], completedData = A[15],
  }, A)
  ctx.env.brief = true
  -- A map item's node: its map's record, decoded once for the whole commit.
  local itemMapId, itemIndex, itemLocalId = parseItemNodeId(nodeId)
  local itemRecord = itemMapId and getMap(ctx, itemMapId) or nil
  local round = itemRecord and itemRecord.round or 0

  if redis.call('HEXISTS', KEYS[2], nodeId) == 1 then
    return { 'ok', 0, status, 0, healReady(ctx, nodeId), {}, {}, {}, round, {}, {} }
  end

  redis.call('HSET', KEYS[2], nodeId, A[6])
  if A[23] ~= '' then
    redis.call('XADD', KEYS[12], '*', 'f', A[23] .. A[6] .. '}')
  end
  redis.call('HDEL', KEYS[3], nodeId)
  remainingAdd(ctx, -1)
  appendEvent(ctx.env, A[7], nodeId, A[8])
  if A[17] ~= '' and itemRecord and itemRecord.output == itemLocalId then
    redis.call('HSET', KEYS[10], itemMapId .. '[' .. itemIndex .. ']', A[17])
  end

  -- A wait resolved: once no node waits any more, the execution is running again.
  if status == 'waiting' then
    local stillWaiting = false
    for _, entry in ipairs(redis.call('HVALS', KEYS[3])) do
      if cjson.decode(entry).status == 'waiting' then
        stillWaiting = true
        break
      end
    end
    if not stillWaiting then
      status = 'running'
      redis.call('HSET', KEYS[1], 'status', 'running')
      appendEvent(ctx.env, 'execution.resumed', nil, cjson.encode({ nodeId = nodeId }))
    end
  end

  local takes = {}
  for _, child in ipairs(cjson.decode(A[9])) do
    takes[child] = true
  end
  -- Eager dispatch (startEager in apply-commit.ts): the first A[24] candidates made ready start here.
  local function startEager()
    local max = tonumber(A[24]) or 1
    local started = {}
    local input = nil
    for _, candidate in ipairs(cjson.decode(A[19])) do
      if #started >= max then
        break
      end
      local i = nil
      for j, id in ipairs(ctx.ready) do
        if id == candidate.id then
          i = j
          break
        end
      end
      if i then
        table.remove(ctx.ready, i)
        local itemField = candidate.map and (candidate.map .. '[' .. candidate.index .. ']') or nil
        local results, item = startNodeBody(ctx.k, ctx.env, candidate.id, A[21], A[22], candidate.reads, itemField)
        redis.call('HSET', KEYS[11], candidate.id, A[20])
        if not continuing then
          input = input or redis.call('HGET', KEYS[1], 'input')
        end
        started[#started + 1] = { candidate.id, input or 'null', results, item, candidate.map or '', candidate.index or 0 }
      end
    end
    return started
  end
  local function reply(finished)
    local now = redis.call('HGET', KEYS[1], 'status')
    local started = {}
    if A[19] ~= '' and not finished and isLive(now) then
      started = startEager()
    end
    local eager = table.remove(started, 1) or {}
    if finished and A[23] ~= '' then
      -- The execution's end goes to the flush log in the same step, after the node's entry.
      redis.call('XADD', KEYS[12], '*', 'f', '{"kind":"execution","executionId":' .. cjson.encode(A[1]) .. '}')
    end
    return { 'ok', 1, now, finished and 1 or 0, ctx.ready, ctx.skipped, ctx.env.events, ctx.settled, round, eager, started }
  end

  if not isLive(status) then
    countEdgesOnly(ctx, nodeId, takes)
    return reply(false)
  end
  if A[10] == '1' then
    countEdgesOnly(ctx, nodeId, takes)
    endMapWithExecution(ctx, nodeId, itemRecord)
    failExecution(ctx, A[11])
    return reply(true)
  end
  propagate(ctx, nodeId, takes)
  if A[18] == '1' and itemRecord then
    recordSoftFailure(ctx, itemMapId, itemRecord, nodeId, takes)
  end
  local ending = settleMapItem(ctx, nodeId, itemRecord)
  if ending and propagateMapEnd(ctx, ending) then
    return reply(true)
  end
  return reply(completeIfDone(ctx))
end

local steps = #ARGV / ARGS_PER_STEP
local replies = {}
for step = 0, steps - 1 do
  local A = {}
  for i = 1, ARGS_PER_STEP do
    A[i] = ARGV[step * ARGS_PER_STEP + i]
  end
  local reply = commitOne(A, step < steps - 1)
  replies[#replies + 1] = reply
  if step == steps - 1 then
    break
  end
  local nextId = ARGV[(step + 1) * ARGS_PER_STEP + 2]
  if reply[1] ~= 'ok' or reply[2] ~= 1 or reply[10][1] ~= nextId then
    break
  end
  reply[10] = { nextId, 'null', {}, '', '', 0 }
end
return replies
