-- wrk script for bench/load: cookie-less requests (a scanner, an uptime probe) rotating
-- over the pages, each thread stopping after LOAD_FLOOD_PER_THREAD responses.
-- done() prints: RESULT requests duration_us p50_us p99_us status>=400 socket_errors.

local paths = { "/", "/otp", "/csv" }
local limit = tonumber(os.getenv("LOAD_FLOOD_PER_THREAD") or "0")
local sent = 0
local seen = 0

function request()
  sent = sent + 1
  return wrk.format("GET", paths[(sent % #paths) + 1])
end

function response(status, headers, body)
  seen = seen + 1
  if limit > 0 and seen >= limit then
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
