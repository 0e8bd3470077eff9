#!/usr/bin/env bash
# scripts/geo-db.sh shows npm's own error and what to do about it. A
# registry behind a certificate npm does not trust (what a TLS-inspecting
# proxy presents) is a local HTTPS server with a self-signed certificate:
# the script must print npm's certificate error and the cafile advice, not
# "cannot reach the registry"; given that certificate as cafile, npm gets
# through, and the registry's answer (no such package) is what is shown.
# An unresolvable registry is a network problem and is said to be one.
set -euo pipefail

: "${LOOPHOLE_SRC:?}"
command -v npm >/dev/null || { echo "FAIL: npm missing (scripts/setup.sh installs it)" >&2; exit 1; }
tmp=$(mktemp -d)
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/ca.pem" -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
python3 - "$tmp" <<'PY' &
import http.server, socket, ssl, sys
tmp = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"error":"Not found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(f"{tmp}/ca.pem", f"{tmp}/key.pem")
s.socket = ctx.wrap_socket(s.socket, server_side=True)
open(f"{tmp}/port.tmp", "w").write(str(s.server_address[1]))
import os
os.rename(f"{tmp}/port.tmp", f"{tmp}/port")
s.serve_forever()
PY
srv=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "the local registry did not start"
port=$(cat "$tmp/port")

run() { # run OUT [VAR=VALUE...]: geo-db.sh with a private cache, status in OUT.rc
    local out=$1
    shift
    set +e
    env LOOPHOLE_GEO_DIR="$tmp/geo" npm_config_cache="$tmp/npm-cache" \
        npm_config_userconfig="$tmp/npmrc" npm_config_fetch_retries=0 "$@" \
        sh "$LOOPHOLE_SRC/scripts/geo-db.sh" >"$out" 2>&1
    echo $? >"$out.rc"
    set -e
}
: >"$tmp/npmrc"

run "$tmp/tls.out" npm_config_registry="https://127.0.0.1:$port/"
[ "$(cat "$tmp/tls.out.rc")" -eq 1 ] || fail "status $(cat "$tmp/tls.out.rc") with an untrusted certificate"
grep -q "npm said:" "$tmp/tls.out" || fail "npm's error not shown: $(cat "$tmp/tls.out")"
grep -qiE "self.signed|certificate" "$tmp/tls.out" || fail "npm's certificate error not shown: $(cat "$tmp/tls.out")"
grep -q "npm config set cafile" "$tmp/tls.out" || fail "no cafile advice: $(cat "$tmp/tls.out")"
if grep -q "cannot be reached" "$tmp/tls.out"; then fail "a certificate problem called unreachable"; fi

run "$tmp/ca.out" npm_config_registry="https://127.0.0.1:$port/" npm_config_cafile="$tmp/ca.pem"
[ "$(cat "$tmp/ca.out.rc")" -eq 1 ] || fail "status $(cat "$tmp/ca.out.rc") for a missing package"
grep -qE "E404|404" "$tmp/ca.out" || fail "the registry's answer not shown: $(cat "$tmp/ca.out")"
if grep -q "cafile" "$tmp/ca.out"; then fail "cafile advice once the certificate is trusted"; fi

run "$tmp/dns.out" npm_config_registry="https://registry.invalid/"
[ "$(cat "$tmp/dns.out.rc")" -eq 1 ] || fail "status $(cat "$tmp/dns.out.rc") for an unknown host"
grep -q "ENOTFOUND" "$tmp/dns.out" || fail "npm's error not shown: $(cat "$tmp/dns.out")"
grep -q "cannot be reached" "$tmp/dns.out" || fail "an unknown host not called unreachable: $(cat "$tmp/dns.out")"
[ ! -e "$tmp/geo/loophole-geo.mmdb" ] || fail "a database was written"
echo "geo_db_errors: certificate, registry and network errors shown with what to do"
