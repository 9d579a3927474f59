#!/usr/bin/env bash
# Benchmark of detached containers, rctr (release build) next to Debian's podman 4.3, in one run so
# that the ratios are fair on a shared machine:
#   1. `exec c true` (hyperfine, both tools in one hyperfine run),
#   2. the time until `run -d --rm --network none busybox true` returns (hyperfine),
#   3. the memory of the helper processes that stay behind per idle detached container
#      (`sleep 600`, slirp4netns network): rctr's monitor and its slirp4netns, podman's conmon
#      and its slirp4netns. PSS and RSS come from /proc/PID/smaps_rollup; PSS shares the pages of
#      the same binary among containers, so it is the fair per-container cost. A last line splits
#      it: the monitor (conmon) alone and the slirp4netns alone.
# Runs as the unprivileged test user (re-executing itself through su when started as root), with
# isolated HOMEs for both tools, podman configured as TESTBED.md says (runc, cgroupfs, file events,
# overlay, the test bed's registry insecure and searched).
#
#   bench/detach.sh [RUNS] [CONTAINERS]     (default 30 timed runs each, 3 idle containers each)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-30}
count=${2:-3}
user=${RCTR_BENCH_USER:-rctrtest}
if [ "$(id -u)" = 0 ]; then
	exec su "$user" -c "$(printf '%q ' "$0" "$@")"
fi

rctr=${RCTR_BIN:-$here/target/release/rctr}
[ -x "$rctr" ] || { echo "no release build at $rctr: run cargo build --release" >&2; exit 1; }
tb=${RCTR_TESTBED:-/var/tmp/rctr-testbed}
reg=$(sed -n 's/^RCTR_TEST_REGISTRY=//p' "$tb/env")
[ -n "$reg" ] || { echo "no RCTR_TEST_REGISTRY in $tb/env" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
bench_setup

env_rctr "$rctr" pull -q busybox >/dev/null
env_podman podman pull -q busybox >/dev/null

# hyperfine -N execs each command directly, so neither pays for a shell or `env`: podman gets its
# environment from ours, rctr its store and config from flags.
export HOME="$work/podman/home" XDG_RUNTIME_DIR="$work/podman/run"
unset XDG_CONFIG_HOME XDG_DATA_HOME
rflags="--root $work/rctr/home/.local/share/rctr --runroot $work/rctr/run/rctr --config $work/rctr/home/.config/rctr/config.toml"

summary() {
	python3 - "$1" "$2" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
rm, pm = r["rctr"]["median"] * 1000, r["podman"]["median"] * 1000
print(f"{sys.argv[2]:<40} rctr {rm:8.2f} ms   podman {pm:8.2f} ms   podman/rctr {pm / rm:6.1f}x")
PY
}

# 1. exec into a running container.
env_rctr "$rctr" run -d --name benchc --network none busybox sleep 600 >/dev/null
env_podman podman run -d --name benchc --network none busybox sleep 600 >/dev/null
env_rctr "$rctr" exec benchc true
env_podman podman exec benchc true
hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/exec.json" \
	-n rctr "$rctr $rflags exec benchc true" \
	-n podman "podman exec benchc true" >"$work/exec.txt"

# 2. run -d: the time until the command returns (the container runs by then).
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/run.json" \
	-n rctr "$rctr $rflags run -d --rm --network none busybox true" \
	-n podman "podman run -d --rm --network none busybox true" >"$work/run.txt"

# 3. memory of the helpers of idle detached containers with user-mode networking.
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep . || true; }
is_slirp() { [ "$(cat /proc/"$1"/comm 2>/dev/null)" = slirp4netns ]; }
# podman starts slirp4netns apart from conmon (it is reparented to init): find it by the
# container's network namespace (its SandboxKey), which is on its command line.
podman_slirp() { pgrep -u "$(id -u)" -x slirp4netns -a | awk -v k="$1" 'index($0, k) {print $1}' | head -1; }
r_pss=0 r_rss=0 p_pss=0 p_rss=0 r_slirp=0 p_slirp=0
# The same split by process: the monitor or conmon alone, and the slirp4netns alone (PSS).
r_mon=0 p_mon=0 r_sl=0 p_sl=0
for i in $(seq "$count"); do
	env_rctr "$rctr" run -d --name "idle$i" --network slirp4netns busybox sleep 600 >/dev/null
	env_podman podman run -d --name "idle$i" --network slirp4netns busybox sleep 600 >/dev/null
