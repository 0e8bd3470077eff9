/* redis_test_cluster.h -- a real Redis Cluster for the cluster tests.
 *
 * tcluster_start() runs six cluster-enabled redis-servers (tserver, free
 * loopback ports, the cluster bus on another free port each), joins them
 * with `redis-cli --cluster create --cluster-replicas 1` (three primaries,
 * three replicas) and waits, bounded, until every node says cluster_state
 * ok. tcluster_free() stops them all and removes their directories.
 */
#ifndef LOOPHOLE_REDIS_TEST_CLUSTER_H
#define LOOPHOLE_REDIS_TEST_CLUSTER_H

#include "redis_test_server.h"

#define TCLUSTER_NODES 6

typedef struct tcluster {
    tserver node[TCLUSTER_NODES];
    char bus[TCLUSTER_NODES][16];
} tcluster;

static inline void tcluster_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* The INFO-like text of `CLUSTER INFO` on node i contains want. */
static inline int tcluster_info_has(tcluster *tc, int i, const char *want)
{
    redisContext *c = tserver_connect(&tc->node[i]);
    redisReply *r = c ? redisCommand(c, "CLUSTER INFO") : NULL;
    int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, want) != NULL;

    if (r)
        freeReplyObject(r);
    redisFree(c);
    return ok;
}

/* Runs redis-cli with the arguments; returns its exit status. */
static inline int tcluster_cli(const char *const *argv)
{
    pid_t pid = fork();
    int st = 0;

    if (pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(127);
        execvp("redis-cli", (char *const *)argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Waits (bounded by ms) until every live node says cluster_state:ok. */
static inline int tcluster_wait_ok(tcluster *tc, long ms)
{
    for (long waited = 0; waited < ms; waited += 100) {
        int ok = 1;
        for (int i = 0; i < TCLUSTER_NODES && ok; i++)
            ok = tc->node[i].pid <= 0 || tcluster_info_has(tc, i, "cluster_state:ok");
        if (ok)
            return 0;
        tcluster_sleep_ms(100);
    }
    return -1;
}

/* Whether node i's INFO section `section` holds every text of want. */
static inline int tcluster_section_has(tcluster *tc, int i, const char *section,
                                       const char *const *want, int nwant)
{
    redisContext *c = tserver_connect(&tc->node[i]);
    redisReply *r = c ? redisCommand(c, "INFO %s", section) : NULL;
    int ok = r && r->type == REDIS_REPLY_STRING;

    for (int k = 0; ok && k < nwant; k++)
        ok = strstr(r->str, want[k]) != NULL;
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return ok;
}

/* Waits (bounded by ms) until every primary has its replica attached and
 * in sync: the writer WAITs for a replica only on primaries the slot map
 * shows with one, so a test that fails a primary over must not start
 * before. */
static inline int tcluster_wait_replicas(tcluster *tc, long ms)
{
    static const char *const primary[] = {"role:master"};
    static const char *const synced[] = {"connected_slaves:1", "state=online"};

    for (long waited = 0; waited < ms; waited += 100) {
        int ok = 1;
        for (int i = 0; i < TCLUSTER_NODES && ok; i++)
            if (tc->node[i].pid > 0 && tcluster_section_has(tc, i, "replication", primary, 1))
                ok = tcluster_section_has(tc, i, "replication", synced, 2);
        if (ok)
            return 0;
        tcluster_sleep_ms(100);
    }
    return -1;
}

static inline void tcluster_free(tcluster *tc)
{
    for (int i = 0; i < TCLUSTER_NODES; i++)
        if (tc->node[i].dir[0])
            tserver_free(&tc->node[i]);
}

static inline int tcluster_start_once(tcluster *tc)
{
    char addr[TCLUSTER_NODES][32];
    const char *argv[TCLUSTER_NODES + 10];
    int n = 0;

    memset(tc, 0, sizeof(*tc));
    for (int i = 0; i < TCLUSTER_NODES; i++) {
        const char *extra[] = {"--cluster-enabled",
                               "yes",
                               "--cluster-config-file",
                               "nodes.conf",
                               "--cluster-port",
                               tc->bus[i],
                               "--cluster-node-timeout",
                               "1000",
                               "--cluster-replica-validity-factor",
                               "0",
                               NULL};
        /* tserver keeps these pointers (for a restart): literals and
         * tc->bus, which live as long as tc */
        snprintf(tc->bus[i], sizeof(tc->bus[i]), "%d", tserver_free_port());
        if (tserver_start(&tc->node[i], extra) < 0) {
            tcluster_free(tc);
            return -1;
        }
        snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d", tc->node[i].port);
    }
    argv[n++] = "redis-cli";
    argv[n++] = "--cluster";
    argv[n++] = "create";
    for (int i = 0; i < TCLUSTER_NODES; i++)
        argv[n++] = addr[i];
    argv[n++] = "--cluster-replicas";
    argv[n++] = "1";
    argv[n++] = "--cluster-yes";
    argv[n] = NULL;
    if (tcluster_cli(argv) != 0 || tcluster_wait_ok(tc, 20000) < 0 ||
        tcluster_wait_replicas(tc, 20000) < 0) {
        tcluster_free(tc);
        return -1;
    }
    return 0;
}

/* A free port found by binding port 0 may be taken by another process
 * before redis-server binds it (tests of other builds run beside these):
 * a cluster that does not come up is started again on other ports. */
static inline int tcluster_start(tcluster *tc)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (tcluster_start_once(tc) == 0)
            return 0;
        fprintf(stderr, "  the test cluster did not come up; starting it again\n");
    }
    return -1;
}

#endif
