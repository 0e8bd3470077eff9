/* capture_config.c -- the [capture] keys of the capture thread: rows
 * (base/setting.h) with offsets into capture_config (capture.h).
 *
 * app/config.c parses the INI file and the flags into the struct through
 * these rows; app/sensor.c adds the -r files and hands the struct to
 * capture_new(). What no key sets (the live read timeout, the decoder's
 * limits) is set by capture_config_init(), before the rows' defaults.
 */
#include "capture.h"

#include <stddef.h>

#include "base/setting.h"

#define MiB (UINT64_C(1) << 20)

#define F(field) offsetof(capture_config, field)

static const setting_key capture_rows[] = {
    {"capture", "interface", "-i", SETTING_STRING, SETTING_W_INT, 0, F(interface), 0, 0, 0, NULL,
     NULL},
    {"capture", "filter", "-f", SETTING_STRING, SETTING_W_INT, 0, F(filter), 0, 0, 0, NULL, NULL},
    {"capture", "snaplen", "--snaplen", SETTING_INT, SETTING_W_INT, 0, F(live.snaplen), 0, 64,
     262144, "262144", "libpcap's and tcpdump's MAXIMUM_SNAPLEN, enough for any frame"},
    /* libpcap takes the buffer size as an int */
    {"capture", "buffer", "--buffer", SETTING_SIZE, SETTING_W_U64, 0, F(live.buffer_bytes), 0, MiB,
     2047 * MiB, "256MiB", NULL},
    {"capture", "promiscuous", NULL, SETTING_BOOL, SETTING_W_INT, 0, F(live.promiscuous), 0, 0, 1,
     "yes", NULL},
    {"capture", "vxlan_port", NULL, SETTING_INT, SETTING_W_U16, 0, F(decode.vxlan_port), 0, 0,
     65535, "4789", "the IANA port of VXLAN (RFC 7348 5)"},
    {"capture", "geneve_port", NULL, SETTING_INT, SETTING_W_U16, 0, F(decode.geneve_port), 0, 0,
     65535, "6081", "the IANA port of Geneve (RFC 8926 3.3)"},
    {"capture", "wait_interface", NULL, SETTING_BOOL, SETTING_W_INT, 0, F(wait_interface), 0, 0, 1,
     NULL, NULL},
};

const setting_key *capture_settings(size_t *n)
{
    *n = sizeof(capture_rows) / sizeof(capture_rows[0]);
    return capture_rows;
}

void capture_config_init(void *cfg)
{
    capture_config *c = cfg;

    decode_config_defaults(&c->decode);
    c->live.timeout_ms = 100; /* so the loop ticks while a live interface is quiet */
}
