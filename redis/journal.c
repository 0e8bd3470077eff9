/* journal.c -- the bounded on-disk event journal (see journal.h).
 *
 * Plain read/write/pwrite on one descriptor: the writer thread is the only
 * user, appends go to the end, reads follow a cursor, and the delivered
 * offset is the only thing ever rewritten in place. Records are copied out
 * on read because a replay batch keeps several alive while their replies
 * come back.
 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define JOURNAL_MAGIC      "LHJOURN1"
#define JOURNAL_REC        8
#define JOURNAL_MAX_RECORD (64u << 20)

struct journal {
    int fd;
    char *path;
    uint64_t max_bytes;
    uint64_t delivered; /* offset of the first undelivered record */
    uint64_t end;       /* file size */
    uint64_t cursor;    /* next record journal_next() reads */
    uint64_t pending;   /* undelivered records */
};

static int journal_pread(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

static int journal_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

static int journal_write_header(journal *j)
{
    uint8_t h[JOURNAL_HEADER];

    memcpy(h, JOURNAL_MAGIC, 8);
    for (int i = 0; i < 8; i++)
        h[8 + i] = (uint8_t)(j->delivered >> (8 * i));
    return journal_pwrite(j->fd, h, sizeof(h), 0);
}

/* Validates the record at off; returns its total size or 0 when torn. */
static uint64_t journal_check(journal *j, uint64_t off, uint64_t size)
{
    uint32_t rec[2];
    void *buf;
    int ok;

    if (size - off < JOURNAL_REC || journal_pread(j->fd, rec, JOURNAL_REC, off) < 0)
        return 0;
    if (rec[0] > JOURNAL_MAX_RECORD || rec[0] > size - off - JOURNAL_REC)
        return 0;
    if ((buf = malloc(rec[0] ? rec[0] : 1)) == NULL)
        return 0;
    ok = journal_pread(j->fd, buf, rec[0], off + JOURNAL_REC) == 0 &&
         XXH32(buf, rec[0], 0) == rec[1];
    free(buf);
    return ok ? JOURNAL_REC + rec[0] : 0;
}

/* Reads the header, counts the undelivered records, cuts a torn tail. */
static int journal_scan(journal *j, uint64_t size, uint64_t *torn, char *err, size_t errlen)
{
    uint8_t h[JOURNAL_HEADER];
    uint64_t off, n;

    j->delivered = JOURNAL_HEADER;
    if (size < JOURNAL_HEADER) {
        *torn = size;
        j->end = JOURNAL_HEADER;
        return ftruncate(j->fd, 0) == 0 && journal_write_header(j) == 0 ? 0 : -1;
    }
    if (journal_pread(j->fd, h, sizeof(h), 0) < 0 || memcmp(h, JOURNAL_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not a loophole journal", j->path);
        return -2;
    }
    j->delivered = 0;
    for (int i = 0; i < 8; i++)
        j->delivered |= (uint64_t)h[8 + i] << (8 * i);
    if (j->delivered < JOURNAL_HEADER || j->delivered > size)
        j->delivered = JOURNAL_HEADER; /* damaged offset: replay all, calls are idempotent */
    for (off = j->delivered; off < size && (n = journal_check(j, off, size)) > 0; off += n)
        j->pending++;
    *torn = size - off;
    j->end = off;
    if (*torn && ftruncate(j->fd, (off_t)off) < 0)
        return -1;
    return 0;
}

journal *journal_open(const char *path, uint64_t max_bytes, uint64_t *torn_bytes, char *err,
                      size_t errlen)
{
    journal *j = calloc(1, sizeof(*j));
    struct stat st;
    int rc;

    *torn_bytes = 0;
    if (j == NULL || (j->path = strdup(path)) == NULL) {
        free(j);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    j->max_bytes = max_bytes;
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0 || fstat(j->fd, &st) < 0) {
        snprintf(err, errlen, "journal %s: %s", path, strerror(errno));
        journal_close(j, 0);
        return NULL;
    }
    if (flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errlen, "journal %s: in use by another loophole process", path);
        journal_close(j, 0);
        return NULL;
    }
    rc = journal_scan(j, (uint64_t)st.st_size, torn_bytes, err, errlen);
    if (rc < 0) {
        if (rc == -1)
            snprintf(err, errlen, "journal %s: %s", path, strerror(errno));
        journal_close(j, 0);
        return NULL;
    }
    j->cursor = j->delivered;
    return j;
}

int journal_append(journal *j, const void *p, size_t len, char *err, size_t errlen)
{
    uint32_t rec[2] = {(uint32_t)len, XXH32(p, len, 0)};

    if (len > JOURNAL_MAX_RECORD || j->end + JOURNAL_REC + len > j->max_bytes)
        return 1;
    if (journal_pwrite(j->fd, rec, JOURNAL_REC, j->end) < 0 ||
        journal_pwrite(j->fd, p, len, j->end + JOURNAL_REC) < 0) {
        snprintf(err, errlen, "journal %s: write: %s", j->path, strerror(errno));
        /* cut what was half written so the file stays sound */
        if (ftruncate(j->fd, (off_t)j->end) < 0) {
            /* nothing more to do: the next open cuts the torn record */
        }
        return -1;
    }
    j->end += JOURNAL_REC + len;
    j->pending++;
    return 0;
}

void *journal_next(journal *j, size_t *len, int *failed, char *err, size_t errlen)
{
    uint32_t rec[2];
    void *buf;

    *failed = 0;
    if (j->cursor >= j->end)
        return NULL;
    if (journal_pread(j->fd, rec, JOURNAL_REC, j->cursor) < 0 ||
        (buf = malloc(rec[0] ? rec[0] : 1)) == NULL)
        goto fail;
    if (journal_pread(j->fd, buf, rec[0], j->cursor + JOURNAL_REC) < 0) {
        free(buf);
        goto fail;
    }
    j->cursor += JOURNAL_REC + rec[0];
    *len = rec[0];
    return buf;
fail:
    *failed = 1;
    snprintf(err, errlen, "journal %s: read: %s", j->path, strerror(errno));
    return NULL;
}

void journal_rewind(journal *j)
{
    j->cursor = j->delivered;
}

int journal_consume(journal *j, uint64_t n, char *err, size_t errlen)
{
    uint32_t rec[2];

    for (; n > 0 && j->delivered < j->end; n--, j->pending--) {
        if (journal_pread(j->fd, rec, JOURNAL_REC, j->delivered) < 0)
            goto fail;
        j->delivered += JOURNAL_REC + rec[0];
    }
    if (j->delivered >= j->end) {
        j->delivered = j->end = JOURNAL_HEADER;
        j->pending = 0;
        if (ftruncate(j->fd, JOURNAL_HEADER) < 0)
            goto fail;
    }
    if (j->cursor < j->delivered)
        j->cursor = j->delivered;
    if (journal_write_header(j) < 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "journal %s: %s", j->path, strerror(errno));
    return -1;
}

uint64_t journal_pending(const journal *j)
{
    return j->pending;
}

uint64_t journal_bytes(const journal *j)
{
    return j->end - j->delivered;
}

int journal_sync(journal *j)
{
    return fdatasync(j->fd);
}

void journal_close(journal *j, int remove_empty)
{
    if (j == NULL)
        return;
    if (j->fd >= 0) {
        if (remove_empty && j->pending == 0 && j->end <= JOURNAL_HEADER)
            unlink(j->path);
        else
            fdatasync(j->fd);
        close(j->fd);
    }
    free(j->path);
    free(j);
}
