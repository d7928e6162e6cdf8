-- Forget requests that are completely done. KEYS: as push.lua. ARGV: their ids.
for i = 1, #ARGV do
  redis.call('ZREM', KEYS[3], ARGV[i]); redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i]); redis.call('HDEL', KEYS[4], ARGV[i])
end
return #ARGV
