/* fuzz_http_req.c -- libFuzzer harness for the wire parsers of the
 * per-flow analysis: HTTP request lines (analyze/http_req.c), the control
 * session path rules they feed (analyze/roles.c), the SSH key-exchange
 * reply check (analyze/timing.c), the fully-encrypted test (analyze/fep.c),
 * whose verdict must be one of its own, and the HTTP status line of the
 * session evidence (analyze/session.c; the rest of session_packet() runs
 * under fuzz_flow through the worker). UDP channels (analyze/udpctl.c)
 * have their own harness, fuzz_udpctl.
 *
 * Input: a client payload, parsed from a heap copy of exactly its bytes so
 * AddressSanitizer sees any read past them. Invariants of a successful
 * parse trap when broken: method and path lie inside the input, the path
 * starts with '/', and the method is upper-case letters.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/fep.h"
#include "analyze/http_req.h"
#include "analyze/roles.h"
#include "analyze/session.h"
#include "analyze/timing.h"
#include "geo/controls.h"

/* The path rules of the shipped controls.csv, kept in step by hand: the
 * harness runs without the source tree. */
static const char fuzz_rules[] = "kind,by,match,apps\n"
                                 "jupyter,path,/api/kernels,\n"
                                 "jupyter,path,/lab,\n"
                                 "jupyter,path,/hub/,\n"
                                 "tensorboard,path,/data/plugins_listing,\n"
                                 "kubernetes,path,/apis/,\n"
                                 "tunnel:frp,path,/~!frp,\n"
                                 "ssh,port,tcp/22,Unknown\n";

static const roles_table *fuzz_table(void)
{
    static controls *c;
    static roles_table t;
    char err[256];

    if (c == NULL) {
        if ((c = controls_new()) == NULL ||
            controls_parse(c, "rules", fuzz_rules, sizeof(fuzz_rules) - 1, err, sizeof(err)) != 0)
            __builtin_trap();
        t.rules = controls_rules(c, &t.n);
    }
    return &t;
}

static int fuzz_inside(const uint8_t *b, size_t len, const uint8_t *p, size_t n)
{
    return p >= b && n <= len && (size_t)(p - b) <= len - n;
}

static void fuzz_check(const uint8_t *b, size_t len, const http_req *r)
{
    if (!fuzz_inside(b, len, r->method, r->method_len) || r->method_len < 3)
        __builtin_trap();
    for (size_t i = 0; i < r->method_len; i++)
        if (r->method[i] < 'A' || r->method[i] > 'Z')
            __builtin_trap();
    /* An absolute-form target without a path gives a static "/". */
    if (r->path_len == 1 && r->path[0] == '/')
        return;
    if (!fuzz_inside(b, len, r->path, r->path_len) || r->path_len == 0 || r->path[0] != '/')
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size ? size : 1);
    http_req r;

    if (b == NULL)
        return 0;
    memcpy(b, data, size);
    if (http_req_parse(b, size, &r)) {
        fuzz_check(b, size, &r);
        int i = roles_match_path(fuzz_table(), r.path, r.path_len);
        if (i >= (int)fuzz_table()->n)
            __builtin_trap();
    }
    (void)timing_ssh_kex_reply(b, size);
    int code = session_http_status(b, size);
    if (code < 0 || code > 999)
        __builtin_trap();
    int v = fep_check(b, size);
    if (v < FEP_FULLY_ENCRYPTED || v > FEP_PROTOCOL || (size < FEP_MIN_LEN && v != FEP_SHORT))
        __builtin_trap();
    free(b);
    return 0;
}
