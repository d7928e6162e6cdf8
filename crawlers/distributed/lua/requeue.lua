-- Put leases back in the queue. KEYS: as push.lua.
-- ARGV: 1 score for requeued ids; 2 'expired' (every lease whose deadline passed) or a worker id
-- giving back its leases ARGV[3..]. Returns how many were requeued.
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ids
if ARGV[2] == 'expired' then
  ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
else
  ids = {}
  for i = 3, #ARGV do
    if redis.call('HGET', KEYS[4], ARGV[i]) == ARGV[2] then table.insert(ids, ARGV[i]) end
  end
end
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[3], id); redis.call('HDEL', KEYS[4], id)
  if redis.call('HEXISTS', KEYS[2], id) == 1 then redis.call('ZADD', KEYS[1], ARGV[1], id) end
end
return #ids
