# Shared by build-deb.sh and build-rpm.sh: builds the release binary and stages the files every
# package installs (binary, man pages, completions, system config) under $STAGE.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$TOP/Cargo.toml" | head -1)
OUT=${OUT:-$TOP/target/packages}
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT

stage_files() {
  if [ -z "${RCTR_PREBUILT:-}" ]; then
    (cd "$TOP" && cargo build --release --locked)
  fi
  local bin=${RCTR_PREBUILT:-$TOP/target/release/rctr}
  install -D -m 0755 "$bin" "$STAGE/usr/bin/rctr"
  strip --strip-unneeded "$STAGE/usr/bin/rctr"
  install -d "$STAGE/usr/share/man/man1"
  for m in "$TOP"/man/*.1; do
    gzip -9n < "$m" > "$STAGE/usr/share/man/man1/$(basename "$m").gz"
  done
  install -D -m 0644 "$TOP/completions/rctr.bash" "$STAGE/usr/share/bash-completion/completions/rctr"
  install -D -m 0644 "$TOP/completions/_rctr" "$STAGE/usr/share/zsh/vendor-completions/_rctr"
  install -D -m 0644 "$TOP/completions/rctr.fish" "$STAGE/usr/share/fish/vendor_completions.d/rctr.fish"
  install -D -m 0644 "$TOP/packaging/config.toml" "$STAGE/etc/rctr/config.toml"
  mkdir -p "$OUT"
}
