/* serve.h: the default command of the mockapi binary: run the server (or
 * the -check probe) with the flags in flags.h. */
#ifndef MOCKAPI_CLI_SERVE_H
#define MOCKAPI_CLI_SERVE_H

/* Parses argv[first..argc) as serve flags, then probes (-check) or serves
 * until SIGINT/SIGTERM. Returns the process exit status: 0 clean stop or a
 * healthy probe; 1 start-up failure (a port taken, out of memory, the TLS
 * keys) or an unhealthy probe; 2 usage error or invalid configuration
 * (flags, fixtures folder, key file, -tls-ca-out path, -check URL). Every
 * start-up error is printed before MOCKAPI_ADDR=. Call at most once per process, before any thread
 * exists (it sets the signal mask and malloc arenas process-wide). */
int serve_main(int argc, char **argv, int first);

#endif
