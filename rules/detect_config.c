/* detect_config.c -- the rules' [countries] and [thresholds] keys (see
 * detect_config.h).
 *
 * One row per key: its type, bounds and default, and for a threshold
 * `source`, where the default comes from. docs/rules.md ("Thresholds and
 * their sources") is the same table for readers; tests/unit/test_config.c
 * checks that every threshold here has a source and that the two tables
 * give the same defaults.
 */
#include "detect_config.h"

#include "base/setting.h"

#define SEC UINT64_C(1000000)

/* The start of a [thresholds] row: key name, kind and width (base/setting.h
 * without their prefixes), flags, the field of detect_config, bounds and
 * default; the row adds its source. */
#define T(name_, kind_, width_, flags_, field_, min_, max_, def_)                                  \
    .section = "thresholds", .name = name_, .kind = SETTING_##kind_, .width = SETTING_W_##width_,  \
    .flags = flags_, .off = offsetof(detect_config, field_), .min = min_, .max = max_, .def = def_

static const setting_key detect_rows[] = {
    /* The countries the rules are about (the graph reads them too). */
    {.section = "countries",
     .name = "china",
     .kind = SETTING_COUNTRIES,
     .width = SETTING_W_INT,
     .off = offsetof(detect_config, china),
     .off_n = offsetof(detect_config, nchina),
     .def = "CN"},
    {.section = "countries",
     .name = "relay",
     .kind = SETTING_COUNTRIES,
     .width = SETTING_W_INT,
     .off = offsetof(detect_config, relay),
     .off_n = offsetof(detect_config, nrelay),
     .def = "HK,MO,SG,TW,JP,KR,MY"},
    {T("egress_bytes", SIZE, U64, 0, egress_bytes, 1, UINT64_MAX, "1GiB"),
     .source =
         "checkpoint sizes (parameters x 2 bytes in bf16, detection-notes.md): a 1.5B model (3.1 "
         "GB in bf16, 1.5 GB in 8 bits), a 7B (14 GB) and a 70B (140 GB) one pass 1 GiB; the "
         "smallest, a 0.5B model (Qwen2.5-0.5B: 0.49B parameters, 0.99 GB in bf16), stays just "
         "under it and passes only in fp32. An hour of a host's logs and metrics is megabytes"},
    {T("egress_window", DURATION, U64, 0, egress_window_us, SEC, UINT64_MAX, "1h"),
     .source = "RITA's shortest long-connection tier, 1 h (detection-notes.md)"},
    {T("fanout_hosts", INT, U32, 0, fanout_hosts, 1, UINT32_MAX, "5"),
     .source = "more hosts than one user's work reaches directly: a GPU host holds 8 GPUs (NVIDIA "
               "DGX H100, AWS p5.48xlarge, the 8x shapes of the GPU clouds), a multi-node job is "
               "started from one node (torchrun, Slurm; the others are reached inside the fleet), "
               "and on the corpus the busiest of 12 controllers drives 2 hosts "
               "(tests/system/thresholds_corpus.sh); a company's CI or bastion drives more, and "
               "the grade (where the controller is), not this count, keeps it low (docs/rules.md, "
               "Look-alikes); also interface.md section 5"},
    {T("fanout_window", DURATION, U64, 0, fanout_window_us, SEC, UINT64_MAX, "1d"),
     .source = "a working day in any time zone, over which a reseller's customers log in; a "
               "longer window adds up the hosts a team's deploys touch over a week; also "
               "interface.md section 5"},
    {T("fanin_networks", INT, U32, 0, fanin_networks, 1, UINT32_MAX, "6"),
     .source = "twice the networks one user works from in a day (home, office, a mobile line); "
               "on the corpus every host has one controlling network (thresholds_corpus.sh). "
               "Counts of addresses do not separate a shared account (single-user accounts seen "
               "from 1 to over 80 addresses: Scout Analytics, Detecting Unlicensed Use through IP "
               "Addresses, 2009), so only China and the relay countries count per /24 and at "
               "least one must be among them (docs/rules.md, Look-alikes); also interface.md "
               "section 5"},
    {T("fanin_window", DURATION, U64, 0, fanin_window_us, SEC, UINT64_MAX, "1d"),
     .source = "a day, under the 1-3 days in which dynamic addresses are commonly reassigned "
               "(Xie et al., How Dynamic Are IP Addresses?, SIGCOMM 2007), so one user's "
               "renumbered line adds few networks; also interface.md section 5"},
    {T("proxy_latency_ms", DURATION, U64, SETTING_BARE_MS, proxy_latency_us, 1000, UINT64_MAX,
       "25"),
     .source = "above the p99.9 of handshake RTT jitter on a stable path (+19.5 ms, CalcuLatency's "
               "data) and Xue et al.'s binarisation at 15 ms (NDSS 2025), detection-notes.md; 25 "
               "ms of extra RTT puts the user at least ~2,500 km beyond the relay (light in fibre, "
               "~100 km per ms of RTT)"},
    {T("stepping_delta_ms", DURATION, U64, SETTING_BARE_MS, stepping_delta_us, 1000, UINT64_MAX,
       "80"),
     .source = "Zhang and Paxson, \"Detecting Stepping Stones\", USENIX Security 2000: delta = 80 "
               "ms (detection-notes.md)"},
    {T("footprint_services", INT, U32, 0, footprint_services, 1, 10000, "3"),
     .source = "more than the mirrors a user outside China sets by hand for speed (pip's index "
               "and conda's channels are two settings: 2 services), with the host a GPU host "
               "besides; the rule is low severity either way"},
    {T("footprint_window", DURATION, U64, 0, footprint_window_us, SEC, UINT64_MAX, "1d"),
     .source = "the GPU-behaviour evidence it joins is kept a day (DETECT_BEHAVIOR_WINDOW_US), "
               "so the marker gpu and the services are counted over the same span"},
    {T("ai_relay_clients", INT, U32, 0, ai_relay_clients, 1, 10000, "20"),
     .source = "chance matches: a host calling an AI API for its own jobs every T s (new "
               "connections) matches a visitor's request with p = (lag/T)(1 - lag/T); once a "
               "minute (p 3 %), 100 visitors from China in the hour reach 20 with probability "
               "6e-11, 200 with 1e-5 (binomial); every 20 s (p 9 %): 5e-4 and 0.34, a blind spot "
               "(docs/rules.md, ai_api_relay)"},
    {T("ai_relay_window", DURATION, U64, 0, ai_relay_window_us, SEC, UINT64_MAX, "1h"),
     .source = "the per-flow alert window (1 h): a relay's clients come seconds to minutes apart, "
               "so an hour holds 20 of a busy relay's many times over, while the start sets kept "
               "per host and window stay bounded (EVENTS_KEPT)"},
    {T("ai_relay_lag_ms", DURATION, U64, SETTING_BARE_MS, ai_relay_lag_us, 1000, 60 * SEC, "2s"),
     .source =
         "a protocol and physics bound: a client in China reaches a relay in the US or Europe over "
         "8,000-11,000 km of great circle, at least 80-110 ms of RTT in fibre (~100 km per ms of "
         "RTT), 150-250 ms on real paths (JA4L's path factor 1.5-2, detection-notes.md); its "
         "request comes after the TCP handshake and a TLS 1.3 1-RTT handshake (RFC 9293, RFC 8446 "
         "2), so 2-3 round trips; the relay's own work on top has no published figure"},
    {T("tunnel_min_duration", DURATION, U64, 0, tunnel_min_us, SEC, UINT64_MAX, "2m"),
     .source = "agents' keep-alive intervals: ngrok heartbeat_interval 10 s (ngrok agent "
               "configuration), frp 30 s (tcpMux keep-alive, or heartbeatInterval without it; frp "
               "pkg/config/v1/client.go), Tailscale DERP keep-alive frames every 60 s (tailscale "
               "derp/derp.go); 2 minutes hold at least 2 of the slowest. The rule's heartbeat "
               "test, not this length, grades an idle agent low"},
    {T("tunnel_bursts", INT, U32, 0, tunnel_bursts, 1, UINT32_MAX, "4"),
     .source = "a floor, not the separator: it only asks that something happened more than a few "
               "times; an idle ngrok agent makes 12 ON periods in 2 minutes of heartbeats (10 s), "
               "so the rule's heartbeat test, not this count, grades an idle agent low"},
    {T("tunnel_min_bytes", SIZE, U64, 0, tunnel_min_bytes, 1, UINT64_MAX, "4KiB"),
     .source = "a floor, not the separator: it only asks for data each way; heartbeats are tens "
               "of bytes each (a DERP keep-alive frame is a 5-byte header in a TLS record), so an "
               "idle agent passes it within the hour and the heartbeat test grades it"},
};

const setting_key *detect_settings(size_t *n)
{
    *n = sizeof(detect_rows) / sizeof(detect_rows[0]);
    return detect_rows;
}
