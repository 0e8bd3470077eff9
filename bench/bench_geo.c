/* bench_geo.c -- geo lookups per second, with and without the cache.
 *
 *   bench_geo DB.mmdb INDICATOR_DIR CAPTURE...
 *
 * Addresses come from real captures: every decoded packet contributes its
 * source and destination, in capture order, so the stream has the
 * repetition real traffic has. The stream is replayed through the
 * uncached path (geo_snapshot_describe: databases, indicator tables) and
 * through a worker-sized cache (geo_cache, 4096 entries), each for at
 * least two seconds, on one thread. Prints lookups per second, the cache's
 * hit rate, and the ratio. Run on demand; docs/performance.md has figures.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/decode.h"
#include "base/stats.h"
#include "geo/cache.h"
#include "geo/snapshot.h"

typedef struct stream {
    pkt_addr *a;
    size_t n, cap;
} stream;

static void stream_add(stream *s, const pkt_addr *a)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->a = realloc(s->a, s->cap * sizeof(*s->a));
        if (s->a == NULL)
            exit(1);
    }
    s->a[s->n++] = *a;
}

static void stream_read(stream *s, decoder *d, const char *path)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *bytes;
    pcap_t *p = pcap_open_offline(path, errbuf);

    if (p == NULL) {
        fprintf(stderr, "bench_geo: %s\n", errbuf);
        exit(2);
    }
    decode_set_linktype(d, pcap_datalink(p));
    while (pcap_next_ex(p, &h, &bytes) == 1) {
        packet pk;
        memset(&pk, 0, sizeof(pk));
        pk.data = bytes;
        pk.caplen = h->caplen;
        pk.wirelen = h->len;
        pk.ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        if (decode_packet(d, &pk) == DECODE_OK) {
            stream_add(s, &pk.src);
            stream_add(s, &pk.dst);
        }
    }
    pcap_close(p);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Lookups per second over whole passes of the stream, at least 2 s. */
static double run(const stream *s, const geo_snapshot *snap, geo_cache *c, uint64_t *sink)
{
    double t0 = now_s(), t;
    size_t done = 0;
    geo_party p;

    do {
        for (size_t i = 0; i < s->n; i++) {
            if (c)
                geo_cache_lookup(c, snap, &s->a[i], &p);
            else
                geo_snapshot_describe(snap, &s->a[i], &p);
            *sink += p.info.asn + (p.category != NULL);
        }
        done += s->n;
    } while ((t = now_s() - t0) < 2.0);
    return (double)done / t;
}

static int addr_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(pkt_addr));
}

static size_t distinct(const stream *s)
{
    size_t n = 0;
    pkt_addr *v = malloc(s->n * sizeof(*v));
    memcpy(v, s->a, s->n * sizeof(*v));
    if (v == NULL)
        return 0;
    qsort(v, s->n, sizeof(*v), addr_cmp);
    for (size_t i = 0; i < s->n; i++)
        n += i == 0 || memcmp(&v[i], &v[i - 1], sizeof(*v)) != 0;
    free(v);
    return n;
}

int main(int argc, char **argv)
{
    char err[1024];
    stream s = {0};
    decode_config dc;
    uint64_t sink = 0;

    if (argc < 4) {
        fprintf(stderr, "usage: bench_geo DB.mmdb INDICATOR_DIR CAPTURE...\n");
        return 2;
    }
    decode_config_defaults(&dc);
    decoder *d = decode_new(&dc);
    for (int i = 3; i < argc; i++)
        stream_read(&s, d, argv[i]);
    decode_free(d);
    const char *db = argv[1];
    geo_snapshot_config gc = {&db, 1, argv[2], NULL};
    geo_snapshot *snap = geo_snapshot_load(&gc, err, sizeof(err));
    if (snap == NULL) {
        fprintf(stderr, "bench_geo: %s\n", err);
        return 2;
    }
    geo_holder *h = geo_holder_new();
    geo_holder_publish(h, snap); /* gives it a generation */
    geo_cache *c = geo_cache_new(4096);
    double raw = run(&s, snap, NULL, &sink);
    double cached = run(&s, snap, c, &sink);
    const geo_cache_stats *st = geo_cache_get_stats(c);
    double hits = (double)STAT_GET(st->hits), total = hits + (double)STAT_GET(st->misses);
    printf("addresses: %zu (%zu distinct) from %d capture(s)\n", s.n, distinct(&s), argc - 3);
    printf("uncached: %.0f lookups/s\n", raw);
    printf("cached:   %.0f lookups/s (4096 entries, hit rate %.2f%%)\n", cached,
           100.0 * hits / total);
    printf("speed-up: %.1fx (checksum %llu)\n", cached / raw, (unsigned long long)sink);
    geo_cache_free(c);
    geo_holder_free(h);
    free(s.a);
    return 0;
}
