/* ingest._native: the common case of the line → bulk body step, in C.
 *
 * For each log line it either writes the whole bulk body (action line + document) or declines the
 * line (None). It declines anything unusual: non-ASCII, control characters, backslashes, fields that
 * do not match the fast patterns of ingest/formats/alb.py and s3access.py, time zones other than
 * +0000, unknown trailing fields. Declined lines take the Python path, which is the reference: for
 * every line this module accepts, it must write exactly the bytes the Python path writes
 * (tests/formats/test_native.py checks that on the AWS examples, the generator and fuzzed lines).
 * Written against the limited API so that one binary per CPU serves CPython 3.11 to 3.13.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p;
    Py_ssize_t n;
    int quoted;
} Field;

#define ALB_FIELDS 34
#define ALB_MIN_FIELDS 29 /* every line since 2020; older ones take the Python path */
#define S3_FIELDS 27
#define S3_MIN_FIELDS 17
#define MAX_FIELDS 40

/* ---- output buffer ---- */

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
} Out;

/* -1 when out of memory, with no Python error set (it may run without the GIL: libc's allocator, not
 * PyMem's); encode() raises MemoryError once it holds the GIL again. */
static int reserve(Out *o, Py_ssize_t extra) {
    if (o->len + extra <= o->cap) return 0;
    Py_ssize_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + extra) cap *= 2;
    char *b = realloc(o->buf, (size_t)cap);
    if (!b) return -1;
    o->buf = b;
    o->cap = cap;
    return 0;
}

/* Writes assume reserve() made room: a line's body is bounded by BODY_BOUND below. */
static inline void put(Out *o, const char *s, Py_ssize_t n) {
    memcpy(o->buf + o->len, s, (size_t)n);
    o->len += n;
}
#define PUTS(o, lit) put((o), (lit), (Py_ssize_t)(sizeof(lit) - 1))
#define PUTF(o, f) put((o), (f).p, (f).n)

static inline int is_dash(Field f) { return f.n == 1 && f.p[0] == '-'; }

/* ---- the documents' _id: BLAKE2b-128 of the raw line, in hex (RFC 7693) ----
 *
 * The same id as the Python path's hashlib.blake2b(raw, digest_size=16).hexdigest(), computed here so
 * that it runs with the GIL let go, with the body. Unkeyed, 16-byte digest, sequential mode only: the
 * only use. Portable C (byte-wise little-endian loads, which compilers turn into plain loads). */

#define ID_HEX 32 /* 16 bytes, two lowercase hex digits each */

static const uint64_t BLAKE2B_IV[8] = {
    0x6A09E667F3BCC908ULL, 0xBB67AE8584CAA73BULL, 0x3C6EF372FE94F82BULL, 0xA54FF53A5F1D36F1ULL,
    0x510E527FADE682D1ULL, 0x9B05688C2B3E6C1FULL, 0x1F83D9ABFB41BD6BULL, 0x5BE0CD19137E2179ULL};

/* Message word schedule; rounds 10 and 11 reuse rows 0 and 1. */
static const uint8_t BLAKE2B_SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

static inline uint64_t load64_le(const unsigned char *p) {
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline uint64_t rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

#define BLAKE2B_G(a, b, c, d, x, y)       \
    do {                                  \
        a = a + b + (x);                  \
        d = rotr64(d ^ a, 32);            \
        c = c + d;                        \
        b = rotr64(b ^ c, 24);            \
        a = a + b + (y);                  \
        d = rotr64(d ^ a, 16);            \
        c = c + d;                        \
        b = rotr64(b ^ c, 63);            \
    } while (0)

/* One round, unrolled with the schedule's indices as constants: a loop over SIGMA rows costs ~20% more
 * instructions per block (the indices loaded at run time, m[] spilled), and this runs for every line. */
#define BLAKE2B_ROUND(r)                                                                        \
    do {                                                                                        \
        const uint8_t *s_ = BLAKE2B_SIGMA[r];                                                   \
        BLAKE2B_G(v[0], v[4], v[8], v[12], m[s_[0]], m[s_[1]]);                                 \
        BLAKE2B_G(v[1], v[5], v[9], v[13], m[s_[2]], m[s_[3]]);                                 \
        BLAKE2B_G(v[2], v[6], v[10], v[14], m[s_[4]], m[s_[5]]);                                \
        BLAKE2B_G(v[3], v[7], v[11], v[15], m[s_[6]], m[s_[7]]);                                \
        BLAKE2B_G(v[0], v[5], v[10], v[15], m[s_[8]], m[s_[9]]);                                \
        BLAKE2B_G(v[1], v[6], v[11], v[12], m[s_[10]], m[s_[11]]);                              \
        BLAKE2B_G(v[2], v[7], v[8], v[13], m[s_[12]], m[s_[13]]);                               \
        BLAKE2B_G(v[3], v[4], v[9], v[14], m[s_[14]], m[s_[15]]);                               \
    } while (0)

/* F: one 128-byte block into h. `t`: the bytes hashed so far, this block's included (the counter's high
 * word stays 0: a length in a size_t is below 2^64); `last`: the final block flag. */
static void blake2b_compress(uint64_t h[8], const unsigned char block[128], uint64_t t, int last) {
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++) m[i] = load64_le(block + 8 * i);
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = BLAKE2B_IV[i];
    }
    v[12] ^= t;
    if (last) v[14] = ~v[14];
    BLAKE2B_ROUND(0);
    BLAKE2B_ROUND(1);
    BLAKE2B_ROUND(2);
    BLAKE2B_ROUND(3);
    BLAKE2B_ROUND(4);
    BLAKE2B_ROUND(5);
    BLAKE2B_ROUND(6);
    BLAKE2B_ROUND(7);
    BLAKE2B_ROUND(8);
    BLAKE2B_ROUND(9);
    BLAKE2B_ROUND(10);
    BLAKE2B_ROUND(11);
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

