--[[
  Included (--- @include) by the scripts that end a map: the map node's result and event, built
  as JSON text (the items' output slots are concatenated, never decoded, so that cjson cannot
  round numbers). Port of mapResult in shared/src/engine/apply-map.ts: keep them in step.
]]
--- @include "includes/map-items.lua"

-- ISO time (Date#toISOString) → epoch ms.
local function isoMs(text)
  local y, mo, d, h, mi, s, ms = string.match(text or '', '^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.?(%d*)Z$')
  if not y then
    return nil
  end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then
    y = y - 1
  end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((mo + 9) % 12) + 2) / 5) + d - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
  local frac = 0
  if ms ~= '' then
    frac = math.floor(tonumber(ms) * 10 ^ (3 - #ms))
  end
  return ((days * 24 + tonumber(h)) * 60 + tonumber(mi)) * 60000 + tonumber(s) * 1000 + frac
end

local function jsonOrNull(value)
  if value == nil or value == cjson.null then
    return 'null'
  end
  return cjson.encode(value)
end

-- The map node's result JSON and its event's type and data JSON. `outputJson` is raw JSON
-- (the slots are concatenated, never decoded: cjson would round numbers); `error` a table or nil.
local function mapResultJson(ctx, mapId, record, outputJson, err)
  local entryJson = redis.call('HGET', ctx.k.status, mapId)
  local entry = entryJson and cjson.decode(entryJson) or {}
  local startedAt = entry.startedAt
  if startedAt == cjson.null then
    startedAt = nil
  end
  local runtime = 'null'
  local from, to = isoMs(startedAt), isoMs(ctx.at)
  if from and to then
    runtime = string.format('%d', math.max(0, to - from))
  end
  local attempts = string.format('%d', tonumber(entry.attempts) or 1)
  local errorJson = 'null'
  if err then
    errorJson = cjson.encode({ code = err.code, category = err.category, message = err.message })
  end
  -- A map cut by its execution's cancel is cancelled, as its running item nodes are.
  local status = err and (err.code == 'node_cancelled' and 'cancelled' or 'failed') or 'completed'
  local result = '{"status":"' .. status .. '","output":' .. outputJson .. ',"error":' .. errorJson
    .. ',"usage":null,"cost":null,"attempts":' .. attempts
    .. ',"input":{"count":' .. string.format('%d', record.count) .. ',"concurrency":' .. string.format('%d', record.concurrency) .. '}'
    .. ',"provider":null,"model":null,"workerId":' .. jsonOrNull(entry.workerId)
    .. ',"startedAt":' .. jsonOrNull(startedAt) .. ',"finishedAt":' .. cjson.encode(ctx.at) .. ',"runtimeMs":' .. runtime .. '}'
  local eventType, data
  if err then
    eventType = 'node.' .. status
    data = '{"error":' .. errorJson .. ',"attempts":' .. attempts .. ',"runtimeMs":' .. runtime .. '}'
  else
    eventType = 'node.completed'
    data = '{"output":' .. outputJson .. ',"usage":null,"cost":null,"pricing":null,"pricedAs":null,"attempts":' .. attempts .. ',"runtimeMs":' .. runtime
      .. ',"provider":null,"model":null}'
  end
  return result, eventType, data, errorJson
end

local function slotsJson(ctx, mapId, record)
  local slots = {}
  for index = 0, record.count - 1 do
    if itemMark(record, index) == 'f' then
      local failure = itemFailure(ctx, mapId, record, index)
      slots[#slots + 1] = '{"error":' .. jsonOrNull(failure) .. '}'
    else
      slots[#slots + 1] = redis.call('HGET', ctx.k.slots, mapId .. '[' .. index .. ']') or 'null'
    end
  end
  return '[' .. table.concat(slots, ',') .. ']'
end
