-- One collect request in one round trip: sessionise, dedupe, fold, log, count.
-- Twin of tracker/merge.py (ops), tracker/session.py (continuity, start_session) and
-- MemoryStore.ingest; the store contract tests hold them to the same results, and
-- tests/store/test_session_rules.py the session rules to tracker/session.py's.
--
-- KEYS: 1 session hash (its fields f1..f4 hold the dedup ring), 2 visitor hash, 3 log stream,
--       4 daily counters, 5 the log's newest entry time
--       (all share one hash tag: one Cluster slot)
-- ARGV: 1 session id, 2 visitor id, 3 received ms, 4 idle ms, 5 visitor ttl ms,
--       6 ring bytes, 7 log maxlen, 8 counters ttl ms, 9 batch first ts, 10 batch last ts,
--       11 event count, 12 oldest log entry id to keep (ms), 13 the batch's fingerprint,
--       14 msgpack events, each [record length in ARGV 17, ops, corrected ts], ops flat as target, field,
--          kind, value..., or '' (the usual first call: it is needed only when some event is a duplicate),
--       15 the events' fingerprints, 4 bytes each, concatenated,
--       16 msgpack [span op templates, the whole batch's ops folded (tracker.merge.combine)],
--       17 the whole batch's log records as one JSON array
-- Returns msgpack [fresh event indexes, duplicate count, 'new'|'same'|'stale',
--                  session fields flat (without the ring), visitor fields flat],
--         or [{}, duplicate count, 'events', {}, {}] having written nothing, when ARGV 14 is '' and the
--         batch mixes fresh and duplicate events: the caller calls again with the events.

local session_key, visitor_key, log_key, counters_key, log_time_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sid, visitor_id, received = ARGV[1], ARGV[2], ARGV[3]
local idle_ms, visitor_ttl, ring_bytes = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local log_maxlen, counters_ttl = ARGV[7], tonumber(ARGV[8])
local first_ts, last_ts = tonumber(ARGV[9]), tonumber(ARGV[10])

-- The dedup ring lives in the session hash as four 64-byte fields: values of at most 64 bytes keep
-- the hash listpack-encoded (compact), and the ring goes with the session when it rolls over.
local RING_FIELDS = {'f1', 'f2', 'f3', 'f4'}
local RING_SET = {f1 = true, f2 = true, f3 = true, f4 = true}

local session = load_record(session_key, RING_SET)
local visitor = load_record(visitor_key)
local counters = new_counters(counters_key)

local stored_sid, stored_start, stored_last = session:get('sid'), session:get('st'), session:get('ls')
local state = 'same'
if not stored_sid then
  state = 'new'
elseif stored_sid ~= sid then
  if stored_start and last_ts < tonumber(stored_start) then state = 'stale' else state = 'new' end
elseif stored_last and first_ts - tonumber(stored_last) > idle_ms then
  state = 'new'
end

if state == 'new' then
  session = new_record(session_key)
  session.uncounted = RING_SET
  session:set('sid', sid)
  apply(visitor, 'ns', '+', '1')
  counters:add('sessions', 1)
end

local ring = ''
for i = 1, #RING_FIELDS do ring = ring .. (session:get(RING_FIELDS[i]) or '') end

local function seen(fingerprint)
  local from = 1
  while true do
    local at = string.find(ring, fingerprint, from, true)
    if not at then return false end
    if (at - 1) % 4 == 0 then return true end
    from = at + 1
  end
end

local targets = {s = session, v = visitor, c = counters}
local function apply_flat(ops)
  for i = 1, #ops, 4 do apply_to(targets[ops[i]], ops[i + 1], ops[i + 2], ops[i + 3]) end
end

-- Dedup first: with no duplicate (the usual case) the batch's folded ops go in at once, and the
-- per-event arguments are never unpacked.
local fresh, duplicates = {}, 0
local whole_batch_seen = seen(ARGV[13])
if not whole_batch_seen then ring = ring .. ARGV[13] end
for index = 1, tonumber(ARGV[11]) do
  local fingerprint = string.sub(ARGV[15], index * 4 - 3, index * 4)
  if whole_batch_seen or seen(fingerprint) then
    duplicates = duplicates + 1
  else
    ring = ring .. fingerprint
    fresh[#fresh + 1] = index - 1
  end
end

-- A batch that mixes fresh and duplicate events (a retry merged with new ones, which is rare) needs
-- each event's own ops and record; the usual call leaves them out, so ask for them before writing.
if duplicates > 0 and #fresh > 0 and ARGV[14] == '' then
  return cmsgpack.pack({{}, duplicates, 'events', {}, {}})
end

local whole = cmsgpack.unpack(ARGV[16])
local log_value, first_fresh, last_fresh
if duplicates == 0 and #fresh > 0 then
  if state ~= 'stale' then apply_flat(whole[2]) end
  log_value, first_fresh, last_fresh = ARGV[17], first_ts, last_ts
elseif #fresh > 0 then
  local events, records, starts, at = cmsgpack.unpack(ARGV[14]), {}, {}, 2
  for i, event in ipairs(events) do  -- where each record starts in '[r1,r2,...]'
    starts[i] = at
    at = at + event[1] + 1
  end
  for _, index in ipairs(fresh) do
    local event = events[index + 1]
    records[#records + 1] = string.sub(ARGV[17], starts[index + 1], starts[index + 1] + event[1] - 1)
    first_fresh = math.min(first_fresh or event[3], event[3])
    last_fresh = math.max(last_fresh or event[3], event[3])
    if state ~= 'stale' then apply_flat(event[2]) end
  end
  log_value = '[' .. table.concat(records, ',') .. ']'
end

-- The time span, from fresh events only: a retry must not stretch the session (tracker.events.SPAN_OPS).
if first_fresh and state ~= 'stale' then
  local span = whole[1]
  for i = 1, #span, 4 do
    local value = span[i + 2] == '<' and first_fresh or last_fresh
    apply(targets[span[i]], span[i + 1], span[i + 2], int_text(value))
  end
end

if #ring > ring_bytes then ring = string.sub(ring, -ring_bytes) end
for i = 1, #RING_FIELDS do
  local chunk = string.sub(ring, (i - 1) * 64 + 1, i * 64)
  if #chunk > 0 and chunk ~= session:get(RING_FIELDS[i]) then session:set(RING_FIELDS[i], chunk) end
end

session:save()
visitor:save()
counters:save(counters_ttl)
redis.call('PEXPIRE', session_key, idle_ms + 60000)
redis.call('PEXPIRE', visitor_key, visitor_ttl)
if log_value then
  -- Entry ids are the arrival time, kept non-decreasing when workers' clocks disagree.
  local logged = math.max(tonumber(received), tonumber(redis.call('GET', log_time_key) or '0'))
  redis.call('SET', log_time_key, int_text(logged))
  redis.call('XADD', log_key, 'MAXLEN', '~', log_maxlen, int_text(logged) .. '-*',
    'v', visitor_id, 's', sid, 'e', log_value)
  if logged % 16 == 0 then  -- age trimming now and then is enough: MAXLEN bounds the stream anyway
    redis.call('XTRIM', log_key, 'MINID', '~', ARGV[12])
  end
end
if state == 'stale' then fresh = {} end
-- One msgpack string rather than nested arrays: the worker decodes it in one C call instead of
-- taking ~60 reply strings apart one by one.
return cmsgpack.pack({fresh, duplicates, state, session:flat(function(field) return RING_SET[field] end),
  visitor:flat()})
