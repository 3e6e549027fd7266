-- wrk script of the HTTP benchmark (bench/runner.py writes its input files).
--
-- BENCH_REQUESTS   one request a line: METHOD <tab> PATH [<tab> BODY]; threads take every
--                  N-th line, so no two threads send the same request
-- BENCH_HEADERS    "Name: value" lines sent with every request (authentication, proxy headers)
-- BENCH_THREADS    wrk's -t, to split the lines
-- BENCH_ONCE       "1": each line is sent at most once (bookings, new records); a thread that
--                  has sent all of its lines stops, and the run reports it as exhausted
--
-- done() prints one line "BENCH_JSON {...}": requests, duration, errors, latency percentiles
-- (microseconds), status counts, and the X-Query-Count / X-Query-Time-Ms headers sampled from
-- every response.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

local function split_tabs(line)
   local fields = {}
   for field in (line .. "\t"):gmatch("([^\t]*)\t") do
      fields[#fields + 1] = field
   end
   return fields
end

function init(args)
   local headers = {}
   for line in io.lines(os.getenv("BENCH_HEADERS")) do
      local name, value = line:match("^([^:]+):%s*(.*)$")
      if name then
         headers[name] = value
      end
   end
   local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
   once = os.getenv("BENCH_ONCE") == "1"
   prepared = {}
   local index = 0
   for line in io.lines(os.getenv("BENCH_REQUESTS")) do
      if line ~= "" then
         if index % nthreads == id then
            local fields = split_tabs(line)
            local body = fields[3]
            if body == "" then
               body = nil
            end
            prepared[#prepared + 1] = wrk.format(fields[1], fields[2], headers, body)
         end
         index = index + 1
      end
   end
   position = 0
   sent = 0
   statuses = {}
   queries = {}
   db_ms = {}
   exhausted = 0
end

function request()
   position = position + 1
   if position > #prepared then
      if once then
         exhausted = 1
         position = #prepared
      else
         position = 1
      end
   end
   sent = sent + 1
   return prepared[position]
end

function response(status, headers, body)
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
   local count = tonumber(headers["X-Query-Count"])
   if count then
      queries[#queries + 1] = count
   end
   local ms = tonumber(headers["X-Query-Time-Ms"])
   if ms then
      db_ms[#db_ms + 1] = ms
   end
   if once and sent >= #prepared then
      exhausted = 1
      wrk.thread:stop()
   end
end

local function encode(value)
   local kind = type(value)
   if kind == "table" then
      local parts = {}
      if #value > 0 or next(value) == nil then
         for _, item in ipairs(value) do
            parts[#parts + 1] = encode(item)
         end
         return "[" .. table.concat(parts, ",") .. "]"
      end
      for k, item in pairs(value) do
         parts[#parts + 1] = string.format("%q:%s", tostring(k), encode(item))
      end
      return "{" .. table.concat(parts, ",") .. "}"
   elseif kind == "number" then
      if value ~= value or value == math.huge or value == -math.huge then
         return "null"
      end
      return string.format("%.17g", value)
   elseif kind == "boolean" then
      return tostring(value)
   elseif kind == "nil" then
      return "null"
   end
   return string.format("%q", tostring(value))
end

function done(summary, latency, requests)
   local all_statuses, all_queries, all_db_ms = {}, {}, {}
   local any_exhausted = false
   for _, thread in ipairs(threads) do
      for code, n in pairs(thread:get("statuses") or {}) do
         all_statuses[code] = (all_statuses[code] or 0) + n
      end
      for _, n in ipairs(thread:get("queries") or {}) do
         all_queries[#all_queries + 1] = n
      end
      for _, n in ipairs(thread:get("db_ms") or {}) do
         all_db_ms[#all_db_ms + 1] = n
      end
      if thread:get("exhausted") == 1 then
         any_exhausted = true
      end
   end
   local percentiles = {}
   for _, p in ipairs({ 50, 90, 95, 99 }) do
      percentiles["p" .. p] = latency:percentile(p)
   end
   io.write("BENCH_JSON ", encode({
      requests = summary.requests,
      duration_us = summary.duration,
      bytes = summary.bytes,
      errors = {
         connect = summary.errors.connect,
         read = summary.errors.read,
         write = summary.errors.write,
         status = summary.errors.status,
         timeout = summary.errors.timeout,
      },
      latency_us = {
         min = latency.min,
         max = latency.max,
         mean = latency.mean,
         stdev = latency.stdev,
         p50 = percentiles.p50,
         p90 = percentiles.p90,
         p95 = percentiles.p95,
         p99 = percentiles.p99,
      },
      statuses = all_statuses,
      queries = all_queries,
      db_ms = all_db_ms,
      exhausted = any_exhausted,
   }), "\n")
end
