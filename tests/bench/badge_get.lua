-- badge_get.lua: wrk script for the badge benchmark (GET /badges/{claim_id}.svg).
--
--   wrk -t2 -c64 -d10s --latency -s tests/bench/badge_get.lua http://127.0.0.1:PORT/badges \
--       -- IDS_FILE EXPECT [SEQUENCE_FILE THREADS]
--
-- IDS_FILE is written by tests/bench/badges.py: one line "claim_id<TAB>etag" per published claim.
-- Which id each request asks for:
--   * without SEQUENCE_FILE, a uniformly random one (a fixed seed per thread);
--   * with SEQUENCE_FILE (one 1-based line number of IDS_FILE per line, Zipf-distributed draws
--     made in Python), the next one in that sequence; thread n of THREADS (wrk's -t) starts
--     (n - 1) / THREADS of the way through, so the threads do not repeat each other's requests,
--     and wraps around at the end.
-- EXPECT is the status every answer should have: 200, or 304, in which case every request
-- sends `If-None-Match` with the ETag of the id it asks for.
-- done() prints one line "WRK_JSON {...}" that tests/bench/intake.py's run_wrk reads; its
-- "ok2xx" field counts the answers with the EXPECT status (so a 304 counts as ok in the 304
-- run and a 200 does not), so "responses - ok2xx" is every unexpected answer.

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_id", thread_count)
   table.insert(threads, thread)
end

local ids, etags, sequence = {}, {}, {}
local expect = 200
local conditional = false
local position = 0

-- Globals, read by done() through thread:get().
responses, ok2xx = 0, 0

function init(args)
   for line in io.lines(args[1]) do
      local id, etag = line:match("^([^\t]+)\t(.*)$")
      if id then
         ids[#ids + 1] = id
         etags[#etags + 1] = etag
      end
   end
   expect = tonumber(args[2]) or 200
   conditional = expect == 304
   if args[3] and args[3] ~= "" then
      for line in io.lines(args[3]) do
         local n = tonumber(line)
         if n then sequence[#sequence + 1] = n end
      end
      local total = tonumber(args[4]) or 1
      position = math.floor((thread_id - 1) * #sequence / total)
   end
   math.randomseed(20251127 + thread_id * 1000003)
end

function request()
   local n
   if #sequence > 0 then
      position = position % #sequence + 1
      n = sequence[position]
   else
      n = math.random(#ids)
   end
   local headers = nil
   if conditional then
      headers = { ["If-None-Match"] = etags[n] }
   end
   return wrk.format("GET", wrk.path .. "/" .. ids[n] .. ".svg", headers)
end

function response(status, headers, body)
   responses = responses + 1
   if status == expect then ok2xx = ok2xx + 1 end
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
