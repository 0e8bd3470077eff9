/* cluster.c -- slots, the slot map and redirections (see cluster.h).
 *
 * Written here because neither hiredis 0.14 nor any Debian 12 package
 * routes for a Redis Cluster. The map is read with CLUSTER SLOTS, which
 * every Redis from 3.0 to 7.x answers (CLUSTER SHARDS, 7.0 and later,
 * says the same for our purpose: which primary serves which slots).
 */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/stats.h"
#include "conn.h"
#include "resp.h"

#define CLUSTER_ROUNDS   8   /* redirections followed for one batch */
#define CLUSTER_PAUSE_MS 50  /* first pause after TRYAGAIN, CLUSTERDOWN, ASK */
#define CLUSTER_WAIT_MS  500 /* bound of WAIT for a replica after a batch */

typedef struct cluster_node {
    char *host;
    int port;
    redisContext *ctx; /* NULL: not connected (yet, or any more) */
    int down;          /* could not be reached during this cluster_exec */
    int replicas;      /* replicas it has (cluster_node_role()): WAIT for one after a batch */
    int used;          /* commands sent to it in this round */
    int unreplicated;  /* its WAIT of this round saw no replica take the batch */
} cluster_node;

struct cluster {
    rurl url; /* shallow copy: the caller's URL outlives the cluster */
    int timeout_ms;
    cluster_node *nodes;
    unsigned nnodes;
    uint16_t slot_node[CLUSTER_NSLOTS]; /* index into nodes + 1; 0 = nobody */
    cluster_stats st;
    bytes_buf out; /* one node's commands of a round, formatted (resp.h) */
};

uint16_t cluster_crc16(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint16_t crc = 0;

    /* Bitwise rather than a table: keys are short, and there is no table
     * to get wrong or to keep as global state. */
    while (len--) {
        crc ^= (uint16_t)(*p++ << 8);
        for (int i = 0; i < 8; i++)
            crc = crc & 0x8000 ? (uint16_t)(crc << 1) ^ 0x1021 : (uint16_t)(crc << 1);
    }
    return crc;
}

unsigned cluster_keyslot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len), *close;

    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        close = memchr(open + 1, '}', rest);
        if (close && close > open + 1)
            return cluster_crc16(open + 1, (size_t)(close - open - 1)) & (CLUSTER_NSLOTS - 1);
    }
    return cluster_crc16(key, len) & (CLUSTER_NSLOTS - 1);
}

static int cluster_is(const cluster_cmd *cmd, int i, const char *word)
{
    return cmd->argc > i && cmd->lens[i] == strlen(word) &&
           strncasecmp(cmd->argv[i], word, cmd->lens[i]) == 0;
}

/* A script reads and writes keys it does not declare: see cluster.h, ASK. */
static int cluster_is_script(const cluster_cmd *cmd)
{
    return cluster_is(cmd, 0, "FCALL") || cluster_is(cmd, 0, "FCALL_RO") ||
           cluster_is(cmd, 0, "EVAL") || cluster_is(cmd, 0, "EVALSHA");
}

int cluster_cmd_slot(const cluster_cmd *cmd)
{
    int key = 1;

    if (cluster_is_script(cmd)) {
        /* FCALL name numkeys key...: no key, no slot */
        if (cmd->argc < 4 || cmd->lens[2] == 0 || cmd->argv[2][0] == '0')
            return -1;
        key = 3;
    }
    if (cmd->argc <= key)
        return -1;
    return (int)cluster_keyslot(cmd->argv[key], cmd->lens[key]);
}

static int cluster_node_find(cluster *c, const char *host, int port)
{
    for (unsigned i = 0; i < c->nnodes; i++)
        if (c->nodes[i].port == port && strcmp(c->nodes[i].host, host) == 0)
            return (int)i;
    return -1;
}

static int cluster_node_add(cluster *c, const char *host, size_t hostlen, int port)
{
    cluster_node *grown;
    char *h = strndup(host, hostlen);
    int i;

    if (h == NULL)
        return -1;
    if ((i = cluster_node_find(c, h, port)) >= 0) {
        free(h);
        return i;
    }
    if ((grown = realloc(c->nodes, (c->nnodes + 1) * sizeof(*grown))) == NULL) {
        free(h);
        return -1;
    }
    c->nodes = grown;
    c->nodes[c->nnodes] = (cluster_node){.host = h, .port = port};
    return (int)c->nnodes++;
}

