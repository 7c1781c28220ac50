-- heartbeat.lua: wrk script for POST /v1/nodes/{id}/heartbeat with a
-- realistic heartbeat body (the one from tests/cases/heartbeat.case, which
-- the server decodes field by field as the reference's HeartbeatRequest).
-- Usage: wrk -s bench/heartbeat.lua http://127.0.0.1:PORT/v1/nodes/x/heartbeat
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- the body is the first request body of tests/cases/heartbeat.case, the
-- integration test's realistic heartbeat: one copy, which the tests check
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local f = assert(io.open(dir .. "../tests/cases/heartbeat.case", "r"))
local body = assert(f:read("*a"):match("\nbody ([^\n]*)"), "no body line in heartbeat.case")
f:close()
wrk.body = body
