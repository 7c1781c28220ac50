/* run.h: the `run` command of the mockapi binary (README "Running tests
 * against N instances: mockapi run"). */
#ifndef MOCKAPI_CLI_RUN_H
#define MOCKAPI_CLI_RUN_H

#include <stdio.h>

/* Parses argv[first..argc) as `[run flags] [serve flags] -- CMD [ARGS...]`,
 * starts the instances (or reuses those a --ready-file names), runs CMD and
 * the --assert files, tears down what it started. Returns the exit status:
 * CMD's when non-zero, else mockassert's when non-zero, else 0; 2 usage (or
 * an instance refused its flags); 125 an instance never became ready; 126
 * CMD not executable, 127 CMD not found; 128+N when a signal N ended CMD. */
int run_main(int argc, char **argv, int first);
void run_usage(FILE *f);

#endif
