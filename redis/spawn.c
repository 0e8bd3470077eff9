/* spawn.c -- the private redis-server (see spawn.h).
 *
 * fork() + execvp() rather than posix_spawn(): the child must set its
 * parent-death signal and its own process group before exec, which
 * posix_spawn cannot express for the first. An exec failure travels back on
 * a close-on-exec pipe, so "redis-server is missing" is reported as such
 * rather than as a server that never answers.
 */
#include "spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SPAWN_GRACE_MS 5000 /* for SHUTDOWN, then again for SIGTERM */
#define SPAWN_POLL_MS                                                                              \
    2 /* between PINGs at start and checks for its exit at the                                     \
         end: the sensor waits on both, and each takes                                             \
         redis-server a few tens of milliseconds */

/* What the child reports on its pipe when it cannot start: the errno of
 * the failed step plus one of these. */
#define SPAWN_STEP_EXEC 0
#define SPAWN_STEP_USER 100000 /* setgroups/setgid/setuid */
#define SPAWN_STEP_DIR  200000 /* the directory is out of the user's reach */

struct spawn {
    pid_t pid;
    uid_t uid; /* (uid_t)-1: run as we are */
    gid_t gid;
    char dir[4096];
    char sock[4200];
    redisContext *stopping; /* SHUTDOWN sent (spawn_stop_begin), not answered */
};

static void spawn_nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void spawn_child_fail(int errfd, int e)
{
    if (write(errfd, &e, sizeof(e)) < 0)
        _exit(127);
    _exit(127);
}

/* In the child: becomes the server's user. The parent-death signal is set
 * after the switch, because a change of credentials clears it. */
static void spawn_child_user(const spawn *s, int errfd)
{
    if (s->uid == (uid_t)-1)
        return;
    if (setgroups(0, NULL) != 0 || setgid(s->gid) != 0 || setuid(s->uid) != 0)
        spawn_child_fail(errfd, SPAWN_STEP_USER + errno);
    /* The user works in the directory and, at the end, removes it from
     * its parent ($TMPDIR, normally the sticky /tmp). */
    char parent[4096];
    snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(s->dir, '/') - s->dir), s->dir);
    if (access(s->dir, R_OK | W_OK | X_OK) != 0 ||
        access(parent[0] ? parent : "/", W_OK | X_OK) != 0)
        spawn_child_fail(errfd, SPAWN_STEP_DIR + errno);
}

/* In the child: never returns. */
static void spawn_child(const spawn *s, int errfd)
{
    char log[4200];
    char *argv[] = {"redis-server",
                    "--port",
                    "0",
                    "--unixsocket",
                    (char *)s->sock,
                    "--unixsocketperm",
                    "700",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    (char *)s->dir,
                    "--daemonize",
                    "no",
                    "--logfile",
                    log,
                    NULL};
    int fd;

    spawn_child_user(s, errfd);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setpgid(0, 0);
    snprintf(log, sizeof(log), "%s/redis.log", s->dir);
    if ((fd = open("/dev/null", O_RDWR)) >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        if (fd > 2)
            close(fd);
    }
    execvp("redis-server", argv);
    spawn_child_fail(errfd, SPAWN_STEP_EXEC + errno);
}

/* Removes the files the server may have made, then the directory. */
static void spawn_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4400];

    if (d) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Waits up to ms for the child to exit; 0 when reaped. */
static int spawn_reap(pid_t pid, int ms)
{
    for (int t = 0; t <= ms; t += SPAWN_POLL_MS) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return 0;
        spawn_nap_ms(SPAWN_POLL_MS);
    }
    return -1;
}

