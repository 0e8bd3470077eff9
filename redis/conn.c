/* conn.c -- connect, authenticate, select, load functions (see conn.h).
 *
 * The library source is compiled in: CMake concatenates the files of rules/lua/ into a
 * byte array (generated/functions_lua.h), so the binary and the functions it
 * calls cannot drift apart, and nothing needs installing beside the binary.
 */
#include "conn.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "generated/functions_lua.h"

const char rconn_version[] = "loophole-functions 18";

const char *rconn_library(size_t *len)
{
    *len = sizeof(functions_lua);
    return (const char *)functions_lua;
}

/* Runs one command; returns the reply or NULL with err set. */
static redisReply *rconn_cmd(redisContext *c, const char *where, int argc, const char **argv,
                             const size_t *lens, char *err, size_t errlen)
{
    redisReply *r = redisCommandArgv(c, argc, argv, lens);

    if (r == NULL)
        snprintf(err, errlen, "%s: %s", where, c->errstr[0] ? c->errstr : "no reply");
    return r;
}

static int rconn_auth(redisContext *c, const rurl *u, const char *name, char *err, size_t errlen)
{
    const char *argv[3] = {"AUTH", u->user, u->password};
    size_t lens[3] = {4, u->user ? strlen(u->user) : 0, strlen(u->password)};
    int argc = 3;
    redisReply *r;

    if (u->user == NULL) {
        argv[1] = u->password;
        lens[1] = lens[2];
        argc = 2;
    }
    if ((r = rconn_cmd(c, name, argc, argv, lens, err, errlen)) == NULL)
        return RCONN_ERR;
    if (r->type == REDIS_REPLY_ERROR) {
        /* The server's text never contains the password. */
        snprintf(err, errlen, "%s: authentication failed for user '%s': %s", name,
                 u->user ? u->user : "default", r->str);
        freeReplyObject(r);
        return RCONN_AUTH;
    }
    freeReplyObject(r);
    return RCONN_OK;
}

/* Checks a reply; an error reply of NOAUTH/NOPERM/WRONGPASS is an
 * authentication problem, anything else a retryable one. */
static int rconn_check(redisReply *r, const char *name, const char *step, char *err, size_t errlen)
{
    int rc = RCONN_OK;

    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s: %s failed: %s", name, step, r->str);
        rc = (strncmp(r->str, "NOAUTH", 6) == 0 || strncmp(r->str, "NOPERM", 6) == 0 ||
              strncmp(r->str, "WRONGPASS", 9) == 0)
                 ? RCONN_AUTH
                 : RCONN_ERR;
    }
    freeReplyObject(r);
    return rc;
}

static int rconn_select(redisContext *c, const rurl *u, const char *name, char *err, size_t errlen)
{
    char db[16];
    const char *ping[1] = {"PING"};
    size_t pinglens[1] = {4};
    const char *sel[2] = {"SELECT", db};
    size_t sellens[2] = {6, 0};
    redisReply *r;
    int rc;

    /* A small command first: Redis cuts an unauthenticated client that
     * sends a bulk string over 16 KiB (the library) without a NOAUTH, and
     * a missing password must be reported as one. */
    if ((r = rconn_cmd(c, name, 1, ping, pinglens, err, errlen)) == NULL)
        return RCONN_ERR;
    if ((rc = rconn_check(r, name, "PING", err, errlen)) != 0)
        return rc;
    if (u->db > 0) {
        sellens[1] = (size_t)snprintf(db, sizeof(db), "%d", u->db);
        if ((r = rconn_cmd(c, name, 2, sel, sellens, err, errlen)) == NULL)
            return RCONN_ERR;
        if ((rc = rconn_check(r, name, "SELECT", err, errlen)) != 0)
            return rc;
    }
    return RCONN_OK;
}

static int rconn_load(redisContext *c, const char *name, char *err, size_t errlen)
{
    size_t liblen;
    const char *lib = rconn_library(&liblen);
    const char *load[4] = {"FUNCTION", "LOAD", "REPLACE", lib};
    size_t loadlens[4] = {8, 4, 7, liblen};
    const char *ver[3] = {"FCALL", "lh_version", "0"};
    size_t verlens[3] = {5, 10, 1};
    redisReply *r;
    int rc;

    if ((r = rconn_cmd(c, name, 4, load, loadlens, err, errlen)) == NULL)
        return RCONN_ERR;
    if ((rc = rconn_check(r, name, "FUNCTION LOAD (Redis 7 or later is needed)", err, errlen)) != 0)
        return rc;
    if ((r = rconn_cmd(c, name, 3, ver, verlens, err, errlen)) == NULL)
        return RCONN_ERR;
    if (r->type != REDIS_REPLY_STRING || strcmp(r->str, rconn_version) != 0) {
        snprintf(err, errlen, "%s: the functions library answers '%s', expected '%s'", name,
                 r->type == REDIS_REPLY_STRING ? r->str : "?", rconn_version);
        freeReplyObject(r);
        return RCONN_ERR;
    }
    freeReplyObject(r);
    return RCONN_OK;
}

/* Connects, authenticates, checks the server answers and selects the
 * database; the library is loaded by the caller when it wants it. */
static int rconn_start(const rurl *u, int timeout_ms, redisContext **out, char *name,
                       size_t namelen, char *err, size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c;
    int rc;

    *out = NULL;
    rurl_describe(u, name, namelen);
    c = u->path ? redisConnectUnixWithTimeout(u->path, tv)
                : redisConnectWithTimeout(u->host, u->port, tv);
    if (c == NULL || c->err) {
        snprintf(err, errlen, "Redis at %s: cannot connect: %s", name,
                 c ? c->errstr : "out of memory");
        redisFree(c);
        return RCONN_ERR;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, errlen, "Redis at %s: cannot set the timeout", name);
        redisFree(c);
        return RCONN_ERR;
    }
    rc = u->password ? rconn_auth(c, u, name, err, errlen) : RCONN_OK;
    if (rc == RCONN_OK)
        rc = rconn_select(c, u, name, err, errlen);
    if (rc != RCONN_OK) {
        redisFree(c);
        return rc;
    }
    *out = c;
    return RCONN_OK;
}

int rconn_connect(const rurl *u, int timeout_ms, redisContext **out, char *err, size_t errlen)
{
    char name[300];

    return rconn_start(u, timeout_ms, out, name, sizeof(name), err, errlen);
}

int rconn_open(const rurl *u, int timeout_ms, redisContext **out, char *err, size_t errlen)
{
    char name[300];
    int rc = rconn_start(u, timeout_ms, out, name, sizeof(name), err, errlen);

    if (rc == RCONN_OK && (rc = rconn_load(*out, name, err, errlen)) != RCONN_OK) {
        redisFree(*out);
        *out = NULL;
    }
    return rc;
}
