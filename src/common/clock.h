/* clock.h: the two time computations the modules share. */
#ifndef MK_CLOCK_H
#define MK_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock (for durations and deadlines). */
static inline int64_t mk_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Microseconds on the same clock (the journal's response durations). */
static inline int64_t mk_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The absolute CLOCK_REALTIME time timeout_ms from now, as
 * pthread_cond_timedwait wants it. */
static inline struct timespec mk_deadline(unsigned timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    return dl;
}

#endif
