/* setting.h -- one configuration key as a table row.
 *
 * A module that has settings owns a table of these rows beside its own
 * configuration struct (capture/capture_config.c, analyze/
 * flow_table_config.c, geo/snapshot_config.c, redis/rconfig.c,
 * rules/detect_config.c; app/config.c for the app's own keys). A row
 * says everything about its key: section, name, the flag that sets the
 * same value, how its text is parsed, where the value is stored (an offset
 * into the module's struct), its bounds, its default and where that
 * default comes from.
 *
 * Data enters as text (the INI file, a flag, the row's own default) and
 * leaves as a value stored in the module's struct: app/config.c does the
 * parsing and the storing for every table, so every key accepts the same
 * syntax and fails with the same explanation whichever module owns it.
 * Nothing here parses or stores; this header is only the shape of a row.
 */
#ifndef LOOPHOLE_SETTING_H
#define LOOPHOLE_SETTING_H

#include <stddef.h>
#include <stdint.h>

typedef enum setting_kind {
    SETTING_STRING,    /* empty = unset (NULL) unless SETTING_NONEMPTY or SETTING_KEEP_EMPTY */
    SETTING_PATHS,     /* comma list, appended to char **off with int count at off_n */
    SETTING_INT,       /* plain integer in [min, max], stored with `width` */
    SETTING_SIZE,      /* uint64_t bytes in [min, max] */
    SETTING_DURATION,  /* uint64_t microseconds in [min, max] */
    SETTING_SECONDS,   /* duration in whole seconds, int in [min, max] */
    SETTING_BOOL,      /* int 0 or 1 */
    SETTING_COUNTRIES, /* char (*off)[3] with int count at off_n */
    SETTING_REDIS_URL, /* string, shape checked; empty = unset */
} setting_kind;

typedef enum setting_width {
    SETTING_W_INT,
    SETTING_W_U16,
    SETTING_W_U32,
    SETTING_W_U64
} setting_width;

#define SETTING_NONEMPTY   1u /* an empty value is an error */
#define SETTING_KEEP_EMPTY 2u /* an empty value is "", not unset */
#define SETTING_BARE_MS    4u /* a bare duration is milliseconds (keys named *_ms) */

typedef struct setting_key {
    const char *section;
    const char *name;
    const char *flag; /* the flag that sets the same field, or NULL */
    setting_kind kind;
    setting_width width;
    unsigned flags;
    size_t off, off_n; /* into the owning module's configuration struct */
    uint64_t min, max;
    const char *def;    /* the default, as a value in the file; NULL = unset or
                           computed at start (threads, sensor) */
    const char *source; /* where the default comes from: a paper, a protocol
                           fact, a measured distribution, or a plain
                           statement that none was found; every [thresholds]
                           key has one (tests/unit/test_config.c) */
} setting_key;

#endif
