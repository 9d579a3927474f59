#!/usr/bin/env bash
# Benchmark: network throughput with iperf3, rctr (release build) against Debian's podman 4.3, in
# one run so the figures are comparable on a shared machine, with host loopback as the ceiling.
#   ingress: host client -> `-p 127.0.0.1:PORT:5201` -> iperf3 server in the container
#   egress:  iperf3 client in the container -> the host's gateway address -> iperf3 server on the
#            host's 127.0.0.1 (slirp4netns allow_host_loopback=true; pasta maps its gateway)
# for slirp4netns and pasta. Runs as the unprivileged test user (re-executing itself through su
# when started as root), with isolated HOMEs for both tools, configured as bench/run.sh does.
# The container is debian:bookworm with the host's iperf3 and its libraries bound in read-only.
# A figure a tool cannot produce prints as n/a (Debian's podman 4.3.1 rejects --network pasta).
#
#   bench/net.sh [SECONDS]     (default 5 seconds per measurement)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-5}
user=${RCTR_BENCH_USER:-rctrtest}
if [ "$(id -u)" = 0 ]; then
	exec su "$user" -c "$(printf '%q ' "$0" "$@")"
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
	if [ "$t" = rctr ]; then env_rctr "$rctr" "$@"; else env_podman podman "$@"; fi
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
host_loopback() {
	local port
	port=$(free_port)
	iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
	sleep 0.3
	iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J 2>/dev/null | rate
	wait 2>/dev/null || true
}

ingress() { # ingress TOOL NETWORK [pasta-t]: through -p, or pasta's own -t forwarder
	local port name=bench-in-$$
	port=$(free_port)
	if [ "${3:-}" = pasta-t ]; then
		tool "$1" run -d --name "$name" --network "pasta:-t,127.0.0.1/$port:5201" "${binds[@]}" \
			"$image" iperf3 -s >/dev/null
	else
		tool "$1" run -d --name "$name" --network "$2" -p "127.0.0.1:$port:5201" "${binds[@]}" \
			"$image" iperf3 -s >/dev/null
	fi
	sleep 1
	local r="n/a"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		r=$(iperf3 -c 127.0.0.1 -p "$port" -t "$secs" -J 2>/dev/null | rate)
		[ "$r" != n/a ] && break
		sleep 0.5
	done
	echo "$r"
	tool "$1" rm -f "$name" >/dev/null 2>&1 || true
}

egress() { # egress TOOL NETWORK GATEWAY
	local port
	port=$(free_port)
	iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
	local srv=$!
	sleep 0.3
	tool "$1" run --rm --network "$2" "${binds[@]}" "$image" iperf3 -c "$3" -p "$port" -t "$secs" -J 2>/dev/null | rate
	kill "$srv" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
}

# pasta copies the host's default gateway, and maps it to the host's loopback.
gw=$(ip -4 route show default | awk '{print $3; exit}')

ceiling=$(host_loopback)
printf '%-34s %10s %10s\n' "Gbit/s (iperf3, ${secs}s each)" rctr podman
printf '%-34s %10s %10s\n' "host loopback (ceiling)" "$ceiling" "$ceiling"
for net in slirp4netns pasta; do
	r=$(ingress rctr "$net")
	p=$(ingress podman "$net")
	printf '%-34s %10s %10s\n' "ingress -p, $net" "$r" "$p"
done
r=$(ingress rctr pasta pasta-t)
printf '%-34s %10s %10s\n' "ingress pasta's own -t (rctr)" "$r" "-"
r=$(egress rctr slirp4netns:allow_host_loopback=true 10.0.2.2)
p=$(egress podman slirp4netns:allow_host_loopback=true 10.0.2.2)
printf '%-34s %10s %10s\n' "egress to host lo, slirp4netns" "$r" "$p"
r=$(egress rctr pasta "$gw")
p=$(egress podman pasta "$gw")
printf '%-34s %10s %10s\n' "egress to host lo, pasta" "$r" "$p"
