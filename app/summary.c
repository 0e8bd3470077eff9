/* summary.c -- the end-of-run summary, read back from Redis (see summary.h).
 *
 * While alerts are read, a row is a JSON object whose list fields (rules,
 * peers, gpu_hosts) are objects used as sets, and whose "_flows" set
 * de-duplicates evidence flows: the same flow often backs several alerts,
 * and its bytes count once. summary_finish_row() turns the sets into
 * sorted arrays, so the output does not depend on hash order.
 */
#include "summary.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_PAGE 500 /* stream entries per XRANGE */
/* widths of the table's list columns: the longest rule name and two more,
 * two IPv4 addresses and a count of the rest */
#define SUMMARY_W_RULES 40
#define SUMMARY_W_PEERS 36
#define SUMMARY_W_GPUS  36

int summary_mark(rreader *c, const char *prefix, char *id, size_t idlen, char *err, size_t errlen)
{
    redisReply *r = rreader_command(c, "XREVRANGE %salerts + - COUNT 1", prefix);
    int rc = 0;

    snprintf(id, idlen, "0-0");
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "reading %salerts: %s", prefix, r ? r->str : rreader_error(c));
        rc = -1;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
               r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
               r->element[0]->element[0]->type == REDIS_REPLY_STRING) {
        snprintf(id, idlen, "%s", r->element[0]->element[0]->str);
    }
    freeReplyObject(r);
    return rc;
}

/* ------------------------------------------------------------------------
 * Rows
 * ---------------------------------------------------------------------- */

static int summary_severity_rank(const char *s)
{
    static const char *const order[] = {"low", "medium", "high", "critical"};
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, order[i]) == 0)
            return i;
    return -1;
}

static void summary_set_add(json_t *row, const char *set, const char *member)
{
    if (member && *member)
        json_object_set_new(json_object_get(row, set), member, json_true());
}

static void summary_add_int(json_t *row, const char *key, json_int_t v)
{
    json_object_set_new(row, key, json_integer(json_integer_value(json_object_get(row, key)) + v));
}

static json_t *summary_new_row(const char *ip)
{
    return json_pack("{s:s, s:n, s:n, s:i, s:n, s:{}, s:{}, s:{}, s:i, s:i, s:n, s:n, s:{}}", "ip",
                     ip, "role", "score", "alerts", 0, "severity", "rules", "peers", "gpu_hosts",
                     "bytes_up", 0, "bytes_down", 0, "first", "last", "_flows");
}

/* One flow's bytes, once per row: key is "src|dst|first". */
static void summary_add_flow(json_t *row, const char *key, json_int_t up, json_int_t down)
{
    if (json_object_get(json_object_get(row, "_flows"), key))
        return;
    json_object_set_new(json_object_get(row, "_flows"), key, json_true());
    summary_add_int(row, "bytes_up", up);
    summary_add_int(row, "bytes_down", down);
}

/* Bytes of the alert's evidence flows, each flow once per row. */
static void summary_absorb_evidence(json_t *row, const json_t *evidence)
{
    size_t i;
    json_t *item;

    json_array_foreach(evidence, i, item)
    {
        const json_t *fl = json_object_get(item, "flow");
        const char *src = json_string_value(json_object_get(fl, "src"));
        const char *dst = json_string_value(json_object_get(fl, "dst"));
        const char *first = json_string_value(json_object_get(fl, "first"));
        char key[512];

        if (!json_is_object(fl))
            continue;
        snprintf(key, sizeof(key), "%s|%s|%s", src ? src : "", dst ? dst : "", first ? first : "");
        summary_add_flow(row, key, json_integer_value(json_object_get(fl, "bytes_up")),
                         json_integer_value(json_object_get(fl, "bytes_down")));
    }
}

/* Keeps the earlier (or later) of two RFC 3339 UTC times: same shape,
 * so they compare as text. */
