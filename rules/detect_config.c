/* detect_config.c -- the rules' [thresholds] keys (see detect_config.h).
 *
 * One row per key: its type, bounds and default, and `source`, where the
 * default comes from. docs/rules.md ("Thresholds and their sources") is
 * the same table for readers; tests/unit/test_config.c checks that every
 * row here has a source and that the two tables give the same defaults.
 */
#include "detect_config.h"

#include "base/setting.h"

#define SEC UINT64_C(1000000)

#define D(field) .off = offsetof(detect_config, field)

/* clang-format off */
static const setting detect_rows[] = {
    {.section = "thresholds", .name = "egress_bytes", .kind = SETTING_SIZE,
     .width = SETTING_W_U64, D(egress_bytes), .min = 1, .max = UINT64_MAX, .def = "1GiB",
     .source = "the smallest useful LLM checkpoint: a 0.5B model in bf16 is ~1 GB, a 7B one ~14 GB (detection-notes.md); logs and metrics of an hour are megabytes"},
    {.section = "thresholds", .name = "egress_window", .kind = SETTING_DURATION,
     .width = SETTING_W_U64, D(egress_window_us), .min = SEC, .max = UINT64_MAX, .def = "1h",
     .source = "RITA's shortest long-connection tier (1 h; detection-notes.md)"},
    {.section = "thresholds", .name = "fanout_hosts", .kind = SETTING_INT,
     .width = SETTING_W_U32, D(fanout_hosts), .min = 1, .max = UINT32_MAX, .def = "5",
     .source = "interface.md section 5 default; the grade (where the controller is), not the count, separates a company's bastion or CI"},
    {.section = "thresholds", .name = "fanout_window", .kind = SETTING_DURATION,
     .width = SETTING_W_U64, D(fanout_window_us), .min = SEC, .max = UINT64_MAX, .def = "1d",
     .source = "interface.md section 5 default"},
    {.section = "thresholds", .name = "fanin_networks", .kind = SETTING_INT,
     .width = SETTING_W_U32, D(fanin_networks), .min = 1, .max = UINT32_MAX, .def = "6",
     .source = "interface.md section 5 default"},
    {.section = "thresholds", .name = "fanin_window", .kind = SETTING_DURATION,
     .width = SETTING_W_U64, D(fanin_window_us), .min = SEC, .max = UINT64_MAX, .def = "1d",
     .source = "interface.md section 5 default"},
    {.section = "thresholds", .name = "proxy_latency_ms", .kind = SETTING_DURATION,
     .width = SETTING_W_U64, .flags = SETTING_BARE_MS, D(proxy_latency_us), .min = 1000,
     .max = UINT64_MAX, .def = "25",
     .source = "above the p99.9 of handshake RTT jitter on a stable path (+19.5 ms, CalcuLatency's data) and Xue et al.'s 15 ms (NDSS 2025); 25 ms of extra RTT puts the user at least ~2,500 km beyond the relay"},
    {.section = "thresholds", .name = "stepping_delta_ms", .kind = SETTING_DURATION,
     .width = SETTING_W_U64, .flags = SETTING_BARE_MS, D(stepping_delta_us), .min = 1000,
     .max = UINT64_MAX, .def = "80",
     .source = "Zhang and Paxson, \"Detecting Stepping Stones\", USENIX Security 2000"},
    {.section = "thresholds", .name = "footprint_services", .kind = SETTING_INT,
     .width = SETTING_W_U32, D(footprint_services), .min = 1, .max = 10000, .def = "3",
     .source = "no published distribution: one or two mirrors are set by hand anywhere, three China-only services rarely are; low severity"},
    {.section = "thresholds", .name = "footprint_window", .kind = SETTING_DURATION,
     .width = SETTING_W_U64, D(footprint_window_us), .min = SEC, .max = UINT64_MAX, .def = "1d",
     .source = "no published distribution"},
    {.section = "thresholds", .name = "ai_relay_clients", .kind = SETTING_INT,
     .width = SETTING_W_U32, D(ai_relay_clients), .min = 1, .max = 10000, .def = "20",
     .source = "20 clients an hour each matched keep chance matches (rate x lag per request) from adding up (docs/rules.md, ai_api_relay)"},
    {.section = "thresholds", .name = "ai_relay_window", .kind = SETTING_DURATION,
     .width = SETTING_W_U64, D(ai_relay_window_us), .min = SEC, .max = UINT64_MAX, .def = "1h",
     .source = "no published distribution"},
    {.section = "thresholds", .name = "ai_relay_lag_ms", .kind = SETTING_DURATION,
     .width = SETTING_W_U64, .flags = SETTING_BARE_MS, D(ai_relay_lag_us), .min = 1000,
     .max = 60 * SEC, .def = "2s",
     .source = "a client in China 150-250 ms from the relay needs 2-3 round trips before its request (TCP, TLS), plus the relay's own work"},
    {.section = "thresholds", .name = "tunnel_min_duration", .kind = SETTING_DURATION,
     .width = SETTING_W_U64, D(tunnel_min_us), .min = SEC, .max = UINT64_MAX, .def = "2m",
     .source = "tunnel agents hold their connection for hours and send heartbeats every 10 s (ngrok) to 60 s (Tailscale DERP)"},
    {.section = "thresholds", .name = "tunnel_bursts", .kind = SETTING_INT,
     .width = SETTING_W_U32, D(tunnel_bursts), .min = 1, .max = UINT32_MAX, .def = "4",
     .source = "tunnel agents send heartbeats every 10 s (ngrok) to 60 s (Tailscale DERP); heartbeats alone are graded low by the rule"},
    {.section = "thresholds", .name = "tunnel_min_bytes", .kind = SETTING_SIZE,
     .width = SETTING_W_U64, D(tunnel_min_bytes), .min = 1, .max = UINT64_MAX, .def = "4KiB",
     .source = "a tunnel that lives and carries something; heartbeats alone are graded low by the rule"},
};
/* clang-format on */

const setting *detect_settings(size_t *n)
{
    *n = sizeof(detect_rows) / sizeof(detect_rows[0]);
    return detect_rows;
}
