/* proto.c -- application payloads: SSH, TLS, HTTP/WebSocket, RDP, DNS.
 *
 * Every builder writes one message into a caller-owned buffer of at least
 * GEN_MSG_MAX bytes and returns its length; random parts come from the
 * caller's PRNG so captures stay reproducible. The messages are what real
 * clients and servers send, close enough for nDPI and Wireshark to dissect
 * them (banners, KEXINIT, ClientHello extensions, X.224 cookies...);
 * anything encrypted is random bytes inside correct framing.
 */
#include <string.h>

#include "gen.h"

static size_t put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return n;
}

/* ---- SSH --------------------------------------------------------------- */

size_t ssh_banner(uint8_t *out, int server)
{
    return put_str(out, server ? "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n"
                               : "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n");
}

/* Binary packet framing (RFC 4253 6): length, padding length, payload,
 * padding to a multiple of 8 with at least 4 bytes. */
static size_t ssh_frame(uint8_t *out, struct gen_rng *r, size_t payload)
{
    size_t pad = 8 - (5 + payload) % 8;
    if (pad < 4)
        pad += 8;
    put32(out, (uint32_t)(1 + payload + pad));
    out[4] = (uint8_t)pad;
    gen_fill(r, out + 5 + payload, pad);
    return 5 + payload + pad;
}

static size_t ssh_namelist(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    put32(p, (uint32_t)n);
    memcpy(p + 4, s, n);
    return 4 + n;
}

size_t ssh_kexinit(uint8_t *out, struct gen_rng *r, int server)
{
    static const char *kex[2] = {
        "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
        "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
        "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
        "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-c,"
        "kex-strict-c-v00@openssh.com",
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
        "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
        "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,"
        "kex-strict-s-v00@openssh.com"};
    /* The client knows the host's RSA key already, so it asks for it first. */
    static const char *hostkey[2] = {
        "rsa-sha2-512,rsa-sha2-256,ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@"
        "openssh.com,"
        "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,"
        "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384",
        "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519"};
    static const char *cipher = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,"
                                "aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com";
    static const char *mac =
        "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
        "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
        "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1";
    uint8_t *p = out + 5;
    size_t n = 0;
    p[n++] = 20; /* SSH_MSG_KEXINIT */
    gen_fill(r, p + n, 16);
    n += 16;
    const char *lists[10] = {kex[server],
                             hostkey[server],
                             cipher,
                             cipher,
                             mac,
                             mac,
                             "none,zlib@openssh.com",
                             "none,zlib@openssh.com",
                             "",
                             ""};
    for (int i = 0; i < 10; i++)
        n += ssh_namelist(p + n, lists[i]);
    p[n++] = 0;
    put32(p + n, 0);
    n += 4;
    return ssh_frame(out, r, n);
}

/* A cleartext key-exchange message (ECDH init/reply, NEWKEYS) with an
 * opaque body of the usual size. */
size_t ssh_msg(uint8_t *out, struct gen_rng *r, uint8_t type, size_t body)
{
    out[5] = type;
    gen_fill(r, out + 6, body);
    if (body >= 4)
        put32(out + 6, (uint32_t)(body - 4));
    return ssh_frame(out, r, 1 + body);
}

static size_t ssh_string(uint8_t *p, struct gen_rng *r, const char *text, size_t random)
{
    size_t n = text ? strlen(text) : random;
    put32(p, (uint32_t)n);
    if (text)
        memcpy(p + 4, text, n);
    else
        gen_fill(r, p + 4, n);
    return 4 + n;
}

/* SSH_MSG_KEX_ECDH_REPLY for curve25519-sha256 with an RSA host key:
 * K_S (ssh-rsa e, n), Q_S and an rsa-sha2-512 signature. */
size_t ssh_kex_reply(uint8_t *out, struct gen_rng *r)
{
    uint8_t *p = out + 5;
    size_t n = 1, k;
    p[0] = 31;
    k = ssh_string(p + n + 4, r, "ssh-rsa", 0);
    memcpy(p + n + 4 + k, "\0\0\0\3\1\0\1", 7);
    k += 7;
    k += ssh_string(p + n + 4 + k, r, NULL, 257);
    p[n + 4 + k - 257] = 0; /* positive mpint */
    p[n + 4 + k - 256] |= 0x80;
    put32(p + n, (uint32_t)k);
    n += 4 + k;
    n += ssh_string(p + n, r, NULL, 32);
    k = ssh_string(p + n + 4, r, "rsa-sha2-512", 0);
    k += ssh_string(p + n + 4 + k, r, NULL, 256);
    put32(p + n, (uint32_t)k);
    n += 4 + k;
    return ssh_frame(out, r, n);
}

