/* geo.c -- MaxMind database lookups and special ranges (see geo.h).
 *
 * The databases are mapped (MMDB_MODE_MMAP), so opening costs no reading
 * and several workers share the pages. Per lookup: one tree walk per file
 * until both country and AS are known, then up to three MMDB_get_value()
 * calls. The per-worker cache in geo/cache.c sits in front of this.
 */
#include "geo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct geo_db {
    MMDB_s *files;
    int n;
};

void geo_db_free(geo_db *db)
{
    if (db == NULL)
        return;
    for (int i = 0; i < db->n; i++)
        MMDB_close(&db->files[i]);
    free(db->files);
    free(db);
}

/* A lookup that walks the tree and decodes a record: a truncated or
 * garbled file fails here even when its metadata was readable. */
static int geo_probe(MMDB_s *m, const char *path, char *err, size_t errlen)
{
    static const char *const probes[] = {"1.1.1.1", "8.8.8.8", "2001:4860::1"};
    int gai, status;

    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        MMDB_lookup_result_s r = MMDB_lookup_string(m, probes[i], &gai, &status);
        if (status == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
            continue;
        if (status != MMDB_SUCCESS) {
            snprintf(err, errlen, "%s: corrupt database: %s", path, MMDB_strerror(status));
            return -1;
        }
        MMDB_entry_data_list_s *list = NULL;
        if (r.found_entry && (status = MMDB_get_entry_data_list(&r.entry, &list)) != MMDB_SUCCESS) {
            snprintf(err, errlen, "%s: corrupt database: %s", path, MMDB_strerror(status));
            return -1;
        }
        MMDB_free_entry_data_list(list);
    }
    return 0;
}

static int geo_open_one(MMDB_s *m, const char *path, char *err, size_t errlen)
{
    int status;

    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s: cannot read the geo database: %s", path, strerror(errno));
        return -1;
    }
    status = MMDB_open(path, MMDB_MODE_MMAP, m);
    if (status != MMDB_SUCCESS) {
        snprintf(err, errlen, "%s: not a valid MaxMind database: %s", path,
                 status == MMDB_IO_ERROR ? strerror(errno) : MMDB_strerror(status));
        return -1;
    }
    if (geo_probe(m, path, err, errlen) != 0) {
        MMDB_close(m);
        return -1;
    }
    return 0;
}

geo_db *geo_db_open(const char *const *paths, int n, char *err, size_t errlen)
{
    geo_db *db = calloc(1, sizeof(*db));

    if (db == NULL || (n > 0 && (db->files = calloc((size_t)n, sizeof(MMDB_s))) == NULL)) {
        free(db);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (geo_open_one(&db->files[i], paths[i], err, errlen) != 0) {
            geo_db_free(db);
            return NULL;
        }
        db->n++;
    }
    return db;
}

/* Copies a UTF-8 string value, cutting at a character boundary. */
static void geo_copy_utf8(char *dst, size_t cap, const MMDB_entry_data_s *d)
{
    size_t n = d->data_size < cap - 1 ? d->data_size : cap - 1;

    if (n < d->data_size)
        while (n > 0 && ((unsigned char)d->utf8_string[n] & 0xC0) == 0x80)
            n--;
    memcpy(dst, d->utf8_string, n);
    dst[n] = '\0';
}

static void geo_country(MMDB_entry_s *e, geo_info *out)
{
    MMDB_entry_data_s d;

    if ((MMDB_get_value(e, &d, "country", "iso_code", NULL) != MMDB_SUCCESS || !d.has_data ||
         d.type != MMDB_DATA_TYPE_UTF8_STRING) &&
        (MMDB_get_value(e, &d, "registered_country", "iso_code", NULL) != MMDB_SUCCESS ||
         !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING))
        return;
    if (d.data_size == 2)
        geo_copy_utf8(out->country, sizeof(out->country), &d);
}

static void geo_as(MMDB_entry_s *e, geo_info *out)
{
    MMDB_entry_data_s d;

    if (MMDB_get_value(e, &d, "autonomous_system_number", NULL) != MMDB_SUCCESS || !d.has_data)
        return;
    if (d.type == MMDB_DATA_TYPE_UINT32)
        out->asn = d.uint32;
    else if (d.type == MMDB_DATA_TYPE_UINT16)
        out->asn = d.uint16;
    else
        return;
    if (MMDB_get_value(e, &d, "autonomous_system_organization", NULL) == MMDB_SUCCESS &&
        d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING)
        geo_copy_utf8(out->as_org, sizeof(out->as_org), &d);
}

