/* privs.c -- resolving the run-as user and dropping to it (see privs.h).
 *
 * libcap-ng does the switch: capng_change_id() keeps the capabilities we
 * select across setuid() (through PR_SET_KEEPCAPS), sets the groups and
 * clears the bounding set, so there is no window in which the process is
 * the target user and still holds root's capabilities it did not ask for.
 * Used from main's thread only, before the sensor's threads start.
 */
#include "privs.h"

#include <cap-ng.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int privs_lookup(const char *name, privs_target *t)
{
    struct passwd pw, *res = NULL;
    char buf[4096];

    if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
        return -1;
    t->uid = pw.pw_uid;
    t->gid = pw.pw_gid;
    snprintf(t->name, sizeof(t->name), "%s", pw.pw_name);
    return 0;
}

int privs_resolve(const char *name, privs_target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->uid = geteuid();
    t->gid = getegid();
    snprintf(t->name, sizeof(t->name), "(uid %u)", (unsigned)t->uid);
    if (name == NULL || *name == '\0') {
        if (t->uid != 0)
            return 0;
        if (privs_lookup(PRIVS_DEFAULT_USER, t) != 0 && privs_lookup(PRIVS_FALLBACK_USER, t) != 0) {
            snprintf(err, errlen,
                     "--user: started as root and neither user %s nor %s exists: create one "
                     "or give --user NAME (--user root keeps root)",
                     PRIVS_DEFAULT_USER, PRIVS_FALLBACK_USER);
            return -1;
        }
    } else if (privs_lookup(name, t) != 0) {
        snprintf(err, errlen, "--user %s: no such user", name);
        return -1;
    }
    if (t->uid == geteuid() && t->gid == getegid())
        return 0; /* already that user: nothing to switch */
    if (geteuid() != 0) {
        snprintf(err, errlen, "--user %s: switching user needs root (started as uid %u)", t->name,
                 (unsigned)geteuid());
        return -1;
    }
    t->drop = 1;
    return 0;
}

static int privs_no_new(char *err, size_t errlen)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int privs_drop(const privs_target *t, int keep_net_raw, char *err, size_t errlen)
{
    int rc;

    if (!t->drop)
        return privs_no_new(err, errlen);
    capng_clear(CAPNG_SELECT_BOTH);
    if (keep_net_raw &&
        capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_RAW) != 0) {
        snprintf(err, errlen, "--user %s: cannot keep CAP_NET_RAW", t->name);
        return -1;
    }
    rc = capng_change_id((int)t->uid, (int)t->gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
    if (rc != 0) {
        snprintf(err, errlen, "--user %s: cannot switch to uid %u gid %u (libcap-ng step %d): %s",
                 t->name, (unsigned)t->uid, (unsigned)t->gid, rc, strerror(errno));
        return -1;
    }
    /* The ambient set is empty after a change of uid; clear it anyway in
     * case a parent process filled it. Failure means no ambient support. */
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    /* Check instead of trusting: root must not be reachable again. */
    if (getuid() != t->uid || geteuid() != t->uid || getgid() != t->gid || setuid(0) == 0) {
        snprintf(err, errlen, "--user %s: the switch did not take", t->name);
        return -1;
    }
    return privs_no_new(err, errlen);
}
