/* settle.c -- the entities this sensor has to settle (see settle.h).
 *
 * An open-addressing table (linear probing, power-of-two size, at most
 * half full) of entries named by the entity key, the hint's KEYS[1]. The
 * table is written here: libc's hsearch cannot iterate, and the project
 * keeps no other hash table this small.
 */
#include "settle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/event.h"

#define SETTLE_KEYS_MAX 4

typedef struct settle_entry {
    char *key; /* NULL: a free slot */
    size_t klen;
    int nkeys;
    char *keys[SETTLE_KEYS_MAX];
    size_t lens[SETTLE_KEYS_MAX];
    uint64_t due; /* 0: nothing pending */
    int asked;    /* a call is out, no answer yet */
} settle_entry;

struct settle_set {
    settle_entry *slots;
    size_t cap, used;
    char token[96];
    uint64_t seq;
    /* the earliest due time of the entries not asked (0: none), while
     * first_known: the watermark moves far more often than an entity
     * comes due, and each move asks settle_due() */
    uint64_t first;
    int first_known;
};

settle_set *settle_new(const char *token)
{
    settle_set *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->cap = 64;
    if ((s->slots = calloc(s->cap, sizeof(*s->slots))) == NULL) {
        free(s);
        return NULL;
    }
    snprintf(s->token, sizeof(s->token), "%s", token ? token : "");
    return s;
}

static void settle_entry_free(settle_entry *e)
{
    for (int i = 0; i < e->nkeys; i++)
        free(e->keys[i]);
}

void settle_free(settle_set *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].key)
            settle_entry_free(&s->slots[i]);
    free(s->slots);
    free(s);
}

static uint64_t settle_hash(const char *k, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return h;
}

