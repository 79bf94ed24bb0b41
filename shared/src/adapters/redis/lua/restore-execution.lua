--[[
  Writes a rebuilt execution's hot state (engine/rebuild.ts), unless the execution has some:
  the recovery sweep may race another worker's, or a late init. Appends no event.

  KEYS[1] meta  KEYS[2] results  KEYS[3] status  KEYS[4] pending  KEYS[5] taken  KEYS[6] children
  ARGV[1] meta fields, a JSON object of strings
  ARGV[2] results, ARGV[3] status entries, ARGV[6] children: JSON objects of id → JSON text
  ARGV[4] pending, ARGV[5] taken: JSON objects of id → integer

  Returns 1 when written, 0 when the execution had hot state.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
-- One HSET per field: unpack() of a large execution would overflow Lua's stack.
for i = 1, 6 do
  for field, value in pairs(cjson.decode(ARGV[i])) do
    redis.call('HSET', KEYS[i], field, type(value) == 'number' and string.format('%d', value) or value)
  end
end
return 1
