/* gojson.c: JSON the way Go's encoding/json (Go 1.24) reads and writes it.
 *
 * Design: four independent pieces, all pure functions over (pointer, length)
 * inputs with no state beyond the call, so any thread may use them at once.
 *   - time: RFC 3339 parse with time.Parse(RFC3339, s) semantics (what
 *     Time.UnmarshalJSON accepts in Go 1.20..1.24, where the strict checks
 *     are still switched off) and RFC3339Nano formatting as MarshalJSON does.
 *   - writer: Go's string escaping with escapeHTML on, and json.Compact
 *     plus HTML escaping for RawMessage values.
 *   - scanner: an iterative validator with Go's grammar. Nesting uses a bit
 *     stack on the C stack (1.3 KB), never recursion, so hostile input such
 *     as 100000 '[' fails at depth 10001 like Go instead of overflowing.
 *   - string literal decoding with Go's unquote rules.
 * Nothing here allocates except through the caller's mk_buf. */
#include "gojson.h"
#include "hex.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h> /* gj_string_len: sixteen bytes at a time (every x86-64 has SSE2) */
#endif

/* Go's scanner refuses nesting deeper than this (maxNestingDepth). */
#define GJ_MAX_DEPTH 10000

static const char hexdig[] = "0123456789abcdef";

/* ---- UTF-8 -------------------------------------------------------------- */

/* Decodes one rune like Go's utf8.DecodeRune. Returns the rune and stores
 * its size; an invalid or truncated sequence (overlong forms, surrogates,
 * > U+10FFFF) yields size 1 and *bad = true, which Go reports as
 * (RuneError, 1) and distinguishes from a genuine U+FFFD by the size. */
static uint32_t utf8_decode(const unsigned char *s, size_t n, size_t *size, bool *bad)
{
    unsigned char c = s[0];
    *bad = false;
    *size = 1;
    if (c < 0x80)
        return c;
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    uint32_t r;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        r = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        r = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        r = c & 0x07;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* beyond U+10FFFF */
    } else {
        *bad = true;
        return 0xFFFD;
    }
    if (n < need + 1 || s[1] < lo || s[1] > hi) {
        *bad = true;
        return 0xFFFD;
    }
    r = (r << 6) | (s[1] & 0x3F);
    for (size_t k = 2; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            *bad = true;
            return 0xFFFD;
        }
        r = (r << 6) | (s[k] & 0x3F);
    }
    *size = need + 1;
    return r;
}

