-- local_metrics.lua: wrk script for POST /local/metrics on the TLS listener
-- (keep-alive; the bearer token the route requires; a small JSON body).
-- Usage: wrk -s bench/local_metrics.lua https://127.0.0.1:PORT/local/metrics
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer e2e-local-bearer-token"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"node_id":"node-1","timestamp":"2025-01-01T00:00:00Z",' ..
  '"metrics":[{"name":"cpu_percent","value":12.5},{"name":"mem_bytes","value":104857600}]}'
