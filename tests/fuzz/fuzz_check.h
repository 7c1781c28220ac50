/* fuzz_check.h: what every libFuzzer target here shares: the entry point's
 * prototype (the project builds with -Wmissing-prototypes) and CHECK, which
 * aborts with the failed condition so libFuzzer saves the input as a crash.
 * A CHECK states a property the code under test promises; the sanitizers
 * catch the rest. */
#ifndef MK_FUZZ_CHECK_H
#define MK_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A malloc'd copy of exactly n bytes, plus a NUL when nul is set: ASan then
 * reports any read past what the code under test was given. */
static inline char *fuzz_copy(const void *p, size_t n, int nul)
{
    char *c = malloc(n + (nul ? 1 : 0) + (n == 0 && !nul));
    CHECK(c != NULL);
    if (n)
        memcpy(c, p, n);
    if (nul)
        c[n] = '\0';
    return c;
}

#endif