static void utf8_append(mk_buf *b, uint32_t r)
{
    char u[4];
    size_t n;
    if (r < 0x80) {
        u[0] = (char)r;
        n = 1;
    } else if (r < 0x800) {
        u[0] = (char)(0xC0 | (r >> 6));
        u[1] = (char)(0x80 | (r & 0x3F));
        n = 2;
    } else if (r < 0x10000) {
        u[0] = (char)(0xE0 | (r >> 12));
        u[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        u[2] = (char)(0x80 | (r & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (r >> 18));
        u[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((r >> 6) & 0x3F));
        u[3] = (char)(0x80 | (r & 0x3F));
        n = 4;
    }
    mk_buf_append(b, u, n);
}

/* ---- time.Time ---------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int m, int64_t y)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date, via the usual
 * 400-year-era decomposition with March as the first month, so that the
 * leap day falls at the end of the counting year. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void gj_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Go's getnum: one or two digits; with fixed, exactly two. Returns the
 * value or -1, and advances *i. */
static int getnum(const char *s, size_t n, size_t *i, bool fixed)
{
    if (*i >= n || !is_digit(s[*i]))
        return -1;
    if (*i + 1 >= n || !is_digit(s[*i + 1])) {
        if (fixed)
            return -1;
        return s[(*i)++] - '0';
    }
    int v = (s[*i] - '0') * 10 + (s[*i + 1] - '0');
    *i += 2;
    return v;
}

static bool expect(const char *s, size_t n, size_t *i, char c)
{
    if (*i >= n || s[*i] != c)
        return false;
    (*i)++;
    return true;
}

/* Mirrors time.Parse(time.RFC3339, s), which is what Time.UnmarshalJSON
 * ends up accepting: Go 1.24's parseStrictRFC3339 tries a strict fast path
 * and falls back to Parse, whose extra strictness checks are disabled
 * (go.dev/issue/54580). So a one-digit hour, a ',' before the fraction,
 * more than nine fraction digits (truncated) and zone offsets up to
 * +24:00 / xx:60 are accepted; 'T' and 'Z' are case-sensitive. */
int gj_time_parse(const char *s, size_t n, gj_time *out)
{
    size_t i = 0;
    if (n < 4)
        return -1;
    for (int k = 0; k < 4; k++)
        if (!is_digit(s[k]))
            return -1;
    int64_t year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    i = 4;
    if (!expect(s, n, &i, '-'))
        return -1;
    int month = getnum(s, n, &i, true);
    if (month < 1 || month > 12 || !expect(s, n, &i, '-'))
        return -1;
    int day = getnum(s, n, &i, true);
    if (day < 0 || !expect(s, n, &i, 'T'))
        return -1;
    int hour = getnum(s, n, &i, false);
    if (hour < 0 || hour > 23 || !expect(s, n, &i, ':'))
        return -1;
    int min = getnum(s, n, &i, true);
    if (min < 0 || min > 59 || !expect(s, n, &i, ':'))
        return -1;
    int sec = getnum(s, n, &i, true);
    if (sec < 0 || sec > 59)
        return -1;

    int32_t nsec = 0;
    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1])) {
        size_t j = i + 1;
        int digits = 0;
        while (j < n && is_digit(s[j])) {
            if (digits < 9) {
                nsec = nsec * 10 + (s[j] - '0');
                digits++;
            }
            j++;
        }
        for (; digits < 9; digits++)
            nsec *= 10;
        i = j;
    }

    int32_t offset = 0;
    if (i < n && s[i] == 'Z') {
        i++;
    } else {
        if (n - i < 6 || s[i + 3] != ':')
            return -1;
        size_t h = i + 1, m = i + 4;
        int hr = getnum(s, n, &h, true);
        int mm = getnum(s, n, &m, true);
        if (hr < 0 || mm < 0 || hr > 24 || mm > 60)
            return -1;
        if (s[i] != '+' && s[i] != '-')
            return -1;
        offset = (hr * 60 + mm) * 60;
        if (s[i] == '-')
            offset = -offset;
        i += 6;
    }
    if (i != n)
        return -1; /* "extra text" */
    if (day < 1 || day > days_in(month, year))
        return -1;

    out->sec = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
    out->nsec = nsec;
    out->offset = offset;
    return 0;
}

/* Time.MarshalJSON: RFC3339Nano in the value's own zone; refuses years
 * outside 0..9999 and zone hours of 24 or more, as appendStrictRFC3339. */