/* BLAKE2b with a 16-byte digest and no key, of p[0..n), as 32 lowercase hex digits into hex. */
static void blake2b_16_hex(const char *p, Py_ssize_t n, char hex[ID_HEX]) {
    const unsigned char *in = (const unsigned char *)p;
    uint64_t h[8];
    memcpy(h, BLAKE2B_IV, sizeof h);
    h[0] ^= 0x01010000ULL ^ 16; /* parameter block: depth 1, fanout 1, key length 0, digest length 16 */
    uint64_t t = 0;
    /* Every full block but the last one: the final block (flagged) is the last 1..128 bytes, or a block
     * of zeros for the empty message. */
    while (n > 128) {
        t += 128;
        blake2b_compress(h, in, t, 0);
        in += 128;
        n -= 128;
    }
    unsigned char block[128] = {0};
    memcpy(block, in, (size_t)n);
    blake2b_compress(h, block, t + (uint64_t)n, 1);
    static const char digits_hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        unsigned char byte = (unsigned char)(h[i / 8] >> (8 * (i % 8))); /* the digest is h, little-endian */
        hex[2 * i] = digits_hex[byte >> 4];
        hex[2 * i + 1] = digits_hex[byte & 15];
    }
}

/* ---- enrichment (ingest/enrich.py) ---- */

/* The enricher's caches ({bytes: bytes}) and the functions that fill them on a miss; NULL when off.
 * `bound`: the room a line's body needs besides the inserted members (what encode() reserved). */
typedef struct {
    PyObject *geo, *geo_miss, *ua, *ua_miss;
    Py_ssize_t bound;
} Enrich;

/* Writes the members the enricher gives for `key` (cache[key], else miss(key), which fills the cache).
 * The same bytes the Python path inserts (Enricher.apply). -1 with a Python error set. */
static int put_enrichment(Out *o, const Enrich *e, PyObject *cache, PyObject *miss, Field key) {
    if (miss == NULL) return 0;
    PyObject *k = PyBytes_FromStringAndSize(key.p, key.n);
    if (!k) return -1;
    PyObject *v = PyDict_GetItemWithError(cache, k); /* borrowed */
    if (v) {
        Py_INCREF(v);
    } else if (PyErr_Occurred()) {
        Py_DECREF(k);
        return -1;
    } else {
        v = PyObject_CallFunctionObjArgs(miss, k, NULL);
    }
    Py_DECREF(k);
    if (!v) return -1;
    char *p;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(v, &p, &n) < 0 || reserve(o, n + e->bound) < 0) {
        Py_DECREF(v);
        return -1;
    }
    put(o, p, n);
    Py_DECREF(v);
    return 0;
}

/* ---- tokenizing ---- */

/* Splits a line into fields the way the fast regexes do: single spaces between fields, a quoted
 * field is `"[^"]*"`, an unquoted one `[^ "]+`. Returns the field count, or -1 when the line does
 * not tokenize that way within `max` fields. `*rest` gets what follows field `max` after its space
 * (NULL when the line ends there). */
static int tokenize(const char *s, Py_ssize_t n, Field *fields, int max, const char **rest, Py_ssize_t *rest_n) {
    const char *end = s + n, *p = s;
    int count = 0;
    *rest = NULL;
    *rest_n = 0;
    while (p < end) {
        if (count == max) {
            *rest = p;
            *rest_n = end - p;
            return count;
        }
        Field *f = &fields[count++];
        if (*p == '"') {
            const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
            if (!close) return -1;
            f->p = p + 1;
            f->n = close - p - 1;
            f->quoted = 1;
            p = close + 1;
        } else {
            const char *q = p;
            while (q < end && *q != ' ') {
                if (*q == '"') return -1;
                q++;
            }
            if (q == p) return -1; /* two spaces in a row */
            f->p = p;
            f->n = q - p;
            f->quoted = 0;
            p = q;
        }
        if (p < end) {
            if (*p != ' ') return -1; /* a closing quote glued to the next token */
            p++;
            if (p == end && count < max) return -1; /* trailing space: the Python path decides */
        }
    }
    return count;
}

/* The line holds only printable ASCII (DEL included) and no backslash: every token can go into
 * JSON between quotes as it is. */
static int plain_ascii(const char *s, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x80 || c == '\\') return 0;
    }
    return 1;
}

/* ---- field patterns (those of the Python fast regexes) ---- */

static inline int digit(char c) { return c >= '0' && c <= '9'; }

static int digits(const char *p, Py_ssize_t n) {
    if (n == 0) return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!digit(p[i])) return 0;
    return 1;
}

/* JSON_INT: 0 or [1-9][0-9]* */
static int json_int(const char *p, Py_ssize_t n) {
    if (n == 0 || !digits(p, n)) return 0;
    return n == 1 || p[0] != '0';
}

/* JSON_INT(\.[0-9]+)? */
static int seconds(const char *p, Py_ssize_t n) {
    const char *dot = memchr(p, '.', (size_t)n);
    if (!dot) return json_int(p, n);
    return json_int(p, dot - p) && digits(dot + 1, n - (dot - p) - 1);
}

