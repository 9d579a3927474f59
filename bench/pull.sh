#!/bin/sh
# Pulls the test bed's Debian fixture (one ~63 MB gzip layer) from the loopback registry with rctr
# and with podman, in the same run, several rounds each from an empty store, and prints the
# median times and their ratio.
#
#   bench/pull.sh [ROUNDS]          (default 5; run as root it re-runs itself as $RCTR_TEST_USER)
#
# RCTR selects the binary (default: target/release/rctr next to this script). Each tool gets its own
# isolated HOME, so neither touches the invoking user's images or settings.
set -eu

ROUNDS=${1:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
RCTR=${RCTR:-$HERE/target/release/rctr}
TESTBED=${RCTR_TESTBED:-/var/tmp/rctr-testbed}
. "$TESTBED/env"
USER_NAME=${RCTR_TEST_USER:-rctrtest}

if [ "$(id -u)" = 0 ]; then
    exec su "$USER_NAME" -c "RCTR='$RCTR' RCTR_TESTBED='$TESTBED' sh '$HERE/bench/pull.sh' $ROUNDS"
fi

REG=$RCTR_TEST_REGISTRY
IMG="$REG/${RCTR_TEST_IMG_DEBIAN:-debian:bookworm}"
WORK=$(mktemp -d /var/tmp/rctr-bench-pull.XXXXXX)

# rctr: its own HOME and config, allowing plain HTTP to the loopback registry.
RH=$WORK/rctr
mkdir -p "$RH/.config/rctr" "$RH/run"
chmod 700 "$RH/run"
printf '[registries]\nsearch = ["%s"]\ninsecure = ["%s"]\n' "$REG" "$REG" > "$RH/.config/rctr/config.toml"
rctr() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$RH" XDG_RUNTIME_DIR="$RH/run" "$RCTR" "$@"; }

# podman: configured as TESTBED.md describes, in its own HOME.
PH=$WORK/podman
mkdir -p "$PH/.config/containers" "$PH/run"
chmod 700 "$PH/run"
cat > "$PH/.config/containers/containers.conf" <<CONF
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
printf '[storage]\ndriver = "overlay"\n' > "$PH/.config/containers/storage.conf"
cat > "$PH/.config/containers/registries.conf" <<CONF
unqualified-search-registries = ["$REG"]
[[registry]]
location = "$REG"
insecure = true
CONF
podman() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$PH" XDG_RUNTIME_DIR="$PH/run" /usr/bin/podman "$@"; }

cleanup() {
    rctr system reset -f >/dev/null 2>&1 || true
    podman system reset -f >/dev/null 2>&1 || true
    rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT

now() { date +%s.%N; }

# Times one pull from an empty store; prints seconds.
time_pull() {
    tool=$1
    "$tool" rmi -a -f >/dev/null 2>&1 || true
    # Start each round with no dirty pages pending, so one round's writeback does not slow the next.
    sync
    t0=$(now)
    "$tool" pull -q "$IMG" >/dev/null
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'; }

echo "pulling $IMG, $ROUNDS rounds each, alternating tools"
# Warm up both (first podman start creates its storage; first rctr run its store).
rctr images >/dev/null 2>&1
podman images >/dev/null 2>&1
R=""
P=""
i=1
while [ "$i" -le "$ROUNDS" ]; do
    r=$(time_pull rctr)
    p=$(time_pull podman)
    printf 'round %d: rctr %.3f s  podman %.3f s\n' "$i" "$r" "$p"
    R="$R$r
"
    P="$P$p
"
    i=$((i + 1))
done
RM=$(printf '%s' "$R" | median)
PM=$(printf '%s' "$P" | median)
printf 'median: rctr %s s  podman %s s  podman/rctr %.1fx\n' "$RM" "$PM" "$(echo "$PM / $RM" | bc -l)"