int gj_time_write(mk_buf *b, const gj_time *t)
{
    int64_t local = t->sec + t->offset;
    int64_t days = local / 86400, sod = local % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int64_t year;
    int month, day;
    gj_civil_from_days(days, &year, &month, &day);
    int32_t zone = t->offset / 60; /* Go truncates toward zero too */
    int32_t azone = zone < 0 ? -zone : zone;
    if (year < 0 || year > 9999 || azone / 60 >= 24)
        return -1;

    /* digits by hand: a journal listing writes one time per entry */
    char tmp[64], *o = tmp;
    int fields[6] = {(int)year, month, day, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60)};
    static const char after[6] = {'-', '-', 'T', ':', ':', 0};
    *o++ = '"';
    for (int f = 0; f < 6; f++) {
        int v = fields[f];
        if (f == 0) {
            *o++ = (char)('0' + v / 1000);
            *o++ = (char)('0' + v / 100 % 10);
        }
        *o++ = (char)('0' + v / 10 % 10);
        *o++ = (char)('0' + v % 10);
        if (after[f])
            *o++ = after[f];
    }
    if (t->nsec > 0 && t->nsec < 1000000000) {
        char frac[9];
        int32_t ns = t->nsec;
        for (int i = 8; i >= 0; i--, ns /= 10)
            frac[i] = (char)('0' + ns % 10);
        int fl = 9;
        while (fl > 0 && frac[fl - 1] == '0')
            fl--;
        *o++ = '.';
        memcpy(o, frac, (size_t)fl);
        o += fl;
    }
    if (t->offset == 0) {
        *o++ = 'Z';
    } else {
        *o++ = zone < 0 ? '-' : '+';
        *o++ = (char)('0' + azone / 60 / 10);
        *o++ = (char)('0' + azone / 60 % 10);
        *o++ = ':';
        *o++ = (char)('0' + azone % 60 / 10);
        *o++ = (char)('0' + azone % 60 % 10);
    }
    *o++ = '"';
    int len = (int)(o - tmp);
    mk_buf_append(b, tmp, (size_t)len);
    return 0;
}

gj_time gj_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    gj_time t = {(int64_t)ts.tv_sec, (int32_t)ts.tv_nsec, 0};
    return t;
}

/* ---- writing ------------------------------------------------------------ */

/* encoding/json's htmlSafeSet: printable ASCII and DEL, minus the two
 * characters JSON must escape and the three HTML ones. */
static bool html_safe(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
}

static void write_u00(mk_buf *b, unsigned char c)
{
    char e[6] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 0xF]};
    mk_buf_append(b, e, sizeof e);
}

/* html_safe as a bitmap of the 128 ASCII bytes, for the copying loop. */
static const uint64_t plain_ascii[2] = {0xafffffbb00000000ULL, 0xffffffffefffffffULL};

static inline bool plain_byte(unsigned char c)
{
    return c < 0x80 && (plain_ascii[c >> 6] >> (c & 63) & 1);
}

/* Eight bytes at a time on little-endian machines (the lowest byte is the
 * first): a word with no byte to escape is copied or counted at once. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define GJ_WORDS 1
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The high bit of each byte of w equal to c; exact up to the first one. */
static inline uint64_t bytes_equal(uint64_t w, unsigned char c)
{
    uint64_t x = w ^ (ONES * c);
    return (x - ONES) & ~x & HIGHS;
}

/* The high bit of each byte of w that is not plain_byte (controls, '"',
 * '\\', '<', '>', '&', non-ASCII); exact up to the first one, zero when
 * there is none. */
static inline uint64_t unplain8(uint64_t w)
{
    uint64_t ctl = (w - ONES * 0x20) & ~w & HIGHS;
    return (w & HIGHS) | ctl | bytes_equal(w, '"') | bytes_equal(w, '\\') | bytes_equal(w, '<') |
           bytes_equal(w, '>') | bytes_equal(w, '&');
}
#endif

/* How many bytes at the start of s[0, n) are plain_byte. */
static inline size_t plain_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0;
#ifdef GJ_WORDS
    while (i + 8 <= n) {
        uint64_t w, m;
        memcpy(&w, s + i, 8);
        if ((m = unplain8(w)) != 0)
            return i + (size_t)__builtin_ctzll(m) / 8;
        i += 8;
    }
#endif
    while (i < n && plain_byte(s[i]))
        i++;
    return i;
}

/* Go 1.22+ appendString with escapeHTML: \b and \f get their short forms,
 * other controls \u00XX; an invalid UTF-8 byte becomes the six characters
 * \ufffd (the escape, not the raw rune: Go writes it that way).
 * The input goes in slices of at most STR_SLICE bytes, each written straight
 * into room reserved for its worst case (every byte six), so a large body is
 * escaped with a few reservations instead of one append per escape, and the
 * buffer never grows past what it holds by more than one slice's worst case.
 * A buffer whose cap leaves no room for that worst case takes the same bytes
 * one append at a time (it fails, as before, only if the output does not
 * fit). */