done
sleep 2
for i in $(seq "$count"); do
	mon=$(env_rctr "$rctr" inspect --format '{{.State.ConmonPid}}' "idle$i")
	helpers="$mon"
	r_mon=$((r_mon + $(kb "$mon" Pss)))
	for c in $(children "$mon"); do
		is_slirp "$c" && helpers="$helpers $c" && r_slirp=$((r_slirp + 1)) && r_sl=$((r_sl + $(kb "$c" Pss)))
	done
	for p in $helpers; do r_pss=$((r_pss + $(kb "$p" Pss))); r_rss=$((r_rss + $(kb "$p" Rss))); done
	conmon=$(env_podman podman inspect --format '{{.State.ConmonPid}}' "idle$i")
	netns=$(env_podman podman inspect --format '{{.NetworkSettings.SandboxKey}}' "idle$i")
	helpers="$conmon"
	s=$(podman_slirp "$netns")
	p_mon=$((p_mon + $(kb "$conmon" Pss)))
	[ -n "$s" ] && helpers="$helpers $s" && p_slirp=$((p_slirp + 1)) && p_sl=$((p_sl + $(kb "$s" Pss)))
	for p in $helpers; do p_pss=$((p_pss + $(kb "$p" Pss))); p_rss=$((p_rss + $(kb "$p" Rss))); done
done

# The same without a network: the monitor or conmon alone.
n_r=0 n_p=0 n_rr=0 n_pr=0
for i in $(seq "$count"); do
	env_rctr "$rctr" run -d --name "bare$i" --network none busybox sleep 600 >/dev/null
	env_podman podman run -d --name "bare$i" --network none busybox sleep 600 >/dev/null
done
sleep 1
for i in $(seq "$count"); do
	mon=$(env_rctr "$rctr" inspect --format '{{.State.ConmonPid}}' "bare$i")
	conmon=$(env_podman podman inspect --format '{{.State.ConmonPid}}' "bare$i")
	n_r=$((n_r + $(kb "$mon" Pss))); n_rr=$((n_rr + $(kb "$mon" Rss)))
	n_p=$((n_p + $(kb "$conmon" Pss))); n_pr=$((n_pr + $(kb "$conmon" Rss)))
done

echo "rctr $("$rctr" --version | awk '{print $2}') vs $(podman --version), $runs timed runs each, $(nproc) CPUs"
summary "$work/exec.json" "exec c true (median)"
summary "$work/run.json" "run -d returns (median)"
printf '%-40s rctr %6d kB PSS %6d kB RSS   podman %6d kB PSS %6d kB RSS\n' \
	"helpers per idle container (mean of $count)" \
	$((r_pss / count)) $((r_rss / count)) $((p_pss / count)) $((p_rss / count))
printf '%-40s rctr %6d kB PSS %6d kB RSS   podman %6d kB PSS %6d kB RSS\n' \
	"same, --network none (mean of $count)" \
	$((n_r / count)) $((n_rr / count)) $((n_p / count)) $((n_pr / count))
echo "  (rctr: monitor + $r_slirp slirp4netns; podman: conmon + $p_slirp slirp4netns, over $count containers)"
echo "  split, PSS per container: rctr monitor $((r_mon / count)) kB + slirp4netns $((r_sl / count)) kB;" \
	"podman conmon $((p_mon / count)) kB + slirp4netns $((p_sl / count)) kB"
