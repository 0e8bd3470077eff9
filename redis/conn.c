/* conn.c -- connect, authenticate, select, load functions (see conn.h).
 *
 * The library source is compiled in: CMake turns rules/functions.lua into a
 * byte array (generated/functions_lua.h), so the binary and the functions it
 * calls cannot drift apart, and nothing needs installing beside the binary.
 */
#include "conn.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "generated/functions_lua.h"

const char redis_conn_version[] = "loophole-functions 5";

const char *redis_conn_library(size_t *len)
{
    *len = sizeof(functions_lua);
    return (const char *)functions_lua;
}

/* Runs one command; returns the reply or NULL with err set. */
static redisReply *redis_conn_cmd(redisContext *c, const char *where, int argc, const char **argv,
                                  const size_t *lens, char *err, size_t errlen)
{
    redisReply *r = redisCommandArgv(c, argc, argv, lens);

    if (r == NULL)
        snprintf(err, errlen, "%s: %s", where, c->errstr[0] ? c->errstr : "no reply");
    return r;
}

static int redis_conn_auth(redisContext *c, const redis_url *u, const char *name, char *err,
                           size_t errlen)
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
    if ((r = redis_conn_cmd(c, name, argc, argv, lens, err, errlen)) == NULL)
        return REDIS_CONN_ERR;
    if (r->type == REDIS_REPLY_ERROR) {
        /* The server's text never contains the password. */
        snprintf(err, errlen, "%s: authentication failed for user '%s': %s", name,
                 u->user ? u->user : "default", r->str);
        freeReplyObject(r);
        return REDIS_CONN_AUTH;
    }
    freeReplyObject(r);
    return REDIS_CONN_OK;
}

/* Checks a reply; an error reply of NOAUTH/NOPERM/WRONGPASS is an
 * authentication problem, anything else a retryable one. */
static int redis_conn_check(redisReply *r, const char *name, const char *step, char *err,
                            size_t errlen)
{
    int rc = REDIS_CONN_OK;

    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "%s: %s failed: %s", name, step, r->str);
        rc = (strncmp(r->str, "NOAUTH", 6) == 0 || strncmp(r->str, "NOPERM", 6) == 0 ||
              strncmp(r->str, "WRONGPASS", 9) == 0)
                 ? REDIS_CONN_AUTH
                 : REDIS_CONN_ERR;
    }
    freeReplyObject(r);
    return rc;
}

static int redis_conn_setup(redisContext *c, const redis_url *u, const char *name, char *err,
                            size_t errlen)
{
    char db[16];
    size_t liblen;
    const char *lib = redis_conn_library(&liblen);
    const char *ping[1] = {"PING"};
    size_t pinglens[1] = {4};
    const char *sel[2] = {"SELECT", db};
    size_t sellens[2] = {6, 0};
    const char *load[3] = {"FUNCTION", "LOAD", "REPLACE"};
    const char *argv4[4] = {load[0], load[1], load[2], lib};
    size_t lens4[4] = {8, 4, 7, liblen};
    const char *ver[3] = {"FCALL", "lh_version", "0"};
    size_t verlens[3] = {5, 10, 1};
    redisReply *r;
    int rc;

    /* A small command first: Redis cuts an unauthenticated client that
     * sends a bulk string over 16 KiB (the library) without a NOAUTH, and
     * a missing password must be reported as one. */
    if ((r = redis_conn_cmd(c, name, 1, ping, pinglens, err, errlen)) == NULL)
        return REDIS_CONN_ERR;
    if ((rc = redis_conn_check(r, name, "PING", err, errlen)) != 0)
        return rc;
    if (u->db > 0) {
        sellens[1] = (size_t)snprintf(db, sizeof(db), "%d", u->db);
        if ((r = redis_conn_cmd(c, name, 2, sel, sellens, err, errlen)) == NULL)
            return REDIS_CONN_ERR;
        if ((rc = redis_conn_check(r, name, "SELECT", err, errlen)) != 0)
            return rc;
    }
    if ((r = redis_conn_cmd(c, name, 4, argv4, lens4, err, errlen)) == NULL)
        return REDIS_CONN_ERR;
    if ((rc = redis_conn_check(r, name, "FUNCTION LOAD (Redis 7 or later is needed)", err,
                               errlen)) != 0)
        return rc;
    if ((r = redis_conn_cmd(c, name, 3, ver, verlens, err, errlen)) == NULL)
        return REDIS_CONN_ERR;
    if (r->type != REDIS_REPLY_STRING || strcmp(r->str, redis_conn_version) != 0) {
        snprintf(err, errlen, "%s: the functions library answers '%s', expected '%s'", name,
                 r->type == REDIS_REPLY_STRING ? r->str : "?", redis_conn_version);
        freeReplyObject(r);
        return REDIS_CONN_ERR;
    }
    freeReplyObject(r);
    return REDIS_CONN_OK;
}

int redis_conn_open(const redis_url *u, int timeout_ms, redisContext **out, char *err,
                    size_t errlen)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    char name[300];
    redisContext *c;
    int rc;

    *out = NULL;
    redis_url_describe(u, name, sizeof(name));
    c = u->path ? redisConnectUnixWithTimeout(u->path, tv)
                : redisConnectWithTimeout(u->host, u->port, tv);
    if (c == NULL || c->err) {
        snprintf(err, errlen, "Redis at %s: cannot connect: %s", name,
                 c ? c->errstr : "out of memory");
        redisFree(c);
        return REDIS_CONN_ERR;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, errlen, "Redis at %s: cannot set the timeout", name);
        redisFree(c);
        return REDIS_CONN_ERR;
    }
    rc = u->password ? redis_conn_auth(c, u, name, err, errlen) : REDIS_CONN_OK;
    if (rc == REDIS_CONN_OK)
        rc = redis_conn_setup(c, u, name, err, errlen);
    if (rc != REDIS_CONN_OK) {
        redisFree(c);
        return rc;
    }
    *out = c;
    return REDIS_CONN_OK;
}