/* After NEWKEYS everything, lengths included, is ciphertext. */
size_t ssh_packet(uint8_t *out, struct gen_rng *r, size_t len)
{
    gen_fill(r, out, len);
    return len;
}

/* ---- TLS --------------------------------------------------------------- */

static size_t tls_ext(uint8_t *p, uint16_t type, const uint8_t *body, size_t len)
{
    put16(p, type);
    put16(p + 2, (uint16_t)len);
    if (len)
        memcpy(p + 4, body, len);
    return 4 + len;
}

static size_t tls_ext_sni(uint8_t *p, const char *sni)
{
    size_t n = strlen(sni);
    uint8_t b[300];
    put16(b, (uint16_t)(n + 3));
    b[2] = 0;
    put16(b + 3, (uint16_t)n);
    memcpy(b + 5, sni, n);
    return tls_ext(p, 0x0000, b, n + 5);
}

static size_t tls_hello_exts(uint8_t *p, struct gen_rng *r, const char *sni)
{
    static const uint8_t groups[] = {0, 10, 0, 0x1d, 0, 0x17, 0, 0x1e, 0, 0x19, 0, 0x18};
    static const uint8_t points[] = {3, 0, 1, 2};
    static const uint8_t alpn[] = {0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    static const uint8_t sigalgs[] = {0,  28, 4,  3, 5, 3, 6, 3, 8, 7, 8, 8, 8, 9, 8,
                                      10, 8,  11, 8, 4, 8, 5, 8, 6, 4, 1, 5, 1, 6, 1};
    static const uint8_t versions[] = {4, 3, 4, 3, 3};
    static const uint8_t psk[] = {1, 1};
    uint8_t ks[38] = {0, 36, 0, 0x1d, 0, 32};
    size_t n = sni ? tls_ext_sni(p, sni) : 0; /* clients connecting by address send none */
    gen_fill(r, ks + 6, 32);
    n += tls_ext(p + n, 0x000b, points, sizeof(points));
    n += tls_ext(p + n, 0x000a, groups, sizeof(groups));
    n += tls_ext(p + n, 0x0023, NULL, 0);
    n += tls_ext(p + n, 0x0010, alpn, sizeof(alpn));
    n += tls_ext(p + n, 0x0016, NULL, 0);
    n += tls_ext(p + n, 0x0017, NULL, 0);
    n += tls_ext(p + n, 0x000d, sigalgs, sizeof(sigalgs));
    n += tls_ext(p + n, 0x002b, versions, sizeof(versions));
    n += tls_ext(p + n, 0x002d, psk, sizeof(psk));
    n += tls_ext(p + n, 0x0033, ks, sizeof(ks));
    return n;
}

/* Record header and handshake header around a body already at out+9. */
static size_t tls_wrap(uint8_t *out, uint16_t rec_version, uint8_t hs_type, size_t body)
{
    out[0] = 0x16;
    put16(out + 1, rec_version);
    put16(out + 3, (uint16_t)(body + 4));
    out[5] = hs_type;
    put24(out + 6, (uint32_t)body);
    return 9 + body;
}

/* What OpenSSL 3 (curl, Python) sends: TLS 1.3 capable, no GREASE. */
size_t tls_client_hello(uint8_t *out, struct gen_rng *r, const char *sni)
{
    static const uint16_t suites[] = {
        0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8, 0xccaa, 0xc02b, 0xc02f,
        0x009e, 0xc024, 0xc028, 0x006b, 0xc023, 0xc027, 0x0067, 0xc00a, 0xc014, 0x0039, 0xc009,
        0xc013, 0x0033, 0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f, 0x00ff};
    uint8_t *p = out + 9;
    size_t n = 0;
    put16(p, 0x0303);
    gen_fill(r, p + 2, 32);
    p[34] = 32;
    gen_fill(r, p + 35, 32);
    n = 67;
    put16(p + n, (uint16_t)(2 * (sizeof(suites) / sizeof(suites[0]))));
    n += 2;
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++, n += 2)
        put16(p + n, suites[i]);
    p[n++] = 1;
    p[n++] = 0;
    size_t e = tls_hello_exts(p + n + 2, r, sni);
    put16(p + n, (uint16_t)e);
    n += 2 + e;
    return tls_wrap(out, 0x0301, 1, n);
}

