/* flags.h: command-line flags of the mockapi binary.
 *
 * A small generic parser in Go's flag syntax (`-name value`, `-name=value`,
 * and the same with `--`), with an environment variable as each flag's
 * fallback, shared by every sub-command; and the flag table of the default
 * command, `serve`, turned into a mockapi_config.
 *
 * Parsing prints its own diagnostics on stderr (help on stdout) and tells
 * the caller which exit status to use; nothing here exits the process. */
#ifndef MOCKAPI_CLI_FLAGS_H
#define MOCKAPI_CLI_FLAGS_H

#include <stdbool.h>
#include <stdio.h>

#include "mockapi.h"

/* At most this many regions (plain listeners): -regions, repeated -addr. */
enum { CLI_MAX_ADDRS = 32 };

/* Exit statuses of the binary, documented in README ("Using the binary"). */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* One flag: its name without dashes, the environment variable read when the
 * flag is absent (NULL: none), and after parsing the value (NULL: neither
 * given). The value borrows argv or the environment. */
typedef struct cli_flag {
    const char *name;
    const char *env;
    const char *value;
    bool from_env; /* value came from env, not argv (for messages) */
    /* A repeatable flag: values points at room for max_values; every
     * value given is kept there in order (nvalues of them; the environment
     * variable gives one when the command line gives none), and `value` is
     * the last. NULL: the flag keeps its last value only. */
    const char **values;
    int max_values;
    int nvalues;
} cli_flag;

/* Prints a command's complete usage text to f. */
typedef void (*cli_usage_fn)(FILE *f);

/* Outcome of cli_parse_flags. */
typedef enum { CLI_PARSED, CLI_HELP, CLI_BAD_USAGE } cli_parse_result;

/* Fills flags[0..n) from the environment, then from argv[first..argc): a
 * flag given on the command line wins over its environment variable, and a
 * flag given twice keeps the last value (a repeatable one keeps them all;
 * more than its max_values is a usage error). `-h`, `-help` and `--help` print
 * usage to stdout and give CLI_HELP. An unknown flag (with the nearest known
 * name as a "did you mean"), a bad flag syntax (`-`, `---x`, `-=x`), a flag
 * without its value, or any argument that is not a flag prints the reason
 * and the usage to stderr and gives CLI_BAD_USAGE (exit 2). Arguments are
 * taken in order: a value may itself start with '-' (`-addr -h` sets addr
 * to "-h"). Empty values are the caller's to judge (cli_flag_empty). */
cli_parse_result cli_parse_flags(cli_flag *flags, int n, int argc, char **argv, int first, cli_usage_fn usage);

/* Parses s as a whole decimal number in [min, max] into *out. On failure
 * prints `mockapi: FLAG: ...` to stderr saying which of empty, not a whole
 * number, negative, too large or out of range it is, with the range, leaves
 * *out unchanged and returns -1; 0 on success. flag is the label to print
 * (cli_flag_label). */
int cli_parse_number(const char *flag, const char *s, unsigned long long min, unsigned long long max,
                     unsigned long long *out);

/* How messages name f: "-threads", or "MOCKAPI_THREADS (-threads)" when its
 * value came from the environment. Writes into buf (len >= 96 is enough). */
const char *cli_flag_label(const cli_flag *f, char *buf, size_t len);

/* When f has an empty value: prints `mockapi: LABEL: empty value; give
 * WHAT` and returns true. */
bool cli_flag_empty(const cli_flag *f, const char *what);

/* What `mockapi [serve] [flags]` was asked to do. Strings borrow argv or
 * the environment. */
typedef struct serve_options {
    mockapi_config cfg;     /* addresses, limits, fixtures; cfg.log left NULL */
    const char *check_url;  /* -check: probe this URL instead of serving (NULL: serve) */
    unsigned check_timeout; /* -check-timeout, milliseconds */
    const char *tls_ca_out; /* -tls-ca-out: where to write the CA (NULL: nowhere) */
    const char *tls_ca_out_label; /* how messages name it (flag or env) */
    const char *faults[64];       /* -fault, repeatable: cfg.faults points here */
    const char *ready_file;       /* -ready-file: where the readiness line goes (NULL: nowhere) */
    const char *ready_file_label; /* how messages name it (flag or env) */
    int ready_fd;                 /* -ready-fd: checked open for writing and >= 3; -1: none */
    const char *ready_fd_label;
} serve_options;

/* Parses the serve flags in argv[first..argc) and their environment
 * variables into *o. Returns -1 when the caller should go on (probe or
 * serve), otherwise the exit status to return at once: CLI_EXIT_OK after
 * -h (usage printed), CLI_EXIT_USAGE after a usage error or an invalid
 * value (reason printed, naming the flag). With -check only -check-timeout
 * is validated, as before the split: the other flags do not apply. */
int serve_parse_flags(int argc, char **argv, int first, serve_options *o);

/* The usage text of the default command: the synopsis, the sub-commands
 * (cli_print_commands) and every serve flag with its environment variable. */
void serve_usage(FILE *f);

/* Parses s as a duration in Go's notation, whole numbers each with a unit
 * (ms, s, m, h) summed: "30s", "1m30s", "250ms"; from 1 ms to max_ms.
 * Into *out_ms and 0, or -1 with `mockapi: FLAG: ...` printed (flag as
 * cli_flag_label gives it). */
int cli_parse_duration(const char *flag, const char *s, unsigned long long max_ms, unsigned long long *out_ms);

/* What `mockapi wait` was asked to do (README "Readiness"). */
typedef struct wait_options {
    const char *ready_file;        /* --ready-file (or MOCKAPI_READY_FILE); borrowed */
    unsigned long long timeout_ms; /* --timeout, default 30 s, at most 24 h */
} wait_options;

/* Parses the wait flags of argv[first..argc) into *w. Returns -1 to go
 * on, else the exit status to return: CLI_EXIT_OK after -h, CLI_EXIT_USAGE
 * (reason printed). */
int wait_parse_flags(int argc, char **argv, int first, wait_options *w);
void wait_usage(FILE *f);

/* Prints one line per sub-command; defined in main.c next to the dispatch
 * table, so the list cannot drift from what main() accepts. */
void cli_print_commands(FILE *f);

#endif