static MMDB_lookup_result_s geo_lookup_one(MMDB_s *m, const pkt_addr *a)
{
    struct sockaddr_storage ss;
    int status;

    memset(&ss, 0, sizeof(ss));
    if (pkt_addr_is_v4(a)) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, a->b + 12, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, a->b, 16);
    }
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(m, (struct sockaddr *)&ss, &status);
    if (status != MMDB_SUCCESS)
        r.found_entry = 0; /* IPv6 in an IPv4-only file, or a damaged tree */
    return r;
}

int geo_db_lookup(const geo_db *db, const pkt_addr *a, geo_info *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < db->n && (out->country[0] == '\0' || out->asn == 0); i++) {
        MMDB_lookup_result_s r = geo_lookup_one(&db->files[i], a);
        if (!r.found_entry)
            continue;
        if (out->country[0] == '\0')
            geo_country(&r.entry, out);
        if (out->asn == 0)
            geo_as(&r.entry, out);
    }
    return out->country[0] != '\0' || out->asn != 0;
}

typedef struct geo_range {
    uint8_t net[16];
    uint8_t bits; /* of the 128-bit form: IPv4 ranges are ::ffff:a.b.c.d/96+n */
    const char *label;
} geo_range;

#define V4(a, b, c, d, n)         {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d}, 96 + (n)
#define V6(hi0, hi1, hi2, hi3, n) {hi0, hi1, hi2, hi3}, n

/* Most specific first where ranges nest (::1 inside ::/8). */
static const geo_range geo_ranges[] = {
    {V4(0, 0, 0, 0, 8), GEO_RESERVED},
    {V4(10, 0, 0, 0, 8), GEO_PRIVATE},
    {V4(100, 64, 0, 0, 10), GEO_PRIVATE},
    {V4(127, 0, 0, 0, 8), GEO_LOOPBACK},
    {V4(169, 254, 0, 0, 16), GEO_PRIVATE},
    {V4(172, 16, 0, 0, 12), GEO_PRIVATE},
    {V4(192, 0, 0, 0, 24), GEO_RESERVED},
    {V4(192, 0, 2, 0, 24), GEO_DOCUMENTATION},
    {V4(192, 168, 0, 0, 16), GEO_PRIVATE},
    {V4(198, 18, 0, 0, 15), GEO_RESERVED},
    {V4(198, 51, 100, 0, 24), GEO_DOCUMENTATION},
    {V4(203, 0, 113, 0, 24), GEO_DOCUMENTATION},
    {V4(224, 0, 0, 0, 4), GEO_MULTICAST},
    {V4(240, 0, 0, 0, 4), GEO_RESERVED},
    {{0}, 128, GEO_RESERVED}, /* :: */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, GEO_LOOPBACK},
    {V6(0, 0, 0, 0, 8), GEO_RESERVED},        /* ::/8 but ::ffff:0:0/96 is IPv4 */
    {V6(0x01, 0x00, 0, 0, 64), GEO_RESERVED}, /* 100::/64 discard */
    {V6(0x20, 0x01, 0x0d, 0xb8, 32), GEO_DOCUMENTATION},
    {V6(0x3f, 0xff, 0, 0, 20), GEO_DOCUMENTATION},
    {V6(0xfc, 0, 0, 0, 7), GEO_PRIVATE},     /* unique local */
    {V6(0xfe, 0x80, 0, 0, 10), GEO_PRIVATE}, /* link-local */
    {V6(0xff, 0, 0, 0, 8), GEO_MULTICAST},
};

static int geo_in_range(const pkt_addr *a, const geo_range *r)
{
    int full = r->bits / 8, rest = r->bits % 8;

    if (memcmp(a->b, r->net, (size_t)full) != 0)
        return 0;
    return rest == 0 || ((a->b[full] ^ r->net[full]) & (0xFF00 >> rest) & 0xFF) == 0;
}

const char *geo_special(const pkt_addr *a)
{
    int v4 = pkt_addr_is_v4(a);

    for (size_t i = 0; i < sizeof(geo_ranges) / sizeof(geo_ranges[0]); i++) {
        const geo_range *r = &geo_ranges[i];
        if ((r->bits >= 96 && r->net[10] == 0xff) != v4)
            continue;
        if (geo_in_range(a, r))
            return r->label;
    }
    return NULL;
}

const char *geo_default_db(const char *datadir, const char *srcdir, char *buf, size_t len)
{
    if (datadir) {
        snprintf(buf, len, "%s/loophole-geo.mmdb", datadir);
        if (access(buf, F_OK) == 0)
            return buf;
    }
    if (srcdir) {
        snprintf(buf, len, "%s/data/geo/loophole-geo.mmdb", srcdir);
        if (access(buf, F_OK) == 0)
            return buf;
    }
    return NULL;
}
