-- heartbeat.lua: wrk script for POST /v1/nodes/{id}/heartbeat with a
-- realistic heartbeat body (the one from tests/cases/heartbeat.case, which
-- the server decodes field by field as the reference's HeartbeatRequest).
-- Usage: wrk -s bench/heartbeat.lua http://127.0.0.1:PORT/v1/nodes/x/heartbeat
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"node_id":"node-1","timestamp":"2025-01-01T00:00:00Z","status":"healthy",' ..
  '"binary_checksum":"abc","mesh":{"interface":"wg0","peer_count":2,"listen_port":51820},' ..
  '"nat":{"public_endpoint":"198.51.100.1:51820","type":"full_cone"},' ..
  '"bridge":{"enabled":true,"access_interface":"br0","active_routes":1,"relay_enabled":false,' ..
  '"active_relay_sessions":0,"ingress_enabled":true,"active_ingress_rules":2,' ..
  '"site_to_site_enabled":false,"active_site_to_site_tunnels":0},' ..
  '"user_access":{"enabled":false,"interface_name":"wg-access0","peer_count":0,"listen_port":51821},' ..
  '"ingress":{"enabled":true,"rule_count":1,"connection_count":3},' ..
  '"site_to_site":{"enabled":false,"tunnel_count":0}}'
