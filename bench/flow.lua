-- wrk script: complete password-reset flows. Run it with one connection per thread (-tN -cN):
-- each thread walks its own customer (BENCH_EMAIL_PREFIX<n>@example.com) through
--   1. POST /customer/{tenant}/password/reset          (anonymous token)        -> 204
--   2. GET  /_mock/outbox/latest?to=...&kind=...       (read the emailed token) -> 200
--   3. POST /customer/{tenant}/password/reset/update   (token, new password)    -> 204
--   4. log in with the new password: POST /customer/{tenant}/login (BENCH_LOGIN=storefront, 200)
--      or POST /_mock/tokens with email and password (BENCH_LOGIN=mock, 201)
-- A wrong status restarts the flow and counts as a failure. done() prints one JSON line.
local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("index", thread_count)
   table.insert(threads, thread)
end

function init(args)
   tenant = os.getenv("BENCH_TENANT") or "demo"
   email = (os.getenv("BENCH_EMAIL_PREFIX") or "bench-flow-") .. index .. "@example.com"
   storefront_login = os.getenv("BENCH_LOGIN") == "storefront"
   headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "token"),
   }
   step, flows, failures, generation = 1, 0, 0, 0
   reset_token, password = nil, nil
end

local function login_request()
   local credentials = '"email": "' .. email .. '", "password": "' .. password .. '"'
   if storefront_login then
      return wrk.format("POST", "/customer/" .. tenant .. "/login", headers, "{" .. credentials .. "}")
   end
   return wrk.format("POST", "/_mock/tokens", headers,
      '{"tenant": "' .. tenant .. '", "kind": "customer", ' .. credentials .. "}")
end

function request()
   if step == 1 then
      return wrk.format("POST", "/customer/" .. tenant .. "/password/reset", headers,
         '{"email": "' .. email .. '"}')
   elseif step == 2 then
      return wrk.format("GET", "/_mock/outbox/latest?kind=password-reset&to=" .. email:gsub("@", "%%40"),
         headers)
   elseif step == 3 then
      generation = generation + 1
      password = "flow-pass-" .. index .. "-" .. generation
      return wrk.format("POST", "/customer/" .. tenant .. "/password/reset/update", headers,
         '{"token": "' .. reset_token .. '", "password": "' .. password .. '"}')
   end
   return login_request()
end

function response(status, response_headers, body)
   local expected = { 204, 200, 204, storefront_login and 200 or 201 }
   if status ~= expected[step] then
      failures = failures + 1
      step = 1
      return
   end
   if step == 2 then
      reset_token = body:match('"token"%s*:%s*"([^"]+)"')
      if not reset_token then
         failures = failures + 1
         step = 1
         return
      end
   end
   if step == 4 then
      flows = flows + 1
      step = 1
   else
      step = step + 1
   end
end

function done(summary, latency, requests)
   local flows_total, failures_total = 0, 0
   for _, thread in ipairs(threads) do
      flows_total = flows_total + thread:get("flows")
      failures_total = failures_total + thread:get("failures")
   end
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "flows": %d, "failures": %d, "errors": %d}\n',
      summary.requests, summary.duration, flows_total, failures_total,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