static void summary_minmax(json_t *row, const char *key, const char *ts, int later)
{
    const char *cur = json_string_value(json_object_get(row, key));
    if (ts && (cur == NULL || (later ? strcmp(ts, cur) > 0 : strcmp(ts, cur) < 0)))
        json_object_set_new(row, key, json_string(ts));
}

void summary_absorb_candidates(json_t *row, const redisReply *r)
{
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str, *v = r->element[i + 1]->str;
        long long up = 0, down = 0;

        if (f == NULL || v == NULL)
            continue;
        if (strncmp(f, "peer:", 5) == 0)
            summary_set_add(row, "peers", f + 5);
        else if (strncmp(f, "flow:", 5) == 0 && sscanf(v, "%lld %lld", &up, &down) == 2)
            summary_add_flow(row, f + 5, (json_int_t)up, (json_int_t)down);
        else if (strcmp(f, "first") == 0)
            summary_minmax(row, "first", v, 0);
        else if (strcmp(f, "last") == 0)
            summary_minmax(row, "last", v, 1);
    }
}

void summary_absorb_alert(json_t *row, const json_t *alert)
{
    const char *sev = json_string_value(json_object_get(alert, "severity"));
    const char *ts = json_string_value(json_object_get(alert, "ts"));
    const json_t *role = json_object_get(json_object_get(alert, "entity"), "role");

    summary_add_int(row, "alerts", 1);
    if (json_is_string(role))
        json_object_set(row, "role", (json_t *)role);
    if (summary_severity_rank(sev) >
        summary_severity_rank(json_string_value(json_object_get(row, "severity"))))
        json_object_set_new(row, "severity", json_string(sev));
    summary_set_add(row, "rules", json_string_value(json_object_get(alert, "rule")));
    summary_set_add(row, "peers",
                    json_string_value(json_object_get(json_object_get(alert, "peer"), "ip")));
    summary_set_add(
        row, "peers",
        json_string_value(json_object_get(json_object_get(alert, "intermediary"), "ip")));
    summary_set_add(row, "gpu_hosts",
                    json_string_value(json_object_get(json_object_get(alert, "gpu_host"), "ip")));
    summary_absorb_evidence(row, json_object_get(alert, "evidence"));
    summary_minmax(row, "first", ts, 0);
    summary_minmax(row, "last", ts, 1);
    /* the alert's score is the entity's risk after it: the fallback when
     * the risk key is gone */
    if (json_is_integer(json_object_get(alert, "score")))
        json_object_set(row, "_alert_score", json_object_get(alert, "score"));
}

static int summary_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A set (object) as a sorted array of at most SUMMARY_MAX_LIST members;
 * the full count goes into count_key when given. */
static void summary_set_to_array(json_t *row, const char *key, const char *count_key)
{
    json_t *set = json_object_get(row, key), *arr = json_array();
    size_t n = json_object_size(set), i = 0;
    const char **names = calloc(n + 1, sizeof(*names));
    const char *k;
    json_t *v;

    json_object_foreach(set, k, v) names[i++] = k;
    qsort(names, n, sizeof(*names), summary_cmp_str);
    for (i = 0; i < n && i < SUMMARY_MAX_LIST; i++)
        json_array_append_new(arr, json_string(names[i]));
    free(names);
    if (count_key)
        json_object_set_new(row, count_key, json_integer((json_int_t)n));
    json_object_set_new(row, key, arr);
}

/* Queues the two reads of the entity's risk and host hash
 * (summary_finish_row() takes their replies). */
static void summary_ask_entity(rreader *c, const char *prefix, const json_t *row, int asked[2])
{
    const char *ip = json_string_value(json_object_get(row, "ip"));

    asked[0] = rreader_append(c, "ZSCORE %srisk %s", prefix, ip) == 0;
    asked[1] = rreader_append(c, "HGETALL %shost:%s", prefix, ip) == 0;
}

/* The reply to a read summary_ask_entity() queued, or NULL when it could
 * not be queued or nothing answered (the row then goes without). */
