/* privs.h -- who the sensor runs as once its privileged work is done.
 *
 * A sensor started as root needs root for three things only: opening the
 * live capture (CAP_NET_RAW), opening outputs and the journal wherever the
 * operator pointed them, and starting the private redis-server as another
 * user. Everything after that -- parsing hostile packets for months -- runs
 * as an unprivileged user with no capabilities, no supplementary groups and
 * PR_SET_NO_NEW_PRIVS, so a bug in a decoder or in nDPI yields at most that
 * user's rights.
 *
 * Data enters as the configured user name (--user / [capture] user, or
 * NULL for the default) and leaves as a resolved privs_target that
 * app/sensor.c hands to the private server and its files, and that
 * main.c passes to privs_drop() before any thread starts. Nothing here
 * prints; errors name the user or the step that failed.
 */
#ifndef LOOPHOLE_PRIVS_H
#define LOOPHOLE_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

#define PRIVS_DEFAULT_USER  "loophole" /* used when it exists */
#define PRIVS_FALLBACK_USER "nobody"

typedef struct privs_target {
    int drop;  /* 1: switch to uid/gid in privs_drop(); 0: stay as started */
    uid_t uid; /* the uid after privs_drop() (the current one when !drop) */
    gid_t gid;
    char name[64]; /* user name, for messages */
} privs_target;

/* Resolves the target. name NULL: when started as root, the user
 * "loophole" if it exists, else "nobody"; otherwise stay. name "root"
 * (or the current user): stay. Any other name must exist, and switching
 * to it needs root. Returns 0, or -1 with "--user NAME: ..." in err. */
int privs_resolve(const char *name, privs_target *t, char *err, size_t errlen);

/* Switches to t: the user's gid as the only group, then the uid, with
 * every capability cleared (permitted, effective, inheritable, ambient and
 * the bounding set) except CAP_NET_RAW when keep_net_raw is set (needed to
 * reopen a live interface that went away), then PR_SET_NO_NEW_PRIVS.
 * Must be called while the process has one thread: capabilities are per
 * thread. A no-op when !t->drop (NO_NEW_PRIVS is still set). Returns 0, or
 * -1 with the failing step in err. */
int privs_drop(const privs_target *t, int keep_net_raw, char *err, size_t errlen);

#endif
