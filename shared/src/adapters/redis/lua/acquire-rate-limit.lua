--[[
  Takes a slot of a fleet-wide rate limit when every limit allows it, or nothing at all.
  Sliding windows: a start is admitted when fewer than the limit started in the window that
  ends now, so no rolling window of that length ever holds more. Time is Redis' own clock
  (TIME), never a client's: workers whose clocks drift still share one timeline.
  Port of MemoryRateLimiter (shared/src/adapters/memory/memory-rate-limiter.ts).

  KEYS[1] starts  zset: lease id → start time (ms); entries older than the minute window are trimmed
  KEYS[2] held    zset: lease id → lease expiry (ms); expired entries are dropped
  ARGV[1] lease id (unique per acquire)
  ARGV[2] requests per second (0 = no limit)
  ARGV[3] requests per minute (0 = no limit)
  ARGV[4] max concurrent leases (0 = no limit)
  ARGV[5] lease ms
  ARGV[6] retry hint for a concurrency refusal, ms

  Returns one of
    { 1 }                           taken: the start is recorded, the lease held until released or expired
    { 0, retryAfterMs, reason }     refused (reason 'second' | 'minute' | 'concurrent'); nothing taken
]]
if redis.replicate_commands then redis.replicate_commands() end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local leaseId = ARGV[1]
local perSecond = tonumber(ARGV[2])
local perMinute = tonumber(ARGV[3])
local maxConcurrent = tonumber(ARGV[4])
local leaseMs = tonumber(ARGV[5])
local concurrencyHint = tonumber(ARGV[6])

local wait = 0
local reason = ''

-- Starts after `now - windowMs` are in the window; while `limit` or more are, the one that
-- must leave for a slot to open is the (count - limit + 1)-th oldest, at its start + windowMs.
local function checkWindow(limit, windowMs, name)
  if limit <= 0 then return end
  local from = '(' .. (now - windowMs)
  local count = redis.call('ZCOUNT', KEYS[1], from, '+inf')
  if count < limit then return end
  local blocking = redis.call('ZRANGEBYSCORE', KEYS[1], from, '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
  local frees = math.max(1, tonumber(blocking[2]) + windowMs - now)
  if frees > wait then
    wait = frees
    reason = name
  end
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60050)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)

-- Windows carry a 50 ms margin (RATE_LIMIT_WINDOW_MS): the provider counts arrivals on its own
-- clock, after network jitter, and must still never see more than the limit in any second.
checkWindow(perSecond, 1050, 'second')
checkWindow(perMinute, 60050, 'minute')

if maxConcurrent > 0 then
  local held = redis.call('ZCARD', KEYS[2])
  if held >= maxConcurrent then
    local blocking = redis.call('ZRANGE', KEYS[2], held - maxConcurrent, held - maxConcurrent, 'WITHSCORES')
    local frees = math.max(1, math.min(concurrencyHint, tonumber(blocking[2]) - now))
    if frees > wait then
      wait = frees
      reason = 'concurrent'
    end
  end
end

if wait > 0 then
  return { 0, wait, reason }
end

if perSecond > 0 or perMinute > 0 then
  redis.call('ZADD', KEYS[1], now, leaseId)
  redis.call('PEXPIRE', KEYS[1], 61050)
end
if maxConcurrent > 0 then
  redis.call('ZADD', KEYS[2], now + leaseMs, leaseId)
  if redis.call('PTTL', KEYS[2]) < leaseMs + 1000 then
    redis.call('PEXPIRE', KEYS[2], leaseMs + 1000)
  end
end
return { 1 }