static redisReply *summary_answer(rreader *c, int asked)
{
    return asked ? rreader_next(c) : NULL;
}

static void summary_finish_row(rreader *c, json_t *row, const int asked[2])
{
    static const char *const keep[] = {"country",    "asn",      "as_org", "roles", "rules",
                                       "gpu_source", "provider", "tenant", NULL};
    json_t *host = json_object();

    summary_set_to_array(row, "rules", NULL);
    summary_set_to_array(row, "peers", "peers_count");
    summary_set_to_array(row, "gpu_hosts", "gpu_hosts_count");
    redisReply *r = summary_answer(c, asked[0]);
    if (r && r->type == REDIS_REPLY_STRING)
        json_object_set_new(row, "score", json_integer((json_int_t)strtod(r->str, NULL)));
    else
        json_object_set(row, "score", json_object_get(row, "_alert_score"));
    freeReplyObject(r);
    r = summary_answer(c, asked[1]);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        for (int k = 0; keep[k]; k++)
            if (strcmp(r->element[i]->str, keep[k]) == 0)
                json_object_set_new(host, keep[k], json_string(r->element[i + 1]->str));
    }
    freeReplyObject(r);
    json_object_set_new(row, "host", host);
    json_object_del(row, "_flows");
    json_object_del(row, "_alert_score");
}

/* ------------------------------------------------------------------------
 * Reading the stream
 * ---------------------------------------------------------------------- */

/* One stream entry of this sensor's, read, with the read of the
 * candidate record it names queued (`cand`: 1 when it was). */
typedef struct summary_pending {
    json_t *alert; /* owned */
    json_t *row;   /* borrowed from the rows */
    int cand;
} summary_pending;

/* Reads one stream entry: when it is this sensor's, finds its entity's
 * row and queues the read of its candidate record. Returns 1 when *p was
 * filled, 0 when the entry is skipped. */
static int summary_entry(rreader *c, json_t *rows, const redisReply *fields, const char *sensor,
                         summary_pending *p)
{
    const char *line = NULL, *cand = NULL;
    json_t *alert;

    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (strcmp(fields->element[i]->str, "json") == 0)
            line = fields->element[i + 1]->str;
        else if (strcmp(fields->element[i]->str, "cand") == 0)
            cand = fields->element[i + 1]->str;
    }
    if (line == NULL || (alert = json_loads(line, 0, NULL)) == NULL)
        return 0;
    const char *s = json_string_value(json_object_get(alert, "sensor"));
    const char *ip = json_string_value(json_object_get(json_object_get(alert, "entity"), "ip"));
    if (s == NULL || ip == NULL || strcmp(s, sensor) != 0) {
        json_decref(alert);
        return 0;
    }
    if ((p->row = json_object_get(rows, ip)) == NULL) {
        p->row = summary_new_row(ip);
        json_object_set_new(rows, ip, p->row);
    }
    p->alert = alert;
    p->cand = cand && rreader_append(c, "HGETALL %s", cand) == 0;
    return 1;
}

/* Adds a read entry to its row, with its candidate record, and counts it:
 * in stream order, the candidate's reply taken as it comes. */
static void summary_absorb(rreader *c, json_t *sum, summary_pending *p)
{
    summary_absorb_alert(p->row, p->alert);
    if (p->cand) {
        redisReply *r = rreader_next(c);
        summary_absorb_candidates(p->row, r);
        freeReplyObject(r);
    }
    summary_add_int(sum, "alerts", 1);
    summary_add_int(json_object_get(sum, "by_rule"),
                    json_string_value(json_object_get(p->alert, "rule")), 1);
    summary_add_int(json_object_get(sum, "by_severity"),
                    json_string_value(json_object_get(p->alert, "severity")), 1);
    json_decref(p->alert);
}

/* Reads every entry after since_id, a page at a time: the page's
 * candidate records in one pipeline, then its entries in order. */
