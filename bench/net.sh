#!/usr/bin/env bash
# Benchmark: network throughput with iperf3, rctr (release build) against Debian's podman 4.3, in
# one run so the figures are comparable on a shared machine, with host loopback as the ceiling.
#   ingress: host client -> `-p 127.0.0.1:PORT:5201` -> iperf3 server in the container
#   egress:  iperf3 client in the container -> the host's gateway address -> iperf3 server on the
#            host's 127.0.0.1 (slirp4netns allow_host_loopback=true; pasta maps its gateway)
#   egress, pasta -T: the container connects to its own 127.0.0.1:PORT, where pasta listens
#            (`--network pasta:-T,PORT`) and splices to the host's 127.0.0.1:PORT
# for slirp4netns and pasta. Runs as the unprivileged test user (re-executing itself through su
# when started as root), with isolated HOMEs for both tools, configured as bench/run.sh does.
# The container is debian:bookworm with the host's iperf3 and its libraries bound in read-only.
# A figure a tool cannot produce prints as n/a (Debian's podman 4.3.1 rejects --network pasta).
#
# Every measurement runs ROUNDS times, the rounds interleaved (each round measures loopback and
# every path once), so a load change on a shared machine hits all of them alike; the table shows
# medians, and iperf3 leaves the first second (slow start) out of each figure.
#
#   bench/net.sh [ROUNDS] [SECONDS]     (default 3 rounds of 10 seconds per measurement)
# RCTR_BIN picks the rctr binary; RCTR_BASE, if set, names a second one (an older build) that
# is measured in the same rounds, in a `base` column, for before/after figures.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
secs=${2:-10}
user=${RCTR_BENCH_USER:-rctrtest}
if [ "$(id -u)" = 0 ]; then
	exec su "$user" -c "$(printf '%q ' "$here/bench/net.sh" "$@")"
fi

rctr=${RCTR_BIN:-$here/target/release/rctr}
[ -x "$rctr" ] || { echo "no release build at $rctr: run cargo build --release" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "iperf3 is not installed (Debian package iperf3)" >&2; exit 1; }
tb=${RCTR_TESTBED:-/var/tmp/rctr-testbed}
reg=$(sed -n 's/^RCTR_TEST_REGISTRY=//p' "$tb/env")
[ -n "$reg" ] || { echo "no RCTR_TEST_REGISTRY in $tb/env" >&2; exit 1; }

# shellcheck source=bench/lib.sh
. "$here/bench/lib.sh"
bench_setup
tool() { # tool NAME ARGS...: runs rctr or podman in its own environment
	local t=$1
	shift
	case $t in
	rctr) env_rctr "$rctr" "$@" ;;
	base) env_rctr "$RCTR_BASE" "$@" ;;
	*) env_podman podman "$@" ;;
	esac
}

# iperf3 comes from the host: the binary and the libraries the minimal image lacks.
binds=(-v /usr/bin/iperf3:/usr/bin/iperf3:ro)
for lib in libiperf.so.0 libsctp.so.1 libcrypto.so.3; do
	p=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
	[ -n "$p" ] && binds+=(-v "$p:/usr/lib/x86_64-linux-gnu/$lib:ro")
done

image=debian:bookworm
env_rctr "$rctr" pull -q "$image" >/dev/null
env_podman podman pull -q "$image" >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The receiver's rate in Gbit/s from iperf3's JSON on stdin.
rate() { python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))' 2>/dev/null || echo "n/a"; }
client() { # client ARGS...: one iperf3 measurement, as a rate
	iperf3 -c "$@" -t "$secs" -O 1 -J 2>/dev/null | rate
}

# One iperf3 server on the host's loopback serves the loopback ceiling and every egress test.
srv_port=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$srv_port" >/dev/null 2>&1 &
srv_pid=$!
cleanup() {
	kill "$srv_pid" 2>/dev/null || true
	bench_cleanup
}
trap cleanup EXIT

# Ingress servers run for the whole benchmark, each published on its own host port. podman
# 4.3 has no pasta, so its pasta rows stay n/a.
declare -A in_port
start_ingress() { # start_ingress KEY TOOL NETWORK [pasta-t]
	local port name="bench-$1-$$"
	port=$(free_port)
	if [ "${4:-}" = pasta-t ]; then
		set -- "$1" "$2" "pasta:-t,127.0.0.1/$port:5201"
		tool "$2" run -d --name "$name" --network "$3" "${binds[@]}" "$image" iperf3 -s >/dev/null 2>&1 ||
			port=
	else
		tool "$2" run -d --name "$name" --network "$3" -p "127.0.0.1:$port:5201" "${binds[@]}" \
			"$image" iperf3 -s >/dev/null 2>&1 || port=
	fi
	in_port[$1]=$port
}
ingress() { # ingress KEY: one measurement through that container's published port
	local port=${in_port[$1]} r=n/a
	[ -n "$port" ] || { echo n/a; return; }
	for _ in 1 2 3 4 5 6 7 8 9 10; do # the first round may find the server still starting
		r=$(client 127.0.0.1 -p "$port")
		[ "$r" != n/a ] && break
		sleep 0.5
	done
	echo "$r"
}
egress() { # egress TOOL NETWORK ADDRESS
	tool "$1" run --rm --network "$2" "${binds[@]}" "$image" iperf3 -c "$3" -p "$srv_port" \
		-t "$secs" -O 1 -J 2>/dev/null | rate
}

