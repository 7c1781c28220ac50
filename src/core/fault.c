/* fault.c: the fault grammar; see fault.h. */
#include "fault.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"

static const char *const key_names[MK_FK_COUNT] = {
#define MK_FAULT_KEY_NAME_(id, name) name,
    MK_FAULT_KEYS(MK_FAULT_KEY_NAME_)
#undef MK_FAULT_KEY_NAME_
};

/* How a key takes its value. */
enum { V_NONE, V_OPTIONAL, V_NEEDED };

static int value_kind(mk_fault_key k)
{
    switch (k) {
    case MK_FK_DROP:
    case MK_FK_RESET:
    case MK_FK_GARBAGE:
    case MK_FK_CUT_MID:
    case MK_FK_SKIP_AUTH:
        return V_NONE;
    case MK_FK_HANG:
        return V_OPTIONAL;
    default:
        return V_NEEDED;
    }
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* A whole decimal number (digits only) in [min, max]. 0, or -1 with the
 * reason in err naming the item (item, ilen) and the unit. */
static int whole(const char *v, size_t n, unsigned long long min, unsigned long long max,
                 const char *unit, const char *item, int ilen, unsigned long long *out, char *err,
                 size_t errlen)
{
    unsigned long long x = 0;
    bool over = false;
    if (n == 0)
        return fail(err, errlen, "%.*s: empty value", ilen, item);
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return fail(err, errlen, "%.*s: not a whole number", ilen, item);
        unsigned d = (unsigned)(v[i] - '0');
        if (x > (~0ULL - d) / 10)
            over = true;
        else
            x = x * 10 + d;
    }
    if (over || x < min || x > max)
        return fail(err, errlen, "%.*s: out of range %llu-%llu%s%s%s", ilen, item, min, max,
                    *unit ? " (" : "", unit, *unit ? ")" : "");
    *out = x;
    return 0;
}

/* p: "0", "1", "0.3", ".5", "1.0": at most 9 decimals, in [0, 1]. */
static int probability(const char *v, size_t n, const char *item, int ilen, double *out, char *err,
                       size_t errlen)
{
    size_t i = 0, ip = 0, fd = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9')
        i++, ip++;
    if (i < n && v[i] == '.') {
        i++;
        while (i < n && v[i] >= '0' && v[i] <= '9')
            i++, fd++;
    }
    if (i != n || ip + fd == 0)
        return fail(err, errlen, "%.*s: not a probability (a decimal from 0 to 1, e.g. p=0.3)", ilen,
                    item);
    if (fd > 9)
        return fail(err, errlen, "%.*s: at most 9 decimals", ilen, item);
    char buf[32];
    if (n >= sizeof buf)
        return fail(err, errlen, "%.*s: out of range 0-1", ilen, item);
    memcpy(buf, v, n);
    buf[n] = '\0';
    double d = strtod(buf, NULL);
    if (!(d >= 0 && d <= 1))
        return fail(err, errlen, "%.*s: out of range 0-1", ilen, item);
    *out = d;
    return 0;
}

/* region=0,1,5: distinct indexes 0..MK_FAULT_MAX_REGION. */
static int region_list(const char *v, size_t n, const char *item, int ilen, uint32_t *out, char *err,
                       size_t errlen)
{
    uint32_t set = 0;
    size_t i = 0;
    if (n == 0)
        return fail(err, errlen, "%.*s: empty value", ilen, item);
    for (;;) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && is_space(v[a]))
            a++;
        while (b > a && is_space(v[b - 1]))
            b--;
        if (a == b)
            return fail(err, errlen, "%.*s: an empty region in the list", ilen, item);
        unsigned long long r;
        if (whole(v + a, b - a, 0, MK_FAULT_MAX_REGION, "a region index", item, ilen, &r, err,
                  errlen) != 0)
            return -1;
        if (set & (1u << r))
            return fail(err, errlen, "%.*s: region %llu listed twice", ilen, item, r);
        set |= 1u << r;
        if (j == n)
            break;
        i = j + 1;
    }
    *out = set;
    return 0;
}

/* The keys whose value is a whole number held in an unsigned field: the
 * range and the unit their errors name. */