static int summary_read_stream(rreader *c, const char *prefix, const char *sensor,
                               const char *since_id, json_t *sum, json_t *rows, char *err,
                               size_t errlen)
{
    char start[128];
    summary_pending page[SUMMARY_PAGE];

    snprintf(start, sizeof(start), "(%s", since_id);
    for (;;) {
        redisReply *r =
            rreader_command(c, "XRANGE %salerts %s + COUNT %d", prefix, start, SUMMARY_PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            snprintf(err, errlen, "reading %salerts: %s", prefix,
                     r && r->type == REDIS_REPLY_ERROR ? r->str : rreader_error(c));
            freeReplyObject(r);
            return -1;
        }
        size_t n = 0;
        for (size_t i = 0; i < r->elements && i < SUMMARY_PAGE; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            n += (size_t)summary_entry(c, rows, e->element[1], sensor, &page[n]);
            snprintf(start, sizeof(start), "(%s", e->element[0]->str);
        }
        for (size_t i = 0; i < n; i++)
            summary_absorb(c, sum, &page[i]);
        size_t got = r->elements;
        freeReplyObject(r);
        if (got < SUMMARY_PAGE)
            return 0;
    }
}

/* Highest risk first, then more alerts, then the address. */
static int summary_cmp_rows(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t sx = json_integer_value(json_object_get(x, "score"));
    json_int_t sy = json_integer_value(json_object_get(y, "score"));
    json_int_t ax = json_integer_value(json_object_get(x, "alerts"));
    json_int_t ay = json_integer_value(json_object_get(y, "alerts"));

    if (sx != sy)
        return sx > sy ? -1 : 1;
    if (ax != ay)
        return ax > ay ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "ip")),
                  json_string_value(json_object_get(y, "ip")));
}

/* Who knocks at the GPU hosts' control services: the sources and
 * networks with the most probes and failed attempts (lh_knock, kept over
 * the keys' lifetime, not only this run), at most SUMMARY_KNOCKERS. */
#define SUMMARY_KNOCKERS 20

static json_int_t summary_reply_int(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING    ? strtoll(r->str, NULL, 10)
           : r && r->type == REDIS_REPLY_INTEGER ? r->integer
                                                 : 0;
}

/* Who a knockers member names: "{k:<net>}:src:<address>" is an address,
 * "{k:<net>}" a network. Returns 0, or -1 when the key is neither. */
static int summary_knocker_name(const char *key, char *who, size_t len, int *address)
{
    const char *net = strstr(key, "{k:"), *end = net ? strchr(net, '}') : NULL;
    const char *addr = end ? strstr(end, "}:src:") : NULL;

    if (end == NULL)
        return -1;
    if (addr)
        snprintf(who, len, "%s", addr + 6);
    else
        snprintf(who, len, "%.*s", (int)(end - net - 3), net + 3);
    *address = addr != NULL;
    return 0;
}

static json_t *summary_knockers(rreader *c, const char *prefix)
{
    json_t *list = json_array();
    redisReply *r = rreader_command(c, "ZREVRANGE %sknockers 0 %d", prefix, SUMMARY_KNOCKERS - 1);
    int asked[SUMMARY_KNOCKERS][2] = {{0}}, address[SUMMARY_KNOCKERS];
    char who[SUMMARY_KNOCKERS][128];
    size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;

    if (n > SUMMARY_KNOCKERS)
        n = SUMMARY_KNOCKERS;
    /* every named knocker's two reads in one pipeline, then their replies */
    for (size_t i = 0; i < n; i++) {
        const char *key = r->element[i]->str;
        if (r->element[i]->type != REDIS_REPLY_STRING ||
            summary_knocker_name(key, who[i], sizeof(who[i]), &address[i]) != 0)
            continue;
        asked[i][0] = rreader_append(c, "HMGET %s probe attempt", key) == 0;
        asked[i][1] = rreader_append(c, "PFCOUNT %s:gpu", key) == 0;
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *h = summary_answer(c, asked[i][0]), *g = summary_answer(c, asked[i][1]);
        if (h && h->type == REDIS_REPLY_ARRAY && h->elements == 2)
            json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I, s:I}", "source", who[i],
                                                  "kind", address[i] ? "address" : "network",
                                                  "probes", summary_reply_int(h->element[0]),
                                                  "attempts", summary_reply_int(h->element[1]),
                                                  "gpu_hosts", summary_reply_int(g)));
        freeReplyObject(h);
        freeReplyObject(g);
    }
    freeReplyObject(r);
    return list;
}

