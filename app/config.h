/* config.h -- the sensor's settings: defaults, the INI file, the flags.
 *
 * One `config` struct holds every setting; the rules' thresholds are the
 * rules' own struct inside it (`rules`), set through the rules' key table
 * (rules/detect_config.c). Data enters in three layers, each overriding
 * the one before: config_init() sets the defaults, the INI file named by
 * -c (config_load_file) and then the command line flags
 * (config_parse_args). What leaves is the filled struct, read-only for the
 * rest of the run; other modules copy what they need at their own setup.
 *
 * Errors never reach stdout or stderr from here: every function that can fail
 * writes one line naming the file and line, the flag or the key at fault into
 * the caller's buffer `err` of `errlen` bytes, and main prints it. The only
 * output is the --help and --version text that config_parse_args prints to
 * standard output before returning CONFIG_EXIT.
 *
 * Ownership: the struct owns every string and array it points to.
 * config_free() frees all of them; callers that keep a string past
 * config_free() must copy it. Allocation failure aborts the process, as in
 * Redis: a sensor that cannot allocate its configuration cannot run.
 *
 * Not thread-safe: config_parse_args uses getopt_long, whose state is global
 * in libc. Call it once, from main, before any thread starts.
 */
#ifndef LOOPHOLE_CONFIG_H
#define LOOPHOLE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rules/detect_config.h"

#define CONFIG_OK    0
#define CONFIG_ERROR -1
#define CONFIG_EXIT  1 /* --help or --version was printed; main exits 0 */

#define CONFIG_MAX_THREADS     64
#define CONFIG_DEFAULT_THREADS 16 /* cap of the default, not of the setting */

typedef struct config {
    /* sources */
    char **files; /* -r, in order; "-" is stdin */
    int nfiles;
    char *interface;                  /* -i / [capture] interface; NULL = none */
    char *filter;                     /* -f / [capture] filter; NULL = none */
    int snaplen;                      /* default 262144 */
    int threads;                      /* default min(online cores, 16), at least 1; valid 1..64 */
    uint64_t buffer_bytes;            /* 256 MiB */
    int promiscuous;                  /* 1 */
    uint64_t max_flows;               /* 1000000 */
    uint64_t queue_bytes;             /* 4 MiB */
    uint16_t vxlan_port, geneve_port; /* 4789, 6081; 0 = do not decode */
    int wait_interface;               /* 0: a live interface that fails ends the run */
    char *user; /* --user / [capture] user; NULL = the default (app/privs.h) */
    /* geo */
    char **geo_dbs; /* --geo / [geo] db, in order */
    int ngeo_dbs;
    char *inventory;      /* NULL = none */
    char *indicators_dir; /* --indicators / [geo] indicators; NULL = the shipped tables */
    /* redis */
    char *redis_url;             /* NULL = start a private redis-server */
    char *redis_prefix;          /* "lh:" */
    uint64_t stream_maxlen;      /* 100000; 0 = streams are not trimmed */
    uint64_t alert_retention_us; /* 30 days: how long a raised alert is remembered */
    int redis_keep;              /* 0 */
    char *journal_path;          /* NULL = a file in the run's temp dir */
    uint64_t journal_max_bytes;  /* 1 GiB */
    int redis_flows;             /* 0; 1 = flow records also go to <prefix>flows */
    uint64_t redis_queue_bytes;  /* 4 MiB: bounded event queue per worker */
    char *redis_peers;           /* NULL = none: the sensors feeding the same windows */
    uint64_t peer_timeout_us;    /* 60 s: a silent peer stops holding settling back */
    /* output */
    char *alerts_path;   /* "-" */
    char *alerts_format; /* "native" (interface.md section 2) or "eve" (docs/siem.md) */
    char *metrics_path;  /* --metrics / [output] metrics: Prometheus textfile; NULL = off */
    char *flows_path;    /* NULL = off */
    char *sensor;        /* default: gethostname() */
    int stats_secs;      /* 0 = off */
    char *graph_path;    /* --graph / [output] graph: DOT file written at the end; NULL = off */
    char *summary_path;  /* --summary / [output] summary: JSON summary at the end; NULL = off */
    int progress;        /* 1: progress line when stderr is a terminal (replay only); 0 = never */
    /* countries: arrays of 2-letter upper-case codes, each "XX\0" */
    char (*china)[3];
    int nchina;
    char (*relay)[3];
    int nrelay;
    /* the flow table's [thresholds]; durations in microseconds */
    uint64_t flow_idle_timeout_us, flow_active_timeout_us;
    /* the rules' [thresholds] (rules/detect_config.h, whose table sets
     * them); its country lists stay NULL here: app/sensor.c points them
     * at china and relay above */
    detect_config rules;
    char *config_path; /* -c, for messages; NULL = none */
} config;

/* Sets every default. Allocates the default strings and country lists, so
 * every config_init() needs a config_free(). */
void config_init(config *c);

/* Frees every string and array c owns and zeroes c. Safe on a struct that
 * config_init() set, and safe to call twice. */
void config_free(config *c);

/* Loads an INI file into c over what c already holds. Returns 0, or -1 with
 * "FILE:LINE: [section] key: message" in err for an unknown section, an
 * unknown key or a bad value (the message says what is expected), or
 * "FILE: ..." for a file that cannot be read. On error c stays valid (and
 * must still be freed) but may hold part of the file. */
int config_load_file(config *c, const char *path, char *err, size_t errlen);

/* Parses argv: loads -c FILE if present, applies every flag over it, then
 * checks the whole (exactly one source, -r or -i). Returns CONFIG_OK,
 * CONFIG_EXIT (help or version was printed to stdout: the caller exits 0) or
 * CONFIG_ERROR with a message naming the flag or key in err (the caller
 * exits 2). May be called again on a fresh struct, e.g. by tests. */
int config_parse_args(config *c, int argc, char **argv, char *err, size_t errlen);

/* The i-th configuration key over every module's table (the sensor's own,
 * then the rules'), with in *base (when base is not NULL) the offset of
 * its module's struct in `config`; NULL past the last key. For tests and
 * documentation checks. */
const struct setting_key *config_setting(size_t i, size_t *base);

/* The --help text: every flag, one line each. */
void config_usage(FILE *out);

/* The --version text: loophole's version, then libpcap's and nDPI's. */
void config_version(FILE *out);

/* Unit parsers, exported for tests and other modules. Return 0 and set *out,
 * or return -1 and leave *out alone. No sign, no fraction, no surrounding
 * blanks; a blank between number and unit is allowed.
 *
 * Sizes: a bare number is bytes; B, K/KiB, M/MiB, G/GiB, T/TiB are powers of
 * 1024; kB/KB, MB, GB, TB are powers of 1000. Units are case-sensitive, so
 * "Mb" (a megabit?) is rejected rather than guessed. */
int config_parse_size(const char *s, uint64_t *out);

/* Durations into microseconds: us, ms, s, m, h, d. A bare number is
 * milliseconds when bare_unit_ms is set (keys named *_ms), else seconds. */
int config_parse_duration_us(const char *s, int bare_unit_ms, uint64_t *out);

/* yes/no, true/false, on/off, 1/0, in any case. */
int config_parse_bool(const char *s, int *out);

#endif
