// The one Lua script behind presence across nodes. Redis runs it atomically, so exactly one node
// sees each cluster-wide change (the first connection of a user anywhere, the last one gone) and
// announces it.
//
// Keys (one hash slot, `{presence}`, so it also runs on one Redis Cluster shard):
//   <prefix>:{presence}:nodes        sorted set: node id → deadline (ms, Redis clock)
//   <prefix>:{presence}:online       hash: key → number of nodes holding it
//   <prefix>:{presence}:node:<id>    set: the keys one node holds
// A key is `u:<user id>` (the user has a connection on that node) or `r:<room id>:<user id>` (a
// connection onto that room). Every call also refreshes the caller's deadline and sweeps the
// nodes whose deadline passed: their keys are taken back as if they had disconnected.
//
// ARGV: node id, ttl (ms), mode, prefix of node set keys, number of keys to add, the keys to
// add, then the keys to remove. Modes: `delta` (add and remove those keys; refused with
// {"resync"} when this node was swept meanwhile), `full` (the node holds exactly the keys to
// add), `leave` (the node holds nothing and is forgotten).
// Returns the changes: `+key` (now held by one node), `-key` (by none), `!node` (swept).
export const PRESENCE_SCRIPT = `
local nodes, counts, mine = KEYS[1], KEYS[2], KEYS[3]
local node, ttl, mode, setPrefix = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local nadd = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local changes = {}
local function up(key)
  if redis.call('HINCRBY', counts, key, 1) == 1 then changes[#changes + 1] = '+' .. key end
end
local function down(key)
  if redis.call('HINCRBY', counts, key, -1) <= 0 then
    redis.call('HDEL', counts, key)
    changes[#changes + 1] = '-' .. key
  end
end
if mode == 'delta' and not redis.call('ZSCORE', nodes, node) then
  return {'resync'}
end
if mode == 'delta' then
  for i = 6, 5 + nadd do
    if redis.call('SADD', mine, ARGV[i]) == 1 then up(ARGV[i]) end
  end
  for i = 6 + nadd, #ARGV do
    if redis.call('SREM', mine, ARGV[i]) == 1 then down(ARGV[i]) end
  end
else
  local want = {}
  for i = 6, 5 + nadd do want[ARGV[i]] = true end
  for _, key in ipairs(redis.call('SMEMBERS', mine)) do
    if want[key] then want[key] = false
    else
      redis.call('SREM', mine, key)
      down(key)
    end
  end
  for i = 6, 5 + nadd do
    local key = ARGV[i]
    if want[key] then
      want[key] = false
      redis.call('SADD', mine, key)
      up(key)
    end
  end
end
if mode == 'leave' then
  redis.call('ZREM', nodes, node)
  redis.call('DEL', mine)
else
  redis.call('ZADD', nodes, now + ttl, node)
end
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', nodes, '-inf', '(' .. now)) do
  if dead ~= node then
    local key = setPrefix .. dead
    for _, k in ipairs(redis.call('SMEMBERS', key)) do down(k) end
    redis.call('DEL', key)
    redis.call('ZREM', nodes, dead)
    changes[#changes + 1] = '!' .. dead
  end
end
return changes
`;

export function presenceKeys(prefix: string, nodeId: string) {
  const base = `${prefix}:{presence}`;
  return {
    nodes: `${base}:nodes`,
    online: `${base}:online`,
    nodeSetPrefix: `${base}:node:`,
    mine: `${base}:node:${nodeId}`,
  };
}
