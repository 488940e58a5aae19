-- load_mix.lua: wrk script for the mixed load benchmark (tests/bench/load.py).
--
--   wrk -t2 -c64 -d60s --latency --timeout=20s -s tests/bench/load_mix.lua http://127.0.0.1:PORT \
--       -- DATA_FILE OUT_FILE THREADS SUBMITTER_TOKEN REVIEWER1_TOKEN REVIEWER2_TOKEN
--
-- DATA_FILE is written by load.py, one item a line:
--   "p<TAB>claim_id<TAB>badge_etag"  a published claim (badges, pages, API reads)
--   "q<TAB>url-encoded query"        a search (GET /api/v1/claims?q=)
--   "b<TAB>json body"                a claim to submit, each used once; thread n of THREADS takes
--                                    the n-th, (n + THREADS)-th, ... of them
--
-- Every request is drawn by weighted random (a fixed seed per thread), per 1,000 draws:
--   350 badge        GET /badges/{id}.svg
--   152 badge_304    the same with the id's ETag in If-None-Match (expects 304)
--   302 page         GET /c/{id}
--    81 claim        GET /api/v1/claims/{id} of a published claim (submitter token)
--    20 claim_new    the same of a claim this thread created in the run (a "claim" until it has one)
--    51 search       GET /api/v1/claims?q=WORD (submitter token)
--    44 write        the oldest transition waiting in this thread's queue, else a submission:
--      submit           POST /api/v1/claims (submitter token), a text never sent before
--      transition       POST /api/v1/claims/{id}/transitions {"action": "start_research"} with
--                       If-Match: the ETag of the 201, by one reviewer (alternating); every 201
--                       queues one
--      transition_race  every RACE_EVERY-th 201 queues two instead, one per reviewer with the same
--                       ETag, sent back to back (the second in the very next request): one should
--                       win (200), the other find the claim changed (412) or researching (409)
-- Per submission that is 2 write draws (the submission, then its transition or the first of a
-- pair) and 2.25 write requests (a pair's second is not drawn): 44 draws make about 49.5 requests
-- in 1,005.5, 4.9%; the reads' 804 and 152 draws make 80.0% and 15.1%.
--
-- Per-endpoint latency: wrk's own histogram is for all requests together, so every request
-- carries X-Request-Id "<class>.<thread>.<n>" (Factdesk echoes it, and logs it on its access line),
-- and response() looks the request up by it and takes the time since request() on
-- CLOCK_MONOTONIC (LuaJIT's FFI). request() runs right before wrk stamps its own start time, so
-- the numbers match wrk's. Answers without a known X-Request-Id (e.g. a bare gunicorn error page)
-- count under the class "unknown".
--
-- Per thread, in globals that done() reads with thread:get() (wrk copies flat tables only; nested
-- ones crash it): counts["<class> <status>"], lat_<class> (microseconds, one per answer),
-- created (ids of the 201s), moved ("<id> <reviewer>" per 200 of a transition), bad (the request
-- ids of answers with an unexpected status, the first 200). done() writes one JSON line per thread
-- to OUT_FILE and prints the "WRK_JSON {...}" line tests/bench/intake.py's run_wrk reads, where
-- "ok2xx" counts the expected answers (2xx, 304 on conditional badges, 409/412 on transitions).

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } load_mix_timespec;
int clock_gettime(int clk_id, load_mix_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("load_mix_timespec")

local function now_us()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
   return tonumber(timespec.tv_sec) * 1000000 + math.floor(tonumber(timespec.tv_nsec) / 1000)
end

local CLASSES = {
   "badge", "badge_304", "page", "claim", "claim_new", "search", "submit", "transition", "transition_race",
}
local MIX = {
   { "badge", 350 }, { "badge_304", 152 }, { "page", 302 }, { "claim", 81 }, { "claim_new", 20 },
   { "search", 51 }, { "write", 44 },
}
local EXPECTED = {
   badge = { [200] = true },
   badge_304 = { [304] = true },
   page = { [200] = true },
   claim = { [200] = true },
   claim_new = { [200] = true },
   search = { [200] = true },
   submit = { [200] = true, [201] = true },
   transition = { [200] = true, [409] = true, [412] = true },
   transition_race = { [200] = true, [409] = true, [412] = true },
}
local RACE_EVERY = 4
local RECENT = 64 -- claim_new reads one of this thread's last RECENT creations
local BAD_KEPT = 200
local TRANSITION_BODY = '{"action":"start_research"}'

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_id", #threads)
end

local published, etags, queries, bodies = {}, {}, {}, {}
local tokens = {}
local next_body = 0
local serial = 0
local inflight = {} -- request id: {class, start, claim id, reviewer}
local waiting = {} -- transitions to send, oldest first
local urgent = nil -- the second of a race pair, sent by the next request()
local recent = {}
local reviewer_turn = 0

-- Globals, read by done() through thread:get().
out_file = nil
responses, ok2xx, created_count, unmatched = 0, 0, 0, 0
counts, created, moved, bad = {}, {}, {}, {}
local latencies = {}
for _, class in ipairs(CLASSES) do
   latencies[class] = {}
   _G["lat_" .. class] = latencies[class]
end

function init(args)
   local data, threads_total = args[1], tonumber(args[3]) or 1
   out_file = args[2]
   tokens = { submitter = args[4], args[5], args[6] }
   local b = 0
   for line in io.lines(data) do
      local kind, rest = line:match("^(%a)\t(.*)$")
      if kind == "p" then
         local id, etag = rest:match("^([^\t]+)\t(.*)$")
         published[#published + 1] = id
         etags[#etags + 1] = etag
      elseif kind == "q" then
         queries[#queries + 1] = rest
      elseif kind == "b" then
         b = b + 1
         if (b - 1) % threads_total == thread_id - 1 then bodies[#bodies + 1] = rest end
      end
   end
   math.randomseed(20251206 + thread_id * 1000003)
end

local function draw()
   local r = math.random(1000)
   for _, entry in ipairs(MIX) do
      if r <= entry[2] then return entry[1] end
      r = r - entry[2]
   end
   return "badge"
end

local function bearer(token)
   return "Bearer " .. token
end

local function send(class, method, path, headers, body, claim_id, reviewer)
   serial = serial + 1
   local rid = class .. "." .. thread_id .. "." .. serial
   headers["X-Request-Id"] = rid
   inflight[rid] = { class, now_us(), claim_id, reviewer }
   return wrk.format(method, path, headers, body)
end

local function transition(job)
   return send(job.class, "POST", "/api/v1/claims/" .. job.id .. "/transitions", {
      ["Authorization"] = bearer(tokens[job.reviewer]),
      ["Content-Type"] = "application/json",
      ["If-Match"] = job.etag,
   }, TRANSITION_BODY, job.id, job.reviewer)
end

function request()
   if urgent then
      local job = urgent
      urgent = nil
      return transition(job)
   end
   local class = draw()
   if class == "claim_new" and #recent == 0 then class = "claim" end
   if class == "write" then
      if #waiting > 0 then
         local job = table.remove(waiting, 1)
         urgent = job.partner
         return transition(job)
      end
      next_body = next_body % #bodies + 1 -- wraps only if the run outlasts the bodies (a 200 then)
      return send("submit", "POST", "/api/v1/claims", {
         ["Authorization"] = bearer(tokens.submitter),
         ["Content-Type"] = "application/json",
      }, bodies[next_body])
   end
   if class == "search" then
      local q = queries[math.random(#queries)]
      return send(class, "GET", "/api/v1/claims?q=" .. q, { ["Authorization"] = bearer(tokens.submitter) })
   end
   if class == "claim_new" then
      local id = recent[math.random(#recent)]
      return send(class, "GET", "/api/v1/claims/" .. id, { ["Authorization"] = bearer(tokens.submitter) })
   end
   local n = math.random(#published)
   if class == "claim" then
      return send(class, "GET", "/api/v1/claims/" .. published[n], {
         ["Authorization"] = bearer(tokens.submitter),
      })
   elseif class == "page" then
      return send(class, "GET", "/c/" .. published[n], {})
   elseif class == "badge_304" then
      return send(class, "GET", "/badges/" .. published[n] .. ".svg", { ["If-None-Match"] = etags[n] })
   end
   return send("badge", "GET", "/badges/" .. published[n] .. ".svg", {})
end

local function queue_transitions(id, etag)
   if created_count % RACE_EVERY == 0 then
      local second = { class = "transition_race", id = id, etag = etag, reviewer = 2 }
      waiting[#waiting + 1] = { class = "transition_race", id = id, etag = etag, reviewer = 1, partner = second }
   else
      reviewer_turn = reviewer_turn % 2 + 1
      waiting[#waiting + 1] = { class = "transition", id = id, etag = etag, reviewer = reviewer_turn }
   end
end

function response(status, headers, body)
   responses = responses + 1
   local rid = headers["X-Request-Id"]
   local job = rid and inflight[rid]
   if not job then
      unmatched = unmatched + 1
      local key = "unknown " .. status
      counts[key] = (counts[key] or 0) + 1
      return
   end
   inflight[rid] = nil
   local class = job[1]
   local lat = latencies[class]
   lat[#lat + 1] = now_us() - job[2]
   local key = class .. " " .. status
   counts[key] = (counts[key] or 0) + 1
   if EXPECTED[class][status] then
      ok2xx = ok2xx + 1
   elseif #bad < BAD_KEPT then
      bad[#bad + 1] = rid .. " " .. status
   end
   if class == "submit" and status == 201 then
      local id = (headers["Location"] or ""):match("/api/v1/claims/([%w_]+)$")
      local etag = headers["ETag"]
      if id and etag then
         created_count = created_count + 1
         created[#created + 1] = id
         recent[(created_count - 1) % RECENT + 1] = id
         queue_transitions(id, etag)
      elseif #bad < BAD_KEPT then
         bad[#bad + 1] = rid .. " 201-without-Location-or-ETag"
      end
   elseif (class == "transition" or class == "transition_race") and status == 200 then
      moved[#moved + 1] = job[3] .. " " .. job[4]
   end
end

local function json_strings(list)
   local quoted = {}
   for i, s in ipairs(list) do quoted[i] = '"' .. s .. '"' end
   return "[" .. table.concat(quoted, ",") .. "]"
end

function done(summary, latency, requests)
   local r, ok, c = 0, 0, 0
   local out = nil
   for i, thread in ipairs(threads) do
      r = r + (thread:get("responses") or 0)
      ok = ok + (thread:get("ok2xx") or 0)
      c = c + (thread:get("created_count") or 0)
      out = out or io.open(thread:get("out_file"), "w")
      local parts = {}
      for key, n in pairs(thread:get("counts")) do parts[#parts + 1] = string.format('"%s":%d', key, n) end
      local lats = {}
      for _, class in ipairs(CLASSES) do
         lats[#lats + 1] = string.format('"%s":[%s]', class, table.concat(thread:get("lat_" .. class), ","))
      end
      out:write(string.format(
         '{"thread":%d,"unmatched":%d,"counts":{%s},"latency_us":{%s},"created":%s,"moved":%s,"bad":%s}\n',
         i, thread:get("unmatched"), table.concat(parts, ","), table.concat(lats, ","),
         json_strings(thread:get("created")), json_strings(thread:get("moved")), json_strings(thread:get("bad"))
      ))
   end
   if out then out:close() end
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
