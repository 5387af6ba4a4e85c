-- Merge functions shared by collect.lua and apply.lua (prepended to each when loaded).
-- The twin of tracker/merge.py: every kind is commutative, so arrival order does not matter.
--
-- Records are loaded once into Lua tables (Record), changed in memory, and written back with one
-- HSET of the changed fields: each redis.call costs a few microseconds of its own, so a batch makes
-- a handful of calls rather than one or two per op.

local MAX_KEYED_FIELDS, UTURN_MS = 48, 7000
local WINDOW = {'p1', 'p2', 'p3', 'p4'}

local Record = {}
Record.__index = Record

-- uncounted: fields the '+k' cap must not count (the dedup ring in the session hash)
local function load_record(key, uncounted)
  local flat = redis.call('HGETALL', key)
  local fields, size = {}, 0
  for i = 1, #flat, 2 do
    fields[flat[i]] = flat[i + 1]
    size = size + 1
  end
  return setmetatable({key = key, fields = fields, size = size, dirty = {}, uncounted = uncounted or {}}, Record)
end

local function new_record(key)
  return setmetatable({key = key, fields = {}, size = 0, dirty = {}, uncounted = {}, fresh = true}, Record)
end

function Record:get(field) return self.fields[field] end

function Record:set(field, value)
  if self.fields[field] == nil then self.size = self.size + 1 end
  self.fields[field] = value
  self.dirty[field] = true
end

function Record:counted_size()
  local size = self.size
  for field in pairs(self.uncounted) do
    if self.fields[field] ~= nil then size = size - 1 end
  end
  return size
end

-- One HSET of the changed fields (after a DEL when the record starts afresh).
function Record:save()
  if self.fresh then redis.call('DEL', self.key) end
  local args = {}
  for field in pairs(self.dirty) do
    args[#args + 1] = field
    args[#args + 1] = self.fields[field]
  end
  if #args > 0 then redis.call('HSET', self.key, unpack(args)) end
end

function Record:flat(skip)
  local out = {}
  for field, value in pairs(self.fields) do
    if not (skip and skip(field)) then
      out[#out + 1] = field
      out[#out + 1] = value
    end
  end
  return out
end

local function stamp(text)
  if not text then return -1 end
  return tonumber(string.match(text, '^(%-?%d+)'))
end

local function int_text(number)
  return string.format('%d', number)
end

local function float_text(number)
  return string.format('%.17g', number)
end

local function is_uturn(views)
  local t1, h1 = string.match(views[1], '^(%d+)|(.*)$')
  local t2, h2 = string.match(views[2], '^(%d+)|(.*)$')
  local _, h3 = string.match(views[3], '^(%d+)|(.*)$')
  return h1 == h3 and h1 ~= h2 and tonumber(t1) - tonumber(t2) <= UTURN_MS
end

local function page_view(record, value)
  local views = {}
  for i = 1, #WINDOW do
    local view = record:get(WINDOW[i])
    if view then
      if view == value then return end
      views[#views + 1] = view
    end
  end
  views[#views + 1] = value
  table.sort(views, function(a, b) return stamp(a) > stamp(b) end)
  local size = #WINDOW
  local retired = tonumber(record:get('ur') or '0')
  local latest = tonumber(record:get('ul') or '0')
  if #views > size and is_uturn({views[size - 1], views[size], views[size + 1]}) then
    retired = retired + 1
    record:set('ur', int_text(retired))
    latest = math.max(latest, stamp(views[size - 1]))
  end
  while #views > size do table.remove(views) end
  for i = 1, #views do record:set(WINDOW[i], views[i]) end
  local count = retired
  for i = 1, #views - 2 do
    if is_uturn({views[i], views[i + 1], views[i + 2]}) then
      count = count + 1
      latest = math.max(latest, stamp(views[i]))
    end
  end
  record:set('ut', int_text(count))
  if latest > 0 then record:set('ul', int_text(latest)) end
end

local function apply(record, field, kind, value)
  local current = record:get(field)
  if kind == '+' then
    record:set(field, int_text(tonumber(current or '0') + tonumber(value)))
  elseif kind == '+f' then
    record:set(field, float_text(tonumber(current or '0') + tonumber(value)))
  elseif kind == '+k' then
    if current or record:counted_size() < MAX_KEYED_FIELDS then
      record:set(field, int_text(tonumber(current or '0') + tonumber(value)))
    end
  elseif kind == '>' then
    if not current or tonumber(value) > tonumber(current) then record:set(field, value) end
  elseif kind == '<' then
    if not current or tonumber(value) < tonumber(current) then record:set(field, value) end
  elseif kind == '|' then
    record:set(field, tostring(bit.bor(tonumber(current or '0'), tonumber(value))))
  elseif kind == '=' then
    if stamp(value) > stamp(current) then record:set(field, value) end
  elseif kind == 'f' then
    if not current or stamp(value) < stamp(current) then record:set(field, value) end
  elseif kind == 'pv' then
    page_view(record, value)
  else
    error('unknown merge kind ' .. kind)
  end
end

-- Daily counters only ever add: increments are summed in Lua and sent as one HINCRBY each.
local Counters = {}
Counters.__index = Counters

local function new_counters(key)
  return setmetatable({key = key, adds = {}}, Counters)
end

function Counters:get() return nil end

function Counters:set() error('counters only add') end

function Counters:add(field, amount)
  self.adds[field] = (self.adds[field] or 0) + amount
end

function Counters:save(ttl_ms)
  local any = false
  for field, amount in pairs(self.adds) do
    redis.call('HINCRBY', self.key, field, amount)
    any = true
  end
  if any then redis.call('PEXPIRE', self.key, ttl_ms) end
end

local function apply_to(target, field, kind, value)
  if target.adds then
    if kind ~= '+' then error('counters only take + ops, not ' .. kind) end
    target:add(field, tonumber(value))
  else
    apply(target, field, kind, value)
  end
end
