-- wrk script: Telegram webhook calls, each a private-chat text update with its own
-- update_id and message id, with the webhook's secret header.
-- Usage: wrk ... -s scripts/wrk/telegram.lua <url> -- <run-id> <secret> [customers]
-- Customers (Telegram users) cycle through a pool: new and returning contacts both.

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   run = tonumber(args[1]) or os.time()
   secret = args[2]
   customers = tonumber(args[3] or "1000")
   counter = 0
end

function request()
   counter = counter + 1
   -- Unique across threads and runs: run seconds, thread, counter.
   local update_id = (run % 100000) * 100000000 + tid * 10000000 + counter
   local customer = (counter * 7 + tid) % customers
   local user_id = 9007199254740993 + customer
   local body = string.format(
      '{"update_id":%d,"message":{"message_id":%d,'
         .. '"from":{"id":%d,"is_bot":false,"first_name":"سارا","language_code":"fa"},'
         .. '"chat":{"id":%d,"first_name":"سارا","type":"private"},"date":1735732800,'
         .. '"text":"سلام، سفارش %d هنوز نرسیده 📦 کی می‌رسه؟"}}',
      update_id, update_id, user_id, user_id, update_id)
   return wrk.format("POST", "/webhooks/telegram", {
      ["Content-Type"] = "application/json",
      ["X-Telegram-Bot-Api-Secret-Token"] = secret,
   }, body)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d non2xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
