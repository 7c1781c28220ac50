-- mixed.lua: wrk script alternating GET /v1/nodes/x/state and
-- POST /v1/nodes/x/heartbeat (the realistic body of tests/cases/heartbeat.case), for the
-- memory-after-load run. The URL's path is ignored.
-- the body is the first request body of tests/cases/heartbeat.case, the
-- integration test's realistic heartbeat: one copy, which the tests check
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local f = assert(io.open(dir .. "../tests/cases/heartbeat.case", "r"))
local body = assert(f:read("*a"):match("\nbody ([^\n]*)"), "no body line in heartbeat.case")
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