/* The last line of the server's log, for the error message. */
static void spawn_log_tail(const spawn *s, char *buf, size_t len)
{
    char path[4400], line[512];
    FILE *f;

    buf[0] = '\0';
    snprintf(path, sizeof(path), "%s/redis.log", s->dir);
    if ((f = fopen(path, "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f))
        if (line[0] != '\n')
            snprintf(buf, len, "%s", line);
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

static int spawn_ping(const spawn *s)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectUnixWithTimeout(s->sock, tv);
    redisReply *r = NULL;
    int ok = 0;

    if (c && !c->err) {
        redisSetTimeout(c, tv);
        r = redisCommand(c, "PING");
        ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    }
    freeReplyObject(r);
    redisFree(c);
    return ok;
}

/* Waits for PING, the child's death, or the deadline. */
static int spawn_wait_ready(spawn *s, int wait_ms, char *err, size_t errlen)
{
    char tail[600];

    for (int t = 0; t <= wait_ms; t += SPAWN_POLL_MS) {
        if (spawn_ping(s))
            return 0;
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            spawn_log_tail(s, tail, sizeof(tail));
            snprintf(err, errlen, "the private redis-server exited at start: %s",
                     tail[0] ? tail : "(no log)");
            return -1;
        }
        spawn_nap_ms(SPAWN_POLL_MS);
    }
    snprintf(err, errlen, "the private redis-server did not answer PING within %d ms", wait_ms);
    return -1;
}

static int spawn_fork(spawn *s, char *err, size_t errlen)
{
    int pfd[2], e = 0;

    if (pipe2(pfd, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot start redis-server: pipe: %s", strerror(errno));
        return -1;
    }
    s->pid = fork();
    if (s->pid < 0) {
        snprintf(err, errlen, "cannot start redis-server: fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        s->pid = 0;
        return -1;
    }
    if (s->pid == 0)
        spawn_child(s, pfd[1]);
    close(pfd[1]);
    if (read(pfd[0], &e, sizeof(e)) == (ssize_t)sizeof(e)) {
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
        if (e >= SPAWN_STEP_DIR)
            snprintf(err, errlen,
                     "the private redis-server's directory %s or its parent is out of reach "
                     "of uid %u: %s (set TMPDIR to a directory that user can write, such as /tmp)",
                     s->dir, (unsigned)s->uid, strerror(e - SPAWN_STEP_DIR));
        else if (e >= SPAWN_STEP_USER)
            snprintf(err, errlen, "cannot run redis-server as uid %u: %s", (unsigned)s->uid,
                     strerror(e - SPAWN_STEP_USER));
        else if (e == ENOENT)
            snprintf(err, errlen,
                     "redis-server not found in PATH: install it (Debian: apt-get install "
                     "redis-server) or give a Redis with --redis URL");
        else
            snprintf(err, errlen, "cannot run redis-server: %s", strerror(e));
    }
    close(pfd[0]);
    return s->pid ? 0 : -1;
}

spawn *spawn_start(int wait_ms, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    spawn *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(s->dir, sizeof(s->dir), "%s/loophole-redis.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(s->dir) == NULL) {
        snprintf(err, errlen, "cannot make a directory for the private redis-server: %s: %s",
                 s->dir, strerror(errno));
        free(s);
        return NULL;
    }
    s->uid = uid;
    s->gid = gid;
    if (uid != (uid_t)-1 && chown(s->dir, uid, gid) != 0) {
        snprintf(err, errlen, "cannot give %s to uid %u: %s", s->dir, (unsigned)uid,
                 strerror(errno));
        spawn_rmdir(s->dir);
        free(s);
        return NULL;
    }
    snprintf(s->sock, sizeof(s->sock), "%s/redis.sock", s->dir);
    if (strlen(s->sock) >= 100) { /* sun_path is 108 bytes */
        snprintf(err, errlen, "socket path too long for a Unix socket: %s (set TMPDIR)", s->sock);
        spawn_rmdir(s->dir);
        free(s);
        return NULL;
    }
    if (spawn_fork(s, err, errlen) < 0 ||
        (wait_ms > 0 && spawn_wait_ready(s, wait_ms, err, errlen) < 0)) {
        spawn_stop(s, 0, NULL, 0);
        return NULL;
    }
    return s;
}

int spawn_wait(spawn *s, int wait_ms, char *err, size_t errlen)
{
    return spawn_wait_ready(s, wait_ms, err, errlen);
}

const char *spawn_socket(const spawn *s)
{
    return s->sock;
}

const char *spawn_dir(const spawn *s)
{
    return s->dir;
}

pid_t spawn_pid(const spawn *s)
{
    return s->pid;
}

/* Asks for SHUTDOWN [NO]SAVE; the server closes the connection when it
 * obeys, so no reply is the expected answer. An error reply (a failed save)
 * is reported. */
/* Sends SHUTDOWN without waiting: the server saves (keep) and exits
 * while the caller goes on; spawn_shutdown_end() takes the answer.
 * Returns -1 when the server cannot be reached. */
static int spawn_shutdown_send(spawn *s, int keep)
{
    struct timeval tv = {SPAWN_GRACE_MS / 1000, 0};
    redisContext *c = redisConnectUnixWithTimeout(s->sock, tv);
    int done = 0;

    if (c == NULL || c->err || redisSetTimeout(c, tv) != REDIS_OK ||
        redisAppendCommand(c, keep ? "SHUTDOWN SAVE" : "SHUTDOWN NOSAVE") != REDIS_OK) {
        redisFree(c);
        return -1;
    }
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            redisFree(c);
            return -1;
        }
    s->stopping = c;
    return 0;
}

/* The answer to the SHUTDOWN sent: none when the server exits (the
 * connection closes), an error reply when it refuses. */
static int spawn_shutdown_end(spawn *s, char *err, size_t errlen)
{
    redisReply *r = NULL;
    int rc = 0;

    if (s->stopping == NULL)
        return -1;
    if (redisGetReply(s->stopping, (void **)&r) == REDIS_OK && r && r->type == REDIS_REPLY_ERROR) {
        if (err)
            snprintf(err, errlen, "the private redis-server refused to shut down: %s", r->str);
        rc = -1;
    }
    freeReplyObject(r);
    redisFree(s->stopping);
    s->stopping = NULL;
    return rc;
}

void spawn_stop_begin(spawn *s, int keep)
{
    if (s != NULL && s->pid > 0 && s->stopping == NULL)
        spawn_shutdown_send(s, keep);
}

int spawn_stop(spawn *s, int keep, char *err, size_t errlen)
{
    int rc = 0;

    if (s == NULL)
        return 0;
    if (s->pid > 0) {
        if ((s->stopping == NULL && spawn_shutdown_send(s, keep) < 0) ||
            spawn_shutdown_end(s, err, errlen) < 0)
            rc = -1;
        if (spawn_reap(s->pid, SPAWN_GRACE_MS) < 0) {
            kill(s->pid, SIGTERM);
            if (spawn_reap(s->pid, SPAWN_GRACE_MS) < 0) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, NULL, 0);
            }
            if (err && rc == 0)
                snprintf(err, errlen, "the private redis-server had to be killed");
            rc = -1;
        }
    }
    if (keep && rc == 0) {
        char sock[4200];
        snprintf(sock, sizeof(sock), "%s", s->sock);
        unlink(sock); /* the server is gone; its socket file is not data */
    } else {
        spawn_rmdir(s->dir);
    }
    free(s);
    return rc;
}