static const struct {
    mk_fault_key k;
    unsigned long long min, max;
    const char *unit;
    size_t off;
} whole_keys[] = {
    {MK_FK_RETRY_AFTER, 0, MK_FAULT_MAX_RETRY_AFTER, "seconds", offsetof(mk_fault, retry_after)},
    {MK_FK_DELAY, 0, MK_FAULT_MAX_MS, "milliseconds", offsetof(mk_fault, delay_ms)},
    {MK_FK_JITTER, 0, MK_FAULT_MAX_MS, "milliseconds", offsetof(mk_fault, jitter_ms)},
    {MK_FK_HANG, 1, MK_FAULT_MAX_MS, "milliseconds", offsetof(mk_fault, hang_ms)},
    {MK_FK_PARTIAL, 0, MK_FAULT_MAX_PARTIAL, "body bytes", offsetof(mk_fault, partial)},
    {MK_FK_SLOW, 1, MK_FAULT_MAX_SLOW, "bytes per second", offsetof(mk_fault, slow_bps)},
    {MK_FK_FIRST, 1, MK_FAULT_MAX_FIRST, "requests", offsetof(mk_fault, first)},
    {MK_FK_CUT_AFTER, 0, MK_FAULT_MAX_CUT, "events", offsetof(mk_fault, cut_after)},
    {MK_FK_STALL, 1, MK_FAULT_MAX_MS, "milliseconds", offsetof(mk_fault, stall_ms)},
    {MK_FK_RETRY, 0, MK_FAULT_MAX_MS, "milliseconds", offsetof(mk_fault, retry_ms)},
};

/* The unsigned field of f that key k's whole number goes to, or NULL. */
static const unsigned *whole_field(const mk_fault *f, mk_fault_key k)
{
    for (size_t i = 0; i < sizeof whole_keys / sizeof whole_keys[0]; i++)
        if (whole_keys[i].k == k)
            return (const unsigned *)((const char *)f + whole_keys[i].off);
    return NULL;
}

/* Takes one item's value into f. */
static int take(mk_fault *f, mk_fault_key k, const char *v, size_t n, const char *item, int ilen,
                char *err, size_t errlen)
{
    unsigned long long x = 0;
    for (size_t i = 0; i < sizeof whole_keys / sizeof whole_keys[0]; i++) {
        if (whole_keys[i].k != k)
            continue;
        if (whole(v, n, whole_keys[i].min, whole_keys[i].max, whole_keys[i].unit, item, ilen, &x, err,
                  errlen) != 0)
            return -1;
        *(unsigned *)((char *)f + whole_keys[i].off) = (unsigned)x;
        return 0;
    }
    switch (k) {
    case MK_FK_STATUS:
        if (whole(v, n, 400, 599, "an error status", item, ilen, &x, err, errlen) != 0)
            return -1;
        f->status = (int)x;
        return 0;
    case MK_FK_THEN:
        if (n == 3 && memcmp(v, "fin", 3) == 0)
            f->partial_rst = false;
        else if (n == 3 && memcmp(v, "rst", 3) == 0)
            f->partial_rst = true;
        else
            return fail(err, errlen, "%.*s: give then=fin or then=rst", ilen, item);
        return 0;
    case MK_FK_P:
        return probability(v, n, item, ilen, &f->p, err, errlen);
    case MK_FK_SEED:
        if (whole(v, n, 0, ~0ULL, "", item, ilen, &x, err, errlen) != 0)
            return -1;
        f->seed = x;
        return 0;
    case MK_FK_REGION:
        return region_list(v, n, item, ilen, &f->regions, err, errlen);
    default: /* the keys without a value */
        return 0;
    }
}

/* The items that decide what goes on the wire instead of the answer. */
static const mk_fault_key wire_keys[] = {MK_FK_DROP, MK_FK_RESET, MK_FK_HANG, MK_FK_PARTIAL,
                                          MK_FK_GARBAGE};
static const mk_fault_key stream_keys[] = {MK_FK_CUT_AFTER, MK_FK_CUT_MID, MK_FK_STALL, MK_FK_RETRY};

#define HAS(f, k) (((f)->has >> (k)) & 1u)

