/* redis_test_server.h -- real redis-server processes for the Redis tests.
 *
 * tserver_start() runs redis-server as a child, bound to 127.0.0.1 on a
 * free TCP port (found by binding port 0) and to a Unix socket in a fresh
 * temporary directory, persistence off, with extra arguments (e.g. an ACL
 * user), and waits for it to answer (and to have loaded its data, when it
 * keeps an append-only file). tserver_kill() stops it hard (the
 * outage tests), tserver_restart() starts it again on the same port and
 * socket, tserver_free() stops it and removes its directory. No mocks.
 */
#ifndef LOOPHOLE_REDIS_TEST_SERVER_H
#define LOOPHOLE_REDIS_TEST_SERVER_H

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct tserver {
    pid_t pid;
    int port;
    char dir[256], sock[300], portstr[16];
    const char *extra[16];
} tserver;

static inline int tserver_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static inline redisContext *tserver_connect(const tserver *t)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectUnixWithTimeout(t->sock, tv);

    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static inline int tserver_exec(tserver *t)
{
    char *argv[40];
    int n = 0;

    argv[n++] = "redis-server";
    argv[n++] = "--port";
    argv[n++] = t->portstr;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--unixsocket";
    argv[n++] = t->sock;
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = "no";
    argv[n++] = "--dir";
    argv[n++] = t->dir;
    argv[n++] = "--loglevel";
    argv[n++] = "warning";
    for (int i = 0; t->extra[i]; i++)
        argv[n++] = (char *)t->extra[i];
    argv[n] = NULL;
    t->pid = fork();
    if (t->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(127);
        execvp("redis-server", argv);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        redisContext *c = tserver_connect(t);
        if (c) {
            /* up, and done loading its append-only file (a server that
             * loads answers LOADING; any other answer will do, NOAUTH too) */
            redisReply *r = redisCommand(c, "PING");
            int loading =
                r == NULL || (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "LOADING", 7) == 0);
            freeReplyObject(r);
            redisFree(c);
            if (!loading)
                return 0;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* extra: NULL-terminated redis-server arguments, at most 15; borrowed. */
static inline int tserver_start(tserver *t, const char *const *extra)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; extra && extra[i] && i < 15; i++)
        t->extra[i] = extra[i];
    snprintf(t->dir, sizeof(t->dir), "/tmp/lhtest-redis.XXXXXX");
    if (mkdtemp(t->dir) == NULL)
        return -1;
    snprintf(t->sock, sizeof(t->sock), "%s/redis.sock", t->dir);
    t->port = tserver_free_port();
    snprintf(t->portstr, sizeof(t->portstr), "%d", t->port);
    return tserver_exec(t);
}

static inline void tserver_kill(tserver *t)
{
    if (t->pid > 0) {
        kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
        t->pid = 0;
    }
    unlink(t->sock);
}

static inline int tserver_restart(tserver *t)
{
    tserver_kill(t);
    return tserver_exec(t);
}

static inline void tserver_free(tserver *t)
{
    char cmd[400];

    tserver_kill(t);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", t->dir);
}

/* Runs a command with binary-safe arguments; the caller frees the reply. */
static inline redisReply *tcmd(redisContext *c, int argc, const char **argv, const size_t *lens)
{
    size_t l[64];

    for (int i = 0; i < argc; i++)
        l[i] = lens && lens[i] != (size_t)-1 ? lens[i] : strlen(argv[i]);
    return redisCommandArgv(c, argc, argv, l);
}

#endif
