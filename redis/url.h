/* url.h -- where the sensor's Redis is: parsing of --redis URLs.
 *
 * redis://[user[:password]@]host[:port][/db] (host may be an [IPv6]
 * literal; user and password may carry %XX escapes) or
 * unix:///absolute/path/to/socket[?db=N], or a Redis Cluster:
 * redis+cluster://[user[:password]@]host:port[,host:port...], the seed
 * nodes the slot map is first read from (any node of the cluster will do;
 * more than one keeps the sensor starting when one is down). The password may instead come
 * from the environment variable LOOPHOLE_REDIS_PASSWORD, which keeps it
 * out of the process list; a password in the URL wins.
 *
 * I/O free and thread-agnostic: rurl_parse() reads the string (and the
 * environment when asked) and fills a struct the caller owns.
 */
#ifndef LOOPHOLE_REDIS_URL_H
#define LOOPHOLE_REDIS_URL_H

#include <stddef.h>

#define RURL_PASSWORD_ENV "LOOPHOLE_REDIS_PASSWORD"

#define RURL_MAX_SEEDS 64

typedef struct rurl_seed {
    char *host;
    int port;
} rurl_seed;

typedef struct rurl {
    char *host;     /* NULL for a Unix socket */
    int port;       /* 6379 by default */
    char *path;     /* Unix socket path; NULL for TCP */
    char *user;     /* NULL = no user (AUTH password alone, or no AUTH) */
    char *password; /* NULL = no AUTH */
    int db;         /* SELECT db when > 0 */
    int cluster;    /* redis+cluster://: host and port are seeds[0] */
    rurl_seed *seeds;
    unsigned nseeds; /* 0 unless cluster */
} rurl;

/* Parses s into u. env_password is the value of LOOPHOLE_REDIS_PASSWORD
 * (or NULL), used when the URL has none. Returns 0, or -1 with a message
 * in err that never repeats the password. u owns its strings; free them
 * with rurl_free() in both cases. */
int rurl_parse(rurl *u, const char *s, const char *env_password, char *err, size_t errlen);

/* A URL naming a Unix socket, for the private server. */
int rurl_unix(rurl *u, const char *path, char *err, size_t errlen);

/* "host:port" or the socket path, for messages (no credentials). */
void rurl_describe(const rurl *u, char *buf, size_t len);

void rurl_free(rurl *u);

#endif
