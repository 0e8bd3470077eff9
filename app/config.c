/* config.c -- defaults, INI file and command line flags into one `config`.
 *
 * Every INI key is a row of a module's table (base/setting.h): section,
 * name, the flag that sets the same field, how to parse the value (kind),
 * where to store it (offset into the module's struct, and width), its
 * bounds, its default (as text, parsed like a value from the file by
 * config_init()) and the source of that default. Each module's table sits
 * beside its module (capture/capture_config.c, analyze/flow_table_config.c,
 * geo/snapshot_config.c, redis/rconfig.c, rules/detect_config.c); the
 * app's own keys are config_keys[] below. config_modules[] lists the
 * tables and where each module's struct sits in `config`; this file only
 * parses and stores. The file loader and the flag parser
 * both go through config_key_set(), so a key and its flag accept the same
 * syntax and the same range and fail with the same explanation, whichever
 * module owns the key; only the prefix of the message differs
 * ("FILE:LINE: [section] key: " or "--flag: ").
 *
 * The INI syntax is inih's. inih, as packaged, does not pass line numbers to
 * the handler, so the file is fed to ini_parse_stream() through a reader that
 * counts lines; the handler reads the count of the line being handled. The
 * reader also refuses lines longer than inih's line buffer, which inih would
 * otherwise cut silently and whose tail it would read as another line.
 *
 * Precedence is defaults < file < flags: config_parse_args() scans argv once
 * for -c, --help and --version, loads the file, then applies the flags in a
 * second getopt pass. Nothing here prints except the --help and --version
 * text; errors go into the caller's buffer.
 */
#include "app/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>
#include <ndpi_api.h>
#include <pcap/pcap.h>

#include "base/csl.h"
#include "base/setting.h"
#include "redis/peers.h"
#include "redis/url.h"
#include "rules/detect_config.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)
#define SEC UINT64_C(1000000)

/* ------------------------------------------------------------------------
 * Allocation and messages
 * ---------------------------------------------------------------------- */

static void *config_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        abort();
    return q;
}

static char *config_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(config_xrealloc(NULL, n), s, n);
}

/* Replaces *slot with a copy of s, or with NULL when s is NULL. */
static void config_set_string(char **slot, const char *s)
{
    free(*slot);
    *slot = s ? config_xstrdup(s) : NULL;
}

__attribute__((format(printf, 3, 4))) static void config_err(char *err, size_t errlen,
                                                             const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------
 * Units
 * ---------------------------------------------------------------------- */

typedef struct config_unit {
    const char *name;
    uint64_t mult;
} config_unit;

/* clang-format off */
static const config_unit config_size_units[] = {
    {"B", 1},
    {"K", KiB}, {"KiB", KiB}, {"M", MiB}, {"MiB", MiB},
    {"G", GiB}, {"GiB", GiB}, {"T", TiB}, {"TiB", TiB},
    {"kB", 1000}, {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000},
    {"TB", UINT64_C(1000000000000)},
    {NULL, 0},
};

static const config_unit config_duration_units[] = {
    {"us", 1}, {"ms", 1000}, {"s", SEC}, {"m", 60 * SEC}, {"h", 3600 * SEC}, {"d", 86400 * SEC},
    {NULL, 0},
};
/* clang-format on */

/* Reads the leading decimal digits of *sp into *out and advances *sp.
 * strtoull is not used: it accepts signs and blanks that a value must not
 * have, and "-1" would wrap to a huge number. */
static int config_parse_digits(const char **sp, uint64_t *out)
{
    const char *p = *sp;
    uint64_t v = 0;

    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *sp = p;
    *out = v;
    return 0;
}

/* NUMBER [blank] [UNIT]; bare_mult applies when the unit is absent. */
static int config_parse_with_units(const char *s, const config_unit *units, uint64_t bare_mult,
                                   uint64_t *out)
{
    uint64_t n, mult = bare_mult;

    if (s == NULL || config_parse_digits(&s, &n) < 0)
        return -1;
    if (*s == ' ' && s[1] != '\0')
        s++;
    if (*s != '\0') {
        const config_unit *u = units;
        while (u->name && strcmp(u->name, s) != 0)
            u++;
        if (u->name == NULL)
            return -1;
        mult = u->mult;
    }
    if (n > UINT64_MAX / mult)
        return -1;
    *out = n * mult;
    return 0;
}

int config_parse_size(const char *s, uint64_t *out)
{
    return config_parse_with_units(s, config_size_units, 1, out);
}

int config_parse_duration_us(const char *s, int bare_unit_ms, uint64_t *out)
{
    return config_parse_with_units(s, config_duration_units, bare_unit_ms ? 1000 : SEC, out);
}

int config_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    if (s == NULL)
        return -1;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return -1;
}

static int config_parse_uint(const char *s, uint64_t *out)
{
    if (s == NULL || config_parse_digits(&s, out) < 0 || *s != '\0')
        return -1;
    return 0;
}

