/* bench_cluster.c -- observations per second through the writer into a
 * Redis Cluster (or one server), for docs/performance.md.
 *
 * usage: bench_cluster URL N [QUEUES] [ENTITIES]
 *
 * QUEUES producer threads (default 2) each enqueue N/QUEUES lh_observe
 * events, built by event_observe() as the rules build them (exact mode,
 * no threshold: a count-only observation such as a host's GPU
 * behaviour), into their own event queue; one writer thread (the
 * sensor's) drains them into URL. The entities are ENTITIES (default
 * 100000) hosts taken in a scattered order, so they spread over every
 * slot; each sees 64 values in an hour's window. Few entities (a fleet's
 * hosts, each seen again and again) is the traffic a mirror port gives;
 * many is the worst case for batching, one call per window key. Prints the events per second from
 * the first event to the writer's last acknowledgement. bench/cluster_bench.sh starts the clusters
 * of 1, 2 and 3 primaries and runs this against each.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redis/url.h"
#include "redis/writer.h"

typedef struct producer {
    event_queue *q;
    unsigned id, n, entities;
} producer;

static void *bench_produce(void *arg)
{
    producer *p = arg;
    char entity[32], value[32];

    for (unsigned i = 0; i < p->n; i++) {
        unsigned e = (i * 2654435761u + p->id * 40503u) % p->entities;
        snprintf(entity, sizeof(entity), "bench:%u", e);
        snprintf(value, sizeof(value), "v%u", i % 64);
        event_observation o = {.entity = entity,
                               .kind = "hosts",
                               .value = value,
                               .value_len = strlen(value),
                               .ts_us = 1700000000000000ull + i,
                               .window_us = 3600000000ull};
        event_observe(p->q, &o);
    }
    event_queue_close(p->q);
    return NULL;
}

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_report(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "writer: %s\n", msg);
}

int main(int argc, char **argv)
{
    char err[512], journal[] = "/tmp/bench_cluster.XXXXXX";
    unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 200000,
             nq = argc > 3 ? (unsigned)atoi(argv[3]) : 2,
             entities = argc > 4 ? (unsigned)atoi(argv[4]) : 100000;
    event_queue *queues[16];
    producer prod[16];
    pthread_t th[16];
    rurl u;

    if (argc < 3 || nq < 1 || nq > 16 || entities < 1) {
        fprintf(stderr, "usage: bench_cluster URL N [QUEUES 1-16] [ENTITIES]\n");
        return 2;
    }
    if (rurl_parse(&u, argv[1], NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    int fd = mkstemp(journal);
    if (fd < 0)
        return 1;
    close(fd);
    event_context ectx = {.prefix = "bench:", .sensor = "bench", .run_id = 1, .cluster = u.cluster};
    for (unsigned i = 0; i < nq; i++) {
        queues[i] = event_queue_new(&ectx, i, 16u << 20, 1);
        prod[i] = (producer){queues[i], i, n / nq, entities};
    }
    writer_config wc = {.url = &u,
                        .journal_path = journal,
                        .journal_max_bytes = 1u << 30,
                        .queues = queues,
                        .nqueues = nq,
                        .report = bench_report};
    writer *w = writer_new(&wc, err, sizeof(err));
    if (w == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t0 = bench_now();
    writer_start(w);
    for (unsigned i = 0; i < nq; i++)
        pthread_create(&th[i], NULL, bench_produce, &prod[i]);
    for (unsigned i = 0; i < nq; i++)
        pthread_join(th[i], NULL);
    uint64_t left = writer_stop(w);
    double dt = bench_now() - t0;
    const writer_stats *st = writer_get_stats(w);
    printf("%s %llu events %.2f s %.0f events/s (left %llu, rejected %llu, merged %llu)\n", argv[1],
           (unsigned long long)atomic_load(&st->sent), dt, (double)atomic_load(&st->sent) / dt,
           (unsigned long long)left, (unsigned long long)atomic_load(&st->rejected),
           (unsigned long long)atomic_load(&st->merged));
    writer_free(w, 1);
    for (unsigned i = 0; i < nq; i++)
        event_queue_free(queues[i]);
    rurl_free(&u);
    return left ? 1 : 0;
}