static size_t der(uint8_t *out, uint8_t tag, const uint8_t *body, size_t len)
{
    size_t h = 2;
    out[0] = tag;
    if (len < 128) {
        out[1] = (uint8_t)len;
    } else if (len < 256) {
        out[1] = 0x81;
        out[2] = (uint8_t)len;
        h = 3;
    } else {
        out[1] = 0x82;
        put16(out + 2, (uint16_t)len);
        h = 4;
    }
    memmove(out + h, body, len);
    return h + len;
}

/* One relative distinguished name: SET { SEQUENCE { OID 2.5.4.x, string } } */
static size_t der_rdn(uint8_t *out, uint8_t attr, const char *value)
{
    uint8_t a[300], b[300];
    size_t n = 0;
    a[n++] = 0x06, a[n++] = 3, a[n++] = 0x55, a[n++] = 0x04, a[n++] = attr;
    n += der(a + n, attr == 6 ? 0x13 : 0x0c, (const uint8_t *)value, strlen(value));
    size_t m = der(b, 0x30, a, n);
    return der(out, 0x31, b, m);
}

static size_t der_name(uint8_t *out, const char *country, const char *org, const char *cn)
{
    uint8_t a[600];
    size_t n = 0;
    if (country)
        n += der_rdn(a + n, 6, country);
    if (org)
        n += der_rdn(a + n, 10, org);
    n += der_rdn(a + n, 3, cn);
    return der(out, 0x30, a, n);
}

/* An X.509 v3 certificate with subject and SAN for `cn`, an ECDSA P-256
 * key and an RSA signature. Structurally valid DER; the signature is noise. */
