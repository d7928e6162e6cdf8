-- Push back the deadline of a worker's leases. KEYS: as push.lua.
-- ARGV: 1 lease seconds, 2 worker id, 3.. the ids it holds (a lease another worker took over is left alone).
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local renewed = 0
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[4], ARGV[i]) == ARGV[2] then
    redis.call('ZADD', KEYS[3], 'XX', now + tonumber(ARGV[1]), ARGV[i]); renewed = renewed + 1
  end
end
return renewed
