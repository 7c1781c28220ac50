-- mixed.lua: wrk script alternating GET /v1/nodes/x/state and
-- POST /v1/nodes/x/heartbeat (the realistic body in heartbeat.json), for the
-- memory-after-load run. The URL's path is ignored.
-- the body lives in heartbeat.json next to this script (one copy for every script)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local f = assert(io.open(dir .. "heartbeat.json", "r"))
local body = f:read("*a"):gsub("%s+$", "")
f:close()

local reqs
local n = 0

function init(args)
  reqs = {
    wrk.format("GET", "/v1/nodes/x/state"),
    wrk.format("POST", "/v1/nodes/x/heartbeat", {["Content-Type"] = "application/json"}, body),
  }
end

function request()
  n = n + 1
  return reqs[(n % 2) + 1]
end
