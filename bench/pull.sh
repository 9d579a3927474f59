#!/bin/sh
# Pulls the test bed's Debian fixture (one ~63 MB gzip layer) from the loopback registry with rctr
# and with podman, in the same run, several rounds each, each into a new empty store, and prints the
# median times and their ratio.
#
#   bench/pull.sh [ROUNDS]          (default 5; run as root it re-runs itself as $RCTR_TEST_USER)
#
# RCTR selects the binary (default: target/release/rctr next to this script). RCTR_BASE, if set,
# names a second rctr binary (e.g. a build of the previous commit) timed in the same rounds, so a
# change can be judged under the same load. Each tool gets its own isolated HOME, so neither
# touches the invoking user's images or settings. RCTR_BENCH_DIR (default /var/tmp) holds the
# stores: point it at a freshly made filesystem to keep other work's deletions out of the figures.
set -eu

ROUNDS=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
RCTR=${RCTR:-$HERE/target/release/rctr}
RCTR_BASE=${RCTR_BASE:-}
TESTBED=${RCTR_TESTBED:-/var/tmp/rctr-testbed}
. "$TESTBED/env"
USER_NAME=${RCTR_TEST_USER:-rctrtest}

if [ "$(id -u)" = 0 ]; then
    exec su "$USER_NAME" -c "RCTR='$RCTR' RCTR_BASE='$RCTR_BASE' RCTR_BENCH_DIR='${RCTR_BENCH_DIR:-}' RCTR_TESTBED='$TESTBED' sh '$HERE/bench/pull.sh' $ROUNDS"
fi

# shellcheck source=bench/lib.sh
. "$HERE/bench/lib.sh"
REG=$RCTR_TEST_REGISTRY
IMG="$REG/${RCTR_TEST_IMG_DEBIAN:-debian:bookworm}"
WORK=$(mktemp -d "${RCTR_BENCH_DIR:-/var/tmp}/rctr-bench-pull.XXXXXX")

# Every round pulls into a store of its own, and the stores are removed only at the end. Removing
# a store between rounds would make the next pull measure the filesystem instead: on ext4 without
# a journal (this test machine's root), every new inode allocation skips the inodes deleted in the
# last one to six minutes (ext4's `recently_deleted`), so pulling right after deleting ~10,000
# files costs seconds of system time, for rctr and podman alike.
setup_rctr() {
    h=$WORK/rctr-$1
    mkdir -p "$h/.config/rctr" "$h/run"
    chmod 700 "$h/run"
    printf '[registries]\nsearch = ["%s"]\ninsecure = ["%s"]\n' "$REG" "$REG" > "$h/.config/rctr/config.toml"
}
rctr_in() { h=$WORK/rctr-$1; shift; env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$h" XDG_RUNTIME_DIR="$h/run" "$RCTR" "$@"; }
setup_base() { setup_rctr "base-$1"; }
base_in() { h=$WORK/rctr-base-$1; shift; env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$h" XDG_RUNTIME_DIR="$h/run" "$RCTR_BASE" "$@"; }

setup_podman() {
    h=$WORK/podman-$1
    mkdir -p "$h/.config/containers" "$h/run"
    chmod 700 "$h/run"
    podman_config "$h/.config/containers" "$REG"
}
podman_in() { h=$WORK/podman-$1; shift; env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$h" XDG_RUNTIME_DIR="$h/run" /usr/bin/podman "$@"; }

cleanup() {
    for d in "$WORK"/rctr-*; do [ -d "$d" ] && rctr_in "${d##*/rctr-}" system reset -f >/dev/null 2>&1; done
    for d in "$WORK"/podman-*; do [ -d "$d" ] && podman_in "${d##*/podman-}" system reset -f >/dev/null 2>&1; done
    rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT

now() { date +%s.%N; }

# time_pull TOOL ROUND: a pull into that round's empty store.
time_pull() {
    "setup_$1" "$2"
    "$1_in" "$2" images >/dev/null 2>&1
    sync
    t0=$(now)
    "$1_in" "$2" pull -q "$IMG" >/dev/null
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'; }

echo "pulling $IMG, $ROUNDS rounds each, alternating tools"
# Warm up both (first podman start creates its storage; first rctr run its store).
R=""
P=""
B=""
i=1
while [ "$i" -le "$ROUNDS" ]; do
    r=$(time_pull rctr "$i")
    p=$(time_pull podman "$i")
    if [ -n "$RCTR_BASE" ]; then
        b=$(time_pull base "$i")
        printf 'round %d: rctr %.3f s  podman %.3f s  base %.3f s\n' "$i" "$r" "$p" "$b"
        B="$B$b
"
    else
        printf 'round %d: rctr %.3f s  podman %.3f s\n' "$i" "$r" "$p"
    fi
    R="$R$r
"
    P="$P$p
"
    i=$((i + 1))
done
RM=$(printf '%s' "$R" | median)
PM=$(printf '%s' "$P" | median)
printf 'median: rctr %s s  podman %s s  podman/rctr %.1fx\n' "$RM" "$PM" "$(echo "$PM / $RM" | bc -l)"
if [ -n "$RCTR_BASE" ]; then
    BM=$(printf '%s' "$B" | median)
    printf 'median: base %s s  podman/base %.1fx  base/rctr %.2fx\n' "$BM" "$(echo "$PM / $BM" | bc -l)" "$(echo "$BM / $RM" | bc -l)"
fi