static inline int two(const char *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

/* base.possible_time, on digits already checked: month 1-12, a day the month has (29 February in
 * leap years only), hour 0-23, minute and second 0-59 (no leap second). The Python path raises
 * ParseError ("impossible timestamp") on the rest: declining sends the line there. */
static int possible_time(const char *year, const char *month, const char *day, const char *h, const char *m,
                         const char *s) {
    static const int days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int mo = two(month), d = two(day);
    if (mo < 1 || mo > 12 || d < 1 || d > days[mo - 1] || two(h) > 23 || two(m) > 59 || two(s) > 59) return 0;
    if (mo == 2 && d == 29) {
        int y = two(year) * 100 + two(year + 2);
        return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    }
    return 1;
}

/* \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z, a possible time */
static int iso_time(const char *p, Py_ssize_t n) {
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (n < 20) return 0;
    for (int i = 0; i < 19; i++) {
        if (shape[i] == 'd' ? !digit(p[i]) : p[i] != shape[i]) return 0;
    }
    if (n == 20 ? p[19] != 'Z' : !(p[19] == '.' && p[n - 1] == 'Z' && digits(p + 20, n - 21))) return 0;
    return possible_time(p, p + 5, p + 8, p + 11, p + 14, p + 17);
}

/* ([^ "]+):(JSON_INT), the address with its brackets stripped (Python's .strip("[]")). */
static int address(Field f, Field *ip, Field *port) {
    const char *colon = NULL;
    for (Py_ssize_t i = f.n - 1; i >= 0; i--)
        if (f.p[i] == ':') {
            colon = f.p + i;
            break;
        }
    if (!colon || colon == f.p) return 0;
    port->p = colon + 1;
    port->n = f.n - (colon - f.p) - 1;
    if (!json_int(port->p, port->n)) return 0;
    const char *a = f.p, *b = colon;
    while (a < b && (*a == '[' || *a == ']')) a++;
    while (b > a && (b[-1] == '[' || b[-1] == ']')) b--;
    ip->p = a;
    ip->n = b - a;
    return 1;
}

/* ---- shared emitters ---- */

/* Python's split_request: method up to the first space, protocol after the last one. */
static void split_request(Field r, Field *method, Field *url, Field *protocol) {
    const char *end = r.p + r.n;
    const char *sp = memchr(r.p, ' ', (size_t)r.n);
    url->p = protocol->p = end;
    url->n = protocol->n = 0;
    if (!sp) {
        *method = r;
        return;
    }
    method->p = r.p;
    method->n = sp - r.p;
    const char *rest = sp + 1, *last = NULL;
    for (const char *q = end - 1; q >= rest; q--)
        if (*q == ' ') {
            last = q;
            break;
        }
    if (!last) {
        url->p = rest;
        url->n = end - rest;
        return;
    }
    url->p = rest;
    url->n = last - rest;
    protocol->p = last + 1;
    protocol->n = end - last - 1;
}

static inline int http_version(Field protocol, Field *version) {
    if (protocol.n < 5 || memcmp(protocol.p, "HTTP/", 5) != 0) return 0;
    version->p = protocol.p + 5;
    version->n = protocol.n - 5;
    return 1;
}

static void put_string_member(Out *o, const char *key, Py_ssize_t key_n, Field v) {
    put(o, key, key_n);
    PUTF(o, v);
    PUTS(o, "\"");
}
/* `lit` (up to the value's opening quote), the value, its closing quote */
#define PUT_STRING(o, lit, f) put_string_member((o), lit, (Py_ssize_t)(sizeof(lit) - 1), (f))
/* `,"name":"value"` when the field is there and not `-` */
#define STRING_MEMBER(o, lit, f, present) \
    do { if ((present) && !is_dash(f)) PUT_STRING((o), lit, (f)); } while (0)
#define NUMBER_MEMBER(o, lit, f) \
    do { if (!is_dash(f)) { PUTS((o), lit); PUTF((o), (f)); } } while (0)

static inline int in(char c, const char *set) { return c && strchr(set, c) != NULL; }

/* The path and query members of Python's url_members, where present. */
static void path_query_members(Out *o, Field path, Field query) {
    if (path.n) PUT_STRING(o, ",\"path\":\"", path);
    if (query.n) PUT_STRING(o, ",\"query\":\"", query);
}

/* What Python's _ABSOLUTE_URL does after `://`: [:port][/path][?query] to the end. */
static int url_rest(const char *p, const char *end, Field *port, Field *path, Field *query) {
    port->n = path->n = query->n = 0;
    port->p = path->p = query->p = p;
    if (p < end && *p == ':') {
        const char *q = p + 1;
        if (q < end && *q == '0') {
            q++;
        } else {
            while (q < end && digit(*q)) q++;
        }
        if (q == p + 1 || (q < end && *q != '/' && *q != '?')) return 0;
        port->p = p + 1;
        port->n = q - p - 1;
        p = q;
    }
    if (p < end && *p == '/') {
        const char *q = memchr(p, '?', (size_t)(end - p));
        if (!q) q = end;
        path->p = p;
        path->n = q - p;
        p = q;
    }
    if (p < end && *p == '?') {
        query->p = p + 1;
        query->n = end - p - 1;
        p = end;
    }
    return p == end;
}

/* Python's url_members(url, absolute=True). */
static void absolute_url_members(Out *o, Field url) {
    const char *p = url.p, *end = url.p + url.n;
    PUT_STRING(o, "\"original\":\"", url);
    /* scheme: [A-Za-z][A-Za-z0-9+.-]* then :// */
    const char *q = p;
    if (q == end || !((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))) return;
    q++;
    while (q < end && ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || digit(*q) || in(*q, "+.-"))) q++;
    if (end - q < 3 || memcmp(q, "://", 3) != 0) return;
    Field scheme = {p, q - p, 0}, host, domain, port, path, query;
    const char *h = q + 3;
    int matched = 0;
    if (h < end && *h == '[') { /* \[[^\]/]*\] */
        const char *j = h + 1;
        while (j < end && *j != ']' && *j != '/') j++;
        if (j < end && *j == ']' && url_rest(j + 1, end, &port, &path, &query)) {
            host.p = h;
            host.n = j + 1 - h;
            matched = 1;
        }
    }
    if (!matched) { /* [^/?:]* */
        const char *k = h;
        while (k < end && *k != '/' && *k != '?' && *k != ':') k++;
        if (!url_rest(k, end, &port, &path, &query)) return;
        host.p = h;
        host.n = k - h;
    }
    PUT_STRING(o, ",\"scheme\":\"", scheme);
    if (host.n) {
        domain = host;
        if (host.p[0] == '[') { /* host[1:-1] */
            domain.p = host.p + 1;
            domain.n = host.n >= 2 ? host.n - 2 : 0;
        }
        PUT_STRING(o, ",\"domain\":\"", domain);
    }
    if (port.n) {
        PUTS(o, ",\"port\":");
        PUTF(o, port);
    }
    path_query_members(o, path, query);
}