json_t *summary_collect(rreader *c, const char *prefix, const char *sensor, const char *since_id,
                        char *err, size_t errlen)
{
    json_t *sum = json_pack("{s:s, s:s, s:i, s:{}, s:{}}", "event_type", "summary", "sensor",
                            sensor, "alerts", 0, "by_rule", "by_severity");
    json_t *rows = json_object(), *v, *list = json_array();
    const char *k;
    size_t n = 0, i = 0;

    if (summary_read_stream(c, prefix, sensor, since_id, sum, rows, err, errlen) != 0) {
        json_decref(sum);
        json_decref(rows);
        json_decref(list);
        return NULL;
    }
    json_t **sorted = calloc(json_object_size(rows) + 1, sizeof(*sorted));
    if (sorted == NULL) {
        snprintf(err, errlen, "out of memory");
        json_decref(sum);
        json_decref(rows);
        json_decref(list);
        return NULL;
    }
    json_object_foreach(rows, k, v)
    {
        sorted[n++] = v;
    }
    /* the rows' reads a page at a time, each page in one pipeline */
    for (size_t at = 0; at < n; at += SUMMARY_PAGE) {
        int asked[SUMMARY_PAGE][2];
        size_t end = n - at < SUMMARY_PAGE ? n : at + SUMMARY_PAGE;
        for (i = at; i < end; i++)
            summary_ask_entity(c, prefix, sorted[i], asked[i - at]);
        for (i = at; i < end; i++)
            summary_finish_row(c, sorted[i], asked[i - at]);
    }
    qsort(sorted, n, sizeof(*sorted), summary_cmp_rows);
    for (i = 0; i < n; i++)
        json_array_append(list, sorted[i]);
    free(sorted);
    json_decref(rows);
    json_object_set_new(sum, "entities", list);
    json_object_set_new(sum, "knockers", summary_knockers(c, prefix));
    return sum;
}

/* ------------------------------------------------------------------------
 * Output
 * ---------------------------------------------------------------------- */

/* A list as "a,b,c" in at most width characters (len > width), with
 * "(+N)" for the N left out: the columns of the table stay aligned. */
static void summary_list(const json_t *row, const char *key, const char *count_key, size_t width,
                         char *buf, size_t len)
{
    const json_t *arr = json_object_get(row, key), *v;
    size_t i, o = 0;
    json_int_t shown = 0;
    json_int_t total = count_key ? json_integer_value(json_object_get(row, count_key))
                                 : (json_int_t)json_array_size(arr);

    buf[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        size_t need = strlen(s) + (o ? 1 : 0);
        json_int_t after = total - shown - 1; /* left out if this is the last shown */
        size_t reserve = after > 0 ? (size_t)snprintf(NULL, 0, " (+%lld)", (long long)after) : 0;
        if (o + need + reserve > width)
            break;
        o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", s);
        shown++;
    }
    if (shown < total)
        snprintf(buf + o, len - o, "%s(+%lld)", o ? " " : "", (long long)(total - shown));
    if (buf[0] == '\0')
        snprintf(buf, len, "-");
}

static void summary_bytes(json_int_t b, char *buf, size_t len)
{
    if (b < 1000)
        snprintf(buf, len, "%lld B", (long long)b);
    else if (b < 1000000)
        snprintf(buf, len, "%.1f kB", (double)b / 1e3);
    else if (b < 1000000000)
        snprintf(buf, len, "%.1f MB", (double)b / 1e6);
    else
        snprintf(buf, len, "%.2f GB", (double)b / 1e9);
}

