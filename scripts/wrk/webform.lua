-- wrk script: urlencoded web-form submissions, each with its own idempotency key.
-- Usage: wrk ... -s scripts/wrk/webform.lua <url> -- <run-id> [customers]
-- Customers cycle through a pool so the router sees both new and returning contacts.

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   run = args[1] or tostring(os.time())
   customers = tonumber(args[2] or "1000")
   counter = 0
end

function request()
   counter = counter + 1
   local key = string.format("bench-%s-%d-%d", run, tid, counter)
   local customer = (counter * 7 + tid) % customers
   local body = "name=Bench+Customer"
      .. "&email=bench-" .. run .. "-" .. customer .. "%40example.com"
      .. "&message=" .. key
      .. "&idempotency_key=" .. key
   return wrk.format("POST", "/webhooks/webform", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Accept"] = "application/json",
   }, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d non2xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
