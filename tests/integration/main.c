/* main.c: the integration suite. Runs every group (data-driven cases, C API,
 * concurrency, robustness); each prints cmocka's own summary. Usage:
 *   integration_tests [PATTERN]
 * PATTERN (cmocka's test filter, '*' and '?' wildcards) selects tests by
 * name, e.g. 'gzip*.case' or 'stop_*'. Environment: MOCKAPI_IT_LOG=1 shows
 * server logs, MOCKAPI_IT_ROUNDS=N sets the concurrency rounds per thread,
 * MOCKAPI_IT_SHARD=K/N runs every Nth group from the Kth (a share of the suite).
 * The availability group (avail_*) attacks the server with idle, slow,
 * silent-TLS and waiting connections while good clients must be served.
 * The transport group (tr_*) attacks the event loop's framing, waits, TLS
 * sessions and stop over raw sockets (test_transport.c); tr2_* its input
 * buffers, idle release and parked waits (test_transport2.c). The memory
 * group (mem_*) checks bounded memory under clients that do not read.
 * buffers, idle release and parked waits (test_transport2.c); fr_* the
 * strictness of the request framing (test_framing.c).
 * buffers, idle release and parked waits (test_transport2.c); jr_* the
 * journal under hostile filters and incremental waits (test_journal.c).
 * Exit status: 0 when every test passed, 1 otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "harness.h"

int main(int argc, char **argv)
{
    int failed = 0;

    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        fprintf(stderr, "curl_global_init failed\n");
        return 1;
    }
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    /* MOCKAPI_IT_SHARD=K/N runs the groups whose index is K-1 modulo N
     * only: ci/test.sh runs the valgrind pass as N processes at once
     * (valgrind runs a process on one CPU). */
    unsigned shard = 0, nshards = 1;
    const char *sh = getenv("MOCKAPI_IT_SHARD");
    if (sh && (sscanf(sh, "%u/%u", &shard, &nshards) != 2 || nshards == 0 || shard == 0 ||
               shard > nshards)) {
        fprintf(stderr, "MOCKAPI_IT_SHARD=%s: give K/N with 1 <= K <= N\n", sh);
        return 2;
    }
    if (!sh)
        shard = 1;
    static int (*const groups[])(void) = {
        mt_run_case_tests,
        mt_run_direct_case_tests,
        mt_run_api_tests,
        mt_run_concurrency_tests,
        mt_run_robustness_tests,
        mt_run_keepalive_tests,
        mt_run_stream_tests,
        mt_run_availability_tests,
        mt_run_transport_tests,
        mt_run_transport2_tests,
        mt_run_memory_tests,
        mt_run_admin_tests,
        mt_run_framing_tests,
        mt_run_page_tests, /* an odd index: the second valgrind shard (the first was 100 s longer) */
        mt_run_journal_tests,
        mt_run_ssefault_tests,
        mt_run_fault_tests, /* here: the two valgrind shards take about as long */
        mt_run_regions_tests,
        mt_run_fault_rule_tests,
        mt_run_fault_api_tests,
        mt_run_session_tests,
        mt_run_session_attack_tests,
        mt_run_stats_tests,
        mt_run_strict_tests, /* index 23, odd: the second valgrind shard (the lighter one) */
        mt_run_strict_attack_tests,
        mt_run_ca_dir_tests,
    };
    for (unsigned g = 0; g < sizeof groups / sizeof groups[0]; g++)
        if (g % nshards == shard - 1)
            failed += groups[g]();
    curl_global_cleanup();
    printf("integration_tests: %s\n", failed ? "FAILED" : "all passed");
    return failed ? 1 : 0;
}
