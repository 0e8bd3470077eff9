/* spawn.h -- the private redis-server of a run without --redis.
 *
 * spawn_start() makes a fresh directory (mkdtemp under $TMPDIR or /tmp),
 * starts `redis-server` from PATH as a child process listening only on a
 * Unix socket in it (--port 0, socket mode 700, persistence off, its log in
 * DIR/redis.log) and waits until it answers PING (or leaves that wait to
 * spawn_wait()). spawn_stop() shuts it down (SHUTDOWN NOSAVE, or
 * SHUTDOWN SAVE when the data set is kept; spawn_stop_begin() sends it
 * ahead, so that the server exits while the caller frees its own), falls
 * back to SIGTERM and then SIGKILL after a grace period, reaps it and
 * removes the directory unless the data set is kept.
 *
 * No orphans: the child runs in its own process group (a Ctrl-C at the
 * terminal reaches loophole, which then stops the server in order, instead
 * of killing the server under the writer) and has PR_SET_PDEATHSIG set to
 * SIGKILL, so a crash of loophole takes the server with it. The caller
 * (app/sensor.c) calls spawn_stop() on every path out of a run, including
 * SIGINT/SIGTERM and setup failures.
 *
 * Used from the main thread only (PR_SET_PDEATHSIG fires when the thread
 * that forked exits, so fork from the thread that lives longest).
 */
#ifndef LOOPHOLE_REDIS_SPAWN_H
#define LOOPHOLE_REDIS_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

typedef struct spawn spawn;

/* Starts the server; waits up to wait_ms for PING. When uid is not
 * (uid_t)-1, the directory is given to uid:gid and the server runs as that
 * user with no supplementary groups (a sensor started as root never runs
 * redis-server as root); the directory's parents must let that user
 * through. Returns NULL with a message in err: "redis-server not found in
 * PATH ..." when it is missing, the last lines of its log when it exits
 * early. Nothing is left behind on failure. */
spawn *spawn_start(int wait_ms, uid_t uid, gid_t gid, char *err, size_t errlen);

/* With wait_ms 0, spawn_start() returns as soon as redis-server runs,
 * without waiting for PING, so that the caller can prepare other things
 * while the server starts (it takes tens of milliseconds); it then calls
 * spawn_wait() before it connects. Returns 0 once the server answers PING,
 * or -1 with a message in err as spawn_start() would (the caller then
 * calls spawn_stop()). */
int spawn_wait(spawn *s, int wait_ms, char *err, size_t errlen);

/* The Unix socket path and the directory, owned by s. */
const char *spawn_socket(const spawn *s);
const char *spawn_dir(const spawn *s);
pid_t spawn_pid(const spawn *s);

/* Sends the server its SHUTDOWN (SAVE with keep) and returns at once, so
 * that the caller frees its own memory while the server exits;
 * spawn_stop() then takes the answer, reaps it and frees s (its keep is
 * the one given here). Does nothing when the server cannot be reached
 * (spawn_stop() tries again and falls back to signals). */
void spawn_stop_begin(spawn *s, int keep);

/* Stops the server and frees s. keep = 1 saves the data set to
 * DIR/dump.rdb and leaves DIR in place. Returns 0, or -1 with a message
 * when the server had to be killed or the save failed (s is freed and the
 * process reaped in both cases). NULL s is a no-op. */
int spawn_stop(spawn *s, int keep, char *err, size_t errlen);

#endif