static size_t tls_cert(uint8_t *out, struct gen_rng *r, const char *cn)
{
    static const uint8_t sha256rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                        0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
    static const uint8_t spki_alg[] = {0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                       0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
                                       0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    static const char validity[] = "\x30\x1e\x17\x0d"
                                   "260105000000Z"
                                   "\x17\x0d"
                                   "270204235959Z";
    uint8_t tbs[2048], t[1024], u[1024];
    size_t n = 0, m;
    memcpy(tbs, "\xa0\x03\x02\x01\x02\x02\x10", 7);
    gen_fill(r, tbs + 7, 16);
    tbs[7] &= 0x7f;
    n = 23;
    memcpy(tbs + n, sha256rsa, sizeof(sha256rsa));
    n += sizeof(sha256rsa);
    n += der_name(tbs + n, "US", "Amazon", "Amazon RSA 2048 M02");
    memcpy(tbs + n, validity, 32);
    n += 32;
    n += der_name(tbs + n, NULL, NULL, cn);
    memcpy(t, spki_alg, sizeof(spki_alg));
    t[sizeof(spki_alg)] = 0;
    t[sizeof(spki_alg) + 1] = 4;
    gen_fill(r, t + sizeof(spki_alg) + 2, 64);
    m = der(u, 0x03, t + sizeof(spki_alg), 66);
    memcpy(t + sizeof(spki_alg), u, m);
    n += der(tbs + n, 0x30, t, sizeof(spki_alg) + m);
    /* extensions: [3] { SEQUENCE { SEQUENCE { subjectAltName, OCTET STRING { names } } } } */
    m = der(t, 0x82, (const uint8_t *)cn, strlen(cn));
    m = der(u, 0x30, t, m);
    m = der(t + 5, 0x04, u, m);
    memcpy(t, "\x06\x03\x55\x1d\x11", 5);
    m = der(u, 0x30, t, m + 5);
    m = der(t, 0x30, u, m);
    n += der(tbs + n, 0xa3, t, m);
    m = der(u, 0x30, tbs, n);
    memcpy(u + m, sha256rsa, sizeof(sha256rsa));
    m += sizeof(sha256rsa);
    t[0] = 0;
    gen_fill(r, t + 1, 256);
    m += der(u + m, 0x03, t, 257);
    return der(out, 0x30, u, m);
}

/* ServerHello (TLS 1.2, ECDHE-RSA-AES128-GCM), Certificate,
 * ServerKeyExchange and ServerHelloDone, one record each. */
size_t tls_server_flight(uint8_t *out, struct gen_rng *r, const char *cn)
{
    static const uint8_t exts[] = {0xff, 0x01, 0,    1,   0,   0,    0x0b, 0,   2,   1,
                                   0,    0x00, 0x17, 0,   0,   0x00, 0x10, 0,   11,  0,
                                   9,    8,    'h',  't', 't', 'p',  '/',  '1', '.', '1'};
    uint8_t *p = out + 9;
    size_t n, cl;
    put16(p, 0x0303);
    gen_fill(r, p + 2, 32);
    p[34] = 32;
    gen_fill(r, p + 35, 32);
    put16(p + 67, 0xc02f);
    p[69] = 0;
    put16(p + 70, sizeof(exts));
    memcpy(p + 72, exts, sizeof(exts));
    n = tls_wrap(out, 0x0303, 2, 72 + sizeof(exts));

    p = out + n + 9;
    cl = tls_cert(p + 6, r, cn);
    put24(p, (uint32_t)(cl + 3));
    put24(p + 3, (uint32_t)cl);
    n += tls_wrap(out + n, 0x0303, 11, cl + 6);

    p = out + n + 9;
    memcpy(p, "\x03\x00\x1d\x20", 4);
    gen_fill(r, p + 4, 32);
    memcpy(p + 36, "\x04\x01\x01\x00", 4);
    gen_fill(r, p + 40, 256);
    n += tls_wrap(out + n, 0x0303, 12, 296);
    return n + tls_wrap(out + n, 0x0303, 14, 0);
}

static size_t tls_record(uint8_t *out, struct gen_rng *r, uint8_t type, size_t len)
{
    out[0] = type;
    put16(out + 1, 0x0303);
    put16(out + 3, (uint16_t)len);
    gen_fill(r, out + 5, len);
    return 5 + len;
}

/* ClientKeyExchange, ChangeCipherSpec, encrypted Finished. */
size_t tls_client_finish(uint8_t *out, struct gen_rng *r)
{
    uint8_t *p = out + 9;
    p[0] = 32;
    gen_fill(r, p + 1, 32);
    size_t n = tls_wrap(out, 0x0303, 16, 33);
    memcpy(out + n, "\x14\x03\x03\x00\x01\x01", 6);
    n += 6;
    return n + tls_record(out + n, r, 0x16, 40);
}

size_t tls_server_finish(uint8_t *out, struct gen_rng *r)
{
    memcpy(out, "\x14\x03\x03\x00\x01\x01", 6);
    return 6 + tls_record(out + 6, r, 0x16, 40);
}

/* Application data records totalling exactly `len` bytes (len >= 30). */
size_t tls_appdata(uint8_t *out, struct gen_rng *r, size_t len)
{
    size_t n = 0;
    if (len > GEN_MSG_MAX)
        len = GEN_MSG_MAX;
    while (len - n > 5) {
        size_t body = len - n - 5;
        if (body > 16408)
            body = 16408;
        if (len - n - 5 - body > 0 && len - n - 5 - body < 30)
            body -= 30; /* leave room for a last record */
        n += tls_record(out + n, r, 0x17, body);
    }
    return n;
}

/* ---- HTTP and WebSocket ------------------------------------------------- */

size_t http_request(uint8_t *out, const char *method, const char *path, const char *host,
                    const char *extra)
{
    int n = snprintf((char *)out, GEN_MSG_MAX, "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", method, path,
                     host, extra ? extra : "");
    return n < 0 ? 0 : (size_t)n;
}

/* A response whose body is `body_len` bytes of JSON-looking text. */
size_t http_response(uint8_t *out, struct gen_rng *r, int code, const char *server,
                     const char *ctype, const char *extra, size_t body_len)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    const char *reason = code == 200   ? "OK"
                         : code == 101 ? "Switching Protocols"
                         : code == 403 ? "Forbidden"
                                       : "Found";
    int n = snprintf((char *)out, GEN_MSG_MAX,
                     "HTTP/1.1 %d %s\r\nServer: %s\r\nContent-Type: %s\r\n"
                     "Date: Mon, 02 Mar 2026 09:00:00 GMT\r\n%s",
                     code, reason, server, ctype, extra ? extra : "");
    if (n < 0)
        return 0;
    if (code != 101)
        n +=
            snprintf((char *)out + n, GEN_MSG_MAX - (size_t)n, "Content-Length: %zu\r\n", body_len);
    n += snprintf((char *)out + n, GEN_MSG_MAX - (size_t)n, "\r\n");
    size_t len = (size_t)n;
    if (body_len > GEN_MSG_MAX - len)
        body_len = GEN_MSG_MAX - len;
    for (size_t i = 0; i < body_len; i++)
        out[len + i] = (uint8_t)alpha[gen_rand(r) % (sizeof(alpha) - 1)];
    if (body_len >= 2) {
        out[len] = '{';
        out[len + body_len - 1] = '}';
    }
    return len + body_len;
}

