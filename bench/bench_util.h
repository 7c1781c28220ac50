/* bench_util.h: what the C benchmark clients share: a monotonic clock,
 * sorting and percentiles of latencies, and dying with a message that names
 * the program (BENCH_NAME, defined before including this). */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static inline void die(const char *fmt, const char *arg)
{
    fprintf(stderr, BENCH_NAME ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static inline int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted array, in microseconds */
static inline double pct_us(const int64_t *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1000.0;
}

#endif
