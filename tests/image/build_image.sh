#!/usr/bin/env bash
# Builds the Rapport container image for real, offline, and smoke-tests it.
#
#   sudo tests/image/build_image.sh            # as root, on Debian 12
#
# Needs: podman, debootstrap (apt-get install -y podman debootstrap), the
# Debian mirror (for debootstrap and the image's apt-get), mariadb-server and
# python3-grpcio (already in ./rapport's DEB_PACKAGES). No Docker engine and
# no registry access: the base image is made locally.
#
# Steps:
#   1. unless it exists, debootstrap --variant=minbase bookworm into a folder
#      and `podman import` it as debian:bookworm-slim (the tag the Dockerfile
#      names; a locally made stand-in for the official image);
#   2. podman build --isolation=chroot --network host -t $TAG .
#   3. podman image mount; chroot into the image root as uid 10001 and run
#      rapportd --version and --help;
#   4. start a throw-away MariaDB (tests/support/mariadb_fixture.sh), run the
#      image's rapportd in the chroot against it, wait for grpc.health.v1
#      SERVING, make one CreateContact call and scrape /metrics.
#
# Slow (minutes: debootstrap + a Release build), so CTest registers it as
# `image_build_test` (label image) and only when configured with
# RAPPORT_TEST_IMAGE=1 in the environment; CI runs the cheap
# `dockerfile_lint` instead.
#
# Environment: RAPPORT_IMAGE_TAG (default rapport:test), RAPPORT_IMAGE_WORK
# (default /var/tmp/rapport-image), RAPPORT_DEBIAN_MIRROR (default
# http://deb.debian.org/debian).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TAG="${RAPPORT_IMAGE_TAG:-rapport:test}"
WORK="${RAPPORT_IMAGE_WORK:-/var/tmp/rapport-image}"
MIRROR="${RAPPORT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE="debian:bookworm-slim"

say() { echo "build_image: $*"; }
die() {
  echo "build_image: error: $*" >&2
  exit 1
}

[[ $EUID -eq 0 ]] || die "run as root (debootstrap, podman and chroot need it)"
export PATH="$PATH:/usr/sbin:/sbin"
for tool in podman debootstrap chroot; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install -y podman debootstrap)"
done
CHROOT="$(command -v chroot)"
PYTHON=/usr/bin/python3 # Debian's, with python3-grpcio
[[ -x "$PYTHON" ]] || die "no /usr/bin/python3"
mkdir -p "$WORK"

# 1. The base image.
if ! podman image exists "$BASE"; then
  rootfs="$WORK/rootfs"
  if [[ ! -x "$rootfs/usr/bin/apt-get" ]]; then
    say "debootstrap bookworm into $rootfs (a few minutes)"
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR"
  fi
  say "importing $rootfs as $BASE"
  tar -C "$rootfs" -c . | podman import - "$BASE"
fi

# 2. The image.
say "podman build -t $TAG $ROOT"
podman build --isolation=chroot --network host -t "$TAG" "$ROOT"

# 3. Inside the image, as the image's user.
mnt="$(podman image mount "$TAG")"
DB_DIR="$WORK/mariadb"
RAPPORTD_PID=""
cleanup() {
  if [[ -n "$RAPPORTD_PID" ]]; then
    kill "$RAPPORTD_PID" 2>/dev/null || true
    wait "$RAPPORTD_PID" 2>/dev/null || true
  fi
  "$ROOT/tests/support/mariadb_fixture.sh" stop "$DB_DIR" >/dev/null 2>&1 || true
  podman image unmount "$TAG" >/dev/null 2>&1 || true
}
trap cleanup EXIT

[[ -x "$mnt/usr/bin/rapportd" ]] || die "no /usr/bin/rapportd in the image"
[[ -f "$mnt/usr/lib/librapport_sdk.so.1" ]] || die "no librapport_sdk.so.1 in /usr/lib"
[[ -d "$mnt/usr/lib/rapport/plugins" ]] || die "no plugin directory"
if chroot "$mnt" /usr/bin/dpkg-query -W 2>/dev/null | grep -q -- '-dev\s'; then
  die "the runtime image contains -dev packages"
fi
say "rapportd --version: $(chroot --userspec=10001:10001 "$mnt" /usr/bin/rapportd --version)"
chroot --userspec=10001:10001 "$mnt" /usr/bin/rapportd --help >/dev/null
if [[ -x "$mnt/usr/bin/rapportctl" ]]; then
  chroot --userspec=10001:10001 "$mnt" /usr/bin/rapportctl --help >/dev/null
fi

# 4. Serve against a throw-away MariaDB (the chroot shares the host network).
"$ROOT/tests/support/mariadb_fixture.sh" start "$DB_DIR"
db_port="$(cat "$DB_DIR/port")"
mariadb --protocol=tcp -h 127.0.0.1 -P "$db_port" -u root \
  -e "CREATE DATABASE IF NOT EXISTS rapport_image"
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
grpc_port="$(free_port)"
metrics_port="$(free_port)"
say "rapportd on 127.0.0.1:$grpc_port (metrics $metrics_port), database port $db_port"
env -i RAPPORT_DB_HOST=127.0.0.1 RAPPORT_DB_PORT="$db_port" RAPPORT_DB_USER=root \
  RAPPORT_DB_NAME=rapport_image RAPPORT_INSECURE=1 \
  RAPPORT_LISTEN="127.0.0.1:$grpc_port" \
  RAPPORT_METRICS_LISTEN="127.0.0.1:$metrics_port" \
  "$CHROOT" --userspec=10001:10001 "$mnt" /usr/bin/rapportd &
RAPPORTD_PID=$!

"$PYTHON" - "$grpc_port" "$metrics_port" <<'PY'
import sys, time, urllib.request
import grpc
grpc_port, metrics_port = sys.argv[1], sys.argv[2]
channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
# Raw protobuf bytes: no generated stubs needed.
check = channel.unary_unary("/grpc.health.v1.Health/Check")
deadline = time.time() + 60
while True:
    try:
        if check(b"", timeout=2) == b"\x08\x01":  # status: SERVING
            break
    except grpc.RpcError:
        pass
    if time.time() > deadline:
        sys.exit("health never became SERVING")
    time.sleep(0.5)
print("build_image: health SERVING")
create = channel.unary_unary("/rapport.v1.ContactService/CreateContact")
# CreateContactRequest{contact: {given_name: "Ada"}}
reply = create(b"\x0a\x05\x12\x03Ada", timeout=10)
if not reply:
    sys.exit("CreateContact returned nothing")
print("build_image: CreateContact OK")
text = urllib.request.urlopen(
    f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
want = ('rapport_grpc_requests_total{method="/rapport.v1.ContactService/'
        'CreateContact",code="OK"} 1')
if want not in text:
    sys.exit("metrics lack: " + want)
print("build_image: /metrics OK")
PY
say "image $TAG OK"
