// The Lua scripts the fleet bus runs in Redis (EVAL). Each runs atomically, which is what
// makes a room's sequence numbers, its history stream and its pub/sub order agree: seq N is
// assigned, stored as stream entry "N-0" and published in one step, so every instance
// receives a room's messages in seq order and history never has a seq the bus skipped.
#pragma once

namespace backend::bus::scripts {

// KEYS: seq, hist[, cid]   ARGV: maxlen, message json, channel, message id
// -> {seq, duplicate(0|1), id}. With a cid key already set, the message was committed before
// (a client retry after a lost ack): nothing is written and the first seq and id are returned.
inline constexpr const char* kCommit = R"lua(
if #KEYS == 3 then
  local prev = redis.call('GET', KEYS[3])
  if prev then
    local sp = string.find(prev, ' ', 1, true)
    if not sp then return {tonumber(prev), 1, ''} end
    return {tonumber(string.sub(prev, 1, sp - 1)), 1, string.sub(prev, sp + 1)}
  end
end
local seq = redis.call('INCR', KEYS[1])
local id = string.format('%d-0', seq)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], id, 'm', ARGV[2])
if #KEYS == 3 then redis.call('SET', KEYS[3], string.format('%d ', seq) .. ARGV[4], 'EX', 600) end
redis.call('PUBLISH', ARGV[3], string.format('m %d ', seq) .. ARGV[2])
return {seq, 0, ARGV[4]}
)lua";

// KEYS: seq, hist   ARGV: since (-1: head only), count
// -> {head, entries} where entries are XRANGE results with seq > since, at most count.
inline constexpr const char* kHistory = R"lua(
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
if since < 0 then return {head, {}} end
return {head, redis.call('XRANGE', KEYS[2], string.format('%d-0', since + 1), '+', 'COUNT', ARGV[2])}
)lua";

// KEYS: presence   ARGV: instance key prefix
// -> flat {sid, json, ...} of members whose instance is alive with the same epoch; entries of
// dead or restarted instances are deleted on the way (they said no goodbye).
inline constexpr const char* kPresence = R"lua(
local all = redis.call('HGETALL', KEYS[1])
local out, alive, stale = {}, {}, {}
for i = 1, #all, 2 do
  local ok, v = pcall(cjson.decode, all[i + 1])
  local live = false
  if ok and type(v) == 'table' and v.server and v.epoch then
    local e = alive[v.server]
    if e == nil then
      e = redis.call('GET', ARGV[1] .. v.server) or false
      alive[v.server] = e
    end
    live = (e == v.epoch)
  end
  if live then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  else
    stale[#stale + 1] = all[i]
  end
end
for i = 1, #stale, 1000 do
  redis.call('HDEL', KEYS[1], unpack(stale, i, math.min(i + 999, #stale)))
end
return out
)lua";

// KEYS: instance   ARGV: epoch. Deletes the liveness key only if it is still ours.
inline constexpr const char* kGoodbye = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

}  // namespace backend::bus::scripts
