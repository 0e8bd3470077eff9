/* fuzz_flow.c -- libFuzzer harness for the packet path after decoding:
 * flow key, flow table, nDPI hand-off and flow records.
 *
 * The input is a short capture: one byte choosing the link type, then
 * frames, each as a little-endian 16-bit length, one control byte and the
 * frame's bytes. Control byte: bits 0-5 advance packet time by that many
 * 50 ms steps, bit 6 by 200 s more (idle and active timeouts fire), bit 7
 * sends a tick after the frame. Each frame goes through the sensor's own
 * code: decode_packet(), flow_key_make()/flow_key_hash(), capture_rec_fill()
 * into a record of exactly its size (so AddressSanitizer sees any read past
 * it), and worker_process() -- flow table, dpi_packet(), and the record
 * writer when flows end. An end record flushes every flow after the last
 * frame.
 *
 * The worker is created once (nDPI's set-up is slow) with a table of 8
 * flows, so eviction happens, and the shipped indicator tables of the
 * source tree it was built from (so the control-session rules of
 * controls.csv match names, paths and ports). Its flow records go to a memory file; after
 * each input every line must be one JSON object whose packet counters add
 * up to the packets the worker was given, and the table must be empty.
 */
#include <jansson.h>
#include <pcap/dlt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analyze/worker.h"
#include "base/output.h"
#include "capture/capture.h"
#include "capture/decode.h"
#include "capture/flow_key.h"
#include "base/stats.h"
#include "geo/snapshot.h"

static const int fuzz_dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
                                DLT_IPV4,   DLT_IPV6,      DLT_NULL,       DLT_LOOP};

typedef struct fuzz_state {
    geo_holder *geo;
    decoder *dec;
    worker *w;
    output *out;
    int memfd;
    off_t read_off; /* records before this offset were checked */
    uint64_t ts;
} fuzz_state;

/* The flows file, as the sensor's sink writes it. */
static void fuzz_sink_flows(void *ctx, worker_end *e)
{
    size_t len;
    const char *line = worker_end_line(e, &len);

    if (line)
        output_write(ctx, line, len);
}

static int fuzz_setup(fuzz_state *st)
{
    char err[512], path[64];
    decode_config dc;

    decode_config_defaults(&dc);
    dc.frag_slots = 16;
    st->memfd = memfd_create("fuzz_flow", 0);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", st->memfd);
    st->dec = decode_new(&dc);
    st->out = output_open(path, err, sizeof(err));
    geo_snapshot_config gc = {.indicators_dir = LOOPHOLE_SRCDIR "/data/indicators"};
    geo_snapshot *snap = LOOPHOLE_SRCDIR[0] ? geo_snapshot_load(&gc, err, sizeof(err)) : NULL;
    if (snap != NULL && (st->geo = geo_holder_new()) != NULL)
        geo_holder_publish(st->geo, snap);
    else
        geo_snapshot_unref(snap);
    worker_config wc = {
        .table = {.max_flows = 8,
                  .idle_us = 120000000,
                  .active_us = 600000000,
                  .linger_us = 5000000},
        .sensor = "fuzz",
        .geo = st->geo,
        .geo_cache_entries = 64,
        .sinks = {{fuzz_sink_flows, st->out}},
        .nsinks = 1,
    };
    st->w = worker_new(&wc, err, sizeof(err));
    st->ts = 1700000000ull * 1000000u;
    return st->memfd >= 0 && st->dec && st->out && st->w ? 0 : -1;
}

static void fuzz_control(fuzz_state *st, uint32_t kind)
{
    capture_rec rec;

    memset(&rec, 0, sizeof(rec));
    rec.kind = kind;
    rec.now_us = st->ts;
    worker_process(st->w, &rec);
}

/* One frame through decode and the worker. Returns 1 when the worker got it. */
static int fuzz_frame(fuzz_state *st, const uint8_t *data, size_t len)
{
    uint8_t *frame = malloc(len ? len : 1);
    packet p;
    int given = 0;

    if (frame == NULL)
        return 0;
    memcpy(frame, data, len);
    memset(&p, 0, sizeof(p));
    p.ts_us = st->ts;
    p.caplen = p.wirelen = (uint32_t)len;
    p.data = frame;
    if (decode_packet(st->dec, &p) == DECODE_OK) {
        size_t n = p.caplen - p.l3_off;
        capture_rec *rec = malloc(sizeof(*rec) + n);
        if (rec) {
            capture_rec_fill(rec, &p, n, st->ts);
            worker_process(st->w, rec);
            free(rec);
            given = 1;
        }
    }
    free(frame);
    return given;
}

/* Every record written since the last call: valid JSON objects whose
 * packet counts add up to `given`. */
static void fuzz_check_records(fuzz_state *st, uint64_t given)
{
    uint64_t counted = 0;

    if (output_flush(st->out) != 0)
        abort();
    off_t size = lseek(st->memfd, 0, SEEK_END) - st->read_off;
    char *text = malloc((size_t)size + 1);
    if (text == NULL || pread(st->memfd, text, (size_t)size, st->read_off) != size)
        abort();
    text[size] = '\0';
    for (char *line = text, *nl; *line; line = nl + 1) {
        if ((nl = strchr(line, '\n')) == NULL)
            abort(); /* a record without its newline */
        *nl = '\0';
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!json_is_object(o))
            abort();
        counted += (uint64_t)json_integer_value(json_object_get(o, "pkts_c2s")) +
                   (uint64_t)json_integer_value(json_object_get(o, "pkts_s2c"));
        json_decref(o);
    }
    free(text);
    if (counted != given || STAT_GET(worker_flow_stats(st->w)->active) != 0)
        abort();
    /* The output writes on at its own offset; give back the memory of
     * what has been read, so long runs stay small. */
    st->read_off += size;
    if (st->read_off > 0 && /* a zero length is EINVAL */
        fallocate(st->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, st->read_off) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fuzz_state st;
    static int ready;
    uint64_t given = 0;
    size_t i = 1;

    if (!ready) {
        if (fuzz_setup(&st) != 0)
            abort();
        ready = 1;
    }
    if (size < 1 || size > 256 * 1024)
        return 0;
    decode_set_linktype(st.dec, fuzz_dlts[data[0] % (sizeof(fuzz_dlts) / sizeof(fuzz_dlts[0]))]);
    while (i + 3 <= size) {
        size_t len = (size_t)data[i] | (size_t)data[i + 1] << 8;
        uint8_t ctl = data[i + 2];
        i += 3;
        if (len > size - i)
            len = size - i;
        st.ts += (uint64_t)(ctl & 0x3f) * 50000u + ((ctl & 0x40) ? 200000000u : 0);
        given += (uint64_t)fuzz_frame(&st, data + i, len);
        if (ctl & 0x80)
            fuzz_control(&st, CAPTURE_REC_TICK);
        i += len;
    }
    st.ts += 1000000;
    fuzz_control(&st, CAPTURE_REC_END);
    fuzz_check_records(&st, given);
    return 0;
}
