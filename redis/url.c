/* url.c -- parsing of --redis URLs (see url.h).
 *
 * Only the forms of interface.md section 1 are accepted; anything else is an
 * error that quotes the part at fault, except the password, which is never
 * echoed.
 */
#include "url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rurl_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A malloc'ed copy of s[0..len) with %XX decoded; NULL on a bad escape or
 * an escaped NUL (AUTH arguments are binary-safe, but a C string is not). */
static char *rurl_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;

    if (out == NULL)
        abort();
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi = i + 2 < len ? rurl_hex(s[i + 1]) : -1;
            int lo = hi >= 0 ? rurl_hex(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static char *rurl_strndup(const char *s, size_t len)
{
    char *p = strndup(s, len);
    if (p == NULL)
        abort();
    return p;
}

/* Reads a decimal number s[0..len) in [lo, hi]. */
static int rurl_number(const char *s, size_t len, long lo, long hi, int *out)
{
    long v = 0;

    if (len == 0 || len > 9)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int rurl_userinfo(rurl *u, const char *s, size_t len, char *err, size_t errlen)
{
    const char *colon = memchr(s, ':', len);
    size_t ulen = colon ? (size_t)(colon - s) : len;

    if (ulen > 0 && (u->user = rurl_decode(s, ulen)) == NULL) {
        snprintf(err, errlen, "Redis URL: bad %%-escape in the user name");
        return -1;
    }
    if (colon && (u->password = rurl_decode(colon + 1, len - ulen - 1)) == NULL) {
        snprintf(err, errlen, "Redis URL: bad %%-escape in the password");
        return -1;
    }
    return 0;
}

static int rurl_hostport(rurl *u, const char *s, size_t len, char *err, size_t errlen)
{
    const char *end = s + len, *hend, *port = NULL;

    if (len > 0 && *s == '[') {
        hend = memchr(s, ']', len);
        if (hend == NULL || hend == s + 1)
            goto bad;
        u->host = rurl_strndup(s + 1, (size_t)(hend - s - 1));
        hend++;
    } else {
        hend = memchr(s, ':', len);
        hend = hend ? hend : end;
        if (hend == s)
            goto bad;
        u->host = rurl_strndup(s, (size_t)(hend - s));
    }
    if (hend != end) {
        if (*hend != ':')
            goto bad;
        port = hend + 1;
        if (rurl_number(port, (size_t)(end - port), 1, 65535, &u->port) < 0) {
            snprintf(err, errlen, "Redis URL: bad port '%.*s'", (int)(end - port), port);
            return -1;
        }
    }
    return 0;
bad:
    snprintf(err, errlen, "Redis URL: bad host '%.*s'", (int)len, s);
    return -1;
}

static int rurl_tcp(rurl *u, const char *s, char *err, size_t errlen)
{
    const char *slash = s + strcspn(s, "/");
    const char *at = memrchr(s, '@', (size_t)(slash - s));
    const char *host = at ? at + 1 : s;

    if (at && rurl_userinfo(u, s, (size_t)(at - s), err, errlen) < 0)
        return -1;
    if (rurl_hostport(u, host, (size_t)(slash - host), err, errlen) < 0)
        return -1;
    if (*slash && slash[1] != '\0' &&
        rurl_number(slash + 1, strlen(slash + 1), 0, 999999999, &u->db) < 0) {
        snprintf(err, errlen, "Redis URL: bad database number '%s'", slash + 1);
        return -1;
    }
    return 0;
}

static int rurl_socket(rurl *u, const char *s, char *err, size_t errlen)
{
    const char *q = strchr(s, '?');
    size_t len = q ? (size_t)(q - s) : strlen(s);

    if (len < 2 || s[0] != '/') {
        snprintf(err, errlen, "Redis URL: unix:// needs an absolute socket path");
        return -1;
    }
    u->path = rurl_strndup(s, len);
    if (q && (strncmp(q, "?db=", 4) != 0 ||
              rurl_number(q + 4, strlen(q + 4), 0, 999999999, &u->db) < 0)) {
        snprintf(err, errlen, "Redis URL: expected ?db=N after the socket path, not '%s'", q);
        return -1;
    }
    return 0;
}

/* redis+cluster://[user[:password]@]host:port[,host:port...]: the seed
 * nodes of a cluster, each a host:port as in redis://. No database: a
 * cluster has only database 0. */
static int rurl_cluster(rurl *u, const char *s, char *err, size_t errlen)
{
    const char *at = strrchr(s, '@'), *p = at ? at + 1 : s;

    if (at && rurl_userinfo(u, s, (size_t)(at - s), err, errlen) < 0)
        return -1;
    if (strchr(p, '/')) {
        snprintf(err, errlen, "Redis URL: a cluster has no database number ('%s')", p);
        return -1;
    }
    u->cluster = 1;
    while (*p) {
        size_t len = strcspn(p, ",");
        rurl one = {.port = 6379};
        rurl_seed *grown;
        if (len == 0 || u->nseeds >= RURL_MAX_SEEDS) {
            snprintf(err, errlen, "Redis URL: expected 1 to %d comma-separated host:port seeds",
                     RURL_MAX_SEEDS);
            return -1;
        }
        if (rurl_hostport(&one, p, len, err, errlen) < 0) {
            free(one.host);
            return -1;
        }
        if ((grown = realloc(u->seeds, (u->nseeds + 1) * sizeof(*grown))) == NULL)
            abort();
        u->seeds = grown;
        u->seeds[u->nseeds].host = one.host;
        u->seeds[u->nseeds++].port = one.port;
        p += len + (p[len] == ',');
    }
    if (u->nseeds == 0) {
        snprintf(err, errlen, "Redis URL: redis+cluster:// needs at least one host:port");
        return -1;
    }
    u->host = rurl_strndup(u->seeds[0].host, strlen(u->seeds[0].host));
    u->port = u->seeds[0].port;
    return 0;
}

int rurl_parse(rurl *u, const char *s, const char *env_password, char *err, size_t errlen)
{
    int rc;

    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (strncmp(s, "unix://", 7) == 0) {
        rc = rurl_socket(u, s + 7, err, errlen);
    } else if (strncmp(s, "redis://", 8) == 0) {
        rc = rurl_tcp(u, s + 8, err, errlen);
    } else if (strncmp(s, "redis+cluster://", 16) == 0) {
        rc = rurl_cluster(u, s + 16, err, errlen);
    } else {
        snprintf(err, errlen,
                 "Redis URL: expected redis://[user:password@]host[:port][/db], "
                 "redis+cluster://[user:password@]host:port[,host:port...] or "
                 "unix:///path/to/socket");
        return -1;
    }
    if (rc == 0 && u->password == NULL && env_password && *env_password)
        u->password = rurl_strndup(env_password, strlen(env_password));
    return rc;
}

int rurl_unix(rurl *u, const char *path, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (path[0] != '/') {
        snprintf(err, errlen, "Redis socket path must be absolute: %s", path);
        return -1;
    }
    u->path = rurl_strndup(path, strlen(path));
    return 0;
}

void rurl_describe(const rurl *u, char *buf, size_t len)
{
    if (u->path)
        snprintf(buf, len, "unix:%s", u->path);
    else if (strchr(u->host, ':'))
        snprintf(buf, len, "[%s]:%d", u->host, u->port);
    else
        snprintf(buf, len, "%s:%d", u->host, u->port);
}

void rurl_free(rurl *u)
{
    for (unsigned i = 0; i < u->nseeds; i++)
        free(u->seeds[i].host);
    free(u->seeds);
    free(u->host);
    free(u->path);
    free(u->user);
    if (u->password)
        memset(u->password, 0, strlen(u->password));
    free(u->password);
    memset(u, 0, sizeof(*u));
}
