-- mixed.lua: wrk script alternating GET /v1/nodes/x/state and
-- POST /v1/nodes/x/heartbeat (the realistic body of heartbeat.lua), for the
-- memory-after-load run. The URL's path is ignored.
local body = '{"node_id":"node-1","timestamp":"2025-01-01T00:00:00Z","status":"healthy",' ..
  '"binary_checksum":"abc","mesh":{"interface":"wg0","peer_count":2,"listen_port":51820},' ..
  '"nat":{"public_endpoint":"198.51.100.1:51820","type":"full_cone"},' ..
  '"bridge":{"enabled":true,"access_interface":"br0","active_routes":1,"relay_enabled":false,' ..
  '"active_relay_sessions":0,"ingress_enabled":true,"active_ingress_rules":2,' ..
  '"site_to_site_enabled":false,"active_site_to_site_tunnels":0},' ..
  '"user_access":{"enabled":false,"interface_name":"wg-access0","peer_count":0,"listen_port":51821},' ..
  '"ingress":{"enabled":true,"rule_count":1,"connection_count":3},' ..
  '"site_to_site":{"enabled":false,"tunnel_count":0}}'

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