/* Units for messages, largest first, ending with the unit of 1. */
static const config_unit config_size_show[] = {
    {"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1},
};

static const config_unit config_duration_show[] = {
    {"d", 86400 * SEC}, {"h", 3600 * SEC}, {"m", 60 * SEC}, {"s", SEC}, {"ms", 1000}, {"us", 1},
};

/* Writes v with the largest unit that divides it exactly ("256MiB", "1s"),
 * so that bounds in messages read like values a user would type. */
static void config_fmt_units(char *buf, size_t len, uint64_t v, const config_unit *show)
{
    while (show->mult > 1 && (v == 0 || v % show->mult != 0))
        show++;
    snprintf(buf, len, "%" PRIu64 "%s", v / show->mult, show->name);
}

/* ------------------------------------------------------------------------
 * Lists: paths and country codes
 * ---------------------------------------------------------------------- */

static void config_list_append(char ***list, int *n, const char *s)
{
    *list = config_xrealloc(*list, (size_t)(*n + 1) * sizeof **list);
    (*list)[(*n)++] = config_xstrdup(s);
}

static void config_list_free(char ***list, int *n)
{
    for (int i = 0; i < *n; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *n = 0;
}

/* Copies the next comma-separated item of *sp (csl_next) into a new
 * string. */
static char *config_next_item(const char **sp, int *more)
{
    const char *p;
    size_t len;
    char *item;

    *more = csl_next(sp, &p, &len);
    item = config_xrealloc(NULL, len + 1);
    memcpy(item, p, len);
    item[len] = '\0';
    return item;
}

/* Appends every comma-separated path of s. An empty item is refused: it is
 * a typo ("a.mmdb,,b.mmdb"), never a file. */
static int config_paths_append(char ***list, int *n, const char *s, char *why, size_t whylen)
{
    const char *p = s;
    int more;

    do {
        char *item = config_next_item(&p, &more);
        int empty = item[0] == '\0';
        if (!empty)
            config_list_append(list, n, item);
        free(item);
        if (empty) {
            config_err(why, whylen, "expected file names separated by commas, got '%s'", s);
            return -1;
        }
    } while (more);
    return 0;
}

static int config_is_country(const char *s)
{
    return isalpha((unsigned char)s[0]) && isalpha((unsigned char)s[1]) && s[2] == '\0';
}

/* Parses "HK, mo,SG" into upper-case codes and replaces *out with them. An
 * empty value is an empty list, which turns off the rules that use it. */
static int config_countries_parse(const char *s, char (**out)[3], int *nout, char *why,
                                  size_t whylen)
{
    char(*codes)[3] = NULL;
    int n = 0, more = *s != '\0';
    const char *p = s;

    while (more) {
        char *item = config_next_item(&p, &more);
        int ok = config_is_country(item);
        if (ok) {
            codes = config_xrealloc(codes, (size_t)(n + 1) * sizeof *codes);
            codes[n][0] = (char)toupper((unsigned char)item[0]);
            codes[n][1] = (char)toupper((unsigned char)item[1]);
            codes[n++][2] = '\0';
        } else {
            config_err(why, whylen,
                       "expected two-letter country codes separated by commas, such as "
                       "HK,MO,SG; '%s' is not one",
                       item);
        }
        free(item);
        if (!ok) {
            free(codes);
            return -1;
        }
    }
    free(*out);
    *out = codes;
    *nout = n;
    return 0;
}

/* ------------------------------------------------------------------------
 * Redis URL
 * ---------------------------------------------------------------------- */

/* The shape of a Redis URL (interface.md section 1, and redis+cluster://);
 * the Redis module parses it and connects later, and reports the rest. */
static int config_check_redis_url(const char *s)
{
    char err[256];
    rurl u;
    int rc = rurl_parse(&u, s, NULL, err, sizeof(err));

    rurl_free(&u);
    return rc;
}

/* ------------------------------------------------------------------------
 * The key table
 * ---------------------------------------------------------------------- */

#define F(field) offsetof(config, field)

/* The app's own keys. Each says how app/ wires the sensor, not how a
 * module below it works, so no module owns it: how many workers
 * app/sensor.c starts and the ring it gives each (threads, queue), whom
 * it runs as (user, app/privs.c), and where app/ writes what it makes
 * ([output]: the alert and flow lines it opens with base/output, whose
 * sinks take any path and have no settings of their own; the EVE format,
 * the metrics, the graph, the summary, the counters, the progress line)
 * and the sensor's name, which every output carries. */
static const setting_key config_keys[] = {
    {"capture", "threads", "--threads", SETTING_INT, SETTING_W_INT, 0, F(threads), 0, 1,
     CONFIG_MAX_THREADS, NULL, NULL},
    {"capture", "queue", "--queue", SETTING_SIZE, SETTING_W_U64, 0, F(queue_bytes), 0, 64 * KiB,
     UINT64_MAX, "4MiB", NULL},
    {"capture", "user", "--user", SETTING_STRING, SETTING_W_INT, 0, F(user), 0, 0, 0, NULL, NULL},
    {"output", "alerts", "--alerts", SETTING_STRING, SETTING_W_INT, SETTING_NONEMPTY,
     F(alerts_path), 0, 0, 0, "-", NULL},
    {"output", "alerts_format", "--alerts-format", SETTING_STRING, SETTING_W_INT, SETTING_NONEMPTY,
     F(alerts_format), 0, 0, 0, "native", NULL},
    {"output", "metrics", "--metrics", SETTING_STRING, SETTING_W_INT, 0, F(metrics_path), 0, 0, 0,
     NULL, NULL},
    {"output", "flows", "--flows", SETTING_STRING, SETTING_W_INT, 0, F(flows_path), 0, 0, 0, NULL,
     NULL},
    {"output", "sensor", "--sensor", SETTING_STRING, SETTING_W_INT, SETTING_NONEMPTY, F(sensor), 0,
     0, 0, NULL, NULL},
    {"output", "stats", "--stats", SETTING_SECONDS, SETTING_W_INT, 0, F(stats_secs), 0, 0, 86400,
     NULL, NULL},
    {"output", "graph", "--graph", SETTING_STRING, SETTING_W_INT, 0, F(graph_path), 0, 0, 0, NULL,
     NULL},
    {"output", "summary", "--summary", SETTING_STRING, SETTING_W_INT, 0, F(summary_path), 0, 0, 0,
     NULL, NULL},
    {"output", "progress", NULL, SETTING_BOOL, SETTING_W_INT, 0, F(progress), 0, 0, 1, "yes", NULL},
};

static const setting_key *config_app_settings(size_t *n)
{
    *n = sizeof config_keys / sizeof config_keys[0];
    return config_keys;
}

/* Every module's table, where that module's struct sits in `config`, and
 * what sets the fields of the struct no key sets (NULL: nothing), before
 * the rows' defaults. */
typedef struct config_module {
    const setting_key *(*rows)(size_t *n);
    size_t base;
    void (*init)(void *module_struct);
} config_module;

static const config_module config_modules[] = {
    {config_app_settings, 0, NULL},
    {capture_settings, offsetof(config, capture), capture_config_init},
    {flow_table_settings, offsetof(config, flows), flow_table_config_init},
    {geo_snapshot_settings, offsetof(config, geo), NULL},
    {rconfig_settings, offsetof(config, redis), NULL},
    {detect_settings, offsetof(config, rules), NULL},
};

#define CONFIG_NMODULES (sizeof config_modules / sizeof config_modules[0])

const setting_key *config_setting(size_t i, size_t *base)
{
    for (size_t m = 0; m < CONFIG_NMODULES; m++) {
        size_t n;
        const setting_key *rows = config_modules[m].rows(&n);
        if (i < n) {
            if (base)
                *base = config_modules[m].base;
            return &rows[i];
        }
        i -= n;
    }
    return NULL;
}

static const setting_key *config_key_find(const char *section, const char *name, size_t *base)
{
    const setting_key *k;

    for (size_t i = 0; (k = config_setting(i, base)) != NULL; i++) {
        if (strcasecmp(k->section, section) == 0 && strcasecmp(k->name, name) == 0)
            return k;
    }
    return NULL;
}

static const setting_key *config_key_by_flag(const char *flag, size_t *base)
{
    const setting_key *k;

    for (size_t i = 0; (k = config_setting(i, base)) != NULL; i++) {
        if (k->flag && strcmp(k->flag, flag) == 0)
            return k;
    }
    return NULL;
}

static int config_section_known(const char *section)
{
    const setting_key *k;

    for (size_t i = 0; (k = config_setting(i, NULL)) != NULL; i++) {
        if (strcasecmp(k->section, section) == 0)
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Setting one key
 * ---------------------------------------------------------------------- */

static void config_store(void *obj, const setting_key *k, uint64_t v)
{
    void *p = (char *)obj + k->off;

    switch (k->width) {
    case SETTING_W_INT:
        *(int *)p = (int)v;
        break;
    case SETTING_W_U16:
        *(uint16_t *)p = (uint16_t)v;
        break;
    case SETTING_W_U32:
        *(uint32_t *)p = (uint32_t)v;
        break;
    case SETTING_W_U64:
        *(uint64_t *)p = v;
        break;
    }
}

static int config_set_int(void *obj, const setting_key *k, const char *v, char *why, size_t wl)
{
    uint64_t n;

    if (config_parse_uint(v, &n) == 0 && n >= k->min && n <= k->max) {
        config_store(obj, k, n);
        return 0;
    }
    if (k->max == UINT64_MAX)
        config_err(why, wl, "expected an integer of at least %" PRIu64 ", got '%s'", k->min, v);
    else
        config_err(why, wl, "expected an integer from %" PRIu64 " to %" PRIu64 ", got '%s'", k->min,
                   k->max, v);
    return -1;
}

static int config_set_size(void *obj, const setting_key *k, const char *v, char *why, size_t wl)
{
    uint64_t n;
    char lo[32], hi[32];

    if (config_parse_size(v, &n) == 0 && n >= k->min && n <= k->max) {
        config_store(obj, k, n);
        return 0;
    }
    config_fmt_units(lo, sizeof lo, k->min, config_size_show);
    config_fmt_units(hi, sizeof hi, k->max, config_size_show);
    if (k->max == UINT64_MAX)
        config_err(why, wl, "expected a size of at least %s, such as 256MiB or 1GiB, got '%s'", lo,
                   v);
    else
        config_err(why, wl, "expected a size from %s to %s, such as 256MiB, got '%s'", lo, hi, v);
    return -1;
}

static int config_set_duration(void *obj, const setting_key *k, const char *v, char *why, size_t wl)
{
    int ms = (k->flags & SETTING_BARE_MS) != 0;
    uint64_t us;
    char lo[32];

    if (config_parse_duration_us(v, ms, &us) < 0) {
        if (ms)
            config_err(why, wl,
                       "expected a duration such as 25ms or 1s (a bare number is "
                       "milliseconds), got '%s'",
                       v);
        else
            config_err(why, wl, "expected a duration such as 30s, 10m, 1h, got '%s'", v);
        return -1;
    }
    if (us < k->min || us > k->max) {
        config_fmt_units(lo, sizeof lo, k->min, config_duration_show);
        config_err(why, wl, "expected a duration of at least %s, got '%s'", lo, v);
        return -1;
    }
    config_store(obj, k, us);
    return 0;
}

static int config_set_seconds(void *obj, const setting_key *k, const char *v, char *why, size_t wl)
{
    uint64_t us;

    if (config_parse_duration_us(v, 0, &us) == 0 && us % SEC == 0 && us / SEC >= k->min &&
        us / SEC <= k->max) {
        config_store(obj, k, us / SEC);
        return 0;
    }
    config_err(why, wl,
               "expected a whole number of seconds from %" PRIu64 " to %" PRIu64
               ", such as 10 or 1m, got '%s'",
               k->min, k->max, v);
    return -1;
}

static int config_set_bool(void *obj, const setting_key *k, const char *v, char *why, size_t wl)
{
    int b;

    if (config_parse_bool(v, &b) < 0) {
        config_err(why, wl, "expected yes/no, true/false, on/off or 1/0, got '%s'", v);
        return -1;
    }
    config_store(obj, k, (uint64_t)b);
    return 0;
}

static int config_set_str(void *obj, const setting_key *k, const char *v, char *why, size_t wl)
{
    char **slot = (char **)((char *)obj + k->off);

    if (*v == '\0' && (k->flags & SETTING_NONEMPTY)) {
        config_err(why, wl, "expected a value, got an empty one");
        return -1;
    }
    if (k->kind == SETTING_REDIS_URL && *v != '\0' && config_check_redis_url(v) < 0) {
        /* The value is not repeated: it may hold a password. */
        config_err(why, wl,
                   "expected redis://[user:password@]host:port[/db], "
                   "redis+cluster://[user:password@]host:port[,host:port...] or "
                   "unix:///path/to/socket");
        return -1;
    }
    config_set_string(slot, *v == '\0' && !(k->flags & SETTING_KEEP_EMPTY) ? NULL : v);
    return 0;
}

/* Parses v for key k into obj, the struct of the module that owns k. On
 * error writes "expected ..., got '...'" into why and leaves the field as
 * it was. */
static int config_key_set(void *obj, const setting_key *k, const char *v, char *why, size_t wl)
{
    switch (k->kind) {
    case SETTING_STRING:
    case SETTING_REDIS_URL:
        return config_set_str(obj, k, v, why, wl);
    case SETTING_PATHS:
        return config_paths_append((char ***)((char *)obj + k->off),
                                   (int *)((char *)obj + k->off_n), v, why, wl);
    case SETTING_INT:
        return config_set_int(obj, k, v, why, wl);
    case SETTING_SIZE:
        return config_set_size(obj, k, v, why, wl);
    case SETTING_DURATION:
        return config_set_duration(obj, k, v, why, wl);
    case SETTING_SECONDS:
        return config_set_seconds(obj, k, v, why, wl);
    case SETTING_BOOL:
        return config_set_bool(obj, k, v, why, wl);
    case SETTING_COUNTRIES:
        return config_countries_parse(v, (char(**)[3])((char *)obj + k->off),
                                      (int *)((char *)obj + k->off_n), why, wl);
    }
    return -1;
}

/* ------------------------------------------------------------------------
 * Defaults
 * ---------------------------------------------------------------------- */

static int config_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        return 1;
    return n > CONFIG_DEFAULT_THREADS ? CONFIG_DEFAULT_THREADS : (int)n;
}

static char *config_default_sensor(void)
{
    char host[HOST_NAME_MAX + 1];

    if (gethostname(host, sizeof host) < 0 || host[0] == '\0')
        return config_xstrdup("localhost");
    host[HOST_NAME_MAX] = '\0';
    return config_xstrdup(host);
}

void config_init(config *c)
{
    char why[256];

    const setting_key *k;
    size_t base;

    memset(c, 0, sizeof *c);
    for (size_t m = 0; m < CONFIG_NMODULES; m++)
        if (config_modules[m].init)
            config_modules[m].init((char *)c + config_modules[m].base);
    for (size_t i = 0; (k = config_setting(i, &base)) != NULL; i++) {
        /* The defaults are known-good literals: a failure is a bug in the
         * table, caught by every test that calls config_init(). */
        if (k->def && config_key_set((char *)c + base, k, k->def, why, sizeof why) != 0) {
            fprintf(stderr, "loophole: default of [%s] %s: %s\n", k->section, k->name, why);
            abort();
        }
    }
    c->threads = config_default_threads();
    c->sensor = config_default_sensor();
}

/* Frees what the value of key k holds in obj (strings and lists). */
static void config_key_free(void *obj, const setting_key *k)
{
    void *slot = (char *)obj + k->off;

    switch (k->kind) {
    case SETTING_STRING:
    case SETTING_REDIS_URL:
        config_set_string(slot, NULL);
        break;
    case SETTING_PATHS:
        config_list_free(slot, (int *)((char *)obj + k->off_n));
        break;
    case SETTING_COUNTRIES:
        free(*(char(**)[3])slot);
        break;
    default:
        break;
    }
}

void config_free(config *c)
{
    const setting_key *k;
    size_t base;

    for (size_t i = 0; (k = config_setting(i, &base)) != NULL; i++)
        config_key_free((char *)c + base, k);
    config_list_free(&c->files, &c->nfiles);
    free(c->config_path);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------------
 * The INI file
 * ---------------------------------------------------------------------- */

typedef struct config_file {
    config *c;
    const char *path;
    FILE *fp;
    char *line; /* getline() buffer */
    size_t linecap;
    int lineno;       /* line being handled */
    int continuation; /* inih will read this line as more of the previous key */
    int have_prev;    /* a key was set since the last [section] line */
    int failed;
    char *err;
    size_t errlen;
} config_file;

/* Mirrors inih's rule for continuation lines: an indented line after a key,
 * within the same section, adds to that key's value. */
static void config_note_line(config_file *f, const char *line)
{
    const char *start = line + strspn(line, " \t");

    if (*start == '[')
        f->have_prev = 0;
    f->continuation = start > line && f->have_prev;
}

/* The fgets-style reader inih calls once per line. Stops inih (returns
 * NULL) after any error, so the first error is the one reported. */
static char *config_read_line(char *str, int num, void *stream)
{
    config_file *f = stream;
    ssize_t n;

    if (f->failed)
        return NULL;
    n = getline(&f->line, &f->linecap, f->fp);
    if (n < 0) {
        if (ferror(f->fp)) {
            config_err(f->err, f->errlen, "%s: cannot read: %s", f->path, strerror(errno));
            f->failed = 1;
        }
        return NULL;
    }
    f->lineno++;
    if (n >= num) {
        config_err(f->err, f->errlen, "%s:%d: line longer than %d characters", f->path, f->lineno,
                   num - 2);
        f->failed = 1;
        return NULL;
    }
    config_note_line(f, f->line);
    memcpy(str, f->line, (size_t)n + 1);
    return str;
}

static int config_file_fail(config_file *f, const char *section, const char *name, const char *why)
{
    if (*section)
        config_err(f->err, f->errlen, "%s:%d: [%s] %s: %s", f->path, f->lineno, section, name, why);
    else
        config_err(f->err, f->errlen, "%s:%d: %s: %s", f->path, f->lineno, name, why);
    f->failed = 1;
    return 0;
}

static int config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    config_file *f = user;
    const setting_key *k;
    size_t base;
    char why[512];

    if (f->failed)
        return 0;
    f->have_prev = 1;
    if (*section == '\0')
        return config_file_fail(f, section, name, "key outside any section");
    if (!config_section_known(section)) {
        snprintf(why, sizeof why,
                 "unknown section [%s]; sections are capture, geo, redis, output, countries "
                 "and thresholds",
                 section);
        return config_file_fail(f, section, name, why);
    }
    k = config_key_find(section, name, &base);
    if (k == NULL)
        return config_file_fail(f, section, name, "unknown key");
    if (f->continuation && k->kind != SETTING_PATHS)
        return config_file_fail(f, section, name,
                                "an indented line is read as more of this key's value, and "
                                "only [geo] db spans lines: remove the indentation");
    if (config_key_set((char *)f->c + base, k, value, why, sizeof why) < 0)
        return config_file_fail(f, section, name, why);
    return 1;
}

int config_load_file(config *c, const char *path, char *err, size_t errlen)
{
    config_file f = {.c = c, .path = path, .err = err, .errlen = errlen};
    int rc;

    f.fp = fopen(path, "r");
    if (f.fp == NULL) {
        config_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    rc = ini_parse_stream(config_read_line, &f, config_ini_handler, &f);
    free(f.line);
    fclose(f.fp);
    /* inih reports a syntax error only as a line number; a key error found
     * first has already written its message. */
    if (rc > 0 && (!f.failed || rc < f.lineno))
        config_err(err, errlen, "%s:%d: expected [section] or key = value", path, rc);
    else if (rc < 0 && !f.failed)
        config_err(err, errlen, "%s: cannot parse", path);
    return rc != 0 || f.failed ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * Command line
 * ---------------------------------------------------------------------- */

/* '+' stops at the first operand, so getopt never permutes argv and a second
 * pass sees what the first saw; ':' makes a missing value return ':' instead
 * of printing. */
static const char config_shortopts[] = "+:r:i:f:c:h";

/* Long options return CONFIG_OPT_LONG + their index. Distinct values matter:
 * glibc resolves an abbreviation that matches several options with equal
 * values to the first of them, so "--s" would silently mean --sensor
 * instead of being refused as ambiguous. */
#define CONFIG_OPT_LONG 256
static const struct option config_longopts[] = {
    {"geo", required_argument, NULL, CONFIG_OPT_LONG + 0},
    {"inventory", required_argument, NULL, CONFIG_OPT_LONG + 1},
    {"redis", required_argument, NULL, CONFIG_OPT_LONG + 2},
    {"alerts", required_argument, NULL, CONFIG_OPT_LONG + 3},
    {"flows", required_argument, NULL, CONFIG_OPT_LONG + 4},
    {"sensor", required_argument, NULL, CONFIG_OPT_LONG + 5},
    {"threads", required_argument, NULL, CONFIG_OPT_LONG + 6},
    {"snaplen", required_argument, NULL, CONFIG_OPT_LONG + 7},
    {"stats", required_argument, NULL, CONFIG_OPT_LONG + 8},
    {"max-flows", required_argument, NULL, CONFIG_OPT_LONG + 9},
    {"buffer", required_argument, NULL, CONFIG_OPT_LONG + 10},
    {"queue", required_argument, NULL, CONFIG_OPT_LONG + 11},
    {"no-promisc", no_argument, NULL, CONFIG_OPT_LONG + 12},
    {"keep-redis", no_argument, NULL, CONFIG_OPT_LONG + 13},
    {"version", no_argument, NULL, CONFIG_OPT_LONG + 14},
    {"help", no_argument, NULL, CONFIG_OPT_LONG + 15},
    {"indicators", required_argument, NULL, CONFIG_OPT_LONG + 16},
    {"redis-flows", no_argument, NULL, CONFIG_OPT_LONG + 17},
    {"graph", required_argument, NULL, CONFIG_OPT_LONG + 18},
    {"summary", required_argument, NULL, CONFIG_OPT_LONG + 19},
    {"progress", no_argument, NULL, CONFIG_OPT_LONG + 20},
    {"no-progress", no_argument, NULL, CONFIG_OPT_LONG + 21},
    {"user", required_argument, NULL, CONFIG_OPT_LONG + 22},
    {"wait-interface", no_argument, NULL, CONFIG_OPT_LONG + 23},
    {"alerts-format", required_argument, NULL, CONFIG_OPT_LONG + 24},
    {"metrics", required_argument, NULL, CONFIG_OPT_LONG + 25},
    {NULL, 0, NULL, 0},
};

#define CONFIG_NLONGOPTS ((int)(sizeof config_longopts / sizeof config_longopts[0]) - 1)

/* Names an option value from getopt_long: "-r" or "--threads". */
static void config_flag_name(int opt, char *buf, size_t len)
{
    if (opt >= CONFIG_OPT_LONG && opt < CONFIG_OPT_LONG + CONFIG_NLONGOPTS)
        snprintf(buf, len, "--%s", config_longopts[opt - CONFIG_OPT_LONG].name);
    else
        snprintf(buf, len, "-%c", opt);
}

void config_usage(FILE *out)
{
    fputs("Usage: loophole -r FILE [-r FILE ...] [options]   replay capture files\n"
          "       loophole -i IFACE [options]                live capture\n"
          "       loophole alerts [options]                  follow the alerts in Redis\n"
          "                                                  (loophole alerts --help)\n"
          "  -r FILE           read a pcap/pcapng file; repeatable; '-' is standard input\n"
          "  -i IFACE          capture live on IFACE (a mirror port); exclusive with -r\n"
          "  -f EXPR           BPF capture filter\n"
          "  -c FILE           configuration file (INI); flags override it\n"
          "  --geo FILE        MaxMind database (.mmdb); repeatable; replaces [geo] db\n"
          "  --inventory FILE  the GPU fleet inventory (CSV)\n"
          "  --indicators DIR  directory of the indicator tables and control rules\n"
          "  --redis URL       redis://[user:password@]host:port[/db] or unix:///path/to/socket\n"
          "  --alerts FILE     alerts as JSON lines; '-' is standard output (default)\n"
          "  --alerts-format F native (default) or eve: alerts as Suricata EVE alert events\n"
          "  --metrics FILE    the counters in Prometheus text format, FILE replaced at every\n"
          "                    --stats tick (10 s without --stats) and at exit; for\n"
          "                    node_exporter's textfile collector (name it *.prom)\n"
          "  --flows FILE      one JSON line per finished flow; '-' is standard output\n"
          "  --sensor NAME     sensor name in every record (default: the host name)\n"
          "  --threads N       analysis worker threads, 1 to 64 (default: cores, at most 16)\n"
          "  --snaplen N       live capture snap length, 64 to 262144 (default 262144)\n"
          "  --stats SECS      print and publish counters every SECS seconds (0 = off)\n"
          "  --max-flows N     flow-table entries for the whole sensor (default 1000000)\n"
          "  --buffer SIZE     kernel capture buffer, such as 256MiB (default)\n"
          "  --queue SIZE      bounded packet queue per worker, such as 4MiB (default)\n"
          "  --no-promisc      do not put the interface in promiscuous mode\n"
          "  --wait-interface  when the interface fails or goes away, wait for it to return\n"
          "  --user NAME       run as NAME once the capture is open (default when started as\n"
          "                    root: loophole if that user exists, else nobody; root = keep)\n"
          "  --keep-redis      keep the private Redis data set at exit\n"
          "  --redis-flows     also write flow records to the Redis stream <prefix>flows\n"
          "  --graph FILE      write the relationships found as a Graphviz DOT file at the end\n"
          "  --summary FILE    write the end-of-run summary of entities by risk as JSON\n"
          "  --progress        show a progress line while replaying, when stderr is a terminal\n"
          "                    (default)\n"
          "  --no-progress     never show the progress line\n"
          "  -h, --help        print this help and exit\n"
          "  --version         print the version and exit\n"
          "Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.\n",
          out);
}

void config_version(FILE *out)
{
    fprintf(out, "loophole %s\n%s\nnDPI %s\n", LOOPHOLE_VERSION, pcap_lib_version(),
            ndpi_revision());
}

/* State of one config_parse_args() call. */
typedef struct config_args {
    const char *config_file; /* -c; argv owns it */
    int help, version;
    int seen_r, seen_i, seen_geo;
} config_args;

/* Explains a '?' or ':' from getopt_long. optopt holds the option's value
 * when getopt knows the option, and 0 for an unknown or ambiguous long
 * option, whose text is then taken from argv. */
static void config_getopt_error(int opt, char **argv, char *err, size_t errlen)
{
    const char *arg = argv[optind - 1];
    char flag[64];

    if (optopt == 0) {
        config_err(err, errlen, "%.*s: unknown or ambiguous flag (see --help)",
                   (int)strcspn(arg, "="), arg);
        return;
    }
    config_flag_name(optopt, flag, sizeof flag);
    if (opt == ':')
        config_err(err, errlen, "%s: expects a value", flag);
    else if (optopt >= CONFIG_OPT_LONG)
        config_err(err, errlen, "%s: takes no value", flag);
    else
        config_err(err, errlen, "%s: unknown flag (see --help)", flag);
}

/* First pass: finds -c, --help and --version and rejects malformed flags,
 * so the file can be loaded before any flag is applied over it. */
static int config_scan_args(config_args *a, int argc, char **argv, char *err, size_t errlen)
{
    char flag[64];
    int opt;

    optind = 0; /* GNU: reinitialise fully, so repeated calls start afresh */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, config_shortopts, config_longopts, NULL)) != -1) {
        if (opt == '?' || opt == ':') {
            config_getopt_error(opt, argv, err, errlen);
            return -1;
        }
        config_flag_name(opt, flag, sizeof flag);
        if (opt == 'c')
            a->config_file = optarg;
        else if (opt == 'h' || strcmp(flag, "--help") == 0)
            a->help = 1;
        else if (strcmp(flag, "--version") == 0)
            a->version = 1;
    }
    if (optind < argc) {
        config_err(err, errlen, "unexpected argument '%s' (capture files are given with -r)",
                   argv[optind]);
        return -1;
    }
    return 0;
}

/* Applies one flag that has no INI key of its own, or that a key's setter
 * cannot express (list replacement). Returns 1 if handled. */
static int config_apply_special(config *c, config_args *a, const char *flag, const char *arg)
{
    if (strcmp(flag, "-r") == 0) {
        config_list_append(&c->files, &c->nfiles, arg);
        a->seen_r = 1;
    } else if (strcmp(flag, "--geo") == 0) {
        /* A flag replaces the file's list rather than adding to it (the
         * list is the row's: a char ** the geo table declares const). */
        char ***dbs = (char ***)&c->geo.dbs;
        if (!a->seen_geo)
            config_list_free(dbs, &c->geo.ndbs);
        a->seen_geo = 1;
        config_list_append(dbs, &c->geo.ndbs, arg);
    } else if (strcmp(flag, "--no-promisc") == 0) {
        c->capture.live.promiscuous = 0;
    } else if (strcmp(flag, "--keep-redis") == 0) {
        c->redis.keep = 1;
    } else if (strcmp(flag, "--redis-flows") == 0) {
        c->redis.flows = 1;
    } else if (strcmp(flag, "--progress") == 0 || strcmp(flag, "--no-progress") == 0) {
        c->progress = flag[2] == 'p';
    } else if (strcmp(flag, "--wait-interface") == 0) {
        c->capture.wait_interface = 1;
    } else if (strcmp(flag, "-c") == 0 || strcmp(flag, "-h") == 0 || strcmp(flag, "--help") == 0 ||
               strcmp(flag, "--version") == 0) {
        /* handled by the first pass */
    } else {
        return 0;
    }
    return 1;
}

static int config_apply_flag(config *c, config_args *a, const char *flag, const char *arg,
                             char *err, size_t errlen)
{
    const setting_key *k;
    size_t base;
    char why[512];

    if (strcmp(flag, "-i") == 0)
        a->seen_i = 1;
    if ((strcmp(flag, "-r") == 0 || strcmp(flag, "--geo") == 0) && *arg == '\0') {
        config_err(err, errlen, "%s: expected a file name, got an empty one", flag);
        return -1;
    }
    if (config_apply_special(c, a, flag, arg))
        return 0;
    k = config_key_by_flag(flag, &base);
    if (k == NULL || config_key_set((char *)c + base, k, arg, why, sizeof why) < 0) {
        config_err(err, errlen, "%s: %s", flag, k ? why : "not handled");
        return -1;
    }
    return 0;
}

/* Second pass: every flag over the file's values, in argv order. */
static int config_apply_args(config *c, config_args *a, int argc, char **argv, char *err,
                             size_t errlen)
{
    char flag[64];
    int opt;

    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, config_shortopts, config_longopts, NULL)) != -1) {
        config_flag_name(opt, flag, sizeof flag);
        if (config_apply_flag(c, a, flag, optarg ? optarg : "", err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* Checks that need the whole configuration. A source on the command line
 * replaces the file's interface, so "-c live.conf -r x.pcap" replays. */
static int config_check(config *c, const config_args *a, char *err, size_t errlen)
{
    if (a->seen_r && a->seen_i) {
        config_err(err, errlen, "-r and -i are exclusive: give capture files or an interface");
        return -1;
    }
    if (a->seen_r)
        config_set_string((char **)&c->capture.interface, NULL);
    if (strcmp(c->alerts_format, "native") != 0 && strcmp(c->alerts_format, "eve") != 0) {
        config_err(err, errlen, "alerts_format: expected native or eve, got '%s'",
                   c->alerts_format);
        return -1;
    }
    if (c->redis.peers != NULL) {
        peers *p;
        if (peers_parse(c->redis.peers, c->sensor, c->redis.peer_timeout_us, 0, &p, err, errlen) <
            0)
            return -1;
        peers_free(p);
        if (p != NULL && c->redis.url == NULL) {
            config_err(err, errlen,
                       "[redis] peers needs [redis] url: sensors share their windows only "
                       "through a Redis they all write to, not a private one");
            return -1;
        }
    }
    for (int i = 0, stdin_seen = 0; i < c->nfiles; i++) {
        if (strcmp(c->files[i], "-") == 0 && stdin_seen++) {
            config_err(err, errlen, "-r: standard input ('-') can be read only once");
            return -1;
        }
    }
    if (c->nfiles == 0 && c->capture.interface == NULL) {
        config_err(err, errlen,
                   "no packet source: give -r FILE or -i IFACE (or [capture] interface in "
                   "the -c file)");
        return -1;
    }
    return 0;
}

int config_parse_args(config *c, int argc, char **argv, char *err, size_t errlen)
{
    config_args a = {0};

    if (config_scan_args(&a, argc, argv, err, errlen) < 0)
        return CONFIG_ERROR;
    if (a.help || a.version) {
        if (a.help)
            config_usage(stdout);
        else
            config_version(stdout);
        return CONFIG_EXIT;
    }
    if (a.config_file) {
        config_set_string(&c->config_path, a.config_file);
        if (config_load_file(c, a.config_file, err, errlen) < 0)
            return CONFIG_ERROR;
    }
    if (config_apply_args(c, &a, argc, argv, err, errlen) < 0)
        return CONFIG_ERROR;
    return config_check(c, &a, err, errlen) < 0 ? CONFIG_ERROR : CONFIG_OK;
}
