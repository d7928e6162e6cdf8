-- Queue a request. KEYS: 1 queue (zset id -> -priority), 2 payload (hash id -> request),
-- 3 leases (zset id -> deadline), 4 owners (hash id -> worker), 5 (optional) the dupefilter's set.
-- ARGV: 1 new id, 2 score, 3 serialised request, 4 id of the lease it replaces ('' for none),
-- 5 (optional) the request's fingerprint.
-- "Seen" and "queued" are one step, so a worker dying in between cannot leave a request marked seen
-- but never queued. A retry or redirect replaces its original here, so neither is lost nor both done.
if KEYS[5] and redis.call('SADD', KEYS[5], ARGV[5]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if ARGV[4] ~= '' then
  redis.call('ZREM', KEYS[3], ARGV[4]); redis.call('ZREM', KEYS[1], ARGV[4])
  redis.call('HDEL', KEYS[2], ARGV[4]); redis.call('HDEL', KEYS[4], ARGV[4])
end
return 1
