/* wait.h: the `wait` command of the mockapi binary (README "Readiness"). */
#ifndef MOCKAPI_CLI_WAIT_H
#define MOCKAPI_CLI_WAIT_H

/* Parses argv[first..argc) as wait flags (flags.h), then waits until the
 * --ready-file names a server whose GET /test/health answers. Returns the
 * exit status: 0 ready (its URL printed on stdout), 1 not ready within
 * --timeout (the last thing seen printed on stderr), 2 usage error. */
int wait_main(int argc, char **argv, int first);

#endif
