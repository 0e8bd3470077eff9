/* controls.h -- the control-session rules of controls.csv.
 *
 * Which flows are control sessions (SSH, a remote desktop, a notebook, a
 * cloud console or API, a tunnel) and of which kind is data that operators
 * edit: data/indicators/controls.csv, loaded with the other indicator
 * tables (indicators_load_dir()) and reloaded with them on SIGHUP. Each
 * line is one rule:
 *
 *   kind,by,match,apps
 *   ssh,app,SSH,
 *   remote_desktop:todesk,name,todesk.com,
 *   jupyter,path,/api/kernels,
 *   vnc,port,tcp/5900-5909,Unknown
 *
 * `by` says what `match` is tested against (analyze/roles.h does the
 * matching): app = an nDPI name; name = a TLS SNI or HTTP Host (a suffix,
 * or a glob whose '*' stays within one label); path = an HTTP request path
 * prefix; port = "tcp/N", "udp/N" or "any/N" (or N-M), used only when the
 * flow's nDPI verdict is one of the '|'-separated `apps` (empty = any).
 * Rules keep their file order, and the first that matches decides, so
 * specific evidence goes above ports.
 *
 * Parsing takes bytes in memory; an error names "FILE:LINE: reason".
 * Ownership: a controls set owns its rows and strings; pointers from
 * controls_rules() live until controls_free(). Threads: built by one
 * thread, read-only afterwards.
 */
#ifndef LOOPHOLE_CONTROLS_H
#define LOOPHOLE_CONTROLS_H

#include <stddef.h>
#include <stdint.h>

enum controls_by { CONTROLS_BY_APP = 1, CONTROLS_BY_NAME, CONTROLS_BY_PATH, CONTROLS_BY_PORT };

#define CONTROLS_MAX_KIND 64

typedef struct controls_rule {
    const char *kind; /* what the record says, e.g. "remote_desktop:todesk" */
    uint8_t by;       /* enum controls_by */
    uint8_t proto;    /* port rules: 6, 17, or 0 for both */
    uint16_t port_lo; /* port rules: server port range */
    uint16_t port_hi;
    const char *pattern; /* APP: an nDPI name, matched against each part of
                            "TLS.AnyDesk", case ignored.
                            NAME: a host name; without '*' it matches the
                            name and its subdomains (like nDPI host rules);
                            with '*' it is a glob whose '*' stands for
                            characters within one label.
                            PATH: a path prefix; unless it ends in '/', the
                            path must end or go on with '/', '?' or '#'.
                            PORT: NULL. */
    const char *apps;    /* port rules: '|'-separated nDPI names the flow
                            may have ("TLS|Unknown"); NULL: any */
} controls_rule;

typedef struct controls controls;

controls *controls_new(void); /* NULL when out of memory */
void controls_free(controls *c);

/* Appends the rules of one file's content (len bytes, named `file` in
 * messages). Returns 0, or -1 with "FILE:LINE: reason" in err; the rules
 * before the bad line stay and the set must still be freed. */
int controls_parse(controls *c, const char *file, const char *buf, size_t len, char *err,
                   size_t errlen);

/* The rules in file order, *n of them. */
const controls_rule *controls_rules(const controls *c, size_t *n);

#endif
