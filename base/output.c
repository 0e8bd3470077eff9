/* output.c -- thread-safe JSON-lines sink (see output.h). */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUTPUT_BUFFER (1 << 20)

struct output {
    int fd;
    char *name;
    int is_stdout;
    int tty;
    int refs;
    pthread_mutex_t lock;
    uint64_t lines, lost;
    int error; /* errno of the first failed write */
    char *buf; /* whole lines waiting for write(2) */
    size_t used, size;
    void (*before)(void *);
    void (*after)(void *);
    void *guard_arg;
};

output *output_open(const char *path, char *err, size_t errlen)
{
    output *o = calloc(1, sizeof(*o));

    if (o == NULL || (o->name = strdup(path)) == NULL) {
        free(o);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    o->is_stdout = strcmp(path, "-") == 0;
    o->fd =
        o->is_stdout ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (o->fd < 0) {
        snprintf(err, errlen, "%s: cannot open for writing: %s", path, strerror(errno));
        free(o->name);
        free(o);
        return NULL;
    }
    /* stdio may hold bytes for standard output written before: they go
     * first, and nothing else writes through stdio's buffer while this
     * sink owns the descriptor */
    if (o->is_stdout)
        fflush(stdout);
    o->tty = isatty(o->fd);
    o->size = o->tty ? 0 : OUTPUT_BUFFER;
    if (o->size && (o->buf = malloc(o->size)) == NULL)
        o->size = 0;
    o->refs = 1;
    pthread_mutex_init(&o->lock, NULL);
    return o;
}

int output_same(const output *o, const char *path)
{
    struct stat a, b;

    if (fstat(o->fd, &a) != 0)
        return 0;
    if (strcmp(path, "-") == 0 ? fstat(STDOUT_FILENO, &b) != 0 : stat(path, &b) != 0)
        return 0;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

output *output_ref(output *o)
{
    pthread_mutex_lock(&o->lock);
    o->refs++;
    pthread_mutex_unlock(&o->lock);
    return o;
}

int output_isatty(const output *o)
{
    return o->tty;
}

void output_set_guard(output *o, void (*before)(void *), void (*after)(void *), void *arg)
{
    pthread_mutex_lock(&o->lock);
    o->before = before;
    o->after = after;
    o->guard_arg = arg;
    pthread_mutex_unlock(&o->lock);
}

/* Writes all of p[0..n) (short writes and EINTR retried). Lock held. */
static int output_put(output *o, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (!o->error)
                o->error = w < 0 ? errno : EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Hands the buffered lines to the kernel. Lock held. */
static int output_drain(output *o)
{
    int rc = o->used ? output_put(o, o->buf, o->used) : 0;

    o->used = 0;
    return rc;
}

int output_write(output *o, const char *line, size_t len)
{
    int rc = 0;

    pthread_mutex_lock(&o->lock);
    if (o->used + len + 1 > o->size && output_drain(o) != 0)
        rc = -1;
    if (rc == 0 && len + 1 <= o->size) {
        memcpy(o->buf + o->used, line, len);
        o->buf[o->used + len] = '\n';
        o->used += len + 1;
    } else if (rc == 0) {
        /* a terminal, or a line longer than the buffer: one write of
         * line and newline, so the line is never split by the sink */
        char *one = malloc(len + 1);
        if (o->tty && o->before)
            o->before(o->guard_arg);
        if (one) {
            memcpy(one, line, len);
            one[len] = '\n';
            rc = output_put(o, one, len + 1);
            free(one);
        } else {
            rc = output_put(o, line, len) != 0 || output_put(o, "\n", 1) != 0 ? -1 : 0;
        }
        if (o->tty && o->after)
            o->after(o->guard_arg);
    }
    if (rc == 0) {
        o->lines++;
    } else {
        o->lost++;
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

int output_flush(output *o)
{
    pthread_mutex_lock(&o->lock);
    int rc = output_drain(o);
    pthread_mutex_unlock(&o->lock);
    return rc;
}

uint64_t output_lines(output *o)
{
    pthread_mutex_lock(&o->lock);
    uint64_t n = o->lines;
    pthread_mutex_unlock(&o->lock);
    return n;
}

uint64_t output_lost(output *o)
{
    pthread_mutex_lock(&o->lock);
    uint64_t n = o->lost;
    pthread_mutex_unlock(&o->lock);
    return n;
}

int output_close(output *o, char *err, size_t errlen)
{
    int rc = 0;

    pthread_mutex_lock(&o->lock);
    int last = --o->refs == 0;
    pthread_mutex_unlock(&o->lock);
    if (!last)
        return 0;
    output_drain(o);
    if (!o->is_stdout && close(o->fd) != 0 && !o->error)
        o->error = errno ? errno : EIO;
    if (o->error) {
        snprintf(err, errlen,
                 "%s: write failed: %s; the file is incomplete (%llu of %llu lines "
                 "failed at once, more may be lost in the buffer)",
                 o->name, strerror(o->error), (unsigned long long)o->lost,
                 (unsigned long long)(o->lines + o->lost));
        rc = -1;
    }
    pthread_mutex_destroy(&o->lock);
    free(o->buf);
    free(o->name);
    free(o);
    return rc;
}
