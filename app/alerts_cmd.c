/* alerts_cmd.c -- `loophole alerts` (see alerts_cmd.h).
 *
 * The position is always an explicit stream id, never "$": at start it is
 * the stream's last id (or what --from / --last asked for), afterwards the
 * id of the last entry read. XREAD with "$" would skip whatever arrives
 * while the reader is reconnecting.
 *
 * Alert text comes from the wire (host names, SNI in summaries): the
 * readable lines replace control characters, so an alert cannot move the
 * cursor or rewrite the operator's terminal. --format native (--json)
 * prints the line as Redis holds it, which the sensor has already escaped;
 * --format eve converts it with eve.c, as the sensor's --alerts-format eve
 * does, so a SIEM can follow the stream with the pipeline it reads the
 * sensor's EVE file with.
 */
#include "alerts_cmd.h"

#include <getopt.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app/config.h"
#include "app/eve.h"
#include "redis/cluster.h"
#include "redis/url.h"

#define ALERTS_CMD_MAX_RULES 32
#define ALERTS_CMD_BLOCK_MS  1000

/* What each alert is printed as (--format). */
typedef enum alerts_cmd_format {
    ALERTS_CMD_TEXT,   /* one readable line */
    ALERTS_CMD_NATIVE, /* the alert line as stored (interface.md section 2) */
    ALERTS_CMD_EVE,    /* a Suricata EVE alert event (docs/siem.md) */
} alerts_cmd_format;

typedef struct alerts_cmd {
    rurl url;
    char *url_text, *prefix, *config_path;
    const char *rules[ALERTS_CMD_MAX_RULES];
    int nrules;
    int min_severity; /* -1 = any */
    alerts_cmd_format format;
    char from[64]; /* "" = from the end */
    long last;     /* -1 = none */
    long count;    /* exit after this many alerts; -1 = never */
    long printed;
    char key[512];
    char id[64]; /* last id read */
} alerts_cmd;

static int alerts_cmd_severity(const char *s)
{
    static const char *const order[] = {"low", "medium", "high", "critical"};
    for (int i = 0; s && i < 4; i++)
        if (strcasecmp(s, order[i]) == 0)
            return i;
    return -1;
}

static void alerts_cmd_usage(FILE *out)
{
    fputs("Usage: loophole alerts [options]\n"
          "Prints the alerts of the Redis stream <prefix>alerts as they arrive.\n"
          "  --redis URL      redis://[user:password@]host:port[/db], unix:///path or\n"
          "                   redis+cluster://host:port[,host:port...]\n"
          "                   (default: [redis] url of -c FILE, else redis://127.0.0.1:6379)\n"
          "  -c FILE          read [redis] url and prefix from this configuration file\n"
          "  --prefix P       key prefix (default: [redis] prefix, else lh:)\n"
          "  --rule R         only alerts of rule R; repeatable\n"
          "  --severity S     only alerts of severity S or higher (low, medium, high, critical)\n"
          "  --format F       text (default: one readable line per alert), native (the\n"
          "                   alert's JSON line as stored) or eve (a Suricata EVE alert\n"
          "                   event, as the sensor's --alerts-format eve writes it)\n"
          "  --json           the same as --format native\n"
          "  --last N         first print the last N alerts already in the stream\n"
          "  --from ID        first print every alert after stream id ID (0 = all)\n"
          "  --count N        exit after printing N alerts\n"
          "  -h, --help       print this help and exit\n"
          "The password may come from LOOPHOLE_REDIS_PASSWORD. Reconnects after a Redis\n"
          "restart and resumes after the last alert printed.\n"
          "Exit status: 0 --count reached, 1 Redis failure, 2 usage error.\n",
          out);
}

/* -c FILE: [redis] url and prefix, unless flags give them. */
static int alerts_cmd_config(alerts_cmd *a, char *err, size_t errlen)
{
    config c;
    int rc = 0;

    config_init(&c);
    if (config_load_file(&c, a->config_path, err, errlen) != 0) {
        rc = -1;
    } else {
        if (a->url_text == NULL && c.redis.url)
            a->url_text = strdup(c.redis.url);
        if (a->prefix == NULL)
            a->prefix = strdup(c.redis.prefix);
    }
    config_free(&c);
    return rc;
}

static int alerts_cmd_number(const char *flag, const char *v, long *out, char *err, size_t errlen)
{
    char *end;
    long n = strtol(v, &end, 10);

    if (*v == '\0' || *end != '\0' || n < 0) {
        snprintf(err, errlen, "%s: expected a number, got '%s'", flag, v);
        return -1;
    }
    *out = n;
    return 0;
}

