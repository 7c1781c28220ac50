/* budget.h: a byte budget several owners draw on at once (the bodies all
 * sessions but default keep: captures, replaced fixtures, event history;
 * README "Sessions"). Lock-free; `used` never passes `max`. */
#ifndef MK_BUDGET_H
#define MK_BUDGET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct mk_budget {
    atomic_size_t used;
    size_t max;
} mk_budget;

/* Takes n bytes if they fit under max; false (nothing taken) if not. */
static inline bool mk_budget_take(mk_budget *b, size_t n)
{
    size_t u = atomic_load_explicit(&b->used, memory_order_relaxed);
    do {
        if (n > b->max || u > b->max - n)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&b->used, &u, u + n, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

/* Gives back n bytes taken before. */
static inline void mk_budget_give(mk_budget *b, size_t n)
{
    atomic_fetch_sub_explicit(&b->used, n, memory_order_relaxed);
}

#endif
