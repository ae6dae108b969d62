#!/usr/bin/env bash
# Build the Dockerfile and run the image's own command, without a registry or a container runtime
# that needs cgroups:
#   1. a stand-in for python:3.11-slim-bookworm: Debian bookworm (debootstrap, minbase) with python3,
#      python3-pip and python3-venv, cached in /var/tmp so later runs skip this step;
#   2. `podman import` it under that tag, `podman build --isolation=chroot` the Dockerfile;
#   3. create a container, `podman mount` it, and chroot into that folder (with /proc, /dev and a
#      fresh tmpfs on /dev/shm) to run the image's CMD as the image's USER, in a network namespace
#      of its own (the image listens on 0.0.0.0: here that is the namespace's loopback only);
#   4. check /healthz, the sandbox-mode home page, and a real upload through the portal.
# Everything mounted is unmounted on any exit (trap). Needs root, podman, debootstrap, util-linux.
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=${PORTAL_CONTAINER_CACHE:-/var/tmp/portal-container}
BASE_TAG=docker.io/library/python:3.11-slim-bookworm
IMAGE=localhost/attachment-portal:check
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
START=$SECONDS
phase() { echo "check.sh: [$((SECONDS - START)) s] $*"; }

for tool in podman debootstrap unshare chroot mount ip; do
    command -v "$tool" >/dev/null || { echo "check.sh: $tool is missing (apt-get install podman debootstrap iproute2)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "check.sh: run as root (debootstrap, mount, chroot)"; exit 1; }

CTR="" MNT="" SERVER_PID=""
cleanup() {
    set +e
    if [ -n "$MNT" ]; then
        for m in dev/shm dev proc; do mountpoint -q "$MNT/$m" && umount -l "$MNT/$m"; done
    fi
    [ -n "$CTR" ] && { podman umount "$CTR" >/dev/null; podman rm -f "$CTR" >/dev/null; }
    rm -rf "$CACHE/rootfs.tmp"
}
trap cleanup EXIT

# -- 1. the stand-in base ------------------------------------------------------------------------
mkdir -p "$CACHE"
if ! podman image exists "$BASE_TAG"; then
    if [ ! -s "$CACHE/bookworm-python3.tar" ]; then
        phase "debootstrap bookworm (minbase + python3, pip, venv) from $MIRROR"
        rm -rf "$CACHE/rootfs.tmp"
        debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
            bookworm "$CACHE/rootfs.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
            || { tail -20 "$CACHE/debootstrap.log"; exit 1; }
        rm -rf "$CACHE"/rootfs.tmp/var/cache/apt/archives/*.deb "$CACHE"/rootfs.tmp/var/lib/apt/lists/*
        tar -C "$CACHE/rootfs.tmp" --numeric-owner -cf "$CACHE/bookworm-python3.tar.part" .
        mv "$CACHE/bookworm-python3.tar.part" "$CACHE/bookworm-python3.tar"
        rm -rf "$CACHE/rootfs.tmp"
    fi
    phase "podman import as $BASE_TAG"
    podman import --change 'CMD ["/bin/bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$CACHE/bookworm-python3.tar" "$BASE_TAG" >/dev/null
fi

# -- 2. the image --------------------------------------------------------------------------------
phase "podman build --isolation=chroot"
BUILD_START=$SECONDS
# This machine reaches PyPI through a TLS proxy that its own CA bundle trusts: lend the build that
# bundle and a pip config naming it, as build-time mounts (nothing of it stays in the image).
HOST_CA=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
printf '[global]\ncert = /etc/ssl/host-ca.crt\n' >"$CACHE/pip.conf"
podman build --isolation=chroot --pull=never -t "$IMAGE" -f Dockerfile \
    --volume "$HOST_CA:/etc/ssl/host-ca.crt:ro" --volume "$CACHE/pip.conf:/etc/pip.conf:ro" \
    . >"$CACHE/build.log" 2>&1 \
    || { tail -40 "$CACHE/build.log"; exit 1; }
phase "built in $((SECONDS - BUILD_START)) s"

# -- 3. run the image's own command --------------------------------------------------------------
CTR=$(podman create "$IMAGE")
MNT=$(podman mount "$CTR")
mount -t proc proc "$MNT/proc"
mount --bind /dev "$MNT/dev"
mount -t tmpfs -o size=64m,mode=1777 tmpfs "$MNT/dev/shm"
cp tests/container/smoke.py "$MNT/tmp/smoke.py"

# The image's CMD, ENV, USER and WORKDIR, as a runtime would apply them.
mapfile -t CMD < <(podman image inspect --format '{{range .Config.Cmd}}{{println .}}{{end}}' "$IMAGE" | sed '/^$/d')
mapfile -t ENVS < <(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" | sed '/^$/d')
USER_NAME=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
WORKDIR=$(podman image inspect --format '{{.Config.WorkingDir}}' "$IMAGE")
UID_GID=$(awk -F: -v u="${USER_NAME:-root}" '$1 == u {print $3 ":" $4}' "$MNT/etc/passwd")
phase "running ${CMD[*]} as ${USER_NAME} (${UID_GID}) in ${WORKDIR}"

RUN_START=$SECONDS
set +e
unshare --net --fork bash -c '
    set -euo pipefail
    ip link set lo up
    mnt=$1 ids=$2 wd=$3; shift 3
    n=$1; shift; envs=("${@:1:$n}"); shift "$n"
    setsid chroot --userspec="$ids" "$mnt" /usr/bin/env -i -C "$wd" "${envs[@]}" HOME="$wd" "$@" \
        >"$mnt/tmp/serve.log" 2>&1 &
    server=$!
    stop() {
        kill -TERM -- "-$server" 2>/dev/null || return 0
        for _ in $(seq 50); do kill -0 -- "-$server" 2>/dev/null || return 0; sleep 0.2; done
        kill -KILL -- "-$server" 2>/dev/null || true
    }
    trap stop EXIT
    chroot --userspec="$ids" "$mnt" /usr/bin/env -i -C "$wd" "${envs[@]}" HOME="$wd" \
        python3 /tmp/smoke.py http://127.0.0.1:8000
' _ "$MNT" "$UID_GID" "$WORKDIR" "${#ENVS[@]}" "${ENVS[@]}" "${CMD[@]}"
RC=$?
set -e
if [ "$RC" != 0 ]; then
    echo "check.sh: the image failed its checks; its log:"; tail -40 "$MNT/tmp/serve.log"
    exit "$RC"
fi
phase "ran and checked in $((SECONDS - RUN_START)) s; total $((SECONDS - START)) s"
echo "check.sh: OK"
