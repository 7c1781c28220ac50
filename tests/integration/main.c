/* main.c: the integration suite. Runs every group (data-driven cases, C API,
 * concurrency, robustness); each prints cmocka's own summary. Usage:
 *   integration_tests [PATTERN]
 * PATTERN (cmocka's test filter, '*' and '?' wildcards) selects tests by
 * name, e.g. 'gzip*.case' or 'stop_*'. Environment: MOCKAPI_IT_LOG=1 shows
 * server logs, MOCKAPI_IT_ROUNDS=N sets the concurrency rounds per thread.
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
    failed += mt_run_case_tests();
    failed += mt_run_direct_case_tests();
    failed += mt_run_api_tests();
    failed += mt_run_concurrency_tests();
    failed += mt_run_robustness_tests();
    failed += mt_run_keepalive_tests();
    failed += mt_run_stream_tests();
    failed += mt_run_availability_tests();
    failed += mt_run_transport_tests();
    failed += mt_run_transport2_tests();
    failed += mt_run_memory_tests();
    failed += mt_run_admin_tests();
    failed += mt_run_framing_tests();
    failed += mt_run_stats_tests();
    failed += mt_run_journal_tests();
    failed += mt_run_fault_tests();
    failed += mt_run_ssefault_tests();
    failed += mt_run_regions_tests();
    failed += mt_run_fault_rule_tests();
    failed += mt_run_fault_api_tests();
    curl_global_cleanup();
    printf("integration_tests: %s\n", failed ? "FAILED" : "all passed");
    return failed ? 1 : 0;
}
