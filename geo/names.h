/* names.h -- domain-suffix tables: does a host name end in a listed name?
 *
 * A names_table maps domain names to caller values. names_match() answers
 * for a host name (SNI, HTTP Host, DNS query) with the value of the
 * longest listed name that equals the host or is a whole-label suffix of
 * it: "oss-cn-hangzhou.aliyuncs.com" matches "aliyuncs.com", but
 * "evil-aliyuncs.com" does not. Case and one trailing dot are ignored on
 * both sides.
 *
 * Ownership: the table copies the names it is given and never owns the
 * values. Threads: built by one thread; lookups from any number of threads
 * once built (they only read).
 */
#ifndef LOOPHOLE_NAMES_H
#define LOOPHOLE_NAMES_H

#include <stddef.h>

#define NAMES_MAX_LEN 253 /* longest DNS name in text form */

typedef struct names_table names_table;

names_table *names_new(void);
void names_free(names_table *t);

/* Adds name (len bytes; a leading "*." or "." is accepted and means the
 * same as the bare name). When the name is already present its value is
 * replaced and the old one returned in *old. Returns 0, or -1 with a static
 * reason in *why: empty, too long, an empty label, or a byte that is not
 * a letter, digit, '-', '_' or '.'. */
int names_add(names_table *t, const char *name, size_t len, void *value, void **old,
              const char **why);

/* The value of the longest listed suffix of host, or NULL. Host names from
 * the wire may hold anything; they simply do not match. */
void *names_match(const names_table *t, const char *host, size_t len);

size_t names_count(const names_table *t);

#endif
