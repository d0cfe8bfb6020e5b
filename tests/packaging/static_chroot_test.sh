#!/usr/bin/env bash
# The fully static `kwire` works alone: copied into an empty directory with nothing but an
# /etc/hosts naming the broker, run there under chroot, it produces to and consumes from a mock
# cluster that it reaches by host name; and, when openssl and stunnel are installed, asks for
# metadata over TLS (stunnel in front of the mock cluster, the CA copied into the chroot): the
# static build's TLS backend (mbedTLS) verifies the chain and the name with no /dev, no system
# certificate store, its randomness from getrandom.
#
#   static_chroot_test.sh STATIC_KWIRE MOCK_CLUSTER_BINARY WORK_DIR
#
# Exit 77 (ctest: skipped) when there is no static build (scripts/build-static.sh makes one) or
# no way to chroot (not root, no unprivileged user namespaces).
#
# Name resolution is the point: nothing in the chroot but /etc/hosts (no nsswitch.conf, no NSS
# modules, no resolv.conf). kwire resolves with c-ares (client/src/resolver.hpp), which reads
# /etc/hosts itself. (glibc >= 2.34 would manage /etc/hosts there too: its files and dns
# backends are inside libc; checked with strace on a build that still used getaddrinfo.)
set -uo pipefail

kwire=$1 mock=$2 work=$3
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ -x "$kwire" ] || skip "no static kwire at $kwire (build it with scripts/build-static.sh)"
ldd "$kwire" >/dev/null 2>&1 && fail "$kwire is a dynamic executable (ldd: $(ldd "$kwire" 2>&1 | head -1))"

chroot_cmd=()
if [ "$(id -u)" -eq 0 ]; then
  chroot_cmd=(chroot)
elif unshare --user --map-root-user true 2>/dev/null; then
  chroot_cmd=(unshare --user --map-root-user chroot)
else
  skip "cannot chroot: not root, and unprivileged user namespaces are not available"
fi

rm -rf "$work"
root=$work/root
mkdir -p "$root/etc"
cp "$kwire" "$root/kwire"
host=kafka-broker.test
# The mock advertises its brokers as 127.0.0.1; only the bootstrap goes by name.
printf '127.0.0.1\t%s\n' "$host" >"$root/etc/hosts"
echo "chroot $root: $(cd "$root" && find . -type f | sort | tr '\n' ' ')"

# The mock cluster runs until its stdin (a pipe we hold open) closes.
mkfifo "$work/mock.in"
"$mock" --topic chroot-test:3 <"$work/mock.in" >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
exec 3>"$work/mock.in"
trap 'exec 3>&-; kill "$mock_pid" 2>/dev/null; wait "$mock_pid" 2>/dev/null' EXIT
for _ in $(seq 100); do
  [ -s "$work/mock.out" ] && break
  sleep 0.1
done
bootstrap=$(head -1 "$work/mock.out")
[ -n "$bootstrap" ] || fail "the mock cluster did not start: $(cat "$work/mock.err")"
port=${bootstrap##*:}
echo "mock cluster at $bootstrap"

in_chroot() { timeout 60 "${chroot_cmd[@]}" "$root" /kwire "$@"; }

# 1. Numeric bootstrap: the binary runs alone in the chroot.
out=$(in_chroot metadata -b "127.0.0.1:$port" -t chroot-test 2>&1) || fail "metadata by address in the chroot: $out"
echo "metadata by address: ok"

# 2. By name: produce three records, read them back.
out=$(printf 'one\ntwo\nthree\n' | in_chroot produce -b "$host:$port" -t chroot-test -X delivery.timeout.ms=15000 2>&1) ||
  fail "produce by name in the chroot: $out"
echo "produce by name: ok"

out=$(in_chroot consume -b "$host:$port" -t chroot-test -e -f '%s\n' 2>&1) || fail "consume by name in the chroot: $out"
for v in one two three; do
  grep -qx "$v" <<<"$out" || fail "consume did not return '$v': $out"
done
echo "consume by name: ok ($(grep -cxE 'one|two|three' <<<"$out") records)"

# 3. The name really came from /etc/hosts: one it does not list does not resolve.
out=$(in_chroot metadata -b "not-in-hosts.test:$port" 2>&1) && fail "a name missing from /etc/hosts resolved: $out"
echo "a name not in /etc/hosts: fails as it should ($(tail -1 <<<"$out"))"

# 4. TLS: the chain against a CA file in the chroot, the name against the certificate.
if command -v openssl >/dev/null && command -v stunnel >/dev/null; then
  tls=$work/tls
  mkdir -p "$tls"
  ec_key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec_key[@]}" -keyout "$tls/ca.key" -out "$tls/ca.pem" -subj /CN=kwire-chroot-ca \
    -days 2 2>/dev/null || fail "openssl: CA"
  openssl req "${ec_key[@]}" -keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=$host" 2>/dev/null ||
    fail "openssl: server key"
  printf 'subjectAltName=DNS:%s\n' "$host" >"$tls/san.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
    -extfile "$tls/san.ext" -out "$tls/server.pem" 2>/dev/null || fail "openssl: server certificate"
  tls_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >"$tls/stunnel.conf" <<CONF
foreground = yes
pid =
output = $tls/stunnel.log
[kafka]
accept = 127.0.0.1:$tls_port
connect = 127.0.0.1:$port
cert = $tls/server.pem
key = $tls/server.key
CONF
  stunnel "$tls/stunnel.conf" &
  stunnel_pid=$!
  trap 'exec 3>&-; kill "$mock_pid" "$stunnel_pid" 2>/dev/null; wait "$mock_pid" "$stunnel_pid" 2>/dev/null' EXIT
  for _ in $(seq 100); do
    (exec 4<>"/dev/tcp/127.0.0.1/$tls_port") 2>/dev/null && break
    sleep 0.1
  done
  cp "$tls/ca.pem" "$root/ca.pem"
  tls_args=(-X security.protocol=ssl -X ssl.ca.location=/ca.pem)
  out=$(in_chroot metadata -b "$host:$tls_port" "${tls_args[@]}" -t chroot-test 2>&1) ||
    fail "metadata over TLS in the chroot: $out"
  echo "metadata over TLS by name: ok"
  out=$(in_chroot metadata -b "127.0.0.1:$tls_port" "${tls_args[@]}" 2>&1) &&
    fail "the certificate names $host only, yet 127.0.0.1 was accepted: $out"
  grep -q "certificate verify failed" <<<"$out" || fail "a wrong name failed otherwise: $out"
  echo "over TLS by an address the certificate does not name: refused ($(tail -1 <<<"$out"))"
else
  echo "TLS: skipped (no openssl or stunnel)"
fi
echo "static chroot: ok"
