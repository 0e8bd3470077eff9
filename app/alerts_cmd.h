/* alerts_cmd.h -- `loophole alerts`: follow the alerts stream in Redis.
 *
 * A reader for operators and scripts: it connects to the Redis a sensor
 * writes to (--redis URL, or [redis] url and prefix of a -c file), prints
 * the alerts already in <prefix>alerts that it is asked for (--last N,
 * --from ID), then waits for new ones with XREAD BLOCK and prints each as
 * a readable line (time, severity, rule, entity, summary) or, with --json,
 * as the alert line itself. --rule and --severity filter on the stream
 * entry's own fields, without parsing the alert.
 *
 * It only reads: no functions library is loaded and no key is written, so
 * a read-only ACL user is enough (+xread +xrevrange +xrange).
 *
 * When the connection fails after it was once made (Redis restarted, a
 * network cut), it reconnects with backoff (100 ms doubling to 5 s) and
 * resumes after the last id it printed: nothing is printed twice and
 * nothing still in the stream is missed.
 *
 * Runs in the main thread of its own process; main() dispatches to it when
 * the first argument is "alerts".
 */
#ifndef LOOPHOLE_ALERTS_CMD_H
#define LOOPHOLE_ALERTS_CMD_H

/* argv[0] is "alerts". Returns the exit status: 0 (--count reached), 1
 * (the first connection or a Redis command failed), 2 (usage). */
int alerts_cmd_main(int argc, char **argv);

#endif
