-- Lease the first queued request. KEYS: as push.lua. ARGV: 1 lease seconds, 2 worker id.
-- Returns {id, request}, or false when the queue is empty. Timed by Redis's clock, not the worker's.
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
while true do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then return false end
  local id = popped[1]
  local data = redis.call('HGET', KEYS[2], id)
  if data then
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[1]), id)
    redis.call('HSET', KEYS[4], id, ARGV[2])
    return {id, data}
  end
end