/* The first pair of items that cannot go together, and why; 0 when none. */
static int contradictions(const mk_fault *f, char *err, size_t errlen)
{
    /* keys that need another */
    static const struct {
        mk_fault_key k, needs;
        const char *eg;
    } needs[] = {
        {MK_FK_RETRY_AFTER, MK_FK_STATUS, "status=503; retry-after=2"},
        {MK_FK_JITTER, MK_FK_DELAY, "delay=250; jitter=50"},
        {MK_FK_THEN, MK_FK_PARTIAL, "partial=128; then=rst"},
        {MK_FK_SEED, MK_FK_P, "p=0.3; seed=7"},
    };
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++)
        if (HAS(f, needs[i].k) && !HAS(f, needs[i].needs))
            return fail(err, errlen, "%s needs %s (e.g. %s)", key_names[needs[i].k],
                        key_names[needs[i].needs], needs[i].eg);
    if (HAS(f, MK_FK_JITTER) && (unsigned long long)f->delay_ms + f->jitter_ms > MK_FAULT_MAX_MS)
        return fail(err, errlen, "delay=%u; jitter=%u: together over %d milliseconds", f->delay_ms,
                    f->jitter_ms, MK_FAULT_MAX_MS);
    /* at most one way to end the exchange */
    mk_fault_key seen = MK_FK_COUNT;
    for (size_t i = 0; i < sizeof wire_keys / sizeof wire_keys[0]; i++) {
        if (!HAS(f, wire_keys[i]))
            continue;
        if (seen != MK_FK_COUNT)
            return fail(err, errlen, "%s and %s contradict: give one way to end the exchange",
                        key_names[seen], key_names[wire_keys[i]]);
        seen = wire_keys[i];
    }
    if (HAS(f, MK_FK_SKIP_AUTH) && HAS(f, MK_FK_STATUS))
        return fail(err, errlen, "status and skip-auth contradict: status answers without running the route "
                                 "(and so without any check to skip)");
    if (seen != MK_FK_COUNT && seen != MK_FK_PARTIAL) {
        if (HAS(f, MK_FK_STATUS))
            return fail(err, errlen, "status and %s contradict: %s writes no answer", key_names[seen],
                        key_names[seen]);
        if (HAS(f, MK_FK_SLOW))
            return fail(err, errlen, "slow and %s contradict: %s writes no answer to slow down",
                        key_names[seen], key_names[seen]);
    }
    for (size_t i = 0; i < sizeof stream_keys / sizeof stream_keys[0]; i++) {
        mk_fault_key s = stream_keys[i];
        if (!HAS(f, s))
            continue;
        if (HAS(f, MK_FK_STATUS))
            return fail(err, errlen, "status and %s contradict: status answers instead of a stream",
                        key_names[s]);
        if (seen != MK_FK_COUNT)
            return fail(err, errlen, "%s and %s contradict: %s ends the exchange before a stream",
                        key_names[seen], key_names[s], key_names[seen]);
        if (HAS(f, MK_FK_SLOW))
            return fail(err, errlen, "slow and %s contradict: slow applies to answers, not streams",
                        key_names[s]);
    }
    return 0;
}

int mk_fault_parse(const char *spec, size_t len, mk_fault *f, char *err, size_t errlen)
{
    *f = (mk_fault){.p = 1.0};
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && spec[j] != ';')
            j++;
        size_t a = i, b = j;
        while (a < b && is_space(spec[a]))
            a++;
        while (b > a && is_space(spec[b - 1]))
            b--;
        i = j + 1;
        if (a == b)
            continue; /* "a; ; b" and a trailing ';' are harmless */
        const char *item = spec + a;
        int ilen = (int)(b - a);
        for (int k = 0; k < ilen; k++)
            if ((unsigned char)item[k] < 0x20 || (unsigned char)item[k] >= 0x7f)
                return fail(err, errlen, "a control or non-ASCII byte (0x%02x) in \"%.*s\"",
                            (unsigned char)item[k], k, item);
        const char *eq = memchr(item, '=', (size_t)ilen);
        size_t kl = eq ? (size_t)(eq - item) : (size_t)ilen;
        while (kl > 0 && is_space(item[kl - 1]))
            kl--;
        const char *v = eq ? eq + 1 : NULL;
        size_t vl = eq ? (size_t)(item + ilen - v) : 0;
        while (v && vl > 0 && is_space(*v))
            v++, vl--;
        int k = 0;
        while (k < MK_FK_COUNT && !(strlen(key_names[k]) == kl && memcmp(key_names[k], item, kl) == 0))
            k++;
        if (k == MK_FK_COUNT) {
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)kl, item);
            const char *near = mk_suggest(word, key_names, MK_FK_COUNT);
            if (kl == 0)
                return fail(err, errlen, "\"%.*s\": a key is missing before '='", ilen, item);
            if (near)
                return fail(err, errlen, "unknown key \"%.*s\" (did you mean \"%s\"?)", (int)kl,
                            item, near);
            return fail(err, errlen, "unknown key \"%.*s\"", (int)kl, item);
        }
        if (HAS(f, k))
            return fail(err, errlen, "%s given twice", key_names[k]);
        int vk = value_kind((mk_fault_key)k);
        if (vk == V_NONE && eq)
            return fail(err, errlen, "%.*s: %s takes no value", ilen, item, key_names[k]);
        if (vk == V_NEEDED && !eq)
            return fail(err, errlen, "%s needs a value (e.g. %s=%s)", key_names[k], key_names[k],
                        k == MK_FK_STATUS ? "503" : k == MK_FK_THEN ? "rst" : k == MK_FK_P ? "0.3"
                        : k == MK_FK_REGION ? "0,1" : "2");
        f->has |= 1u << k;
        if (eq && take(f, (mk_fault_key)k, v, vl, item, ilen, err, errlen) != 0)
            return -1;
        switch (k) {
        case MK_FK_DROP: f->wire = MK_WIRE_DROP; break;
        case MK_FK_RESET: f->wire = MK_WIRE_RESET; break;
        case MK_FK_HANG: f->wire = MK_WIRE_HANG; break;
        case MK_FK_PARTIAL: f->wire = MK_WIRE_PARTIAL; break;
        case MK_FK_GARBAGE: f->wire = MK_WIRE_GARBAGE; break;
        case MK_FK_CUT_MID: f->cut_mid = true; break;
        case MK_FK_SKIP_AUTH: f->skip_auth = true; break;
        default: break;
        }
    }
    if (f->has == 0)
        return fail(err, errlen, "empty fault spec: give at least one item, e.g. status=503");
    if (contradictions(f, err, errlen) != 0)
        return -1;
    /* first/p/seed/region alone would mark requests as faulted (journal,
     * counts) with nothing done to them: refused rather than silent */
    uint32_t selectors = 1u << MK_FK_FIRST | 1u << MK_FK_P | 1u << MK_FK_SEED | 1u << MK_FK_REGION;
    if (!(f->has & ~selectors))
        return fail(err, errlen, "first, p, seed and region only choose requests: add what to do to "
                                 "them (e.g. status=503; first=2)");
    return 0;
}

