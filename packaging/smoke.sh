#!/usr/bin/env bash
# Builds the .deb and .rpm, checks them (lintian errors, rpm file list and dependencies), installs
# the .deb with apt so Debian resolves its dependencies, and runs the installed binary as the
# unprivileged test user: a container, bash completion loading, and a man page.
# Run as root after tests/fixtures/setup.sh. Usage: packaging/smoke.sh [TEST_USER]
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
USER_NAME=${1:-rctrtest}
fail() { echo "packaging smoke: $*" >&2; exit 1; }

DEB=$("$TOP/packaging/build-deb.sh" | tail -1)
RPM=$(RCTR_PREBUILT=$TOP/target/release/rctr "$TOP/packaging/build-rpm.sh" | tail -1)

echo "== lintian $DEB"
lintian --tag-display-limit 0 "$DEB" > /tmp/rctr-lintian.txt 2>&1 || true
cat /tmp/rctr-lintian.txt
if grep -q '^E: ' /tmp/rctr-lintian.txt; then fail "lintian reports errors"; fi

echo "== rpm $RPM"
files=$(rpm -qpl "$RPM")
for f in /usr/bin/rctr /etc/rctr/config.toml /usr/share/bash-completion/completions/rctr \
         /usr/share/zsh/vendor-completions/_rctr /usr/share/fish/vendor_completions.d/rctr.fish \
         /usr/share/man/man1/rctr.1.gz /usr/share/man/man1/rctr-run.1.gz; do
  grep -qx "$f" <<<"$files" || fail "$RPM lacks $f"
done
reqs=$(rpm -qpR "$RPM")
for r in shadow-utils slirp4netns; do grep -qx "$r" <<<"$reqs" || fail "$RPM does not require $r"; done

echo "== apt install $DEB"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$DEB" >/dev/null
dpkg -s rctr | grep -q '^Status: install ok installed' || fail "rctr not installed"
[ "$(command -v rctr)" = /usr/bin/rctr ] || fail "rctr is not /usr/bin/rctr"

# As the test user, in a throwaway HOME, with the test bed's plain registry as search registry.
source /var/tmp/rctr-testbed/env
H=$(runuser -u "$USER_NAME" -- mktemp -d /var/tmp/rctr-smoke.XXXXXX)
runuser -u "$USER_NAME" -- mkdir -p "$H/.config/rctr"
printf '[registries]\nsearch = ["%s"]\ninsecure = ["%s"]\n' "$RCTR_TEST_REGISTRY" "$RCTR_TEST_REGISTRY" \
  | runuser -u "$USER_NAME" -- tee "$H/.config/rctr/config.toml" >/dev/null
as_user() {
  runuser -u "$USER_NAME" -- env -i HOME="$H" USER="$USER_NAME" PATH=/usr/bin:/bin \
    XDG_RUNTIME_DIR="/run/user/$(id -u "$USER_NAME")" "$@"
}
echo "== installed rctr run --rm as $USER_NAME"
out=$(as_user rctr run --rm busybox echo smoke-ok)
[ "$out" = smoke-ok ] || fail "run printed '$out'"
echo "== bash completion from the installed package"
comp=$(as_user bash -c 'source /usr/share/bash-completion/completions/rctr; COMP_WORDS=(rctr ru); COMP_CWORD=1; _clap_complete_rctr rctr ru rctr; printf "%s\n" "${COMPREPLY[@]}"')
grep -qx 'run' <<<"$comp" || fail "bash completion of 'rctr ru' gave: $comp"
echo "== man rctr-run"
man -w rctr-run >/dev/null || fail "man page rctr-run not found"
as_user rctr system reset -f
rm -rf "$H"
# Leave the machine as it was: the test suite runs its own copy of rctr, not the package.
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq rctr >/dev/null
echo "packaging smoke: ok"
