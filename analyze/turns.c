/* turns.c -- request starts inside long connections (see turns.h).
 *
 * Written here: no library splits a TLS stream into requests without its
 * keys, and nDPI 4.2 stops looking at a flow after its first packets.
 */
#include "turns.h"

#include <stdlib.h>

struct turns {
    uint64_t start[TURNS_MAX]; /* ring of the record's request starts */
    uint32_t n;                /* starts held (at most TURNS_MAX) */
    uint32_t head;             /* next slot */
    uint64_t last_us;          /* latest client payload */
    uint64_t cur_us;           /* start of the turn under way */
    uint32_t cur_bytes;        /* its payload so far */
    uint8_t counted;           /* it is in the ring already */
};

void turns_start(flow *f)
{
    flow_analysis *a = flow_analysis_get(f);

    if (a != NULL && a->turns == NULL)
        a->turns = calloc(1, sizeof(*a->turns));
}

void turns_packet(flow *f, const packet *p)
{
    struct turns *t = f->an->turns;

    if (t->last_us == 0 || p->ts_us > t->last_us + TURNS_GAP_US) {
        t->cur_us = p->ts_us;
        t->cur_bytes = 0;
        t->counted = 0;
    }
    t->last_us = p->ts_us;
    if (t->cur_bytes < TURNS_MIN_BYTES)
        t->cur_bytes += p->payload_len;
    if (!t->counted && t->cur_bytes >= TURNS_MIN_BYTES) {
        t->start[t->head] = t->cur_us;
        t->head = (t->head + 1) % TURNS_MAX;
        if (t->n < TURNS_MAX)
            t->n++;
        t->counted = 1;
    }
}

int turns_get(const flow *f, uint64_t *out, int max)
{
    const struct turns *t = flow_an(f)->turns;
    int k = 0;

    if (t == NULL)
        return 0;
    uint32_t skip = t->n > (uint32_t)max ? t->n - (uint32_t)max : 0;
    for (uint32_t i = skip; i < t->n; i++)
        out[k++] = t->start[(t->head + TURNS_MAX - t->n + i) % TURNS_MAX];
    return k;
}

void turns_record_done(flow *f)
{
    struct turns *t = flow_an(f)->turns;

    if (t) {
        t->n = 0;
        t->head = 0;
    }
}

void turns_release(flow *f)
{
    if (f->an) {
        free(f->an->turns);
        f->an->turns = NULL;
    }
}
