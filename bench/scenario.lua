-- wrk script: runs one scenario of bench/scenarios.py (the data, written as a Lua table by the
-- bench into BENCH_SCENARIO), one connection per thread for a cycle of several steps.
-- Environment: BENCH_SCENARIO (the table's file), BENCH_TOKEN (the server's bearer token).
-- done() prints one JSON line (BENCH_JSON ...) that bench/load.py reads.
local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("index", thread_count)
   table.insert(threads, thread)
end

local function expand(template, values)
   if template == nil then return nil end
   return (template:gsub("%$([%a_][%w_]*)", function(name) return values[name] or ("$" .. name) end))
end

local function start_cycle()
   cycle = cycle + 1
   step = 1
   values = { n = tostring(index), cycle = tostring(cycle), token = token, tenant = scenario.tenant }
   for _, variable in ipairs(scenario.variables) do
      values[variable[1]] = expand(variable[2], values)
   end
end

function init(args)
   scenario = dofile(os.getenv("BENCH_SCENARIO"))
   token = os.getenv("BENCH_TOKEN") or "token"
   cycles, wrong, cycle = 0, 0, 0
   start_cycle()
end

local function build_request()
   local current = scenario.steps[step]
   local headers = {}
   for _, pair in ipairs(current.headers) do
      headers[pair[1]] = expand(pair[2], values)
   end
   return wrk.format(current.method, expand(current.path, values), headers, expand(current.body, values))
end

function request()
   if scenario.static then  -- the same bytes every time: formatted once
      cached = cached or build_request()
      return cached
   end
   return build_request()
end

function response(status, headers, body)
   local current = scenario.steps[step]
   if status ~= current.expect then
      wrong = wrong + 1
      start_cycle()
      return
   end
   if current.capture then
      local found = body:match('"' .. current.capture .. '"%s*:%s*"([^"]+)"')
      if not found then
         wrong = wrong + 1
         start_cycle()
         return
      end
      values[current.capture_as] = found
   end
   if step == #scenario.steps then
      cycles = cycles + 1
      start_cycle()
   else
      step = step + 1
   end
end

function done(summary, latency, requests)
   local cycles_total, wrong_total = 0, 0
   for _, thread in ipairs(threads) do
      cycles_total = cycles_total + thread:get("cycles")
      wrong_total = wrong_total + thread:get("wrong")
   end
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "cycles": %d, "wrong": %d, "errors": %d, '
         .. '"p50_us": %d, "p99_us": %d}\n',
      summary.requests, summary.duration, cycles_total, wrong_total,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      latency:percentile(50), latency:percentile(99)))
end
