#!/usr/bin/env bash
# regions.sh: the mockapi binary's regions (README "Regions"): -regions N and
# a repeated -addr, their refusals (exit 2, the message naming the flag, no
# MOCKAPI_ADDR line), a taken port (exit 1), the MOCKAPI_REGION_<i>= lines
# after MOCKAPI_ADDR=, and a failover with curl: region 1 down refuses the
# connection (curl exit 7), region 2 serves, up again serves.
# Each check prints one line; the last is "N passed, M failed".
# Usage: tests/regions.sh path/to/mockapi      (needs bash, python3, curl)
set -uo pipefail
bin=${1:?usage: regions.sh path/to/mockapi}
. "$(dirname "$0")/lib.sh"

# 1. flags
refused 2 '-regions: "0" is too small; give a whole number from 1 to 32' "zero regions" -- -tls-addr off -regions 0
refused 2 '-regions: "33" is too large; give a whole number from 1 to 32' "33 regions" -- -tls-addr off -regions 33
refused 2 '-regions: "x" is not a whole number' "a word for -regions" -- -tls-addr off -regions x
refused 2 '-regions: empty value; give a whole number' "an empty -regions" -- -tls-addr off -regions ''
MOCKAPI_REGIONS=-2 refused 2 'MOCKAPI_REGIONS (-regions): "-2" is negative' \
    "a bad -regions from the environment is named by its variable" -- -tls-addr off
refused 2 '-regions and a repeated -addr cannot be combined' "-regions with two -addr" -- \
    -tls-addr off -regions 2 -addr 127.0.0.1:0 -addr 127.0.0.1:0
refused 2 'addr (region 1) "nohost:1": host must be an IP address or localhost' "a bad second -addr" -- \
    -tls-addr off -addr 127.0.0.1:0 -addr nohost:1
refused 2 '-addr (region 0): empty value' "an empty first -addr of two" -- -tls-addr off -addr '' -addr 127.0.0.1:0
refused 2 '-addr: empty value' "an empty last -addr of two" -- -tls-addr off -addr 127.0.0.1:0 -addr ''
refused 2 'addr (region 2) "127.0.0.1:45002": region 1 has that address already' "the same -addr twice" -- \
    -tls-addr off -addr 127.0.0.1:0 -addr 127.0.0.1:45002 -addr 127.0.0.1:45002
refused 2 'addr "127.0.0.1:65535": 2 regions on consecutive ports from 65535 would pass port 65535' \
    "consecutive ports past 65535" -- -tls-addr off -addr 127.0.0.1:65535 -regions 2
many=()
for i in $(seq 33); do many+=(-addr 127.0.0.1:0); done
refused 2 'mockapi: -addr given more than 32 times' "33 -addr" -- -tls-addr off "${many[@]}"

# 2. a taken port: the region that cannot listen is named (exit 1, before MOCKAPI_ADDR)
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$work/busy" &
holder=$!
deadline=$((SECONDS + 10))
until grep -qE '^[0-9]+$' "$work/busy" 2>/dev/null || [ $SECONDS -ge $deadline ]; do read -r -t 0.02 <> <(:) || true; done
busy=$(head -n1 "$work/busy")
refused 1 "mockapi: cannot listen on 127.0.0.1:$busy (region 0): Address already in use" \
    "-regions on a taken port" -- -tls-addr off -addr "127.0.0.1:$busy" -regions 3
refused 1 "mockapi: cannot listen on 127.0.0.1:$busy (region 1): Address already in use" \
    "a repeated -addr on a taken port" -- -tls-addr off -addr 127.0.0.1:0 -addr "127.0.0.1:$busy"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# 3. three regions: the lines, the header, down, failover, up
"$bin" -tls-addr off -regions 3 >"$work/s.out" 2>"$work/s.err" &
srv=$!
a0=$(wait_line "$work/s.out" MOCKAPI_REGION_2=) # the last line of the plain ones
mapfile -t lines <"$work/s.out"
first=${lines[0]:-}
r0=$(wait_line "$work/s.out" MOCKAPI_REGION_0=)
r1=$(wait_line "$work/s.out" MOCKAPI_REGION_1=)
r2=$(wait_line "$work/s.out" MOCKAPI_REGION_2=)
[ -n "$a0" ] && [ "$first" = "MOCKAPI_ADDR=$r0" ] && [ "${lines[1]:-}" = "MOCKAPI_REGION_0=$r0" ] &&
    [ "${lines[2]:-}" = "MOCKAPI_REGION_1=$r1" ] && [ "${lines[3]:-}" = "MOCKAPI_REGION_2=$r2" ] &&
    [ ${#lines[@]} -eq 4 ]
check "MOCKAPI_ADDR= first (region 0), then MOCKAPI_REGION_0..2=" $?
ok=0
for i in 0 1 2; do
    eval "a=\$r$i"
    h=$(curl_ -si "http://$a/v1/ping" | tr -d '\r' | grep -i '^X-Mockapi-Region:')
    [ "$h" = "X-Mockapi-Region: $i" ] || ok=1
done
check "each region answers with its X-Mockapi-Region" $ok
body=$(curl_ -s -X POST "http://$r0/test/regions/1/down")
[ "$body" = "{\"region\":1,\"url\":\"http://$r1\",\"state\":\"down\"}" ]
check "POST /test/regions/1/down answers the region, down" $?
curl --noproxy '*' -s --max-time 5 "http://$r1/v1/ping" >/dev/null
[ $? -eq 7 ]
check "region 1 down: curl cannot connect (exit 7)" $?
# a client trying regions 1, 2, 0 in order lands on 2
served=
for a in "$r1" "$r2" "$r0"; do
    if h=$(curl --noproxy '*' -s --max-time 5 -D - -o /dev/null "http://$a/v1/ping"); then
        served=$(printf '%s' "$h" | tr -d '\r' | sed -n 's/^X-Mockapi-Region: //p')
        break
    fi
done
[ "$served" = 2 ]
check "failover: region 1 refused, region 2 served (X-Mockapi-Region: 2)" $?
body=$(curl_ -s "http://$r2/test/regions")
[ "$body" = "{\"regions\":[{\"region\":0,\"url\":\"http://$r0\",\"state\":\"up\"},{\"region\":1,\"url\":\"http://$r1\",\"state\":\"down\"},{\"region\":2,\"url\":\"http://$r2\",\"state\":\"up\"}]}" ]
check "GET /test/regions shows region 1 down" $?
curl_ -s -X POST "http://$r2/test/regions/1/up" >/dev/null &&
    [ "$(curl_ -s -D - -o /dev/null "http://$r1/v1/ping" | tr -d '\r' | sed -n 's/^X-Mockapi-Region: //p')" = 1 ]
check "up again: region 1 serves on its port" $?
kill -TERM "$srv"
wait "$srv"
check "stops cleanly (exit 0)" $?

# 4. without regions: no header, no extra line
"$bin" -tls-addr off >"$work/p.out" 2>"$work/p.err" &
srv=$!
a=$(wait_line "$work/p.out" MOCKAPI_ADDR=)
! curl_ -si "http://$a/v1/ping" | grep -qi '^X-Mockapi-Region' && ! grep -q MOCKAPI_REGION "$work/p.out"
check "without regions: no X-Mockapi-Region, no MOCKAPI_REGION_ line" $?
kill -TERM "$srv"
wait "$srv"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