static settle_entry *settle_find(settle_entry *slots, size_t cap, const char *k, size_t len)
{
    size_t i = settle_hash(k, len) & (cap - 1);

    while (slots[i].key && (slots[i].klen != len || memcmp(slots[i].key, k, len) != 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int settle_grow(settle_set *s)
{
    size_t cap = s->cap * 2;
    settle_entry *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].key)
            *settle_find(slots, cap, s->slots[i].key, s->slots[i].klen) = s->slots[i];
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

static int settle_eq(const char *s, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

int settle_is_hint(int argc, const char *const *argv, const size_t *lens)
{
    return argc >= 2 && settle_eq(argv[0], lens[0], "FCALL") &&
           settle_eq(argv[1], lens[1], "lh_settle");
}

static uint64_t settle_number(const char *p, size_t len, int *ok)
{
    uint64_t v = 0;

    *ok = len > 0 && len < 20;
    for (size_t i = 0; *ok && i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            *ok = 0;
        else
            v = v * 10 + (uint64_t)(p[i] - '0');
    }
    return v;
}

/* An entry not asked is due at `due` (0: nothing pending). */
static void settle_offer(settle_set *s, uint64_t due)
{
    if (s->first_known && due != 0 && (s->first == 0 || due < s->first))
        s->first = due;
}

int settle_is_plain_hint(int argc, const char *const *argv, const size_t *lens)
{
    int ok, nkeys;

    if (!settle_is_hint(argc, argv, lens) || argc < 4)
        return 0;
    nkeys = (int)settle_number(argv[2], lens[2], &ok);
    return ok && nkeys >= 1 && argc == 3 + nkeys + 2 &&
           settle_eq(argv[3 + nkeys], lens[3 + nkeys], "upto_us");
}

int settle_note(settle_set *s, int argc, const char *const *argv, const size_t *lens)
{
    int ok, nkeys;
    uint64_t due;
    settle_entry *e;

    if (!settle_is_plain_hint(argc, argv, lens))
        return -1;
    nkeys = (int)settle_number(argv[2], lens[2], &ok);
    if (nkeys > SETTLE_KEYS_MAX)
        return -1;
    due = settle_number(argv[argc - 1], lens[argc - 1], &ok);
    if (!ok)
        return -1;
    if (2 * (s->used + 1) > s->cap && settle_grow(s) < 0)
        return -1;
    e = settle_find(s->slots, s->cap, argv[3], lens[3]);
    if (e->key == NULL) {
        memset(e, 0, sizeof(*e));
        for (int i = 0; i < nkeys; i++) {
            if ((e->keys[i] = malloc(lens[3 + i] + 1)) == NULL) {
                settle_entry_free(e);
                memset(e, 0, sizeof(*e));
                return -1;
            }
            memcpy(e->keys[i], argv[3 + i], lens[3 + i]);
            e->keys[i][lens[3 + i]] = '\0';
            e->lens[i] = lens[3 + i];
            e->nkeys = i + 1;
        }
        e->key = e->keys[0];
        e->klen = e->lens[0];
        s->used++;
    }
    if (due > 0 && (e->due == 0 || due < e->due || e->asked)) {
        e->due = due;
        e->asked = 0;
        settle_offer(s, due);
    }
    return 0;
}

static void settle_answer(settle_set *s, const char *key, size_t len, uint64_t next_us)
{
    settle_entry *e = settle_find(s->slots, s->cap, key, len);

    if (e->key == NULL)
        return;
    if (!e->asked)
        s->first_known = 0; /* its due time may have risen */
    e->due = next_us;
    e->asked = 0;
    settle_offer(s, next_us);
}

/* One call for entries e[0..n-1], all due at `upto` and with as many
 * keys each: FCALL lh_settle <keys> upto_us <upto> ev <id>, and `per`
 * <keys of one entity> when there are several; the entries are then
 * asked. With hint 1, the hint of one entry instead (no ev: settle_hints).
 * Returns 0, or -1 when memory is short. */
static int settle_call(settle_set *s, settle_entry **e, int n, uint64_t upto, int hint,
                       settle_call_fn *fn, void *ctx)
{
    int nargs = 3 + n * e[0]->nkeys + 6;
    const char **argv = malloc(sizeof(*argv) * (size_t)nargs);
    size_t *lens = malloc(sizeof(*lens) * (size_t)nargs);
    char nk[16], per[8], bound[24], ev[160];
    int argc = 0, rc = -1;
    size_t len;
    void *buf;

    if (argv == NULL || lens == NULL)
        goto out;
    snprintf(nk, sizeof(nk), "%d", n * e[0]->nkeys);
    snprintf(per, sizeof(per), "%d", e[0]->nkeys);
    snprintf(bound, sizeof(bound), "%llu", (unsigned long long)upto);
    if (!hint)
        snprintf(ev, sizeof(ev), "%s/%llu", s->token, (unsigned long long)++s->seq);
    argv[argc++] = "FCALL";
    argv[argc++] = "lh_settle";
    argv[argc++] = nk;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < e[j]->nkeys; i++) {
            lens[argc] = e[j]->lens[i];
            argv[argc++] = e[j]->keys[i];
        }
    argv[argc++] = "upto_us";
    argv[argc++] = bound;
    if (!hint) {
        argv[argc++] = "ev";
        argv[argc++] = ev;
    }
    if (n > 1) {
        argv[argc++] = "per";
        argv[argc++] = per;
    }
    for (int i = 0; i < argc; i++)
        if (i < 3 || i >= 3 + n * e[0]->nkeys)
            lens[i] = strlen(argv[i]);
    if ((buf = event_encode(EVENT_CALL, argc, argv, lens, &len)) == NULL)
        goto out;
    for (int j = 0; j < n && !hint; j++)
        e[j]->asked = 1;
    fn(ctx, buf, len);
    rc = 0;
out:
    free(argv);
    free(lens);
    return rc;
}

static int settle_cmp(const void *a, const void *b)
{
    const settle_entry *x = *(settle_entry *const *)a, *y = *(settle_entry *const *)b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c;

    if ((c = memcmp(x->key, y->key, n)) != 0)
        return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen;
}

static int settle_cmp_due(const void *a, const void *b)
{
    const settle_entry *x = *(settle_entry *const *)a, *y = *(settle_entry *const *)b;

    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    return settle_cmp(a, b);
}

/* The calls for the entities of one due time, `first`, in key order,
 * per_call a call, each up to that time: when more are due then than one
 * call takes (or their keys differ in number). */
static int settle_group(settle_set *s, uint64_t first, int per_call, settle_call_fn *fn, void *ctx)
{
    settle_entry **due = malloc(sizeof(*due) * s->used);
    int n = 0, calls = 0;

    if (due == NULL)
        return 0;
    for (size_t i = 0; i < s->cap; i++) {
        settle_entry *e = &s->slots[i];
        if (e->key && !e->asked && e->due == first)
            due[n++] = e;
    }
    qsort(due, (size_t)n, sizeof(*due), settle_cmp);
    for (int i = 0, j; i < n; i = j, calls++) {
        for (j = i + 1; j < n && j - i < per_call && due[j]->nkeys == due[i]->nkeys; j++)
            ;
        settle_call(s, due + i, j - i, first, 0, fn, ctx);
    }
    free(due);
    return calls;
}

int settle_due(settle_set *s, uint64_t upto_us, int per_call, settle_call_fn *fn, void *ctx)
{
    settle_entry **due;
    uint64_t first = 0, bound = upto_us;
    int n = 0, g = 0, m, mixed = 0;

    /* Windows are settled in one order, by due time and key, however the
     * watermark's steps fall (so is what the risk of an address shared by
     * several entities adds up to in each line). The library keeps that
     * order within a call (lh_settle, rules/lua/95_settle.lua), so one
     * call may take the entities of several due times: the earliest ones,
     * whole due times only, up to per_call entities, each settled up to
     * just before the next due time left out. What an answer reveals (an
     * entity's next window) is then no earlier than anything left for the
     * next call. When more entities are due at the earliest time than a
     * call takes, they go out as before, per_call a call, each up to that
     * time. One pass finds that time and how many are due then, a second
     * keeps the per_call + 1 earliest: a step of a replay's end takes a
     * few of its thousands. */
    if (!s->first_known) {
        for (size_t i = 0; i < s->cap; i++) {
            const settle_entry *e = &s->slots[i];
            if (e->key && !e->asked && e->due != 0 && (first == 0 || e->due < first))
                first = e->due;
        }
        s->first = first;
        s->first_known = 1;
    }
    first = s->first;
    if (first == 0 || (upto_us != SETTLE_ALL && first > upto_us))
        return 0;
    s->first_known = 0; /* its entities are asked below */
    if (per_call < 1)
        per_call = 1;
    for (size_t i = 0; i < s->cap; i++) {
        const settle_entry *e = &s->slots[i];
        if (e->key && !e->asked && e->due == first)
            g++;
    }
    if (g == 0) /* the kept time was stale: the scan above finds the true one */
        return settle_due(s, upto_us, per_call, fn, ctx);
    if (g > per_call)
        return settle_group(s, first, per_call, fn, ctx);
    if ((due = malloc(sizeof(*due) * (size_t)(per_call + 1))) == NULL)
        return 0;
    for (size_t i = 0; i < s->cap; i++) {
        settle_entry *e = &s->slots[i];
        int j;
        if (!e->key || e->asked || e->due == 0 || e->due > upto_us)
            continue;
        if (n == per_call + 1 && settle_cmp_due(&e, &due[n - 1]) >= 0)
            continue;
        if (n < per_call + 1)
            n++;
        for (j = n - 1; j > 0 && settle_cmp_due(&e, &due[j - 1]) < 0; j--)
            due[j] = due[j - 1];
        due[j] = e;
    }
    m = n;
    if (n > per_call) {
        /* whole due times only: g <= per_call keeps the earliest in */
        bound = due[per_call]->due - 1;
        for (m = per_call; m > 0 && due[m - 1]->due == due[per_call]->due; m--)
            ;
    }
    for (int j = 1; j < m; j++)
        mixed |= due[j]->nkeys != due[0]->nkeys;
    if (mixed || m == 0) {
        free(due);
        return settle_group(s, first, per_call, fn, ctx);
    }
    if (bound > SETTLE_BOUND_MAX)
        bound = SETTLE_BOUND_MAX;
    qsort(due, (size_t)m, sizeof(*due), settle_cmp); /* ties in the library by key */
    settle_call(s, due, m, bound, 0, fn, ctx);
    free(due);
    return 1;
}

int settle_answered(settle_set *s, int argc, const char *const *argv, const size_t *lens,
                    uint64_t next_us)
{
    int ok, nkeys, per = 0;

    if (!settle_is_hint(argc, argv, lens) || argc < 4)
        return -1;
    nkeys = (int)settle_number(argv[2], lens[2], &ok);
    if (!ok || nkeys < 1 || 3 + nkeys > argc)
        return -1;
    for (int i = 3 + nkeys; i + 1 < argc; i += 2)
        if (settle_eq(argv[i], lens[i], "per"))
            per = (int)settle_number(argv[i + 1], lens[i + 1], &ok);
    if (per == 0) {
        settle_answer(s, argv[3], lens[3], next_us);
        return 0;
    }
    if (!ok || per < 1 || nkeys % per != 0)
        return -1;
    for (int i = 0; i < nkeys; i += per)
        settle_answer(s, argv[3 + i], lens[3 + i], 0);
    return 0;
}

int settle_hints(settle_set *s, settle_call_fn *fn, void *ctx)
{
    settle_entry **e = malloc(sizeof(*e) * (s->used ? s->used : 1));
    int n = 0;

    if (e == NULL)
        return -1;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].key && !s->slots[i].asked && s->slots[i].due != 0)
            e[n++] = &s->slots[i];
    qsort(e, (size_t)n, sizeof(*e), settle_cmp_due);
    for (int j = 0; j < n; j++)
        if (settle_call(s, &e[j], 1, e[j]->due, 1, fn, ctx) < 0) {
            free(e);
            return -1;
        }
    free(e);
    return n;
}

uint64_t settle_pending(const settle_set *s)
{
    uint64_t n = 0;

    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].key && s->slots[i].due != 0)
            n++;
    return n;
}
