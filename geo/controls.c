/* controls.c -- parsing of controls.csv (see controls.h).
 *
 * Rules are kept in one growing array in file order; every string is a
 * copy owned by the set. Each field is checked here, where the line number
 * is known, so the matcher (analyze/roles.c) never meets a malformed rule.
 */
#include "controls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

struct controls {
    controls_rule *rules;
    size_t n, cap;
};

controls *controls_new(void)
{
    return calloc(1, sizeof(controls));
}

void controls_free(controls *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free((char *)c->rules[i].kind);
        free((char *)c->rules[i].pattern);
        free((char *)c->rules[i].apps);
    }
    free(c->rules);
    free(c);
}

const controls_rule *controls_rules(const controls *c, size_t *n)
{
    *n = c->n;
    return c->rules;
}

/* 1 when every byte of s is in the set `ok` or alphanumeric. */
static int controls_chars(const char *s, const char *ok)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr(ok, ch) != NULL))
            return 0;
    }
    return 1;
}

static const char *controls_check_kind(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > CONTROLS_MAX_KIND)
        return "kind must be 1-64 characters";
    for (const char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            return "kind must be lower case";
    return controls_chars(s, "_:.-") ? NULL : "kind may hold only a-z, 0-9, _ : . -";
}

static const char *controls_check_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 253)
        return "name must be 1-253 characters";
    if (!controls_chars(s, "-_.*"))
        return "name may hold only letters, digits, - _ . *";
    if (s[0] == '.' || s[n - 1] == '.' || strstr(s, "..") != NULL)
        return "name has an empty label";
    return NULL;
}

static const char *controls_check_path(const char *s)
{
    size_t n = strlen(s);

    if (s[0] != '/' || n > 255)
        return "path must start with / and be at most 255 characters";
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return "path may hold only printable ASCII without spaces";
    return NULL;
}

static int controls_port(const char *s, long *v, char **end)
{
    if (*s < '0' || *s > '9')
        return -1;
    *v = strtol(s, end, 10);
    return *v >= 1 && *v <= 65535 && *end - s <= 5 ? 0 : -1;
}

/* "tcp/22", "udp/41641", "any/7844", "tcp/5900-5909". */
static const char *controls_check_port(const char *s, controls_rule *r)
{
    static const struct {
        const char *name;
        uint8_t proto;
    } protos[] = {{"tcp/", 6}, {"udp/", 17}, {"any/", 0}};
    const char *why = "port must be tcp/N, udp/N or any/N, or a range N-M (1-65535)";
    long lo, hi;
    char *end;
    size_t i;

    for (i = 0; i < 3 && strncmp(s, protos[i].name, 4) != 0; i++)
        ;
    if (i == 3 || controls_port(s + 4, &lo, &end) != 0)
        return why;
    hi = lo;
    if (*end == '-' && controls_port(end + 1, &hi, &end) != 0)
        return why;
    if (*end != '\0' || hi < lo)
        return why;
    r->proto = protos[i].proto;
    r->port_lo = (uint16_t)lo, r->port_hi = (uint16_t)hi;
    return NULL;
}

static const char *controls_check_apps(const char *s)
{
    if (!controls_chars(s, "_-|") || s[0] == '|' || s[strlen(s) - 1] == '|' ||
        strstr(s, "||") != NULL)
        return "apps must be nDPI names separated by |";
    return NULL;
}

static const char *controls_add(controls *c, char **f)
{
    static const char *const bys[] = {"app", "name", "path", "port"};
    controls_rule r;
    const char *why;
    int by = 0;

    memset(&r, 0, sizeof(r));
    if ((why = controls_check_kind(f[0])) != NULL)
        return why;
    for (int i = 0; i < 4; i++)
        if (strcmp(f[1], bys[i]) == 0)
            by = i + 1;
    switch (by) {
    case CONTROLS_BY_APP:
        why = f[2][0] && controls_chars(f[2], "_-") ? NULL : "app must be an nDPI name";
        break;
    case CONTROLS_BY_NAME:
        why = controls_check_name(f[2]);
        break;
    case CONTROLS_BY_PATH:
        why = controls_check_path(f[2]);
        break;
    case CONTROLS_BY_PORT:
        why = controls_check_port(f[2], &r);
        break;
    default:
        return "by must be app, name, path or port";
    }
    if (why == NULL && f[3][0] != '\0')
        why = by != CONTROLS_BY_PORT ? "apps apply to port rules only" : controls_check_apps(f[3]);
    if (why != NULL)
        return why;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        controls_rule *v = realloc(c->rules, cap * sizeof(*v));
        if (v == NULL)
            return "out of memory";
        c->rules = v, c->cap = cap;
    }
    r.by = (uint8_t)by;
    r.kind = strdup(f[0]);
    r.pattern = by != CONTROLS_BY_PORT ? strdup(f[2]) : NULL;
    r.apps = f[3][0] ? strdup(f[3]) : NULL;
    c->rules[c->n++] = r; /* owned from here on, so freed even when a copy failed */
    if (r.kind == NULL || (by != CONTROLS_BY_PORT && r.pattern == NULL) ||
        (f[3][0] && r.apps == NULL))
        return "out of memory";
    return NULL;
}

int controls_parse(controls *c, const char *file, const char *buf, size_t len, char *err,
                   size_t errlen)
{
    char scratch[CSV_MAX_LINE + 1];
    char *f[4];
    const char *why = NULL;
    csv_reader r;
    int n, header = 1;

    csv_init(&r, buf, len);
    while ((n = csv_next(&r, scratch, f, 4, &why)) != 0) {
        if (n > 0 && header) {
            header = 0;
            if (n == 4 && strcmp(f[0], "kind") == 0 && strcmp(f[1], "by") == 0 &&
                strcmp(f[2], "match") == 0 && strcmp(f[3], "apps") == 0)
                continue;
            why = "expected the header kind,by,match,apps", n = -1;
        } else if (n > 0 && n != 4) {
            why = "expected 4 fields", n = -1;
        } else if (n > 0 && (why = controls_add(c, f)) != NULL) {
            n = -1;
        }
        if (n < 0) {
            snprintf(err, errlen, "%s:%u: %s", file, r.line, why);
            return -1;
        }
    }
    if (header) {
        snprintf(err, errlen, "%s: empty: expected a header line", file);
        return -1;
    }
    return 0;
}
