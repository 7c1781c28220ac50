/* main.c: runs every unit-test group; exit status is the number of failures. */
#include "unit.h"

int main(void)
{
    int failed = 0;
    failed += run_gojson_tests();
    failed += run_gotype_tests();
    failed += run_router_tests();
    failed += run_gzip_tests();
    failed += run_mutate_tests();
    failed += run_match_tests();
    failed += run_subject_tests();
    failed += run_ma_session_tests();
    failed += run_http1_tests();
    failed += run_names_tests();
    failed += run_glob_tests();
    failed += run_fault_tests();
    failed += run_project_tests();
    failed += run_journal_tests();
    failed += run_tls_session_tests();
    failed += run_number_tests();
    failed += run_length_type_tests();
    failed += run_journal_error_tests();
    failed += run_faults_tests();
    failed += run_fault_journal_tests();
    failed += run_sse_tests();
    failed += run_nodes_tests();
    failed += run_strict_body_tests();
    return failed ? 1 : 0;
}
