#!/usr/bin/env bash
# Benchmark: `run --rm --network none alpine true`, rctr (release build) against Debian's podman,
# in one hyperfine run so that the ratio is fair on a shared machine. Runs as the unprivileged
# test user (re-executing itself through su when started as root), with isolated HOMEs for both.
#
#   bench/run.sh [RUNS]        (default 40 runs each, after 5 warm-up runs)
#
# podman is configured as TESTBED.md says: runc, cgroupfs, file events, the overlay driver, and the
# test bed's plain registry as an insecure search registry.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-40}
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
bench_setup '[network]
default = "none"
'

env_rctr "$rctr" pull -q alpine >/dev/null
env_podman podman pull -q alpine >/dev/null
# Both must work before they are timed.
env_rctr "$rctr" run --rm --network none alpine true
env_podman podman run --rm --network none alpine true

# hyperfine -N execs each command directly, so neither pays for a shell or `env`: podman gets
# its environment from ours, rctr its store and config from flags.
export HOME="$work/podman/home" XDG_RUNTIME_DIR="$work/podman/run"
unset XDG_CONFIG_HOME XDG_DATA_HOME
rflags="--root $work/rctr/home/.local/share/rctr --runroot $work/rctr/run/rctr --config $work/rctr/home/.config/rctr/config.toml"
# `reference` makes the same kinds of namespaces with util-linux alone: a yardstick of how fast
# the machine is at the time (on a shared VM it varies with the host's load), so that runs
# taken at different times can be compared.
hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/result.json" \
	-n rctr "$rctr $rflags run --rm --network none alpine true" \
	-n podman "podman run --rm --network none alpine true" \
	-n reference "unshare -Urmnpfiu --mount-proc true"

python3 - "$work/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
rm, pm = r["rctr"]["median"] * 1000, r["podman"]["median"] * 1000
print(f"median rctr:   {rm:8.2f} ms")
print(f"median podman: {pm:8.2f} ms")
print(f"podman / rctr: {pm / rm:8.1f}x")
print(f"median reference (unshare -Urmnpfiu --mount-proc true): {r['reference']['median'] * 1000:.2f} ms")
PY
