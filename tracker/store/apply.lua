-- Merge ops that come from a decision rather than from events (an invitation offered, when the
-- evidence started): the same merge kinds as collect, no dedup, no log.
-- KEYS: 1 session hash, 2 visitor hash (one hash tag)
-- ARGV: 1 session id, 2 visitor ttl ms, 3 op count, then op count * (target, field, kind, value)
-- Session ops apply only while that session is still the visitor's current one.

local session_key, visitor_key = KEYS[1], KEYS[2]
local current = redis.call('HGET', session_key, 'sid')
local keys = {v = visitor_key}
if current == ARGV[1] then keys.s = session_key end
uncounted_fields[session_key] = 4
local at = 4
for i = 1, tonumber(ARGV[3]) do
  local key = keys[ARGV[at]]
  if key then apply(key, ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]) end
  at = at + 4
end
redis.call('PEXPIRE', visitor_key, tonumber(ARGV[2]))
return current == ARGV[1] and 1 or 0