static void summary_print_row(FILE *out, const json_t *row)
{
    const json_t *host = json_object_get(row, "host");
    const char *cc = json_string_value(json_object_get(host, "country"));
    const char *role = json_string_value(json_object_get(row, "role"));
    char rules[64], peers[64], gpus[64], up[24], down[24];

    summary_list(row, "rules", NULL, SUMMARY_W_RULES, rules, sizeof(rules));
    summary_list(row, "peers", "peers_count", SUMMARY_W_PEERS, peers, sizeof(peers));
    summary_list(row, "gpu_hosts", "gpu_hosts_count", SUMMARY_W_GPUS, gpus, sizeof(gpus));
    summary_bytes(json_integer_value(json_object_get(row, "bytes_up")), up, sizeof(up));
    summary_bytes(json_integer_value(json_object_get(row, "bytes_down")), down, sizeof(down));
    fprintf(out, "  %4lld  %-39s %-12s %-2s %6lld  %-*s %-*s %-*s %10s %10s\n",
            (long long)json_integer_value(json_object_get(row, "score")),
            json_string_value(json_object_get(row, "ip")), role ? role : "-", cc && *cc ? cc : "-",
            (long long)json_integer_value(json_object_get(row, "alerts")), SUMMARY_W_RULES, rules,
            SUMMARY_W_PEERS, peers, SUMMARY_W_GPUS, gpus, up, down);
}

void summary_print_table(FILE *out, const json_t *sum)
{
    const json_t *rows = json_object_get(sum, "entities"), *row;
    size_t i, n = json_array_size(rows);
    json_int_t alerts = json_integer_value(json_object_get(sum, "alerts"));

    fprintf(out, "loophole: %lld alert%s about %zu entit%s, by risk:\n", (long long)alerts,
            alerts == 1 ? "" : "s", n, n == 1 ? "y" : "ies");
    fprintf(out, "  %4s  %-39s %-12s %-2s %6s  %-*s %-*s %-*s %10s %10s\n", "RISK", "ENTITY",
            "ROLE", "CC", "ALERTS", SUMMARY_W_RULES, "RULES", SUMMARY_W_PEERS, "PEERS",
            SUMMARY_W_GPUS, "GPU HOSTS", "BYTES UP", "BYTES DOWN");
    json_array_foreach(rows, i, row) summary_print_row(out, row);
    rows = json_object_get(sum, "knockers");
    if (json_array_size(rows) == 0)
        return;
    fprintf(out, "loophole: who knocks at the GPU hosts' control services (scans and failed "
                 "logins; no alert):\n");
    fprintf(out, "  %-43s %-8s %8s %8s %9s\n", "SOURCE", "KIND", "PROBES", "ATTEMPTS", "GPU HOSTS");
    json_array_foreach(rows, i, row)
    {
        fprintf(out, "  %-43s %-8s %8lld %8lld %9lld\n",
                json_string_value(json_object_get(row, "source")),
                json_string_value(json_object_get(row, "kind")),
                (long long)json_integer_value(json_object_get(row, "probes")),
                (long long)json_integer_value(json_object_get(row, "attempts")),
                (long long)json_integer_value(json_object_get(row, "gpu_hosts")));
    }
}

int summary_write_json(const json_t *sum, const char *path, char *err, size_t errlen)
{
    int to_stdout = strcmp(path, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(path, "w");

    if (f == NULL) {
        snprintf(err, errlen, "--summary %s: %s", path, strerror(errno));
        return -1;
    }
    return summary_write_json_file(sum, f, path, err, errlen);
}

int summary_write_json_file(const json_t *sum, FILE *f, const char *path, char *err, size_t errlen)
{
    int to_stdout = f == stdout;
    int bad =
        json_dumpf(sum, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', f) == EOF;
    bad |= (to_stdout ? fflush(f) : fclose(f)) != 0;
    if (bad) {
        snprintf(err, errlen, "--summary %s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
