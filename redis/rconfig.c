/* rconfig.c -- the rows of the [redis] keys (see rconfig.h). */
#include "rconfig.h"

#include "base/setting.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define SEC UINT64_C(1000000)

#define F(field) offsetof(rconfig, field)

static const setting_key rconfig_rows[] = {
    {"redis", "url", "--redis", SETTING_REDIS_URL, SETTING_W_INT, 0, F(url), 0, 0, 0, NULL, NULL},
    {"redis", "prefix", NULL, SETTING_STRING, SETTING_W_INT, SETTING_KEEP_EMPTY, F(prefix), 0, 0, 0,
     "lh:", NULL},
    {"redis", "stream_maxlen", NULL, SETTING_INT, SETTING_W_U64, 0, F(stream_maxlen), 0, 0,
     UINT64_MAX, "100000", NULL},
    {"redis", "alert_retention", NULL, SETTING_DURATION, SETTING_W_U64, 0, F(alert_retention_us), 0,
     SEC, UINT64_MAX, "30d", NULL},
    {"redis", "keep", NULL, SETTING_BOOL, SETTING_W_INT, 0, F(keep), 0, 0, 1, NULL, NULL},
    {"redis", "journal", NULL, SETTING_STRING, SETTING_W_INT, 0, F(journal_path), 0, 0, 0, NULL,
     NULL},
    {"redis", "journal_max", NULL, SETTING_SIZE, SETTING_W_U64, 0, F(journal_max_bytes), 0, MiB,
     UINT64_MAX, "1GiB", NULL},
    {"redis", "flows", NULL, SETTING_BOOL, SETTING_W_INT, 0, F(flows), 0, 0, 1, NULL, NULL},
    {"redis", "queue", NULL, SETTING_SIZE, SETTING_W_U64, 0, F(queue_bytes), 0, 64 * KiB,
     1024 * MiB, "4MiB", NULL},
    {"redis", "peers", NULL, SETTING_STRING, SETTING_W_INT, 0, F(peers), 0, 0, 0, NULL, NULL},
    {"redis", "peer_timeout", NULL, SETTING_DURATION, SETTING_W_U64, 0, F(peer_timeout_us), 0,
     5 * SEC, UINT64_MAX, "60s",
     "none found: a sensor publishes its watermark every second (redis/peers.h), so 60 s is "
     "sixty missed beats and twelve times the writer's longest reconnect backoff (5 s), while "
     "small next to the 30 min flow_active_timeout that live settling already waits"},
};

const setting_key *rconfig_settings(size_t *n)
{
    *n = sizeof(rconfig_rows) / sizeof(rconfig_rows[0]);
    return rconfig_rows;
}