/* json_list(value.split(",")) */
static void comma_list(Out *o, Field v) {
    PUTS(o, "[\"");
    for (Py_ssize_t i = 0; i < v.n; i++) {
        if (v.p[i] == ',')
            PUTS(o, "\",\"");
        else
            o->buf[o->len++] = v.p[i];
    }
    PUTS(o, "\"]");
}

/* json_list(value.split()): runs of spaces separate, leading and trailing ones are dropped. */
static void space_list(Out *o, Field v) {
    PUTS(o, "[\"");
    int first = 1;
    Py_ssize_t i = 0;
    while (i < v.n) {
        while (i < v.n && v.p[i] == ' ') i++;
        if (i == v.n) break;
        if (!first) PUTS(o, "\",\"");
        first = 0;
        while (i < v.n && v.p[i] != ' ') o->buf[o->len++] = v.p[i++];
    }
    PUTS(o, "\"]");
}

static void put_action(Out *o, Field prefix, const char *day /* YYYY?MM?DD */, Field id) {
    PUTS(o, "{\"index\":{\"_index\":\"");
    PUTF(o, prefix);
    put(o, day, 4);
    PUTS(o, ".");
    put(o, day + 5, 2);
    PUTS(o, ".");
    put(o, day + 8, 2);
    PUTS(o, "\",\"_id\":\"");
    PUTF(o, id);
    PUTS(o, "\"}}\n{");
}

/* ---- ALB (ingest/formats/alb.py) ---- */

enum {
    A_TYPE, A_TIME, A_ELB, A_CLIENT, A_TARGET, A_RPT, A_TPT, A_RESPT, A_ESC, A_TSC, A_RB, A_SB,
    A_REQUEST, A_UA, A_CIPHER, A_PROTO, A_TG, A_TRACE, A_DOMAIN, A_CERT, A_PRIO, A_RCT, A_ACTIONS,
    A_REDIRECT, A_ERROR, A_TPL, A_TSCL, A_CLS, A_CLSR, A_CONN, A_THOST, A_TURI, A_TSTATUS, A_IP
};
static const char ALB_QUOTED[ALB_FIELDS] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0};

static int alb_body(Out *o, const char *line, Py_ssize_t n, Field prefix, Field id, const Enrich *e) {
    Field f[MAX_FIELDS];
    const char *rest;
    Py_ssize_t rest_n;
    int count = tokenize(line, n, f, ALB_FIELDS, &rest, &rest_n);
    if (count < ALB_MIN_FIELDS) return 0;
    for (int i = 0; i < count; i++)
        if (f[i].quoted != ALB_QUOTED[i]) return 0;
    /* After the last known field only `-` and `"-"` placeholders (what the Python path drops) are
     * taken: the shortcut of alb.py's _emit, `rest.replace('"-"', "").strip(" -")` empty. A `"`
     * not starting a `"-"` (e.g. `" -"`, a field holding a space, which Python keeps) declines. */
    for (Py_ssize_t i = 0; i < rest_n; i++) {
        if (rest[i] == '"') {
            if (i + 2 >= rest_n || rest[i + 1] != '-' || rest[i + 2] != '"') return 0;
            i += 2;
        } else if (rest[i] != ' ' && rest[i] != '-') {
            return 0;
        }
    }

    Field cip, cport, tip = {0}, tport = {0};
    int has_target = !is_dash(f[A_TARGET]);
    if (!iso_time(f[A_TIME].p, f[A_TIME].n) || !address(f[A_CLIENT], &cip, &cport)) return 0;
    if (has_target && !address(f[A_TARGET], &tip, &tport)) return 0;
    for (int i = A_RPT; i <= A_RESPT; i++)
        if (!(f[i].n == 2 && f[i].p[0] == '-' && f[i].p[1] == '1') && !seconds(f[i].p, f[i].n)) return 0;
    for (int i = A_ESC; i <= A_TSC; i++)
        if (!is_dash(f[i]) && !json_int(f[i].p, f[i].n)) return 0;
    if (!json_int(f[A_RB].p, f[A_RB].n) || !json_int(f[A_SB].p, f[A_SB].n)) return 0;
    Field prio = f[A_PRIO];
    if (!is_dash(prio) && !(prio.p[0] == '-' ? json_int(prio.p + 1, prio.n - 1) : json_int(prio.p, prio.n))) return 0;
    if (!is_dash(f[A_RCT]) && !iso_time(f[A_RCT].p, f[A_RCT].n)) return 0;

    put_action(o, prefix, f[A_TIME].p, id);
    PUTS(o, "\"@timestamp\":\"");
    PUTF(o, f[A_TIME]);
    PUTS(o, "\",\"source\":{\"ip\":\"");
    PUTF(o, cip);
    PUTS(o, "\"");
    if (put_enrichment(o, e, e->geo, e->geo_miss, cip) < 0) return -1;
    PUTS(o, ",\"port\":");
    PUTF(o, cport);
    PUTS(o, "}");
    if (has_target) {
        PUTS(o, ",\"destination\":{\"ip\":\"");
        PUTF(o, tip);
        PUTS(o, "\",\"port\":");
        PUTF(o, tport);
        PUTS(o, "}");
    }
    Field method, url, protocol, version;
    split_request(f[A_REQUEST], &method, &url, &protocol);
    PUTS(o, ",\"http\":{\"request\":{\"bytes\":");
    PUTF(o, f[A_RB]);
    if (method.n && !is_dash(method)) {
        PUT_STRING(o, ",\"method\":\"", method);
    }
    PUTS(o, "},\"response\":{\"bytes\":");
    PUTF(o, f[A_SB]);
    NUMBER_MEMBER(o, ",\"status_code\":", f[A_ESC]);
    if (http_version(protocol, &version)) {
        PUTS(o, "},\"version\":\"");
        PUTF(o, version);
        PUTS(o, "\"}");
    } else {
        PUTS(o, "}}");
    }
    if (url.n && !is_dash(url)) {
        PUTS(o, ",\"url\":{");
        absolute_url_members(o, url);
        PUTS(o, "}");
    }
    if (!is_dash(f[A_UA])) {
        PUTS(o, ",\"user_agent\":{\"original\":\"");
        PUTF(o, f[A_UA]);
        PUTS(o, "\"");
        if (put_enrichment(o, e, e->ua, e->ua_miss, f[A_UA]) < 0) return -1;
        PUTS(o, "}");
    }
    PUTS(o, ",\"aws\":{\"elb\":{\"type\":\"");
    PUTF(o, f[A_TYPE]);
    PUTS(o, "\",\"elb\":\"");
    PUTF(o, f[A_ELB]);
    PUTS(o, "\"");
    static const char *const timing[] = {",\"request_processing_time\":", ",\"target_processing_time\":",
                                         ",\"response_processing_time\":"};
    for (int i = A_RPT; i <= A_RESPT; i++) {
        if (!(f[i].n == 2 && f[i].p[0] == '-')) { /* -1: never reached a target; absent */
            put(o, timing[i - A_RPT], (Py_ssize_t)strlen(timing[i - A_RPT]));
            PUTF(o, f[i]);
        }
    }
    NUMBER_MEMBER(o, ",\"target_status_code\":", f[A_TSC]);
    STRING_MEMBER(o, ",\"ssl_cipher\":\"", f[A_CIPHER], 1);
    STRING_MEMBER(o, ",\"ssl_protocol\":\"", f[A_PROTO], 1);
    STRING_MEMBER(o, ",\"target_group_arn\":\"", f[A_TG], 1);
    STRING_MEMBER(o, ",\"trace_id\":\"", f[A_TRACE], 1);
    STRING_MEMBER(o, ",\"domain_name\":\"", f[A_DOMAIN], 1);
    STRING_MEMBER(o, ",\"chosen_cert_arn\":\"", f[A_CERT], 1);
    NUMBER_MEMBER(o, ",\"matched_rule_priority\":", prio);
    STRING_MEMBER(o, ",\"request_creation_time\":\"", f[A_RCT], 1);
    if (!is_dash(f[A_ACTIONS])) {
        PUTS(o, ",\"actions_executed\":");
        comma_list(o, f[A_ACTIONS]);
    }
    STRING_MEMBER(o, ",\"redirect_url\":\"", f[A_REDIRECT], 1);
    STRING_MEMBER(o, ",\"error_reason\":\"", f[A_ERROR], 1);
    if (!is_dash(f[A_TPL])) {
        PUTS(o, ",\"target_port_list\":");
        space_list(o, f[A_TPL]);
    }
    if (!is_dash(f[A_TSCL])) {
        PUTS(o, ",\"target_status_code_list\":");
        space_list(o, f[A_TSCL]);
    }
    STRING_MEMBER(o, ",\"classification\":\"", f[A_CLS], 1);
    STRING_MEMBER(o, ",\"classification_reason\":\"", f[A_CLSR], 1);
    STRING_MEMBER(o, ",\"conn_trace_id\":\"", f[A_CONN], count > A_CONN);
    STRING_MEMBER(o, ",\"transformed_host\":\"", f[A_THOST], count > A_THOST);
    STRING_MEMBER(o, ",\"transformed_uri\":\"", f[A_TURI], count > A_TURI);
    STRING_MEMBER(o, ",\"request_transform_status\":\"", f[A_TSTATUS], count > A_TSTATUS);
    STRING_MEMBER(o, ",\"ip_address\":\"", f[A_IP], count > A_IP);
    PUTS(o, "}}");
    return 1;
}

