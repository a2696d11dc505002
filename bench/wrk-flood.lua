-- wrk script for bench/load: cookie-less requests (a scanner, an uptime probe) rotating
-- over the pages, each thread stopping after LOAD_FLOOD_PER_THREAD responses. wrk itself
-- runs for its whole -d duration, so a thread that is done also creates the file
-- LOAD_FLOOD_DONE.<thread>, and bench/load ends wrk (SIGINT) once every thread is done.
-- done() prints: RESULT requests duration_us p50_us p99_us status>=400 socket_errors.

local paths = { "/", "/otp", "/csv" }
local limit = tonumber(os.getenv("LOAD_FLOOD_PER_THREAD") or "0")
local done_file = os.getenv("LOAD_FLOOD_DONE")
local threads = 0
local sent = 0
local seen = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function request()
  sent = sent + 1
  return wrk.format("GET", paths[(sent % #paths) + 1])
end

function response(status, headers, body)
  seen = seen + 1
  if limit > 0 and seen == limit then
    if done_file then
      local f = io.open(done_file .. "." .. id, "w")
      if f then f:close() end
    end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