/* Appends to out as snprintf would, tracking the length needed. */
static void put(char *out, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put(char *out, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(*n < cap ? out + *n : NULL, *n < cap ? cap - *n : 0, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n += (size_t)w;
}

size_t mk_fault_format(const mk_fault *f, char *out, size_t cap)
{
    size_t n = 0;
    if (cap)
        out[0] = '\0';
    for (int k = 0; k < MK_FK_COUNT; k++) {
        if (!HAS(f, k))
            continue;
        if (n)
            put(out, cap, &n, "; ");
        put(out, cap, &n, "%s", key_names[k]);
        const unsigned *u = whole_field(f, (mk_fault_key)k);
        if (u) {
            if (*u || k != MK_FK_HANG) /* a bare hang has no value */
                put(out, cap, &n, "=%u", *u);
            continue;
        }
        switch ((mk_fault_key)k) {
        case MK_FK_STATUS: put(out, cap, &n, "=%d", f->status); break;
        case MK_FK_THEN: put(out, cap, &n, "=%s", f->partial_rst ? "rst" : "fin"); break;
        case MK_FK_P: {
            /* at most 9 decimals were parsed: printing 9 and dropping the
             * trailing zeros gives the same decimal back */
            char d[32];
            snprintf(d, sizeof d, "%.9f", f->p);
            size_t l = strlen(d);
            while (l > 0 && d[l - 1] == '0')
                l--;
            if (l > 0 && d[l - 1] == '.')
                l--;
            put(out, cap, &n, "=%.*s", (int)l, d);
            break;
        }
        case MK_FK_SEED: put(out, cap, &n, "=%llu", (unsigned long long)f->seed); break;
        case MK_FK_REGION: {
            char sep = '=';
            for (int r = 0; r <= MK_FAULT_MAX_REGION; r++)
                if (f->regions & (1u << r)) {
                    put(out, cap, &n, "%c%d", sep, r);
                    sep = ',';
                }
            break;
        }
        default: /* the keys without a value */
            break;
        }
    }
    return n;
}

bool mk_fault_is_stream(const mk_fault *f)
{
    for (size_t i = 0; i < sizeof stream_keys / sizeof stream_keys[0]; i++)
        if (HAS(f, stream_keys[i]))
            return true;
    return false;
}

void mk_fault_wire_text(const mk_fault *f, char *out, size_t cap)
{
    switch (f->wire) {
    case MK_WIRE_DROP: snprintf(out, cap, "fin"); return;
    case MK_WIRE_RESET: snprintf(out, cap, "rst"); return;
    case MK_WIRE_HANG: snprintf(out, cap, "timeout"); return;
    case MK_WIRE_GARBAGE: snprintf(out, cap, "garbage"); return;
    case MK_WIRE_PARTIAL:
        snprintf(out, cap, "partial:%u%s", f->partial, f->partial_rst ? "+rst" : "");
        return;
    case MK_WIRE_RESPONSE:
        break;
    }
    if (!mk_fault_is_stream(f)) {
        snprintf(out, cap, "response");
        return;
    }
    /* a stream opened, with what the hub will do to it */
    size_t n = 0;
    if (cap)
        out[0] = '\0';
    if (HAS(f, MK_FK_RETRY))
        put(out, cap, &n, "%sretry:%u", n ? "+" : "", f->retry_ms);
    if (HAS(f, MK_FK_STALL))
        put(out, cap, &n, "%sstall:%u", n ? "+" : "", f->stall_ms);
    if (HAS(f, MK_FK_CUT_AFTER))
        put(out, cap, &n, "%scut-after:%u", n ? "+" : "", f->cut_after);
    if (HAS(f, MK_FK_CUT_MID))
        put(out, cap, &n, "%scut-mid", n ? "+" : "");
}

uint64_t mk_fault_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