/* ---- S3 server access logs (ingest/formats/s3access.py) ---- */

enum {
    S_OWNER, S_BUCKET, S_TIME, S_REMOTE_IP, S_REQUESTER, S_REQUEST_ID, S_OPERATION, S_KEY, S_REQUEST_URI,
    S_STATUS, S_ERROR_CODE, S_BYTES_SENT, S_OBJECT_SIZE, S_TOTAL_TIME, S_TURNAROUND, S_REFERRER, S_UA,
    S_VERSION_ID, S_HOST_ID, S_SIGV, S_CIPHER, S_AUTH_TYPE, S_HOST_HEADER, S_TLS_VERSION, S_ACCESS_POINT,
    S_ACL_REQUIRED, S_REGION
};

/* One field of an S3 line at p, as the Python regexes match it: returns where it ends (at a space or
 * the end of the line) or NULL. `slow`: unquoted fields are `[^ ]+` rather than `[^ "]+`. */
static const char *s3_field(int i, const char *p, const char *end, int slow, Field *f) {
    if (i == S_REQUEST_URI || i == S_REFERRER || i == S_UA) { /* "..." or a bare - */
        if (p < end && *p == '"') {
            const char *close = memchr(p + 1, '"', (size_t)(end - p - 1));
            if (close && (close + 1 == end || close[1] == ' ')) {
                f->p = p + 1;
                f->n = close - p - 1;
                f->quoted = 1;
                return close + 1;
            }
        }
        if (p < end && *p == '-' && (p + 1 == end || p[1] == ' ')) {
            f->p = p;
            f->n = 1;
            f->quoted = 0;
            return p + 1;
        }
        return NULL;
    }
    const char *q = p;
    while (q < end && *q != ' ' && (slow || *q != '"')) q++;
    if (q == p || (q < end && *q != ' ')) return NULL;
    f->p = p;
    f->n = q - p;
    f->quoted = 0;
    if (i == S_OPERATION) { /* [A-Z0-9_]+\.[^ ]+ */
        const char *k = p;
        while (k < q && ((*k >= 'A' && *k <= 'Z') || digit(*k) || *k == '_')) k++;
        if (k == p || k + 1 >= q || *k != '.') return NULL;
    } else if (i == S_STATUS || (i >= S_BYTES_SENT && i <= S_TURNAROUND)) { /* JSON_INT or - */
        if (!is_dash(*f) && !json_int(p, q - p)) return NULL;
    }
    return q;
}

