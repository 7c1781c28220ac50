/* peak_rss.c: runs a command and reports its wall time and peak resident
 * memory (bench/assert_bench.sh; /usr/bin/time is not among the bench
 * prerequisites). Usage: peak_rss OUTFILE COMMAND [ARG...]
 * The command inherits stdin, stdout and stderr; once it has exited,
 * OUTFILE gets one line "WALL_US MAXRSS_KB": the microseconds from just
 * before fork to just after its exit was reaped (CLOCK_MONOTONIC), and the
 * child's ru_maxrss from wait4 (its peak RSS, in KiB). Exits with the
 * command's status (128 + N if a signal N ended it; 127 if it could not be
 * run). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_NAME "peak_rss"
#include "bench_util.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: peak_rss OUTFILE COMMAND [ARG...]\n");
        return 2;
    }
    int64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0)
        die("%s", "fork failed");
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("peak_rss: exec");
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid)
        die("%s", "wait4 failed");
    int64_t t1 = now_ns();
    FILE *f = fopen(argv[1], "w");
    if (!f)
        die("cannot write %s", argv[1]);
    fprintf(f, "%lld %ld\n", (long long)((t1 - t0) / 1000), ru.ru_maxrss);
    if (fclose(f) != 0)
        die("cannot write %s", argv[1]);
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}
