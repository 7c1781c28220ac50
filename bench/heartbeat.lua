-- heartbeat.lua: wrk script for POST /v1/nodes/{id}/heartbeat with a
-- realistic heartbeat body (the one from tests/cases/heartbeat.case, which
-- the server decodes field by field as the reference's HeartbeatRequest).
-- Usage: wrk -s bench/heartbeat.lua http://127.0.0.1:PORT/v1/nodes/x/heartbeat
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- the body lives in heartbeat.json next to this script (one copy for every script)
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local f = assert(io.open(dir .. "heartbeat.json", "r"))
local body = f:read("*a"):gsub("%s+$", "")
f:close()
wrk.body = body