#define STR_SLICE 4096

static void write_string_slow(mk_buf *b, const unsigned char *s, size_t n)
{
    size_t start = 0, i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (html_safe(c)) {
                i++;
                continue;
            }
            mk_buf_append(b, s + start, i - start);
            switch (c) {
            case '"': mk_buf_append(b, "\\\"", 2); break;
            case '\\': mk_buf_append(b, "\\\\", 2); break;
            case '\b': mk_buf_append(b, "\\b", 2); break;
            case '\f': mk_buf_append(b, "\\f", 2); break;
            case '\n': mk_buf_append(b, "\\n", 2); break;
            case '\r': mk_buf_append(b, "\\r", 2); break;
            case '\t': mk_buf_append(b, "\\t", 2); break;
            default: write_u00(b, c); break;
            }
            start = ++i;
            continue;
        }
        size_t size;
        bool bad;
        uint32_t r = utf8_decode(s + i, n - i, &size, &bad);
        if (bad || r == 0x2028 || r == 0x2029) {
            mk_buf_append(b, s + start, i - start);
            mk_buf_puts(b, bad ? "\\ufffd" : r == 0x2028 ? "\\u2028" : "\\u2029");
            start = i + size;
        }
        i += size;
    }
    mk_buf_append(b, s + start, n - start);
}

/* Escapes s[0, n) (n <= STR_SLICE) into o, which has room for 6 * n bytes;
 * returns the end. A rune cut by the end of the slice is left for the next
 * one: *used says how many bytes were consumed. */
static char *write_slice(char *o, const unsigned char *s, size_t n, size_t avail, size_t *used)
{
    size_t i = 0;
    while (i < n) {
#ifdef GJ_WORDS
        /* o has room: at most 6 bytes out per byte in, and 8 go out for 8 in */
        while (i + 8 <= n) {
            uint64_t w, m;
            memcpy(&w, s + i, 8);
            memcpy(o, &w, 8);
            if ((m = unplain8(w)) != 0) {
                size_t z = (size_t)__builtin_ctzll(m) / 8;
                o += z;
                i += z;
                break;
            }
            o += 8;
            i += 8;
        }
#endif
        while (i < n && plain_byte(s[i]))
            *o++ = (char)s[i++];
        if (i == n)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            *o++ = '\\';
            switch (c) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '\b': *o++ = 'b'; break;
            case '\f': *o++ = 'f'; break;
            case '\n': *o++ = 'n'; break;
            case '\r': *o++ = 'r'; break;
            case '\t': *o++ = 't'; break;
            default:
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hexdig[c >> 4];
                *o++ = hexdig[c & 0xF];
                break;
            }
            i++;
            continue;
        }
        /* a rune may run past this slice: decode it against all that is left */
        size_t size;
        bool bad;
        uint32_t r = utf8_decode(s + i, avail - i, &size, &bad);
        if (i + size > n)
            break; /* the next slice starts with it */
        if (bad || r == 0x2028 || r == 0x2029) {
            memcpy(o, bad ? "\\ufffd" : r == 0x2028 ? "\\u2028" : "\\u2029", 6);
            o += 6;
        } else {
            memcpy(o, s + i, size);
            o += size;
        }
        i += size;
    }
    *used = i;
    return o;
}

/* What escaping adds to an ASCII byte: \" \\ \b \f \n \r \t one byte,
 * \u00XX (other controls, < > &) five. */