/* One text frame; clients mask theirs (RFC 6455 5.3). */
size_t ws_frame(uint8_t *out, struct gen_rng *r, int masked, const char *text)
{
    size_t len = strlen(text), h = 2;
    out[0] = 0x81;
    if (len < 126) {
        out[1] = (uint8_t)len;
    } else {
        out[1] = 126;
        put16(out + 2, (uint16_t)len);
        h = 4;
    }
    if (!masked) {
        memcpy(out + h, text, len);
        return h + len;
    }
    out[1] |= 0x80;
    uint8_t key[4];
    gen_fill(r, key, 4);
    memcpy(out + h, key, 4);
    for (size_t i = 0; i < len; i++)
        out[h + 4 + i] = (uint8_t)text[i] ^ key[i % 4];
    return h + 4 + len;
}

/* ---- RDP --------------------------------------------------------------- */

/* TPKT + X.224 Connection Request + RDP_NEG_REQ asking for TLS and CredSSP. */
size_t rdp_connect_request(uint8_t *out, const char *user)
{
    static const uint8_t neg[] = {0x01, 0x00, 0x08, 0x00, 0x0b, 0x00, 0x00, 0x00};
    size_t n = 11;
    n += (size_t)snprintf((char *)out + n, 200, "Cookie: mstshash=%s\r\n", user);
    memcpy(out + n, neg, sizeof(neg));
    n += sizeof(neg);
    out[0] = 3, out[1] = 0;
    put16(out + 2, (uint16_t)n);
    out[4] = (uint8_t)(n - 5);
    memcpy(out + 5, "\xe0\x00\x00\x00\x00\x00", 6);
    return n;
}

/* Connection Confirm selecting CredSSP (HYBRID). */
size_t rdp_connect_confirm(uint8_t *out)
{
    static const uint8_t cc[] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34,
                                 0x00, 0x02, 0x1f, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00};
    memcpy(out, cc, sizeof(cc));
    return sizeof(cc);
}

/* ---- DNS --------------------------------------------------------------- */

static size_t dns_question(uint8_t *p, const char *name, uint16_t qtype)
{
    size_t n = 0;
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        p[n++] = (uint8_t)l;
        memcpy(p + n, name, l);
        n += l;
        name += l + (dot != NULL);
    }
    p[n++] = 0;
    put16(p + n, qtype);
    put16(p + n + 2, 1);
    return n + 4;
}

size_t dns_query(uint8_t *out, uint16_t id, const char *name, uint16_t qtype)
{
    static const uint8_t hdr[] = {0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(out, hdr, sizeof(hdr));
    put16(out, id);
    return 12 + dns_question(out + 12, name, qtype);
}

/* The query echoed with one answer pointing back at the question name. */
size_t dns_response(uint8_t *out, struct gen_rng *r, uint16_t id, const char *name, uint16_t qtype)
{
    size_t n = dns_query(out, id, name, qtype);
    put16(out + 2, 0x8180);
    put16(out + 6, 1);
    uint8_t *a = out + n;
    put16(a, 0xc00c);
    put16(a + 2, qtype);
    put16(a + 4, 1);
    put32(a + 6, gen_range(r, 60, 600));
    if (qtype == 28) {
        static const uint8_t v6[] = {0x24, 0x08, 0x87, 0x1a, 0x21, 0x00};
        put16(a + 10, 16);
        memcpy(a + 12, v6, sizeof(v6));
        gen_fill(r, a + 12 + sizeof(v6), 16 - sizeof(v6));
        return n + 28;
    }
    put16(a + 10, 4);
    a[12] = (uint8_t)gen_range(r, 101, 123);
    gen_fill(r, a + 13, 3);
    return n + 16;
}
