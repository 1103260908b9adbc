-- Keelson log record normalization, run by Fluent Bit's lua filter after the kubernetes filter
-- (JSON app logs already merged into the record) and the access-log parser filter.
--
--   normalize(tag, timestamp, record) -> 2, timestamp, record   (2: record changed, time kept)
--
-- * level:     the app's own level (level, severity, lvl, log_level; zap/pino/syslog spellings),
--              canonical debug|info|warning|error|critical; without one, derived from the HTTP
--              status: 5xx error, 4xx warning, anything else info.
-- * method, path, status, duration (seconds): from the common JSON spellings (podinfo logs 'uri').
-- * service, version: the pod's app.kubernetes.io/name and app.kubernetes.io/version labels.
-- * message:   'msg' or the raw line; timestamp: the record time as RFC 3339 UTC (milliseconds),
--              replacing the app's own time fields so every record carries one format.
--
-- Written for Lua 5.1 (Fluent Bit embeds LuaJIT) and tested with Lua 5.4.
-- Ref: https://docs.fluentbit.io/manual/pipeline/filters/lua

local LEVEL_KEYS = { "level", "severity", "lvl", "log_level", "loglevel" }

local LEVELS = {
  trace = "debug", debug = "debug", dbg = "debug",
  info = "info", information = "info", informational = "info", notice = "info",
  warn = "warning", warning = "warning",
  err = "error", error = "error",
  crit = "critical", critical = "critical", fatal = "critical", panic = "critical", dpanic = "critical",
  alert = "critical", emerg = "critical", emergency = "critical",
}

local HTTP_FIELDS = {
  method = { "method", "http_method", "request_method" },
  path = { "path", "uri", "url", "request_uri" },
  status = { "status", "status_code", "statusCode", "http_status" },
  duration = { "duration", "duration_seconds", "request_time", "latency" },
}

local APP_TIME_KEYS = { "time", "ts", "@timestamp" }

local function first(record, keys)
  for _, key in ipairs(keys) do
    if record[key] ~= nil then
      return record[key]
    end
  end
  return nil
end

local function numeric_level(value)
  -- pino/bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal
  if value >= 60 then return "critical" end
  if value >= 50 then return "error" end
  if value >= 40 then return "warning" end
  if value >= 30 then return "info" end
  return "debug"
end

local function severity(record)
  for _, key in ipairs(LEVEL_KEYS) do
    local value = record[key]
    if type(value) == "string" then
      local level = LEVELS[string.lower((string.gsub(value, "^%s*(.-)%s*$", "%1")))]
      if level then return level end
    elseif type(value) == "number" then
      return numeric_level(value)
    end
  end
  local status = tonumber(record.status)
  if status == nil then return "info" end
  if status >= 500 then return "error" end
  if status >= 400 then return "warning" end
  return "info"
end

local function pod_label(record, name)
  local kubernetes = record.kubernetes
  if type(kubernetes) ~= "table" or type(kubernetes.labels) ~= "table" then
    return nil
  end
  return kubernetes.labels[name]
end

local function rfc3339(timestamp)
  local seconds = math.floor(timestamp)
  local millis = math.min(999, math.floor((timestamp - seconds) * 1000 + 0.5))
  return os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%03dZ", millis)
end

function normalize(tag, timestamp, record)
  record.method = first(record, HTTP_FIELDS.method)
  record.path = first(record, HTTP_FIELDS.path)
  record.status = tonumber(first(record, HTTP_FIELDS.status))
  local duration = tonumber(first(record, HTTP_FIELDS.duration))
  if duration == nil and tonumber(record.duration_ms) ~= nil then
    duration = tonumber(record.duration_ms) / 1000
  end
  record.duration = duration

  record.level = severity(record)

  local kubernetes = type(record.kubernetes) == "table" and record.kubernetes or {}
  record.service = pod_label(record, "app.kubernetes.io/name") or pod_label(record, "app")
    or record.service or kubernetes.container_name
  record.version = pod_label(record, "app.kubernetes.io/version") or record.version

  if record.message == nil then
    record.message = record.msg or record.log
  end
  record.msg = nil
  if record.log == record.message then
    record.log = nil
  end

  for _, key in ipairs(APP_TIME_KEYS) do
    record[key] = nil
  end
  record.timestamp = rfc3339(timestamp)
  return 2, timestamp, record
end
