/* lhgen.c -- command line of the scenario capture generator.
 *
 *   lhgen --list
 *   lhgen SCENARIO OUT.pcap [--seed N] [--packets N] [--snaplen N] [--manifest FILE]
 *                           [--vxlan VNI] [--vlan ID]
 *   lhgen damage MODE IN.pcap OUT.pcap
 *
 * main owns the generator context: it parses the options into it, opens
 * the pcap dumper (OUT may be "-" for stdout) and the manifest, runs the
 * scenario and the scheduler, and turns errors into messages and exit
 * codes: 0 ok, 2 usage, 1 I/O or generation failure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define EXIT_USAGE 2

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "lhgen: %s\n", why);
    fputs("usage: lhgen --list\n"
          "       lhgen SCENARIO OUT.pcap [--seed N] [--packets N] [--snaplen N] "
          "[--manifest FILE]\n"
          "                         [--vxlan VNI] [--vlan ID]\n"
          "       lhgen damage MODE IN.pcap OUT.pcap   (truncate, zero-length, oversize, "
          "garbage)\n",
          stderr);
    return EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-' || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_opts(struct gen *g, int argc, char **argv)
{
    for (int i = 3; i < argc; i += 2) {
        uint64_t v;
        if (i + 1 >= argc)
            return usage("option needs a value");
        if (!strcmp(argv[i], "--manifest")) {
            g->manifest_name = argv[i + 1];
            continue;
        }
        if (parse_u64(argv[i + 1], UINT32_MAX, &v) < 0)
            return usage("bad number");
        if (!strcmp(argv[i], "--seed"))
            g->seed = v;
        else if (!strcmp(argv[i], "--packets"))
            g->packets = v;
        else if (!strcmp(argv[i], "--snaplen") && v >= 60 && v <= 65535)
            g->snaplen = (uint32_t)v;
        else if (!strcmp(argv[i], "--vxlan") && v >= 1 && v <= 0xffffff)
            g->vni = (uint32_t)v; /* every flow of the scenario wrapped in VXLAN */
        else if (!strcmp(argv[i], "--vlan") && v >= 1 && v <= 4094)
            g->vlan = (uint16_t)v; /* every flow of the scenario tagged 802.1Q */
        else
            return usage("unknown option or value out of range");
    }
    return 0;
}

static const struct gen_scenario *find_scenario(const char *name)
{
    for (const struct gen_scenario *s = gen_scenarios; s->name; s++)
        if (!strcmp(s->name, name))
            return s;
    return NULL;
}

static int open_outputs(struct gen *g)
{
    g->pd = pcap_open_dead(DLT_EN10MB, 65535);
    if (!g->pd)
        return gen_err(g, "cannot create pcap handle");
    if (!strcmp(g->out_name, "-"))
        g->dump = pcap_dump_fopen(g->pd, stdout);
    else
        g->dump = pcap_dump_open(g->pd, g->out_name);
    if (!g->dump) /* libpcap's message names the file */
        return gen_err(g, "%s", pcap_geterr(g->pd));
    if (g->manifest_name && !(g->manifest = fopen(g->manifest_name, "w")))
        return gen_err(g, "%s: %s", g->manifest_name, strerror(errno));
    return sched_manifest_header(g);
}

static int close_outputs(struct gen *g, int rc)
{
    if (g->dump) {
        FILE *f = pcap_dump_file(g->dump);
        if ((fflush(f) != 0 || ferror(f)) && rc == 0)
            rc = gen_err(g, "%s: write error", g->out_name);
        pcap_dump_close(g->dump);
    }
    if (g->pd)
        pcap_close(g->pd);
    if (g->manifest && (ferror(g->manifest) | fclose(g->manifest)) && rc == 0)
        rc = gen_err(g, "%s: write error", g->manifest_name);
    return rc;
}

static int generate(const struct gen_scenario *sc, int argc, char **argv)
{
    struct gen *g = calloc(1, sizeof(*g));
    if (!g) {
        fputs("lhgen: out of memory\n", stderr);
        return 1;
    }
    g->seed = 1;
    g->out_name = argv[2];
    int rc = parse_opts(g, argc, argv);
    if (rc) {
        free(g);
        return rc;
    }
    g->rng.s = g->seed;
    gen_pool_init(g);
    rc = open_outputs(g);
    if (rc == 0)
        rc = sc->run(g);
    if (rc == 0)
        rc = sched_run(g);
    rc = close_outputs(g, rc);
    if (rc)
        fprintf(stderr, "lhgen: %s: %s\n", sc->name, g->err);
    sched_free(g);
    free(g);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        for (const struct gen_scenario *s = gen_scenarios; s->name; s++)
            printf("%-13s %s\n", s->name, s->desc);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "damage")) {
        char err[512];
        if (argc != 5)
            return usage("damage needs MODE IN.pcap OUT.pcap");
        int rc = damage_run(argv[2], argv[3], argv[4], 1, err, sizeof(err));
        if (rc)
            fprintf(stderr, "lhgen: damage: %s\n", err);
        return rc == -2 ? EXIT_USAGE : rc ? 1 : 0;
    }
    if (argc < 3)
        return usage(NULL);
    const struct gen_scenario *sc = find_scenario(argv[1]);
    if (!sc)
        return usage("unknown scenario (see --list)");
    return generate(sc, argc, argv);
}