static const unsigned char ascii_extra[128] = {
    5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1, 5, 1, 1, 5, 5, /* 0x08 \b 0x09 \t 0x0a \n 0x0c \f 0x0d \r */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' '&' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 5, 0, /* '<' '>' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

size_t gj_string_len(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t len = 2 + n, i = 0; /* every byte once, plus what escaping adds */
    while (i < n) {
        size_t stop = n;
#ifdef __SSE2__
        /* blocks whose only escapes are \" and \\ (JSON in a body: quotes
         * every few bytes) add one byte per quote or backslash */
        const __m128i quote = _mm_set1_epi8('"'), back = _mm_set1_epi8('\\'), lt = _mm_set1_epi8('<'),
                      gt = _mm_set1_epi8('>'), amp = _mm_set1_epi8('&'), space = _mm_set1_epi8(0x20),
                      one = _mm_set1_epi8(1), zero = _mm_setzero_si128();
        while (i + 16 <= n) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            /* signed: below 0x20, and 0x80 and up (negative), are both "less" */
            __m128i rare = _mm_or_si128(_mm_cmplt_epi8(v, space),
                                        _mm_or_si128(_mm_cmpeq_epi8(v, lt),
                                                     _mm_or_si128(_mm_cmpeq_epi8(v, gt), _mm_cmpeq_epi8(v, amp))));
            if (_mm_movemask_epi8(rare))
                break;
            __m128i qb = _mm_and_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, back)), one);
            __m128i sum = _mm_sad_epu8(qb, zero); /* two 16-bit sums, one per half */
            len += (size_t)_mm_cvtsi128_si32(sum) + (size_t)_mm_extract_epi16(sum, 4);
            i += 16;
        }
        /* a block with another escape, or the tail: byte by byte */
        stop = i + 16 < n ? i + 16 : n;
#endif
        while (i < stop) {
            unsigned char c = s[i];
            if (c < 0x80) {
                len += ascii_extra[c];
                i++;
                continue;
            }
            size_t size;
            bool bad;
            uint32_t r = utf8_decode(s + i, n - i, &size, &bad);
            len += bad || r == 0x2028 || r == 0x2029 ? 6 - size : 0; /* the rune's bytes are counted */
            i += size;
        }
    }
    return len;
}

void gj_write_string(mk_buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n <= 256) {
        /* short (a method, a path, a header): one copy when nothing needs escaping */
        if (plain_prefix(s, n) == n && mk_buf_reserve(b, n + 2) == 0) {
            char *o = b->data + b->len;
            *o++ = '"';
            memcpy(o, s, n);
            o[n] = '"';
            b->len += n + 2;
            b->data[b->len] = '\0';
            return;
        }
    }
    mk_buf_putc(b, '"');
    size_t i = 0;
    while (i < n && !b->err) {
        size_t k = n - i < STR_SLICE ? n - i : STR_SLICE;
        if (b->limit && b->len + 6 * k > b->limit) {
            write_string_slow(b, s + i, n - i);
            break;
        }
        if (mk_buf_reserve(b, 6 * k) != 0)
            return;
        size_t used = 0;
        char *o = write_slice(b->data + b->len, s + i, k, n - i, &used);
        b->len = (size_t)(o - b->data);
        b->data[b->len] = '\0';
        i += used;
        if (used == 0) { /* a rune longer than the slice left: cannot happen (k >= 4 or the end) */
            write_string_slow(b, s + i, n - i);
            break;
        }
    }
    mk_buf_putc(b, '"');
}

void gj_write_int(mk_buf *b, int64_t v)
{
    char tmp[24];
    int len = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    mk_buf_append(b, tmp, (size_t)len);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *p, size_t n, size_t i)
{
    while (i < n && is_ws(p[i]))
        i++;
    return i;
}

/* json.Compact(escapeHTML=true) as the encoder applies it to a
 * RawMessage: whitespace between tokens goes, string bytes stay exactly as
 * written (escapes, invalid UTF-8 and all) except raw <, >, & and
 * U+2028/9, which get \u escapes. */
