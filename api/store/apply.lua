-- Merge ops that come from a decision rather than from events (an invitation offered, when the
-- evidence started): the same merge kinds as collect, no dedup, no log.
-- KEYS: 1 session hash, 2 visitor hash (one hash tag)
-- ARGV: 1 session id, 2 visitor ttl ms, 3 op count, then op count * (target, field, kind, value)
-- Session ops apply only while that session is still the visitor's current one, and nothing applies to a
-- visitor with no record (deleted, or expired): a decision or a chat ending after the visitor's deletion
-- must not bring back a record of them.

if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end

local session = load_record(KEYS[1], {f1 = true, f2 = true, f3 = true, f4 = true})
local visitor = load_record(KEYS[2])
local current = session:get('sid') == ARGV[1]
local targets = {v = visitor}
if current then targets.s = session end
local at = 4
for i = 1, tonumber(ARGV[3]) do
  local target = targets[ARGV[at]]
  if target then apply(target, ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]) end
  at = at + 4
end
session:save()
visitor:save()
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
return current and 1 or 0
