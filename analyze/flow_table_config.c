/* flow_table_config.c -- the keys of the flow table: [capture] max_flows
 * and the record timeouts of [thresholds], rows (base/setting.h) with
 * offsets into flow_table_config (flow_table.h).
 *
 * app/config.c parses them into the sensor's configuration; app/sensor.c
 * gives each worker's table its share of max_flows, which the key states
 * for the whole sensor. What no key sets (linger_us) is set by
 * flow_table_config_init(), before the rows' defaults.
 */
#include "flow_table.h"

#include <stddef.h>

#include "base/setting.h"

#define SEC UINT64_C(1000000)

#define F(field) offsetof(flow_table_config, field)

static const setting_key flow_table_rows[] = {
    {"capture", "max_flows", "--max-flows", SETTING_INT, SETTING_W_U32, 0, F(max_flows), 0, 1,
     UINT32_MAX, "1000000", NULL},
    {"thresholds", "flow_idle_timeout", NULL, SETTING_DURATION, SETTING_W_U64, 0, F(idle_us), 0,
     SEC, UINT64_MAX, "120s",
     "longer than the 15 s inactive timeout of NetFlow exporters (JUNOSe ip flow-cache timeout "
     "inactive), so an interactive session's pauses stay in one record; as long as sshd's "
     "LoginGraceTime (120 s, sshd_config(5)), so a login left waiting until sshd drops it is one "
     "record; also interface.md section 5"},
    {"thresholds", "flow_active_timeout", NULL, SETTING_DURATION, SETTING_W_U64, 0, F(active_us), 0,
     SEC, UINT64_MAX, "30m",
     "the NetFlow and cflowd active-timeout default, 1800 s (JUNOS flow-active-timeout, JUNOSe ip "
     "flow-cache timeout active), also interface.md section 5"},
};

const setting_key *flow_table_settings(size_t *n)
{
    *n = sizeof(flow_table_rows) / sizeof(flow_table_rows[0]);
    return flow_table_rows;
}

void flow_table_config_init(void *cfg)
{
    flow_table_config *c = cfg;

    c->linger_us = 5 * SEC;
}
