-- wrk script for bench/load: cookie-less requests (a scanner, an uptime probe) rotating
-- over the pages, each thread stopping after LOAD_FLOOD_PER_THREAD responses. wrk itself
-- runs for its whole -d duration, so a thread that is done also creates the file
-- LOAD_FLOOD_DONE.<thread>, and bench/load ends wrk (SIGINT) once every thread is done.
-- done() prints the RESULT line bench/load reads (wrk-result.lua).

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

-- done(), shared with the other scripts, is in wrk-result.lua beside this one.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "wrk-result.lua")