/* The fields from the request ID on, at p; at least `required` of all the fields. */
static int s3_match_from_request_id(const char *p, const char *end, int slow, int required, Field *f, int *count,
                                    const char **rest, Py_ssize_t *rest_n) {
    int i = S_REQUEST_ID;
    for (; i < S3_FIELDS; i++) {
        const char *start = p;
        if (i > S_REQUEST_ID) {
            if (p == end) break; /* p is at a space or the end: fields end here */
            start = p + 1;
        }
        const char *q = s3_field(i, start, end, slow, &f[i]);
        if (!q) break;
        p = q;
    }
    if (i < required) return 0;
    *count = i;
    *rest = p == end ? NULL : p + 1;
    *rest_n = p == end ? 0 : end - p - 1;
    return 1;
}

/* remote IP, requester and the rest, at p (after the time and its space): the fast patterns when
 * `slow` is 0, else the slow ones; 26 fields required, else 17 (Python's _RECENT then _ANY). */
static int s3_match(const char *p, const char *end, int slow, Field *f, int *count, const char **rest,
                    Py_ssize_t *rest_n) {
    const char *q = s3_field(S_REMOTE_IP, p, end, 0, &f[S_REMOTE_IP]);
    if (!q || q == end) return 0;
    const char *requester = q + 1;
    if (requester == end) return 0; /* a requester needs at least one character */
    static const int required[2] = {26, S3_MIN_FIELDS};
    for (int r = 0; r < 2; r++) {
        if (!slow) {
            const char *e = s3_field(S_REQUESTER, requester, end, 0, &f[S_REQUESTER]);
            if (e && e < end && s3_match_from_request_id(e + 1, end, 0, required[r], f, count, rest, rest_n))
                return 1;
            continue;
        }
        /* (.+?): every space after at least one character, shortest first */
        for (const char *e = requester + 1; e < end; e++) {
            if (*e != ' ') continue;
            if (s3_match_from_request_id(e + 1, end, 1, required[r], f, count, rest, rest_n)) {
                f[S_REQUESTER].p = requester;
                f[S_REQUESTER].n = e - requester;
                f[S_REQUESTER].quoted = 0;
                return 1;
            }
        }
    }
    return 0;
}

