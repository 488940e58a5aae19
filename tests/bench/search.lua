-- search.lua: wrk script for the search benchmark (GET /api/v1/claims?q=...).
--
--   wrk -t2 -c2 -d10s --latency -s tests/bench/search.lua http://127.0.0.1:PORT/api/v1/claims \
--       -- QUERIES_FILE [TOKEN]
--
-- QUERIES_FILE holds one URL-encoded query per line (written by tests/bench/intake.py: words of
-- different frequencies and a few two-word queries). Each thread cycles through all of them,
-- starting at a different place. done() prints one line "WRK_JSON {...}" that intake.py reads.

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_id", thread_count)
   table.insert(threads, thread)
end

local queries = {}
local position = 0

-- Globals, read by done() through thread:get().
responses, ok2xx, created = 0, 0, 0

function init(args)
   for line in io.lines(args[1]) do
      if line ~= "" then queries[#queries + 1] = line end
   end
   position = (thread_id * 17) % #queries
   if args[2] and args[2] ~= "" then
      wrk.headers["Authorization"] = "Bearer " .. args[2]
   end
end

function request()
   position = position % #queries + 1
   return wrk.format("GET", wrk.path .. "?q=" .. queries[position])
end

function response(status, headers, body)
   responses = responses + 1
   if status >= 200 and status < 300 then ok2xx = ok2xx + 1 end
end

function done(summary, latency, requests)
   local r, ok = 0, 0
   for _, thread in ipairs(threads) do
      r = r + (thread:get("responses") or 0)
      ok = ok + (thread:get("ok2xx") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests":%d,"duration_us":%d,"responses":%d,"ok2xx":%d,"created":0,'
         .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
         .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
      summary.requests, summary.duration, r, ok,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
   ))
end
