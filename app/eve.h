/* eve.h -- alerts as Suricata EVE JSON "alert" events.
 *
 * A native alert line (interface.md section 2) enters; one EVE line
 * leaves, malloc'ed, for tools built for Suricata's eve.json (SIEM ingest
 * pipelines, EveBox-style viewers). The conversion works on the finished
 * line, so it does not depend on how rules assemble their alerts. The
 * mapping is documented in docs/siem.md; each rule's signature_id is fixed
 * in the table of eve.c and listed there.
 */
#ifndef LOOPHOLE_EVE_H
#define LOOPHOLE_EVE_H

#include <stddef.h>
#include <stdint.h>

/* One rule's EVE identity. */
typedef struct eve_rule {
    const char *rule; /* loophole rule id */
    uint32_t sid;     /* alert.signature_id */
    const char *signature;
} eve_rule;

/* The signature_id of alerts whose rule is not in the table (a rule added
 * without an entry); the rule id stays in loophole.rule. */
#define EVE_SID_UNLISTED 1797999u

/* The table, and its length in *n. */
const eve_rule *eve_rules(size_t *n);

/* EVE line for the native alert line[0..len), malloc'ed, without newline;
 * *outlen gets its length. NULL when the line is not a JSON object or
 * memory ran out. */
char *eve_from_alert(const char *line, size_t len, size_t *outlen);

#endif
