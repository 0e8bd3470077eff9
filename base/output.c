/* output.c -- thread-safe JSON-lines sink (see output.h). */
#include "output.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTPUT_BUFFER (1 << 20)

struct output {
    FILE *fp;
    char *name;
    int is_stdout;
    pthread_mutex_t lock;
    uint64_t lines, lost;
    int error; /* errno of the first failed write */
    char *buf;
    output_transform transform;
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
    o->fp = o->is_stdout ? stdout : fopen(path, "w");
    if (o->fp == NULL) {
        snprintf(err, errlen, "%s: cannot open for writing: %s", path, strerror(errno));
        free(o->name);
        free(o);
        return NULL;
    }
    if (!o->is_stdout && (o->buf = malloc(OUTPUT_BUFFER)) != NULL)
        setvbuf(o->fp, o->buf, _IOFBF, OUTPUT_BUFFER);
    pthread_mutex_init(&o->lock, NULL);
    return o;
}

void output_set_transform(output *o, output_transform fn)
{
    o->transform = fn;
}

int output_write(output *o, const char *line, size_t len)
{
    int rc = 0;
    char *own = NULL;

    if (o->transform) {
        /* Outside the lock: the rewrite may parse and allocate. */
        own = o->transform(line, len, &len);
        line = own;
    }
    pthread_mutex_lock(&o->lock);
    if (!line) {
        if (!o->error)
            o->error = EINVAL;
        o->lost++;
        rc = -1;
    } else if (fwrite(line, 1, len, o->fp) != len || putc('\n', o->fp) == EOF) {
        if (!o->error)
            o->error = errno ? errno : EIO;
        o->lost++;
        rc = -1;
    } else {
        o->lines++;
    }
    pthread_mutex_unlock(&o->lock);
    free(own);
    return rc;
}

int output_flush(output *o)
{
    int rc = 0;

    pthread_mutex_lock(&o->lock);
    if (fflush(o->fp) != 0) {
        if (!o->error)
            o->error = errno ? errno : EIO;
        rc = -1;
    }
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

    if (fflush(o->fp) != 0 && !o->error)
        o->error = errno ? errno : EIO;
    if (!o->is_stdout && fclose(o->fp) != 0 && !o->error)
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