/* A URL for one node: the cluster's credentials, the node's address. */
static rurl cluster_node_url(const cluster *c, const char *host, int port)
{
    rurl v = {.host = (char *)host, .port = port, .user = c->url.user, .password = c->url.password};
    return v;
}

static void cluster_node_drop(cluster_node *n)
{
    redisFree(n->ctx);
    n->ctx = NULL;
    n->down = 1;
}

/* The replicas a connected primary has, from its own ROLE: CLUSTER SLOTS
 * leaves out a replica whose replication offset is still 0 (Redis's
 * isReplicaAvailable()), which is every replica of a new cluster until
 * the primary's first write or replication ping reaches it, up to
 * repl-ping-replica-period (10 s) after it attached; writes acknowledged
 * then without WAIT could be lost in a failover. When ROLE is refused (an
 * ACL without +role) or answers otherwise, the map's count stays.
 * Returns -1 with a message in err when the connection failed (the node
 * is dropped). */
static int cluster_node_role(cluster_node *n, char *err, size_t errlen)
{
    redisReply *r = redisCommand(n->ctx, "ROLE");

    if (r == NULL) {
        snprintf(err, errlen, "Redis at %s:%d: no reply to ROLE", n->host, n->port);
        cluster_node_drop(n);
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
        r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0 &&
        r->element[2]->type == REDIS_REPLY_ARRAY && r->element[2]->elements > (size_t)n->replicas)
        n->replicas = (int)r->element[2]->elements;
    freeReplyObject(r);
    return 0;
}

static int cluster_node_connect(cluster *c, cluster_node *n, char *err, size_t errlen)
{
    rurl v = cluster_node_url(c, n->host, n->port);

    if (n->ctx)
        return 0;
    if (rconn_open(&v, c->timeout_ms, &n->ctx, err, errlen) != RCONN_OK) {
        n->down = 1;
        return -1;
    }
    STAT_ADD(c->st.connects, 1);
    return cluster_node_role(n, err, errlen);
}

/* Parses a CLUSTER SLOTS reply into nodes and slot_node; host is the
 * address the reply came from, for a node that reports an empty ip. */
static int cluster_parse_slots(cluster *c, const redisReply *r, const char *host, char *err,
                               size_t errlen)
{
    if (r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "CLUSTER SLOTS: %s",
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        return -1;
    }
    memset(c->slot_node, 0, sizeof(c->slot_node));
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i], *p;
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER ||
            (p = e->element[2])->type != REDIS_REPLY_ARRAY || p->elements < 2 ||
            p->element[0]->type != REDIS_REPLY_STRING ||
            p->element[1]->type != REDIS_REPLY_INTEGER) {
            snprintf(err, errlen, "CLUSTER SLOTS: unexpected shape of entry %zu", i);
            return -1;
        }
        long long lo = e->element[0]->integer, hi = e->element[1]->integer;
        const char *ip = p->element[0]->len ? p->element[0]->str : host;
        int node = cluster_node_add(c, ip, strlen(ip), (int)p->element[1]->integer);
        if (lo < 0 || hi >= CLUSTER_NSLOTS || lo > hi || node < 0) {
            snprintf(err, errlen, "CLUSTER SLOTS: bad range %lld-%lld", lo, hi);
            return -1;
        }
        for (long long s = lo; s <= hi; s++)
            c->slot_node[s] = (uint16_t)(node + 1);
        c->nodes[node].replicas = (int)e->elements - 3;
    }
    return 0;
}

/* Reads the map over ctx. Nodes that no longer serve a slot are closed. */
static int cluster_read_map(cluster *c, redisContext *ctx, const char *host, char *err,
                            size_t errlen)
{
    redisReply *r = redisCommand(ctx, "CLUSTER SLOTS");
    unsigned primaries = 0;
    int rc;

    if (r == NULL) {
        snprintf(err, errlen, "CLUSTER SLOTS: %s", ctx->errstr[0] ? ctx->errstr : "no reply");
        return -1;
    }
    rc = cluster_parse_slots(c, r, host, err, errlen);
    freeReplyObject(r);
    if (rc < 0)
        return -1;
    for (unsigned i = 0; i < c->nnodes; i++) {
        int serves = 0;
        for (unsigned s = 0; s < CLUSTER_NSLOTS && !serves; s++)
            serves = c->slot_node[s] == i + 1;
        if (serves)
            primaries++;
        else if (c->nodes[i].ctx)
            cluster_node_drop(&c->nodes[i]);
    }
    STAT_ADD(c->st.refreshes, 1);
    STAT_SET(c->st.primaries, primaries);
    return 0;
}

