--[[
  Gives an ended execution's keys their TTL (the flusher calls it once Postgres has the final
  row). An execution re-opened meanwhile (a retry racing the flush) is running again: its keys
  are left without TTL.

  KEYS: every key of the execution, meta first   ARGV[1] TTL in seconds (≤ 0 deletes)
  Returns 1 when the TTL was set, 0 when the execution is live.
]]
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'running' or status == 'waiting' or status == 'queued' then
  return 0
end
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ARGV[1])
end
return 1
