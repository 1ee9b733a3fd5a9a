-- wrk script: POST the password-reset request of the contract and count answers that are not 204.
-- Environment: BENCH_PATH (e.g. /customer/demo/password/reset), BENCH_TOKEN (a valid anonymous
-- access token), BENCH_EMAIL (the address to reset). done() prints one JSON line for bench/run.py.
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/customer/demo/password/reset"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "token")
wrk.body = '{"email": "' .. (os.getenv("BENCH_EMAIL") or "alice@example.com") .. '"}'

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   unexpected = 0
end

function response(status, headers, body)
   if status ~= 204 then
      unexpected = unexpected + 1
   end
end

function done(summary, latency, requests)
   local unexpected_total = 0
   for _, thread in ipairs(threads) do
      unexpected_total = unexpected_total + thread:get("unexpected")
   end
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "errors": %d, "unexpected_status": %d, '
         .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, summary.duration,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      unexpected_total, latency:percentile(50), latency:percentile(99), latency.max))
end
