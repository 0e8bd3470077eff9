/* rconfig.h -- the [redis] keys: where the sensor's Redis is and how the
 * sensor uses it.
 *
 * rconfig holds the values and rconfig_settings() is its key table, one
 * row per [redis] key (base/setting.h). app/config.c parses the INI file
 * and the flags into the struct through these rows; app/sensor.c reads it
 * when it starts the private server or parses the URL, and builds the
 * event context, the event queues and the writer from it.
 *
 * Ownership: whoever fills the struct owns its strings (app/config.c's
 * config_free() frees them).
 */
#ifndef LOOPHOLE_RCONFIG_H
#define LOOPHOLE_RCONFIG_H

#include <stddef.h>
#include <stdint.h>

struct setting_key; /* base/setting.h */

typedef struct rconfig {
    char *url;                   /* NULL = start a private redis-server */
    char *prefix;                /* "lh:" */
    uint64_t stream_maxlen;      /* 100000; 0 = streams are not trimmed */
    uint64_t alert_retention_us; /* 30 days: how long a raised alert is remembered */
    int keep;                    /* 0; 1 = keep the private server's data */
    char *journal_path;          /* NULL = a file in the run's temp dir */
    uint64_t journal_max_bytes;  /* 1 GiB */
    int flows;                   /* 0; 1 = flow records also go to <prefix>flows */
    uint64_t queue_bytes;        /* 4 MiB: bounded event queue per worker */
    char *peers;                 /* NULL = none: the sensors feeding the same windows */
    uint64_t peer_timeout_us;    /* 60 s: a silent peer stops holding settling back */
} rconfig;

/* The rows of the [redis] keys, with offsets into rconfig; *n is set to
 * their number. Static storage. */
const struct setting_key *rconfig_settings(size_t *n);

#endif