int gj_write_raw(mk_buf *b, const char *raw, size_t n)
{
    size_t pos = 0, vs, ve;
    gj_kind k;
    if (gj_scan_value(raw, n, &pos, &k, &vs, &ve) != 0 || skip_ws(raw, n, ve) != n)
        return -1;
    const unsigned char *s = (const unsigned char *)raw;
    size_t start = vs;
    bool in_str = false;
    for (size_t i = vs; i < ve; i++) {
        unsigned char c = s[i];
        if (!in_str) {
            if (is_ws((char)c)) {
                mk_buf_append(b, s + start, i - start);
                start = i + 1;
            } else if (c == '"') {
                in_str = true;
            }
            continue;
        }
        if (c == '\\') {
            i++; /* the escaped byte can be neither a quote nor markup */
        } else if (c == '"') {
            in_str = false;
        } else if (c == '<' || c == '>' || c == '&') {
            mk_buf_append(b, s + start, i - start);
            write_u00(b, c);
            start = i + 1;
        } else if (c == 0xE2 && i + 2 < ve && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            mk_buf_append(b, s + start, i - start);
            mk_buf_puts(b, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
            i += 2;
            start = i + 1;
        }
    }
    mk_buf_append(b, s + start, ve - start);
    return 0;
}

/* ---- scanning ----------------------------------------------------------- */


/* Validates the string literal at p[i] == '"'. Returns the index after
 * the closing quote, or sets *err to the offending offset and returns 0. */
/* Whether any of the 8 bytes in v is '"', '\\' or below 0x20: the bytes a
 * string scan must stop at. Bit tricks on a word at a time (bytes >= 0x80
 * may raise false alarms, which the byte loop then settles). */
static inline bool word_has_special(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    return (((q - ones) & ~q) | ((b - ones) & ~b) | (v - ones * 0x20)) & ~v & highs;
}

static size_t scan_string(const char *p, size_t n, size_t i, size_t *err)
{
    for (i++; i < n; i++) {
        /* skip plain text eight bytes at a time: most of a body is strings */
        while (i + 8 <= n) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            if (word_has_special(v))
                break;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = (unsigned char)p[i];
        if (c == '"')
            return i + 1;
        if (c < 0x20)
            goto bad;
        if (c != '\\')
            continue;
        if (++i >= n)
            goto bad;
        switch (p[i]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            break;
        case 'u':
            for (int k = 0; k < 4; k++)
                if (++i >= n || mk_hexval(p[i]) < 0)
                    goto bad;
            break;
        default:
            goto bad;
        }
    }
bad:
    *err = i < n ? i : n;
    return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? ; same contract as above. */
static size_t scan_number(const char *p, size_t n, size_t i, size_t *err)
{
    if (p[i] == '-')
        i++;
    if (i >= n || !is_digit(p[i]))
        goto bad;
    if (p[i] == '0')
        i++;
    else
        while (i < n && is_digit(p[i]))
            i++;
    if (i < n && p[i] == '.') {
        if (++i >= n || !is_digit(p[i]))
            goto bad;
        while (i < n && is_digit(p[i]))
            i++;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        if (i >= n || !is_digit(p[i]))
            goto bad;
        while (i < n && is_digit(p[i]))
            i++;
    }
    return i;
bad:
    *err = i < n ? i : n;
    return 0;
}

static size_t scan_literal(const char *p, size_t n, size_t i, const char *lit, size_t *err)
{
    for (size_t k = 0; lit[k]; k++, i++) {
        if (i >= n || p[i] != lit[k]) {
            *err = i < n ? i : n;
            return 0;
        }
    }
    return i;
}

static gj_kind kind_of(char c)
{
    switch (c) {
    case '{': return GJ_OBJECT;
    case '[': return GJ_ARRAY;
    case '"': return GJ_STRING;
    case 't': return GJ_TRUE;
    case 'f': return GJ_FALSE;
    case 'n': return GJ_NULL;
    default: return GJ_NUMBER;
    }
}

int gj_scan_value(const char *p, size_t n, size_t *pos, gj_kind *kind, size_t *start, size_t *end)
{
    /* One bit per open container: 1 = object, 0 = array. */
    unsigned char stack[GJ_MAX_DEPTH / 8 + 1];
    size_t depth = 0, err = 0;
    size_t i = skip_ws(p, n, *pos);
    if (i >= n) {
        *pos = n;
        return -1;
    }
    size_t first = i;

    for (;;) {
        /* A value starts at i (after whitespace). */
        i = skip_ws(p, n, i);
        if (i >= n) {
            err = n;
            goto fail;
        }
        char c = p[i];
        size_t next = 0;
        if (c == '{' || c == '[') {
            if (depth >= GJ_MAX_DEPTH) {
                err = i;
                goto fail;
            }
            if (c == '{')
                stack[depth / 8] |= (unsigned char)(1u << (depth % 8));
            else
                stack[depth / 8] &= (unsigned char)~(1u << (depth % 8));
            depth++;
            i = skip_ws(p, n, i + 1);
            if (i < n && p[i] == (c == '{' ? '}' : ']')) {
                depth--;
                next = i + 1;
            } else if (c == '[') {
                continue; /* first element */
            } else {
                goto key;
            }
        } else if (c == '"') {
            next = scan_string(p, n, i, &err);
        } else if (c == '-' || is_digit(c)) {
            next = scan_number(p, n, i, &err);
        } else if (c == 't') {
            next = scan_literal(p, n, i, "true", &err);
        } else if (c == 'f') {
            next = scan_literal(p, n, i, "false", &err);
        } else if (c == 'n') {
            next = scan_literal(p, n, i, "null", &err);
        } else {
            err = i;
            goto fail;
        }
        if (!next)
            goto fail;
        i = next;

        /* After a complete value: close containers or move to the next. */
        for (;;) {
            if (depth == 0)
                goto done;
            bool obj = stack[(depth - 1) / 8] >> ((depth - 1) % 8) & 1;
            i = skip_ws(p, n, i);
            if (i >= n) {
                err = n;
                goto fail;
            }
            if (p[i] == (obj ? '}' : ']')) {
                depth--;
                i++;
                continue;
            }
            if (p[i] != ',') {
                err = i;
                goto fail;
            }
            i++;
            if (obj)
                goto key;
            break; /* next array element */
        }
        continue;

    key:
        i = skip_ws(p, n, i);
        if (i >= n || p[i] != '"') {
            err = i < n ? i : n;
            goto fail;
        }
        if (!(i = scan_string(p, n, i, &err)))
            goto fail;
        i = skip_ws(p, n, i);
        if (i >= n || p[i] != ':') {
            err = i < n ? i : n;
            goto fail;
        }
        i++;
    }

done:
    *kind = kind_of(p[first]);
    *start = first;
    *end = i;
    *pos = i;
    return 0;
fail:
    *pos = err;
    return -1;
}

/* Go's unquoteBytes: escapes resolved, a surrogate pair joined, anything
 * else surrogate-shaped becomes U+FFFD, and invalid UTF-8 bytes become
 * U+FFFD one byte at a time (written as the rune's three bytes). */
int gj_string_decode(const char *lit, size_t n, mk_buf *out)
{
    if (n < 2 || lit[0] != '"' || lit[n - 1] != '"')
        return -1;
    const unsigned char *s = (const unsigned char *)lit + 1;
    size_t len = n - 2, i = 0, start = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '\\' && c != '"') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t size;
            bool bad;
            utf8_decode(s + i, len - i, &size, &bad);
            if (bad) {
                mk_buf_append(out, s + start, i - start);
                utf8_append(out, 0xFFFD);
                start = i + 1;
            }
            i += size;
            continue;
        }
        if (c != '\\')
            return -1; /* raw quote or control byte */
        mk_buf_append(out, s + start, i - start);
        if (i + 1 >= len)
            return -1;
        char e = (char)s[i + 1];
        i += 2;
        switch (e) {
        case '"': case '\\': case '/': mk_buf_putc(out, e); break;
        case 'b': mk_buf_putc(out, '\b'); break;
        case 'f': mk_buf_putc(out, '\f'); break;
        case 'n': mk_buf_putc(out, '\n'); break;
        case 'r': mk_buf_putc(out, '\r'); break;
        case 't': mk_buf_putc(out, '\t'); break;
        case 'u': {
            uint32_t r = 0;
            for (int k = 0; k < 4; k++) {
                int h = i + (size_t)k < len ? mk_hexval((char)s[i + (size_t)k]) : -1;
                if (h < 0)
                    return -1;
                r = r << 4 | (uint32_t)h;
            }
            i += 4;
            if (r >= 0xD800 && r < 0xE000) {
                /* Only a high surrogate followed by an escaped low one
                 * pairs up; otherwise U+FFFD and the next escape is read
                 * on its own. */
                uint32_t lo = 0;
                bool pair = r < 0xDC00 && i + 6 <= len && s[i] == '\\' && s[i + 1] == 'u';
                for (int k = 0; pair && k < 4; k++) {
                    int h = mk_hexval((char)s[i + 2 + (size_t)k]);
                    pair = h >= 0;
                    lo = lo << 4 | (uint32_t)(h < 0 ? 0 : h);
                }
                if (pair && lo >= 0xDC00 && lo < 0xE000) {
                    r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                } else {
                    r = 0xFFFD;
                }
            }
            utf8_append(out, r);
            break;
        }
        default:
            return -1;
        }
        start = i;
    }
    mk_buf_append(out, s + start, len - start);
    return out->err ? -1 : 0;
}

