/* snapshot_config.c -- the [geo] keys: rows (base/setting.h) with
 * offsets into geo_snapshot_config (snapshot.h), the tables a snapshot
 * loads.
 *
 * app/config.c parses the INI file and the flags into the struct through
 * these rows; app/sensor.c fills in the installed defaults for what they
 * leave unset and loads the snapshot (again on SIGHUP).
 */
#include "snapshot.h"

#include "base/setting.h"

#define F(field) offsetof(geo_snapshot_config, field)

static const setting_key geo_snapshot_rows[] = {
    {"geo", "db", "--geo", SETTING_PATHS, SETTING_W_INT, 0, F(dbs), F(ndbs), 0, 0, NULL, NULL},
    {"geo", "inventory", "--inventory", SETTING_STRING, SETTING_W_INT, 0, F(inventory), 0, 0, 0,
     NULL, NULL},
    {"geo", "indicators", "--indicators", SETTING_STRING, SETTING_W_INT, 0, F(indicators_dir), 0, 0,
     0, NULL, NULL},
};

const setting_key *geo_snapshot_settings(size_t *n)
{
    *n = sizeof(geo_snapshot_rows) / sizeof(geo_snapshot_rows[0]);
    return geo_snapshot_rows;
}
