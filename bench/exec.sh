#!/bin/sh
# Side-by-side figures for detached containers, rctr next to podman, in one run:
#   - median time of `exec c true` over N runs,
#   - median time until `run -d` returns,
#   - RSS of the per-container supervisor of an idle detached container (rctr's monitor;
#     podman's conmon plus its slirp4netns).
# Run as the unprivileged user, with a release build: cargo build --release && bench/exec.sh
# Images: the test bed's busybox (RCTR_TEST_REGISTRY) for both tools. podman must be configured for
# rootless use as /work/shared/design/TESTBED.md says (runc, cgroupfs, overlay, the registry insecure).
set -eu
N=${N:-20}
RCTR=${RCTR:-$(dirname "$0")/../target/release/rctr}
. /var/tmp/rctr-testbed/env
IMG=$RCTR_TEST_REGISTRY/busybox:latest
PODMAN="podman"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
rss_kb() { awk '/^Rss:/ {print $2}' /proc/"$1"/smaps_rollup 2>/dev/null || echo 0; }

"$RCTR" pull -q "$IMG" >/dev/null 2>&1 || "$RCTR" pull "$IMG" >/dev/null
$PODMAN pull -q --tls-verify=false "$IMG" >/dev/null
"$RCTR" rm -f benchc >/dev/null 2>&1 || true
$PODMAN rm -f -t 0 benchc >/dev/null 2>&1 || true

r_run=$(for i in $(seq "$N"); do ms "$RCTR" run -d --rm --network none "$IMG" true; done | median)
p_run=$(for i in $(seq "$N"); do ms $PODMAN run -d --rm --network none "$IMG" true; done | median)

"$RCTR" run -d --name benchc --network none "$IMG" sleep 600 >/dev/null
$PODMAN run -d --name benchc "$IMG" sleep 600 >/dev/null
r_exec=$(for i in $(seq "$N"); do ms "$RCTR" exec benchc true; done | median)
p_exec=$(for i in $(seq "$N"); do ms $PODMAN exec benchc true; done | median)

mon=$(pgrep -u "$(id -u)" -x rctr-monitor | head -1)
r_rss=$(rss_kb "$mon")
conmon=$(pgrep -u "$(id -u)" -x conmon | head -1)
slirp=$(pgrep -u "$(id -u)" -x slirp4netns | head -1 || true)
p_rss=$(( $(rss_kb "$conmon") + $( [ -n "$slirp" ] && rss_kb "$slirp" || echo 0) ))

printf '%-34s %10s %10s\n' "" rctr podman
printf '%-34s %8s ms %7s ms\n' "run -d returns (median of $N)" "$r_run" "$p_run"
printf '%-34s %8s ms %7s ms\n' "exec c true (median of $N)" "$r_exec" "$p_exec"
printf '%-34s %7s kB %7s kB\n' "supervisor RSS per idle container" "$r_rss" "$p_rss"

"$RCTR" rm -f benchc >/dev/null 2>&1 || true
$PODMAN rm -f -t 0 benchc >/dev/null 2>&1 || true