/* ---- iteration ---------------------------------------------------------- */

void gj_iter_init(gj_iter *it, const char *p, size_t start, size_t end)
{
    it->p = p;
    it->end = end;
    it->pos = start + 1;
    it->object = p[start] == '{';
    it->first = true;
}

/* The index after the string literal at p[i] == '"', in valid JSON: the
 * first quote not escaped, found with memchr. */
static size_t skip_string(const char *p, size_t n, size_t i)
{
    size_t body = i + 1;
    for (i = body; i < n;) {
        const char *q = memchr(p + i, '"', n - i);
        if (!q)
            return n;
        size_t j = (size_t)(q - p), k = j;
        while (k > body && p[k - 1] == '\\')
            k--;
        if ((j - k) % 2 == 0)
            return j + 1;
        i = j + 1;
    }
    return n;
}

/* The index after the value at p[i], in valid JSON: no second validation,
 * which made decoding rescan every nested byte once per level. */
static size_t skip_valid(const char *p, size_t n, size_t i)
{
    char c = p[i];
    if (c == '"')
        return skip_string(p, n, i);
    if (c == '{' || c == '[') {
        size_t depth = 0;
        while (i < n) {
            c = p[i];
            if (c == '"') {
                i = skip_string(p, n, i);
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                return i + 1;
            }
            i++;
        }
        return n;
    }
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ':' && !is_ws(p[i]))
        i++;
    return i;
}

int gj_iter_next(gj_iter *it, size_t *key_start, size_t *key_end,
                 gj_kind *kind, size_t *val_start, size_t *val_end)
{
    const char *p = it->p;
    size_t i = skip_ws(p, it->end, it->pos);
    if (i >= it->end)
        return -1;
    if (p[i] == (it->object ? '}' : ']')) {
        it->pos = i + 1;
        return 0;
    }
    if (!it->first) {
        if (p[i] != ',')
            return -1;
        i = skip_ws(p, it->end, i + 1);
    }
    if (it->object) {
        if (i >= it->end || p[i] != '"')
            return -1;
        size_t ks = i;
        i = skip_string(p, it->end, i);
        if (key_start)
            *key_start = ks;
        if (key_end)
            *key_end = i;
        i = skip_ws(p, it->end, i);
        if (i >= it->end || p[i] != ':')
            return -1;
        i = skip_ws(p, it->end, i + 1);
    }
    if (i >= it->end || p[i] == ',' || p[i] == '}' || p[i] == ']' || p[i] == ':')
        return -1;
    *kind = kind_of(p[i]);
    *val_start = i;
    i = skip_valid(p, it->end, i);
    *val_end = i;
    it->pos = i;
    it->first = false;
    return 1;
}