# pasta copies the host's default gateway, and maps it to the host's loopback.
gw=$(ip -4 route show default | awk '{print $3; exit}')

start_ingress rctr-slirp rctr slirp4netns
start_ingress podman-slirp podman slirp4netns
start_ingress rctr-pasta rctr pasta
start_ingress podman-pasta podman pasta
start_ingress rctr-pasta-t rctr pasta pasta-t
rctrs=(rctr)
if [ -n "${RCTR_BASE:-}" ]; then
	rctrs+=(base)
	start_ingress base-slirp base slirp4netns
	start_ingress base-pasta base pasta
	start_ingress base-pasta-t base pasta pasta-t
fi
sleep 1

rows=(lo in-slirp in-pasta in-pasta-t out-slirp out-pasta out-pasta-T)
declare -A label=(
	[lo]="host loopback (ceiling)"
	[in-slirp]="ingress -p, slirp4netns"
	[in-pasta]="ingress -p, pasta"
	[in-pasta-t]="ingress, pasta's own -t"
	[out-slirp]="egress to host lo, slirp4netns"
	[out-pasta]="egress to host lo, pasta"
	[out-pasta-T]="egress to host lo, pasta -T"
)
declare -A got # got[ROW/TOOL]: the figures of every round
measure() { # measure ROW TOOL
	local r
	case "$1/$2" in
	lo/*) r=$(client 127.0.0.1 -p "$srv_port") ;;
	in-slirp/*) r=$(ingress "$2-slirp") ;;
	in-pasta/*) r=$(ingress "$2-pasta") ;;
	in-pasta-t/rctr | in-pasta-t/base) r=$(ingress "$2-pasta-t") ;;
	out-slirp/*) r=$(egress "$2" slirp4netns:allow_host_loopback=true 10.0.2.2) ;;
	out-pasta/rctr | out-pasta/base) r=$(egress "$2" pasta "$gw") ;;
	out-pasta-T/rctr | out-pasta-T/base) r=$(egress "$2" "pasta:-T,$srv_port" 127.0.0.1) ;;
	*) r=- ;;
	esac
	got[$1/$2]+="$r "
	echo "round $round: $1 $2 $r" >&2
}
for round in $(seq "$rounds"); do
	for row in "${rows[@]}"; do
		for t in "${rctrs[@]}"; do
			[ "$row" = lo ] && [ "$t" = base ] && continue
			measure "$row" "$t"
		done
		case $row in lo | *pasta*) ;; *) measure "$row" podman ;; esac
	done
done

median() { # median FIGURES...: of the numeric ones, or n/a
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -n |
		awk '{v[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'
}
pct() { # pct A B: A as a percentage of B
	awk -v a="$1" -v b="$2" 'BEGIN {if (a+0 > 0 && b+0 > 0) printf "%d%%", 100*a/b; else print "-"}'
}
# shellcheck disable=SC2086 # the figures are space-separated on purpose
ceiling=$(median ${got[lo/rctr]})
printf '\n%-32s %8s %8s %8s %9s %9s\n' "Gbit/s, median of $rounds x ${secs}s" rctr podman base "rctr/lo" "rctr/pod"
for row in "${rows[@]}"; do
	# shellcheck disable=SC2086
	r=$(median ${got[$row/rctr]})
	p=-
	case $row in
	lo) p=$r ;;
	in-pasta | in-pasta-t | out-pasta | out-pasta-T) p=n/a ;;
	*)
		# shellcheck disable=SC2086
		p=$(median ${got[$row/podman]})
		;;
	esac
	b=-
	if [ -n "${RCTR_BASE:-}" ] && [ "$row" != lo ]; then
		# shellcheck disable=SC2086
		b=$(median ${got[$row/base]})
	fi
	printf '%-32s %8s %8s %8s %9s %9s\n' "${label[$row]}" "$r" "$p" "$b" "$(pct "$r" "$ceiling")" "$(pct "$r" "$p")"
done
echo "every round (rctr): " >&2
for row in "${rows[@]}"; do echo "  $row: ${got[$row/rctr]:-}" >&2; done
uptime
