#!/usr/bin/env bash
# Base images for docker compose where no image registry is reachable, built from Debian's own
# packages: a root filesystem made with debootstrap and imported as lab-debian:bookworm, then
# Prometheus and Redis on it. The app image is the project's own Dockerfile on the same base:
#
#   sudo docker/build-images.sh
#   PYTHON_IMAGE=lab-debian:bookworm PROMETHEUS_IMAGE=lab-prometheus:bookworm \
#     REDIS_IMAGE=lab-redis:bookworm docker-compose up -d --build
#
# Needs root (debootstrap), debootstrap and a Docker engine (DOCKER_HOST is honoured). An image
# that exists already is kept; pass --rebuild to make them again.
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-lab-debian:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")" && pwd)
rebuild=${1:-}

run() { echo "+ $*"; "$@"; }

if [[ "$rebuild" == --rebuild ]] || ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
  root=$(mktemp -d /var/tmp/lab-rootfs.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  echo "[1/3] a Debian bookworm root filesystem with python3 (about a minute)"
  run debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$MIRROR" >"$root.log" || { tail -20 "$root.log" >&2; exit 1; }
  rm -f "$root.log"
  # The machine's own trust anchors (a company's or an egress proxy's CA) go in too, so apt and
  # pip inside the builds trust what this machine trusts.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
  fi
  # pip vendors its own CA list; point it at the system's, which now holds the anchors above.
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root/etc/pip.conf"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  echo "+ tar -C $root -c . | docker import - $BASE_IMAGE"
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
fi

step=2
for part in prometheus redis; do
  echo "[$step/3] lab-$part:bookworm from Debian's $part package"
  run docker build --quiet --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    -t "lab-$part:bookworm" -f "$here/$part.Dockerfile" "$here" >/dev/null
  step=$((step + 1))
done
echo "next: PYTHON_IMAGE=$BASE_IMAGE PROMETHEUS_IMAGE=lab-prometheus:bookworm REDIS_IMAGE=lab-redis:bookworm docker-compose up -d --build"