/* Connects every primary of the map that is not connected. */
static int cluster_connect_all(cluster *c, char *err, size_t errlen)
{
    int rc = 0;

    for (unsigned i = 0; i < c->nnodes; i++) {
        int serves = 0;
        for (unsigned s = 0; s < CLUSTER_NSLOTS && !serves; s++)
            serves = c->slot_node[s] == i + 1;
        c->nodes[i].down = 0;
        if (!serves)
            continue;
        /* a node connected before: the map was read again, its replicas
         * too (a new connection asks in cluster_node_connect()) */
        if ((c->nodes[i].ctx ? cluster_node_role(&c->nodes[i], err, errlen)
                             : cluster_node_connect(c, &c->nodes[i], err, errlen)) < 0)
            rc = -1;
    }
    return rc;
}

/* Reads the map from the first seed that answers (seeds may be replicas). */
static int cluster_read_seeds(cluster *c, char *why, size_t whylen)
{
    for (unsigned i = 0; i < c->url.nseeds; i++) {
        rurl v = cluster_node_url(c, c->url.seeds[i].host, c->url.seeds[i].port);
        redisContext *ctx;
        int rc;
        if (rconn_connect(&v, c->timeout_ms, &ctx, why, whylen) != RCONN_OK)
            continue;
        rc = cluster_read_map(c, ctx, c->url.seeds[i].host, why, whylen);
        redisFree(ctx);
        if (rc == 0)
            return 0;
    }
    return -1;
}

int cluster_refresh(cluster *c, char *err, size_t errlen)
{
    char why[512] = "no node answered";

    /* A connected primary first; then the seeds. */
    for (unsigned i = 0; i < c->nnodes; i++)
        if (c->nodes[i].ctx &&
            cluster_read_map(c, c->nodes[i].ctx, c->nodes[i].host, why, sizeof(why)) == 0)
            return cluster_connect_all(c, err, errlen);
    if (cluster_read_seeds(c, why, sizeof(why)) == 0)
        return cluster_connect_all(c, err, errlen);
    snprintf(err, errlen, "Redis Cluster: cannot read the slot map: %s", why);
    return -1;
}

int cluster_connect_key(const rurl *u, const char *key, size_t len, int timeout_ms,
                        redisContext **out, char *err, size_t errlen)
{
    cluster *c = calloc(1, sizeof(*c));
    char why[512] = "no node answered";
    int node, rc = -1;

    *out = NULL;
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->url = *u;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    if (cluster_read_seeds(c, why, sizeof(why)) < 0)
        snprintf(err, errlen, "Redis Cluster: cannot read the slot map: %s", why);
    else if ((node = c->slot_node[cluster_keyslot(key, len)] - 1) < 0)
        snprintf(err, errlen, "Redis Cluster: no primary serves %.*s", (int)len, key);
    else {
        rurl v = cluster_node_url(c, c->nodes[node].host, c->nodes[node].port);
        rc = rconn_connect(&v, c->timeout_ms, out, err, errlen) == RCONN_OK ? 0 : -1;
    }
    cluster_free(c);
    return rc;
}

cluster *cluster_open(const rurl *u, int timeout_ms, char *err, size_t errlen)
{
    cluster *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->url = *u;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    if (cluster_refresh(c, err, errlen) < 0) {
        cluster_free(c);
        return NULL;
    }
    return c;
}

/* "MOVED 3999 127.0.0.1:6381": the node index of the address, added when
 * new (an ASK target is a primary the map may not show yet). */
static int cluster_redirect_node(cluster *c, const char *msg)
{
    const char *addr = strchr(msg, ' '), *colon;

    if (addr == NULL || (addr = strchr(addr + 1, ' ')) == NULL ||
        (colon = strrchr(++addr, ':')) == NULL)
        return -1;
    return cluster_node_add(c, addr, (size_t)(colon - addr), atoi(colon + 1));
}

