/* geo.h -- country and AS of an address, from MaxMind-format databases.
 *
 * A geo_db is an ordered set of .mmdb files opened with libmaxminddb:
 * GeoIP2/GeoLite2 Country, City and ASN layouts and loophole's own merged
 * database (which uses the same field names in one record). A lookup takes
 * the country (`country/iso_code`, else `registered_country/iso_code`)
 * from the first database that has one for the address, and the AS
 * (`autonomous_system_number`, `autonomous_system_organization`) likewise,
 * so a Country file and an ASN file together answer like the merged one.
 *
 * Private, loopback, link-local, multicast, documentation and other
 * reserved ranges are never looked up: geo_special() names them.
 *
 * Ownership: the geo_db owns its mapped files. geo_info is a plain value
 * the caller owns: strings are copied into it, so it outlives the lookup.
 * Threads: open and free from one thread; lookups from any number of
 * threads at once (libmaxminddb only reads the mapping).
 */
#ifndef LOOPHOLE_GEO_H
#define LOOPHOLE_GEO_H

#include <stddef.h>
#include <stdint.h>

#include "base/pkt_addr.h"

#define GEO_ORG_MAX 96 /* longer organisation names are cut at a UTF-8 boundary */

/* Labels of special ranges; they take the place of the category. */
#define GEO_PRIVATE       "private"
#define GEO_LOOPBACK      "loopback"
#define GEO_MULTICAST     "multicast"
#define GEO_DOCUMENTATION "documentation"
#define GEO_RESERVED      "reserved"

typedef struct geo_info {
    char country[3];          /* ISO 3166 alpha-2, "" when unknown */
    uint32_t asn;             /* 0 when unknown */
    char as_org[GEO_ORG_MAX]; /* "" when unknown */
} geo_info;

typedef struct geo_db geo_db;

/* Opens every path in order. Returns NULL with "PATH: reason" in err for
 * the first file that is missing, unreadable or not a valid database
 * (libmaxminddb's own check of the metadata and search tree, then a probe
 * lookup). n == 0 gives an empty set whose lookups find nothing. */
geo_db *geo_db_open(const char *const *paths, int n, char *err, size_t errlen);
void geo_db_free(geo_db *db);

/* Fills out (zeroed first) for a. Returns 1 when any database knew
 * something about a, else 0. Does not check geo_special(). */
int geo_db_lookup(const geo_db *db, const pkt_addr *a, geo_info *out);

/* The label of a special-purpose range holding a (IANA IPv4 and IPv6
 * special-purpose registries; documentation ranges RFC 5737, 3849, 9637),
 * or NULL for a global address. */
const char *geo_special(const pkt_addr *a);

/* The default database: the first of `datadir`/loophole-geo.mmdb and
 * `srcdir`/data/geo/loophole-geo.mmdb that exists (either may be NULL).
 * Writes the path into buf and returns buf, or returns NULL. */
const char *geo_default_db(const char *datadir, const char *srcdir, char *buf, size_t len);

#endif
