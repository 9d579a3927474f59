# Shared set-up of the side-by-side benchmarks (run.sh, detach.sh, net.sh; pull.sh takes only
# podman_config), sourced by bash or sh.
# The caller sets $rctr (the binary), $reg (the test bed's plain registry) and $user, then calls
# `bench_setup [EXTRA_RCTR_CONFIG]`. That makes $work with an isolated HOME and runtime dir for
# rctr and for podman, configured alike: the loopback registry searched and insecure, and podman
# as TESTBED.md says (runc, cgroupfs, file events, the overlay driver). Everything both tools made
# is removed on exit.

env_rctr() {
	env -i PATH="$PATH" USER="$user" HOME="$work/rctr/home" XDG_RUNTIME_DIR="$work/rctr/run" "$@"
}
env_podman() {
	env -i PATH="$PATH" USER="$user" HOME="$work/podman/home" XDG_RUNTIME_DIR="$work/podman/run" "$@"
}

bench_cleanup() {
	env_rctr "$rctr" rm -af >/dev/null 2>&1 || true
	env_podman podman rm -af -t 0 >/dev/null 2>&1 || true
	env_rctr "$rctr" system reset -f >/dev/null 2>&1 || true
	env_podman podman system reset -f >/dev/null 2>&1 || true
	rm -rf "$work" "$runbase" 2>/dev/null || true
}

bench_setup() {
	local extra=${1:-}
	work=$(mktemp -d /var/tmp/rctr-bench.XXXXXX)
	# The runtime directories are on tmpfs, as $XDG_RUNTIME_DIR (/run/user/UID) is wherever
	# systemd-logind runs. This machine has no logind, so /dev/shm stands in for it.
	runbase=$(mktemp -d /dev/shm/rctr-bench-run.XXXXXX)
	trap bench_cleanup EXIT
	mkdir -p "$work/rctr/home/.config/rctr" "$runbase/rctr" \
		"$work/podman/home/.config/containers" "$runbase/podman"
	chmod 700 "$runbase/rctr" "$runbase/podman"
	ln -s "$runbase/rctr" "$work/rctr/run"
	ln -s "$runbase/podman" "$work/podman/run"
	printf '[registries]\nsearch = ["%s"]\ninsecure = ["%s"]\n%s' "$reg" "$reg" "$extra" \
		>"$work/rctr/home/.config/rctr/config.toml"
	podman_config "$work/podman/home/.config/containers" "$reg"
}

# Writes podman's configuration into DIR (a `.config/containers`), as TESTBED.md says: runc,
# cgroupfs, file events, the overlay driver, and REGISTRY searched and insecure.
podman_config() {
	cat >"$1/containers.conf" <<CONF
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
	printf '[storage]\ndriver = "overlay"\n' >"$1/storage.conf"
	cat >"$1/registries.conf" <<CONF
unqualified-search-registries = ["$2"]
[[registry]]
location = "$2"
insecure = true
CONF
}
