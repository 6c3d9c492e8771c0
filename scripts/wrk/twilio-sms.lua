-- wrk script: Twilio SMS webhook calls, each a pre-signed form (X-Twilio-Signature) read
-- from a file of "<signature>\t<body>" lines that scripts/bench writes.
-- Usage: wrk ... -s scripts/wrk/twilio-sms.lua <url> -- <file> <threads>
-- Each thread takes every threads-th line; past its last it starts again (the repeats
-- are redeliveries, acknowledged and stored once).

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   local file, count = args[1], tonumber(args[2])
   signatures, bodies = {}, {}
   local n = 0
   for line in io.lines(file) do
      if n % count == tid then
         local tab = line:find("\t", 1, true)
         table.insert(signatures, line:sub(1, tab - 1))
         table.insert(bodies, line:sub(tab + 1))
      end
      n = n + 1
   end
   next_index = 0
end

function request()
   next_index = next_index % #bodies + 1
   return wrk.format("POST", "/webhooks/twilio/sms", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = signatures[next_index],
   }, bodies[next_index])
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d non2xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