static const char MONTHS[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static int s3_body(Out *o, const char *line, Py_ssize_t n, Field prefix, Field id, const Enrich *e) {
    /* The time `[06/Feb/2019:00:00:38 +0000]` holds a space: take it before tokenizing the rest. */
    Field f[MAX_FIELDS];
    const char *rest;
    Py_ssize_t rest_n;
    int head = tokenize(line, n, f, 2, &rest, &rest_n);
    if (head != 2 || f[0].quoted || f[1].quoted || rest_n < 29) return 0;
    const char *t = rest; /* [dd/Mon/yyyy:hh:mm:ss +0000] */
    static const char shape[] = "[dd/Mmm/dddd:dd:dd:dd +0000] ";
    for (int i = 0; i < 29; i++) {
        char c = shape[i];
        if (c == 'd' ? !digit(t[i]) : c == 'M' ? !(t[i] >= 'A' && t[i] <= 'Z') : c == 'm' ? !(t[i] >= 'a' && t[i] <= 'z')
                                                                                         : t[i] != c)
            return 0;
    }
    const char *month = NULL;
    for (int m = 0; m < 12; m++)
        if (memcmp(t + 4, MONTHS + 3 * m, 3) == 0) month = &"010203040506070809101112"[2 * m];
    if (!month || !possible_time(t + 8, month, t + 1, t + 13, t + 16, t + 19)) return 0;
    f[S_TIME].p = t;
    f[S_TIME].n = 28;
    f[S_TIME].quoted = 0;
    /* What follows the time is matched the way Python's regexes do it: first the fast patterns
     * (requester `[^ "]+`), at least 26 then at least 17 fields; if they fail, or leave unknown text
     * before the region, the slow ones, whose requester `(.+?)` may hold spaces (a CloudFront
     * origin access identity) and is taken as short as the rest of the line allows. */
    const char *p = t + 29, *end = line + n;
    int count = 0, slow = 0;
    if (!s3_match(p, end, 0, f, &count, &rest, &rest_n) || (rest && count < S3_FIELDS)) {
        slow = 1;
        if (!s3_match(p, end, 1, f, &count, &rest, &rest_n)) return 0;
    }
    if (slow) { /* the slow path JSON-escapes its groups: take only lines with nothing to escape */
        for (int i = S_REMOTE_IP; i < count; i++)
            if (!f[i].quoted && memchr(f[i].p, '"', (size_t)f[i].n)) return 0;
    }
    /* After the last known field only `-` tokens (what the Python path drops) are taken. */
    for (Py_ssize_t i = 0; i < rest_n; i++) {
        if (rest[i] == ' ') continue;
        if (rest[i] != '-' || (i + 1 < rest_n && rest[i + 1] != ' ')) return 0;
    }
    Field op = f[S_OPERATION];

    char day[10] = {t[8], t[9], t[10], t[11], '-', month[0], month[1], '-', t[1], t[2]};
    put_action(o, prefix, day, id);
    PUTS(o, "\"@timestamp\":\"");
    put(o, day, 10);
    PUTS(o, "T");
    put(o, t + 13, 8);
    PUTS(o, "Z\"");
    if (!is_dash(f[S_REMOTE_IP])) {
        PUTS(o, ",\"source\":{\"ip\":\"");
        PUTF(o, f[S_REMOTE_IP]);
        PUTS(o, "\"");
        if (put_enrichment(o, e, e->geo, e->geo_miss, f[S_REMOTE_IP]) < 0) return -1;
        PUTS(o, "}");
    }
    Field method = {0}, url = {0}, protocol = {0}, version;
    if (f[S_REQUEST_URI].quoted && !is_dash(f[S_REQUEST_URI]))
        split_request(f[S_REQUEST_URI], &method, &url, &protocol);
    int has_method = method.n && !is_dash(method);
    int has_referrer = f[S_REFERRER].quoted && !is_dash(f[S_REFERRER]);
    PUTS(o, ",\"http\":{");
    if (has_method || has_referrer) {
        PUTS(o, "\"request\":{");
        if (has_method) {
            PUT_STRING(o, "\"method\":\"", method);
        }
        if (has_referrer) {
            if (has_method) PUTS(o, ",");
            PUT_STRING(o, "\"referrer\":\"", f[S_REFERRER]);
        }
        PUTS(o, "},");
    }
    PUTS(o, "\"response\":{\"bytes\":");
    if (is_dash(f[S_BYTES_SENT]))
        PUTS(o, "0"); /* AWS: `-` when no bytes were sent */
    else
        PUTF(o, f[S_BYTES_SENT]);
    NUMBER_MEMBER(o, ",\"status_code\":", f[S_STATUS]);
    PUTS(o, "}");
    if (http_version(protocol, &version)) {
        PUT_STRING(o, ",\"version\":\"", version);
    }
    PUTS(o, "}");
    if (url.n && !is_dash(url)) { /* url_members(url, absolute=False) */
        const char *qm = memchr(url.p, '?', (size_t)url.n);
        Field path = {url.p, qm ? qm - url.p : url.n, 0};
        Field query = {qm ? qm + 1 : url.p, qm ? url.n - (qm - url.p) - 1 : 0, 0};
        PUT_STRING(o, ",\"url\":{\"original\":\"", url);
        path_query_members(o, path, query);
        PUTS(o, "}");
    }
    if (f[S_UA].quoted && !is_dash(f[S_UA])) {
        PUTS(o, ",\"user_agent\":{\"original\":\"");
        PUTF(o, f[S_UA]);
        PUTS(o, "\"");
        if (put_enrichment(o, e, e->ua, e->ua_miss, f[S_UA]) < 0) return -1;
        PUTS(o, "}");
    }
    PUTS(o, ",\"aws\":{\"s3access\":{\"bucket_owner\":\"");
    PUTF(o, f[S_OWNER]);
    PUTS(o, "\",\"bucket\":\"");
    PUTF(o, f[S_BUCKET]);
    PUTS(o, "\"");
    STRING_MEMBER(o, ",\"requester\":\"", f[S_REQUESTER], 1);
    STRING_MEMBER(o, ",\"request_id\":\"", f[S_REQUEST_ID], 1);
    STRING_MEMBER(o, ",\"operation\":\"", op, 1); /* never `-`: the pattern wants a dot */
    STRING_MEMBER(o, ",\"key\":\"", f[S_KEY], 1);
    STRING_MEMBER(o, ",\"error_code\":\"", f[S_ERROR_CODE], 1);
    NUMBER_MEMBER(o, ",\"object_size\":", f[S_OBJECT_SIZE]);
    NUMBER_MEMBER(o, ",\"total_time\":", f[S_TOTAL_TIME]);
    NUMBER_MEMBER(o, ",\"turn_around_time\":", f[S_TURNAROUND]);
    STRING_MEMBER(o, ",\"version_id\":\"", f[S_VERSION_ID], count > S_VERSION_ID);
    STRING_MEMBER(o, ",\"host_id\":\"", f[S_HOST_ID], count > S_HOST_ID);
    STRING_MEMBER(o, ",\"signature_version\":\"", f[S_SIGV], count > S_SIGV);
    STRING_MEMBER(o, ",\"cipher_suite\":\"", f[S_CIPHER], count > S_CIPHER);
    STRING_MEMBER(o, ",\"authentication_type\":\"", f[S_AUTH_TYPE], count > S_AUTH_TYPE);
    STRING_MEMBER(o, ",\"host_header\":\"", f[S_HOST_HEADER], count > S_HOST_HEADER);
    STRING_MEMBER(o, ",\"tls_version\":\"", f[S_TLS_VERSION], count > S_TLS_VERSION);
    STRING_MEMBER(o, ",\"access_point_arn\":\"", f[S_ACCESS_POINT], count > S_ACCESS_POINT);
    STRING_MEMBER(o, ",\"acl_required\":\"", f[S_ACL_REQUIRED], count > S_ACL_REQUIRED);
    STRING_MEMBER(o, ",\"source_region\":\"", f[S_REGION], count > S_REGION);
    PUTS(o, "}}");
    return 1;
}

/* ---- the module function ---- */

enum { FORMAT_ALB = 0, FORMAT_S3 = 1 };

/* One line of a call: where it is, and where its body went in the call's buffer (len -1: declined). */
typedef struct {
    const char *line;
    Py_ssize_t n, start, len;
} Line;

/* Appends the line's body (action line + document) to `o`, or declines it (nothing appended). 1 written,
 * 0 declined, -1 out of memory or (only with enrichment, under the GIL) a Python error set. */
static int encode_line(Out *o, int format, Line *l, Field prefix, Field tail, long long number, Enrich *e) {
    l->len = -1;
    if (l->n <= 0 || !plain_ascii(l->line, l->n)) return 0;
    /* Every input byte lands at most four times in the body (URL: original, domain, path, query; a
     * list's separators grow three-fold), plus fixed text. */
    e->bound = 4 * l->n + 4096 + prefix.n + ID_HEX + tail.n;
    if (reserve(o, e->bound) < 0) return -1;
    Py_ssize_t start = o->len;
    char id_hex[ID_HEX];
    blake2b_16_hex(l->line, l->n, id_hex);
    Field id = {id_hex, ID_HEX, 0};
    int ok = format == FORMAT_ALB ? alb_body(o, l->line, l->n, prefix, id, e) : s3_body(o, l->line, l->n, prefix, id, e);
    if (ok <= 0) {
        o->len = start; /* what a declined line wrote is dropped */
        return ok;
    }
    char digits_of[24];
    int len = snprintf(digits_of, sizeof digits_of, "%lld", number);
    PUTF(o, tail);
    put(o, digits_of, len);
    PUTS(o, "}}}\n");
    l->start = start;
    l->len = o->len - start;
    return 1;
}

/* Every line of a call, in order; 1 when one failed (encode_line's -1), 0 otherwise. */
static int encode_lines(Out *o, int format, Line *todo, Py_ssize_t count, Field prefix, Field tail, long long first,
                        Enrich *e) {
    for (Py_ssize_t i = 0; i < count; i++)
        if (encode_line(o, format, &todo[i], prefix, tail, first + i, e) < 0) return 1;
    return 0;
}

/* encode(format, lines, index_prefix, tail, first_line_number, enrich=None) -> list[bytes | None]
 *
 * format: 0 ALB, 1 S3 server access log. lines: list of bytes (no line endings); each document's _id
 * is the BLAKE2b-128 of its line (blake2b_16_hex), as on the Python path. index_prefix: b"alb-logs-".
 * tail: the document members that follow the format's own, up to the line number
 * (BulkEncoder._event_and_tail). enrich: None, or the tuple (geo cache, geo miss, ua cache, ua miss) of
 * an ingest.enrich.Enricher (None for a half that is off): its members go in after source.ip and
 * user_agent.original. Each body is action line + document, as BulkEncoder.encode writes them; None:
 * the Python path must do the line. */
static PyObject *encode(PyObject *self, PyObject *args) {
    (void)self;
    int format;
    PyObject *lines;
    const char *prefix_p, *tail_p;
    Py_ssize_t prefix_n, tail_n;
    long long first;
    PyObject *enrich = Py_None;
    if (!PyArg_ParseTuple(args, "iO!y#y#L|O", &format, &PyList_Type, &lines, &prefix_p,
                          &prefix_n, &tail_p, &tail_n, &first, &enrich))
        return NULL;
    Enrich e = {NULL, NULL, NULL, NULL, 0};
    if (enrich != Py_None) {
        PyObject *parts[4];
        if (!PyArg_ParseTuple(enrich, "OOOO", &parts[0], &parts[1], &parts[2], &parts[3])) return NULL;
        for (int i = 0; i < 4; i += 2) {
            if (parts[i + 1] == Py_None) continue; /* that half is off */
            if (!PyDict_Check(parts[i]) || !PyCallable_Check(parts[i + 1])) {
                PyErr_SetString(PyExc_TypeError, "enrich: (dict, callable | None, dict, callable | None)");
                return NULL;
            }
        }
        if (parts[1] != Py_None) e.geo = parts[0], e.geo_miss = parts[1];
        if (parts[3] != Py_None) e.ua = parts[2], e.ua_miss = parts[3];
    }
    if (format != FORMAT_ALB && format != FORMAT_S3) {
        PyErr_SetString(PyExc_ValueError, "unknown format");
        return NULL;
    }
    Py_ssize_t count = PyList_Size(lines);
    Field prefix = {prefix_p, prefix_n, 0}, tail = {tail_p, tail_n, 0};
    Out o = {NULL, 0, 0};
    PyObject *result = NULL;
    int failed = 0;
    /* 1. (GIL) where each line is. A tuple of them holds a reference to each while the GIL is let go
     * (the list could change meanwhile; bytes do not). */
    PyObject *line_objects = PyList_AsTuple(lines);
    Line *todo = PyMem_Malloc((size_t)(count ? count : 1) * sizeof(Line));
    if (!line_objects || !todo) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        char *line;
        if (PyBytes_AsStringAndSize(PyTuple_GetItem(line_objects, i), &line, &todo[i].n) < 0) goto fail;
        todo[i].line = line;
    }
    /* 2. Every body (its _id hashed here too) into one buffer. Without enrichment (which calls into Python) no Python object is
     * touched, so the GIL is let go: the background sender's Python runs meanwhile instead of waiting. */
    if (e.geo_miss == NULL && e.ua_miss == NULL) {
        Py_BEGIN_ALLOW_THREADS
        failed = encode_lines(&o, format, todo, count, prefix, tail, first, &e);
        Py_END_ALLOW_THREADS
    } else {
        failed = encode_lines(&o, format, todo, count, prefix, tail, first, &e);
    }
    if (failed) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto fail;
    }
    /* 3. (GIL) the bodies as bytes; None for a line declined. */
    if (!(result = PyList_New(count))) goto fail;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = Py_None;
        if (todo[i].len >= 0) {
            item = PyBytes_FromStringAndSize(o.buf + todo[i].start, todo[i].len);
            if (!item) {
                Py_CLEAR(result);
                goto fail;
            }
        } else {
            Py_INCREF(Py_None);
        }
        PyList_SetItem(result, i, item); /* steals the reference */
    }
