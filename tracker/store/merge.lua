-- Merge functions shared by collect.lua and apply.lua (prepended to each when loaded).
-- The twin of tracker/merge.py: every kind is commutative, so arrival order does not matter.

local MAX_KEYED_FIELDS, UTURN_MS = 48, 7000
-- Fields of a record that the '+k' cap must not count (the dedup ring in the session hash).
local uncounted_fields = {}

local function stamp(text)
  if not text then return -1 end
  return tonumber(string.match(text, '^(%-?%d+)'))
end

local function is_uturn(views)
  local t1, h1 = string.match(views[1], '^(%d+)|(.*)$')
  local t2, h2 = string.match(views[2], '^(%d+)|(.*)$')
  local _, h3 = string.match(views[3], '^(%d+)|(.*)$')
  return h1 == h3 and h1 ~= h2 and tonumber(t1) - tonumber(t2) <= UTURN_MS
end

local WINDOW = {'p1', 'p2', 'p3', 'p4'}

local function page_view(key, value)
  local current = redis.call('HMGET', key, unpack(WINDOW))
  local views = {}
  for i = 1, #WINDOW do
    if current[i] then
      if current[i] == value then return end
      views[#views + 1] = current[i]
    end
  end
  views[#views + 1] = value
  table.sort(views, function(a, b) return stamp(a) > stamp(b) end)
  local size = #WINDOW
  local retired = tonumber(redis.call('HGET', key, 'ur') or '0')
  local latest = tonumber(redis.call('HGET', key, 'ul') or '0')
  if #views > size and is_uturn({views[size - 1], views[size], views[size + 1]}) then
    retired = retired + 1
    redis.call('HSET', key, 'ur', tostring(retired))
    latest = math.max(latest, stamp(views[size - 1]))
  end
  while #views > size do table.remove(views) end
  for i = 1, #views do redis.call('HSET', key, WINDOW[i], views[i]) end
  local count = retired
  for i = 1, #views - 2 do
    if is_uturn({views[i], views[i + 1], views[i + 2]}) then
      count = count + 1
      latest = math.max(latest, stamp(views[i]))
    end
  end
  redis.call('HSET', key, 'ut', tostring(count))
  if latest > 0 then redis.call('HSET', key, 'ul', tostring(latest)) end
end

local function apply(key, field, kind, value)
  if kind == '+' then
    redis.call('HINCRBY', key, field, value)
  elseif kind == '+f' then
    redis.call('HINCRBYFLOAT', key, field, value)
  elseif kind == '+k' then
    local size = redis.call('HLEN', key) - (uncounted_fields[key] or 0)
    if redis.call('HEXISTS', key, field) == 1 or size < MAX_KEYED_FIELDS then
      redis.call('HINCRBY', key, field, value)
    end
  elseif kind == '>' or kind == '<' then
    local current = redis.call('HGET', key, field)
    if not current or (kind == '>' and tonumber(value) > tonumber(current))
        or (kind == '<' and tonumber(value) < tonumber(current)) then
      redis.call('HSET', key, field, value)
    end
  elseif kind == '|' then
    local current = tonumber(redis.call('HGET', key, field) or '0')
    redis.call('HSET', key, field, tostring(bit.bor(current, tonumber(value))))
  elseif kind == '=' then
    if stamp(value) > stamp(redis.call('HGET', key, field)) then redis.call('HSET', key, field, value) end
  elseif kind == 'f' then
    local current = redis.call('HGET', key, field)
    if not current or stamp(value) < stamp(current) then redis.call('HSET', key, field, value) end
  elseif kind == 'pv' then
    page_view(key, value)
  else
    return redis.error_reply('unknown merge kind ' .. kind)
  end
end

