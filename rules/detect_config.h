/* detect_config.h -- what the rules read, and the [countries] and
 * [thresholds] keys that set it.
 *
 * The rules' configuration is theirs: detect_config holds the country
 * lists and every rule's threshold (durations in microseconds), and
 * detect_settings() is its key table, one row per key with its type,
 * bounds, default and, for a threshold, the source of that default
 * (base/setting.h). app/config.c parses the INI file into the struct
 * through these rows and app/sensor.c hands the struct to detect_new();
 * a new threshold is a field here and a row in detect_config.c.
 *
 * Ownership: whoever fills the struct owns the country lists
 * (app/config.c's config_free() frees them); detect_new() borrows it.
 */
#ifndef LOOPHOLE_DETECT_CONFIG_H
#define LOOPHOLE_DETECT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct setting_key; /* base/setting.h */

typedef struct detect_config {
    const char (*china)[3]; /* 2-letter codes, "XX\0" each */
    int nchina;
    const char (*relay)[3];
    int nrelay;
    uint64_t egress_bytes, egress_window_us;
    uint32_t fanout_hosts;
    uint64_t fanout_window_us;
    uint32_t fanin_networks;
    uint64_t fanin_window_us;
    uint64_t proxy_latency_us, stepping_delta_us;
    uint32_t footprint_services; /* China-oriented services of a GPU host */
    uint64_t footprint_window_us;
    uint32_t ai_relay_clients; /* China clients an AI API call followed */
    uint64_t ai_relay_window_us;
    uint64_t ai_relay_lag_us;  /* inbound start to outbound start, at most */
    uint64_t tunnel_min_us;    /* reverse_tunnel: length of the connection */
    uint32_t tunnel_bursts;    /* ON periods in it */
    uint64_t tunnel_min_bytes; /* each way */
} detect_config;

/* The rows of the rules' keys, with offsets into detect_config; *n is set
 * to their number. Static storage. */
const struct setting_key *detect_settings(size_t *n);

#endif
