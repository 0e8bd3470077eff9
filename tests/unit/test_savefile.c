/* test_savefile.c -- the pcap file reader against libpcap, and against a
 * file cut short while it is read.
 *
 * Every classic pcap of the corpus (tests/unit/corpus_walk.h) is read with
 * savefile.c at several buffer sizes (from smaller than a record header to the default) and
 * with libpcap, and every record must agree. A file truncated by another
 * program between two reads must end in the truncated-file error after
 * every whole record before the cut, not in a signal.
 */
#include <fcntl.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/savefile.h"
#include "corpus_walk.h"

static void test_same_as_libpcap(void **state)
{
    static const size_t bufsizes[] = {7, 19, 100, 1500, 0};
    size_t classic = 0;
    glob_t g;
    (void)state;
    corpus_glob(&g);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i];
        for (size_t b = 0; b < sizeof(bufsizes) / sizeof(bufsizes[0]); b++) {
            char err[1024], perr[PCAP_ERRBUF_SIZE];
            savefile *f = NULL;
            int fd = open(path, O_RDONLY);
            assert_true(fd >= 0);
            if (savefile_open_fd(fd, path, bufsizes[b], &f, err, sizeof(err)) != 1) {
                /* declined: only pcapng may be, in this corpus */
                uint8_t magic[4] = {0};
                FILE *fp = fopen(path, "rb");
                assert_non_null(fp);
                assert_int_equal(fread(magic, 1, 4, fp), 4);
                fclose(fp);
                assert_memory_equal(magic, "\x0a\x0d\x0d\x0a", 4);
                break;
            }
            classic += b == 0;
            pcap_t *p =
                pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, perr);
            assert_non_null(p);
            assert_int_equal(savefile_get_header(f)->dlt, pcap_datalink(p));
            assert_int_equal(savefile_get_header(f)->snaplen, pcap_snapshot(p));
            uint64_t n = 0;
            struct pcap_pkthdr *h;
            const u_char *d;
            savefile_rec r;
            while (pcap_next_ex(p, &h, &d) == 1) {
                assert_int_equal(savefile_next(f, &r), SAVEFILE_PACKET);
                assert_int_equal(r.caplen, h->caplen);
                assert_int_equal(r.len, h->len);
                assert_int_equal(r.ts_us, (uint64_t)h->ts.tv_sec * 1000000u + h->ts.tv_usec);
                assert_memory_equal(r.data, d, r.caplen);
                n++;
            }
            assert_int_equal(savefile_next(f, &r), SAVEFILE_END);
            assert_true(n > 0);
            pcap_close(p);
            savefile_close(f);
        }
    }
    globfree(&g);
    assert_true(classic >= 10); /* most of the corpus is classic pcap */
}

/* 2000 records of 100 bytes; returns the descriptor of the file. */
static int write_capture(char *path)
{
    int fd = mkstemp(path);
    uint8_t rec[16 + 100];
    uint32_t hdr[6] = {0xa1b2c3d4u, 2u | 4u << 16, 0, 0, 65535, 1};

    assert_true(fd >= 0);
    assert_int_equal(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
    for (uint32_t i = 0; i < 2000; i++) {
        uint32_t rh[4] = {1700000000u + i, i, 100, 100};
        memcpy(rec, rh, sizeof(rh));
        memset(rec + 16, (int)(i & 0xff), 100);
        assert_int_equal(write(fd, rec, sizeof(rec)), sizeof(rec));
    }
    return fd;
}

static void test_truncated_while_read(void **state)
{
    char path[] = "/tmp/test_savefile_XXXXXX", err[1024];
    int fd = write_capture(path);
    savefile *f = NULL;
    savefile_rec r;
    uint32_t n = 0;
    (void)state;

    assert_int_equal(savefile_open_fd(fd, path, 4096, &f, err, sizeof(err)), 1);
    for (; n < 500; n++)
        assert_int_equal(savefile_next(f, &r), SAVEFILE_PACKET);
    /* cut in the body of record 1500 (from 0) while the reader holds the
     * first part of the file */
    assert_int_equal(ftruncate(fd, 24 + 1500 * 116 + 16 + 40), 0);
    while (savefile_next(f, &r) == SAVEFILE_PACKET) {
        assert_int_equal(r.ts_us, (1700000000u + n) * 1000000ull + n);
        assert_int_equal(r.data[99], n & 0xff);
        n++;
    }
    assert_int_equal(n, 1500);
    assert_non_null(strstr(savefile_error(f), path));
    assert_non_null(strstr(savefile_error(f), "truncated capture: record 1501"));
    assert_int_equal(savefile_next(f, &r), SAVEFILE_ERROR); /* and stays so */
    savefile_close(f);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_libpcap),
        cmocka_unit_test(test_truncated_while_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
