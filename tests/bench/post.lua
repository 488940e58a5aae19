-- post.lua: wrk script for the intake benchmark (POST /bare and POST /api/v1/claims).
--
--   wrk -t2 -c64 -d10s --latency -s tests/bench/post.lua http://127.0.0.1:PORT/api/v1/claims \
--       -- VOCAB_FILE [TOKEN]
--
-- VOCAB_FILE is written by tests/bench/intake.py: lines "w<TAB>word<TAB>cumulative weight"
-- (most frequent first), "c<TAB>claimant" and "t<TAB>tag". Every request sends a different claim:
-- 8 to 14 Zipf-distributed words, a few glue words, and a number unique to the thread and the
-- request (thread id * 10,000,000 + counter), with a per-thread random seed.
-- done() prints one line "WRK_JSON {...}" that intake.py reads.

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_id", thread_count)
   table.insert(threads, thread)
end

local words, cum, claimants, tags = {}, {}, {}, {}
local glue = { "the", "of", "in", "and", "for", "to", "by", "than", "since", "over", "a", "on" }
local total = 0
local counter = 0

-- Globals, read by done() through thread:get().
responses, ok2xx, created = 0, 0, 0

function init(args)
   for line in io.lines(args[1]) do
      local kind, value, weight = line:match("^(%a)\t([^\t]+)\t?(.*)$")
      if kind == "w" then
         words[#words + 1] = value
         cum[#cum + 1] = tonumber(weight)
      elseif kind == "c" then
         claimants[#claimants + 1] = value
      elseif kind == "t" then
         tags[#tags + 1] = value
      end
   end
   total = cum[#cum]
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   if args[2] and args[2] ~= "" then
      wrk.headers["Authorization"] = "Bearer " .. args[2]
   end
   math.randomseed(os.time() + thread_id * 1000003)
end

local function pick()
   local r = math.random() * total
   local lo, hi = 1, #cum
   while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if cum[mid] < r then lo = mid + 1 else hi = mid end
   end
   return words[lo]
end

local function capitalised(s)
   return s:sub(1, 1):upper() .. s:sub(2)
end

function request()
   counter = counter + 1
   local serial = thread_id * 10000000 + counter
   local n = math.random(8, 14)
   local number_at = math.random(2, n)
   local parts = {}
   for i = 1, n do
      if i > 1 and math.random() < 0.3 then parts[#parts + 1] = glue[math.random(#glue)] end
      parts[#parts + 1] = pick()
      if i == number_at then parts[#parts + 1] = tostring(serial) end
   end
   local sentence = table.concat(parts, " ")
   local quote = capitalised(pick()) .. " " .. pick() .. " " .. pick() .. ", " .. sentence
   local first = math.random(#tags)
   local tag_list = '"' .. tags[first] .. '"'
   if math.random() < 0.5 then
      tag_list = tag_list .. ',"' .. tags[(first % #tags) + 1] .. '"'
   end
   local body = string.format(
      '{"text":"%s","claimant":"%s","appearance":{"url":"https://example.com/a/%d","quote":"%s"},"tags":[%s]}',
      capitalised(sentence), claimants[math.random(#claimants)], serial, quote, tag_list
   )
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   responses = responses + 1
   if status >= 200 and status < 300 then ok2xx = ok2xx + 1 end
   if status == 201 then created = created + 1 end
end

function done(summary, latency, requests)
   local r, ok, c = 0, 0, 0
   for _, thread in ipairs(threads) do
      r = r + (thread:get("responses") or 0)
      ok = ok + (thread:get("ok2xx") or 0)
      c = c + (thread:get("created") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests":%d,"duration_us":%d,"responses":%d,"ok2xx":%d,"created":%d,'
         .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
         .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
      summary.requests, summary.duration, r, ok, c,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
   ))
end