static void cluster_pause(int round)
{
    long ms = (long)CLUSTER_PAUSE_MS << (round < 4 ? round : 4);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* Hands node k the commands routed to it this round, in their order, each
 * redirected one after an ASKING: formatted by resp.c into one buffer and
 * appended to its connection at once, as the one-server writer does
 * (docs/performance.md, "The writer's own command formatting"). Returns
 * -1 out of memory. */
static int cluster_node_send(cluster *c, unsigned k, const cluster_cmd *cmds, int n,
                             const int *route, const int *ask)
{
    static const char *const asking[1] = {"ASKING"};
    static const size_t asking_len[1] = {6};

    c->out.len = 0;
    for (int i = 0; i < n; i++) {
        if (route[i] != (int)k)
            continue;
        if ((ask[i] >= 0 && resp_append(&c->out, 1, asking, asking_len) != 0) ||
            resp_append(&c->out, cmds[i].argc, cmds[i].argv, cmds[i].lens) != 0)
            return -1;
    }
    return redisAppendFormattedCommand(c->nodes[k].ctx, c->out.p, c->out.len) == REDIS_OK ? 0 : -1;
}

static void cluster_note(char *err, size_t errlen, int *noted, const char *fmt, const char *what)
{
    if (!*noted)
        snprintf(err, errlen, fmt, what);
    *noted = 1;
}

int cluster_exec(cluster *c, const cluster_cmd *cmds, int n, unsigned char *done,
                 cluster_reply_fn *fn, void *ctx, char *err, size_t errlen)
{
    int *route = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    int *ask = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    unsigned char *gave_up = calloc((size_t)(n > 0 ? n : 1), 1);
    redisReply **final = calloc((size_t)(n > 0 ? n : 1), sizeof(*final));
    int ndone = 0, noted = 0;
    char why[512];

    if (n <= 0)
        goto out;
    memset(done, 0, (size_t)n);
    if (route == NULL || ask == NULL || gave_up == NULL || final == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++)
        ask[i] = -1;
    for (unsigned i = 0; i < c->nnodes; i++)
        c->nodes[i].down = 0;
    for (int round = 0; round < CLUSTER_ROUNDS; round++) {
        int refresh = 0, pause = 0, sent = 0;

        for (unsigned k = 0; k < c->nnodes; k++)
            c->nodes[k].used = c->nodes[k].unreplicated = 0;

        for (int i = 0; i < n; i++) {
            int slot = cluster_cmd_slot(&cmds[i]), node;
            route[i] = -1;
            if (done[i] || gave_up[i])
                continue;
            node = ask[i] >= 0                        ? ask[i]
                   : slot >= 0                        ? c->slot_node[slot] - 1
                   : c->nnodes > 0 && c->slot_node[0] ? c->slot_node[0] - 1
                                                      : -1;
            if (node < 0) {
                /* a slot nobody serves: the cluster is down or resharding */
                cluster_note(err, errlen, &noted, "Redis Cluster: %s", "a slot has no primary");
                refresh = pause = 1;
                continue;
            }
            if (c->nodes[node].down ||
                cluster_node_connect(c, &c->nodes[node], why, sizeof(why)) < 0) {
                cluster_note(err, errlen, &noted, "%s", why);
                gave_up[i] = 1;
                refresh = 1;
                continue;
            }
            route[i] = node;
            c->nodes[node].used++;
            sent++;
        }
        for (unsigned k = 0; k < c->nnodes; k++)
            if (c->nodes[k].used && cluster_node_send(c, k, cmds, n, route, ask) != 0) {
                snprintf(why, sizeof(why), "Redis at %s:%d: out of memory for a pipeline",
                         c->nodes[k].host, c->nodes[k].port);
                cluster_note(err, errlen, &noted, "%s", why);
                cluster_node_drop(&c->nodes[k]); /* its commands are given up below */
                refresh = 1;
            }
        /* A reply says the primary ran the command; a failover may still
         * lose it until a replica has it. WAIT before anything is taken as
         * done, so a promoted replica holds every acknowledged call. */
        for (unsigned k = 0; k < c->nnodes; k++)
            if (c->nodes[k].used && c->nodes[k].replicas > 0 && c->nodes[k].ctx)
                redisAppendCommand(c->nodes[k].ctx, "WAIT 1 %d", CLUSTER_WAIT_MS);
        for (int i = 0; i < n; i++) {
            cluster_node *nd = route[i] >= 0 ? &c->nodes[route[i]] : NULL;
            redisReply *r = NULL;
            int asked = ask[i] >= 0;
            if (nd == NULL)
                continue;
            if (nd->ctx == NULL) { /* died earlier in this round */
                gave_up[i] = 1;
                continue;
            }
            if (asked && redisGetReply(nd->ctx, (void **)&r) == REDIS_OK && r)
                freeReplyObject(r); /* +OK of ASKING */
            r = NULL;
            ask[i] = -1;
            if (redisGetReply(nd->ctx, (void **)&r) != REDIS_OK || r == NULL) {
                snprintf(why, sizeof(why), "Redis at %s:%d: %s", nd->host, nd->port,
                         nd->ctx->errstr[0] ? nd->ctx->errstr : "no reply");
                cluster_note(err, errlen, &noted, "%s", why);
                cluster_node_drop(nd);
                gave_up[i] = 1;
                refresh = 1;
                continue;
            }
            if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "MOVED ", 6) == 0) {
                STAT_ADD(c->st.moved, 1);
                refresh = 1;
            } else if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "ASK ", 4) == 0) {
                STAT_ADD(c->st.ask, 1);
                if (cluster_is_script(&cmds[i]))
                    pause = 1; /* the slot finishes moving first (cluster.h) */
                else if ((ask[i] = cluster_redirect_node(c, r->str)) < 0)
                    gave_up[i] = 1;
            } else if (r->type == REDIS_REPLY_ERROR && (strncmp(r->str, "TRYAGAIN", 8) == 0 ||
                                                        strncmp(r->str, "CLUSTERDOWN", 11) == 0)) {
                STAT_ADD(c->st.tryagain, 1);
                pause = 1;
            } else {
                final[i] = r; /* taken below, once its primary's WAIT is in */
                continue;
            }
            if (round == CLUSTER_ROUNDS - 1)
                cluster_note(err, errlen, &noted, "Redis Cluster: still redirected: %s", r->str);
            freeReplyObject(r);
        }
        for (unsigned k = 0; k < c->nnodes; k++) {
            cluster_node *nd = &c->nodes[k];
            redisReply *r = NULL;
            if (!nd->used || nd->replicas == 0 || nd->ctx == NULL)
                continue;
            if (redisGetReply(nd->ctx, (void **)&r) != REDIS_OK || r == NULL) {
                snprintf(why, sizeof(why), "Redis at %s:%d: %s", nd->host, nd->port,
                         nd->ctx->errstr[0] ? nd->ctx->errstr : "no reply to WAIT");
                cluster_note(err, errlen, &noted, "%s", why);
                cluster_node_drop(nd);
                refresh = 1;
            }
            /* No replica took the batch within the bound (a lagging or lost
             * replica): its replies are not taken as done, so they go to
             * the journal and are sent again (every library call answers a
             * resend as it answered the first), and the map is read again
             * (it drops a replica that is gone, and with it the WAIT). */
            if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
                nd->unreplicated = 1;
                refresh = 1;
            }
            if (r)
                freeReplyObject(r);
        }
        for (int i = 0; i < n; i++) {
            redisReply *r = final[i];
            if (r == NULL)
                continue;
            final[i] = NULL;
            if (c->nodes[route[i]].ctx == NULL) {
                gave_up[i] = 1; /* its primary died before WAIT answered */
            } else if (c->nodes[route[i]].unreplicated) {
                gave_up[i] = 1; /* not on a replica yet: sent again later */
            } else if (fn(ctx, i, r) == 0) {
                done[i] = 1;
                ndone++;
            } else {
                cluster_note(err, errlen, &noted, "Redis answered %s", r->str ? r->str : "?");
                gave_up[i] = 1;
            }
            freeReplyObject(r);
        }
        int live = 0;
        for (int i = 0; i < n; i++)
            live += !done[i] && !gave_up[i];
        /* a dead node shows up as a refresh too: the next batch then finds
         * its replica once promoted */
        if (refresh && cluster_refresh(c, why, sizeof(why)) < 0)
            cluster_note(err, errlen, &noted, "%s", why);
        if (live == 0 || (sent == 0 && !refresh && !pause))
            break;
        if (pause && round < CLUSTER_ROUNDS - 1)
            cluster_pause(round);
    }