fail: /* and the way out: result is NULL with an error set, or the list */
    free(o.buf);
    PyMem_Free(todo);
    Py_XDECREF(line_objects);
    return result;
}

/* blake2b_16_hex(data) -> str: the _id encode() gives the line `data`. Exposed so that the tests can hold the
 * C BLAKE2b to hashlib's byte for byte on every length around the block boundaries, not only through the
 * lines encode() accepts (printable ASCII of log-line shapes). */
static PyObject *blake2b_16_hex_py(PyObject *self, PyObject *arg) {
    (void)self;
    char *p;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(arg, &p, &n) < 0) return NULL;
    char hex[ID_HEX];
    blake2b_16_hex(p, n, hex);
    return PyUnicode_FromStringAndSize(hex, ID_HEX);
}

static PyMethodDef methods[] = {
    {"encode", encode, METH_VARARGS, "encode(format, lines, index_prefix, tail, first_line_number, enrich=None) -> list"},
    {"blake2b_16_hex", blake2b_16_hex_py, METH_O, "blake2b_16_hex(data: bytes) -> str, the _id of a line"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "The common case of line → bulk body, in C.", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && (PyModule_AddIntConstant(m, "ALB", FORMAT_ALB) < 0 || PyModule_AddIntConstant(m, "S3_ACCESS", FORMAT_S3) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