static const struct option alerts_cmd_opts[] = {
    {"redis", required_argument, NULL, 'R'},
    {"prefix", required_argument, NULL, 'P'},
    {"rule", required_argument, NULL, 'u'},
    {"severity", required_argument, NULL, 's'},
    {"json", no_argument, NULL, 'j'},
    {"format", required_argument, NULL, 'f'},
    {"last", required_argument, NULL, 'l'},
    {"from", required_argument, NULL, 'F'},
    {"count", required_argument, NULL, 'n'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One flag. Returns 0, 1 for --help, -1 on a usage error. */
static int alerts_cmd_flag(alerts_cmd *a, int opt, char *err, size_t errlen)
{
    switch (opt) {
    case 'R':
        free(a->url_text), a->url_text = strdup(optarg);
        break;
    case 'P':
        free(a->prefix), a->prefix = strdup(optarg);
        break;
    case 'c':
        free(a->config_path), a->config_path = strdup(optarg);
        break;
    case 'j':
        a->format = ALERTS_CMD_NATIVE;
        break;
    case 'f':
        if (strcmp(optarg, "text") == 0)
            a->format = ALERTS_CMD_TEXT;
        else if (strcmp(optarg, "native") == 0)
            a->format = ALERTS_CMD_NATIVE;
        else if (strcmp(optarg, "eve") == 0)
            a->format = ALERTS_CMD_EVE;
        else {
            snprintf(err, errlen, "--format: expected text, native or eve, got '%s'", optarg);
            return -1;
        }
        break;
    case 'h':
        return 1;
    case 'u':
        if (a->nrules == ALERTS_CMD_MAX_RULES) {
            snprintf(err, errlen, "--rule: at most %d rules", ALERTS_CMD_MAX_RULES);
            return -1;
        }
        a->rules[a->nrules++] = optarg;
        break;
    case 's':
        if ((a->min_severity = alerts_cmd_severity(optarg)) < 0) {
            snprintf(err, errlen, "--severity: expected low, medium, high or critical, got '%s'",
                     optarg);
            return -1;
        }
        break;
    case 'F':
        snprintf(a->from, sizeof(a->from), "%s", strcmp(optarg, "0") == 0 ? "0-0" : optarg);
        break;
    case 'l':
        return alerts_cmd_number("--last", optarg, &a->last, err, errlen);
    case 'n':
        return alerts_cmd_number("--count", optarg, &a->count, err, errlen);
    default:
        return -1;
    }
    return 0;
}

/* Returns 0, 1 when help was printed, -1 with a message in err. */
static int alerts_cmd_parse(alerts_cmd *a, int argc, char **argv, char *err, size_t errlen)
{
    int opt, rc;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:c:h", alerts_cmd_opts, NULL)) != -1) {
        if (opt == '?' || opt == ':') {
            snprintf(err, errlen, "%s: %s (see loophole alerts --help)", argv[optind - 1],
                     opt == ':' ? "expects a value" : "unknown flag");
            return -1;
        }
        if ((rc = alerts_cmd_flag(a, opt, err, errlen)) != 0)
            return rc;
    }
    if (optind < argc) {
        snprintf(err, errlen, "alerts: unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (a->from[0] && a->last >= 0) {
        snprintf(err, errlen, "--from and --last are exclusive");
        return -1;
    }
    if (a->config_path && alerts_cmd_config(a, err, errlen) != 0)
        return -1;
    if (a->prefix == NULL)
        a->prefix = strdup("lh:");
    if (rurl_parse(&a->url, a->url_text ? a->url_text : "redis://127.0.0.1:6379",
                   getenv(RURL_PASSWORD_ENV), err, errlen) != 0)
        return -1;
    snprintf(a->key, sizeof(a->key), "%salerts", a->prefix);
    return 0;
}

/* ------------------------------------------------------------------------
 * Redis
 * ---------------------------------------------------------------------- */

/* A reply that is an error, or no reply: describes it into err. */
static int alerts_cmd_failed(redisContext *c, redisReply *r, const char *what, char *err,
                             size_t errlen)
{
    if (r && r->type != REDIS_REPLY_ERROR)
        return 0;
    snprintf(err, errlen, "%s: %s", what, r ? r->str : c->errstr);
    return 1;
}

/* Connects, authenticates and selects the database; the read timeout
 * outlasts one XREAD BLOCK. */
static redisContext *alerts_cmd_connect(const alerts_cmd *a, char *err, size_t errlen)
{
    struct timeval tv = {2, 0}, rw = {ALERTS_CMD_BLOCK_MS / 1000 + 5, 0};
    const rurl *u = &a->url;
    redisContext *c = u->path ? redisConnectUnixWithTimeout(u->path, tv)
                              : redisConnectWithTimeout(u->host, u->port, tv);
    redisReply *r = NULL;
    char where[300];

    rurl_describe(u, where, sizeof(where));
    if (u->cluster) { /* the primary serving the stream (docs/redis.md) */
        char key[300];
        redisFree(c);
        c = NULL;
        snprintf(key, sizeof(key), "%salerts", a->prefix);
        if (cluster_connect_key(u, key, strlen(key), 2000, &c, err, errlen) < 0)
            goto fail;
        redisSetTimeout(c, rw);
        return c;
    }
    if (c == NULL || c->err) {
        snprintf(err, errlen, "%s: %s", where, c ? c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(c, rw);
    if (u->password) {
        r = u->user ? redisCommand(c, "AUTH %s %s", u->user, u->password)
                    : redisCommand(c, "AUTH %s", u->password);
        if (alerts_cmd_failed(c, r, where, err, errlen))
            goto fail;
        freeReplyObject(r);
        r = NULL;
    }
    if (u->db > 0) {
        r = redisCommand(c, "SELECT %d", u->db);
        if (alerts_cmd_failed(c, r, where, err, errlen))
            goto fail;
        freeReplyObject(r);
    }
    return c;
fail:
    freeReplyObject(r);
    if (c)
        redisFree(c);
    return NULL;
}

/* ------------------------------------------------------------------------
 * Printing
 * ---------------------------------------------------------------------- */

static const char *alerts_cmd_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1]->str;
    return NULL;
}

static int alerts_cmd_wanted(const alerts_cmd *a, const redisReply *fields)
{
    const char *rule = alerts_cmd_field(fields, "rule");
    int ok = a->nrules == 0;

    for (int i = 0; i < a->nrules && rule; i++)
        ok |= strcmp(rule, a->rules[i]) == 0;
    return ok && (a->min_severity < 0 ||
                  alerts_cmd_severity(alerts_cmd_field(fields, "severity")) >= a->min_severity);
}

/* s with control characters replaced, for a terminal. */
static void alerts_cmd_puts(const char *s, FILE *out)
{
    for (; s && *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

static void alerts_cmd_print_line(const char *line)
{
    json_t *o = json_loads(line, 0, NULL);
    const json_t *ent = json_object_get(o, "entity");
    const char *f[] = {json_string_value(json_object_get(o, "ts")),
                       json_string_value(json_object_get(o, "severity")),
                       json_string_value(json_object_get(o, "rule")),
                       json_string_value(json_object_get(ent, "role")),
                       json_string_value(json_object_get(ent, "ip")),
                       json_string_value(json_object_get(o, "summary"))};

    if (o == NULL) {
        fputs("(not an alert line) ", stdout);
        alerts_cmd_puts(line, stdout);
    } else {
        printf("%-27s %-8s %-20s ", f[0] ? f[0] : "-", f[1] ? f[1] : "-", f[2] ? f[2] : "-");
        alerts_cmd_puts(f[3] ? f[3] : "-", stdout);
        fputc(' ', stdout);
        alerts_cmd_puts(f[4] ? f[4] : "-", stdout);
        fputs("  ", stdout);
        alerts_cmd_puts(f[5] ? f[5] : "", stdout);
    }
    fputc('\n', stdout);
    json_decref(o);
}

/* One stream entry {id, fields}: printed when wanted; the position moves
 * past it either way. */
static void alerts_cmd_entry(alerts_cmd *a, const redisReply *e)
{
    const char *json;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return;
    snprintf(a->id, sizeof(a->id), "%s", e->element[0]->str);
    if (e->element[1]->type != REDIS_REPLY_ARRAY || !alerts_cmd_wanted(a, e->element[1]) ||
        (a->count >= 0 && a->printed >= a->count))
        return;
    json = alerts_cmd_field(e->element[1], "json");
    if (a->format == ALERTS_CMD_EVE) {
        size_t len;
        char *eve = json ? eve_from_alert(json, strlen(json), &len) : NULL;
        if (eve == NULL) { /* nothing a SIEM could ingest: said, not printed */
            fprintf(stderr, "loophole alerts: %s entry %s: not an alert line, not printed as EVE\n",
                    a->key, a->id);
            return;
        }
        fwrite(eve, 1, len, stdout);
        fputc('\n', stdout);
        free(eve);
    } else if (a->format == ALERTS_CMD_NATIVE) {
        puts(json ? json : "{}");
    } else {
        alerts_cmd_print_line(json ? json : "");
    }
    fflush(stdout);
    a->printed++;
}

/* The starting position: after the last entry (default), after the last
 * N (--last N, printing them), or --from's id. */
static int alerts_cmd_start(alerts_cmd *a, redisContext *c, char *err, size_t errlen)
{
    long n = a->last >= 0 ? a->last + 1 : 1;
    redisReply *r;

    if (a->from[0]) {
        snprintf(a->id, sizeof(a->id), "%s", a->from);
        return 0;
    }
    r = redisCommand(c, "XREVRANGE %s + - COUNT %ld", a->key, n);
    if (alerts_cmd_failed(c, r, a->key, err, errlen)) {
        freeReplyObject(r);
        return -1;
    }
    snprintf(a->id, sizeof(a->id), "0-0");
    if (r->type == REDIS_REPLY_ARRAY) {
        size_t k = r->elements;
        /* with --last N the N+1th newest is only the position before them */
        if (a->last >= 0 && k == (size_t)n)
            snprintf(a->id, sizeof(a->id), "%s", r->element[--k]->element[0]->str);
        if (a->last < 0 && k > 0)
            snprintf(a->id, sizeof(a->id), "%s", r->element[0]->element[0]->str);
        for (size_t i = k; a->last >= 0 && i > 0; i--)
            alerts_cmd_entry(a, r->element[i - 1]);
    }
    freeReplyObject(r);
    return 0;
}

/* One XREAD round. Returns 0, or -1 when the connection failed. */
static int alerts_cmd_read(alerts_cmd *a, redisContext *c, char *err, size_t errlen)
{
    redisReply *r = redisCommand(c, "XREAD COUNT 100 BLOCK %d STREAMS %s %s", ALERTS_CMD_BLOCK_MS,
                                 a->key, a->id);

    if (alerts_cmd_failed(c, r, a->key, err, errlen)) {
        freeReplyObject(r);
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
        const redisReply *entries = r->element[0]->element[1];
        for (size_t i = 0; i < entries->elements; i++)
            alerts_cmd_entry(a, entries->element[i]);
    }
    freeReplyObject(r);
    return 0;
}

/* Connects again, waiting 100 ms doubling to 5 s between attempts. */
static redisContext *alerts_cmd_reconnect(alerts_cmd *a)
{
    long wait_ms = 100;
    char err[512];
    redisContext *c;

    while ((c = alerts_cmd_connect(a, err, sizeof(err))) == NULL) {
        struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        wait_ms = wait_ms * 2 > 5000 ? 5000 : wait_ms * 2;
    }
    fprintf(stderr, "loophole alerts: reconnected, resuming after %s\n", a->id);
    return c;
}

static int alerts_cmd_follow(alerts_cmd *a, char *err, size_t errlen)
{
    redisContext *c = alerts_cmd_connect(a, err, errlen);

    if (c == NULL || alerts_cmd_start(a, c, err, errlen) != 0) {
        if (c)
            redisFree(c);
        return 1;
    }
    while (a->count < 0 || a->printed < a->count) {
        if (alerts_cmd_read(a, c, err, errlen) == 0)
            continue;
        if (c->err == 0) { /* Redis answered with an error: retrying cannot help */
            redisFree(c);
            return 1;
        }
        fprintf(stderr, "loophole alerts: %s; reconnecting\n", err);
        redisFree(c);
        c = alerts_cmd_reconnect(a);
    }
    redisFree(c);
    return 0;
}

int alerts_cmd_main(int argc, char **argv)
{
    alerts_cmd a = {.min_severity = -1, .last = -1, .count = -1};
    char err[1024];
    int status, rc = alerts_cmd_parse(&a, argc, argv, err, sizeof(err));

    if (rc == 1) {
        alerts_cmd_usage(stdout);
        status = 0;
    } else if (rc < 0) {
        fprintf(stderr, "loophole alerts: %s\n", err);
        status = 2;
    } else if ((status = alerts_cmd_follow(&a, err, sizeof(err))) != 0) {
        fprintf(stderr, "loophole alerts: %s\n", err);
    }
    rurl_free(&a.url);
    free(a.url_text);
    free(a.prefix);
    free(a.config_path);
    return status;
}
