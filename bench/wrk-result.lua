-- The end of every wrk script of bench/load: done() prints the one line bench/load reads,
-- RESULT requests duration_us p50_us p99_us status>=400 socket_errors.

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