out:
    free(route);
    free(ask);
    free(gave_up);
    free(final);
    return ndone;
}

/* The key of a formatted command ("*N\r\n$len\r\nname\r\n$len\r\nkey..."):
 * its slot, or -1 when the command has no argument after its name. */
static int cluster_formatted_slot(const char *cmd, size_t len)
{
    const char *p = cmd, *end = cmd + len;

    for (int arg = 0; arg < 2; arg++) {
        const char *nl;
        long n;
        /* skip "*N\r\n" once, then "$len\r\n" before each argument */
        if (arg == 0 && (p = memchr(p, '\n', (size_t)(end - p))) == NULL)
            return -1;
        if (arg == 0)
            p++;
        if (p >= end || *p != '$' || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            return -1;
        n = strtol(p + 1, NULL, 10);
        if (n < 0 || n > end - (nl + 1))
            return -1;
        if (arg == 1)
            return (int)cluster_keyslot(nl + 1, (size_t)n);
        p = nl + 1 + n + 2;
    }
    return -1;
}

redisReply *cluster_vcommand(cluster *c, char *err, size_t errlen, const char *fmt, va_list ap)
{
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap), slot, ask = -1;
    redisReply *r = NULL;

    if (len < 0) {
        snprintf(err, errlen, "cannot format the command");
        return NULL;
    }
    if ((slot = cluster_formatted_slot(cmd, (size_t)len)) < 0) {
        snprintf(err, errlen, "a routed command needs a key");
        free(cmd);
        return NULL;
    }
    snprintf(err, errlen, "Redis Cluster: still redirected after %d rounds", CLUSTER_ROUNDS);
    for (int round = 0; round < CLUSTER_ROUNDS; round++) {
        int node = ask >= 0 ? ask : c->slot_node[slot] - 1;
        cluster_node *nd;

        if (node < 0 || cluster_node_connect(c, &c->nodes[node], err, errlen) < 0) {
            if (node < 0)
                snprintf(err, errlen, "Redis Cluster: a slot has no primary");
            cluster_pause(round);
            cluster_refresh(c, err, errlen);
            continue;
        }
        nd = &c->nodes[node];
        if (ask >= 0)
            redisAppendCommand(nd->ctx, "ASKING");
        redisAppendFormattedCommand(nd->ctx, cmd, (size_t)len);
        if (ask >= 0 && redisGetReply(nd->ctx, (void **)&r) == REDIS_OK && r)
            freeReplyObject(r); /* +OK of ASKING */
        r = NULL;
        ask = -1;
        if (redisGetReply(nd->ctx, (void **)&r) != REDIS_OK || r == NULL) {
            snprintf(err, errlen, "Redis at %s:%d: %s", nd->host, nd->port,
                     nd->ctx->errstr[0] ? nd->ctx->errstr : "no reply");
            cluster_node_drop(nd);
            cluster_refresh(c, err, errlen);
            continue;
        }
        if (r->type != REDIS_REPLY_ERROR)
            break;
        if (strncmp(r->str, "MOVED ", 6) == 0) {
            STAT_ADD(c->st.moved, 1);
            cluster_refresh(c, err, errlen);
        } else if (strncmp(r->str, "ASK ", 4) == 0) {
            STAT_ADD(c->st.ask, 1);
            ask = cluster_redirect_node(c, r->str);
        } else if (strncmp(r->str, "TRYAGAIN", 8) == 0 || strncmp(r->str, "CLUSTERDOWN", 11) == 0) {
            STAT_ADD(c->st.tryagain, 1);
            cluster_pause(round);
        } else {
            break; /* the command's own error: the caller's to read */
        }
        freeReplyObject(r);
        r = NULL;
    }
    free(cmd);
    return r;
}

const cluster_stats *cluster_get_stats(const cluster *c)
{
    return &c->st;
}

void cluster_free(cluster *c)
{
    if (c == NULL)
        return;
    for (unsigned i = 0; i < c->nnodes; i++) {
        redisFree(c->nodes[i].ctx);
        free(c->nodes[i].host);
    }
    free(c->nodes);
    bytes_free(&c->out);
    free(c);
}
