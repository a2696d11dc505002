-- wrk script for bench/load: one browser session per connection. Run wrk with as many
-- threads as connections (-t N -c N), so each thread owns one connection and sends the
-- cookie on line N of the file named by LOAD_COOKIES ("session=..." per line).
-- done() prints the RESULT line bench/load reads (wrk-result.lua).

local cookies = {}
local next_thread = 0

for line in io.lines(os.getenv("LOAD_COOKIES")) do
  if line ~= "" then
    cookies[#cookies + 1] = line
  end
end

function setup(thread)
  next_thread = next_thread + 1
  thread:set("cookie", cookies[((next_thread - 1) % #cookies) + 1])
end

function init(args)
  -- No request() function: wrk builds this request once per thread and reuses the bytes.
  wrk.headers["Cookie"] = cookie
end

-- done(), shared with the other scripts, is in wrk-result.lua beside this one.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "wrk-result.lua")
