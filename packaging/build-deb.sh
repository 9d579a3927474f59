#!/usr/bin/env bash
# Builds target/packages/rctr_VERSION_ARCH.deb with dpkg-deb from the staged files.
# RCTR_PREBUILT=path/to/rctr skips the cargo build.
source "$(dirname "$0")/common.sh"
stage_files
ARCH=$(dpkg --print-architecture)
DOC="$STAGE/usr/share/doc/rctr"
install -D -m 0644 "$TOP/packaging/deb/copyright" "$DOC/copyright"
printf 'rctr (%s-1) unstable; urgency=medium\n\n  * Release %s.\n\n -- rctr maintainers <maintainers@rctr.invalid>  %s\n' \
  "$VERSION" "$VERSION" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || date +%s)}")" \
  | gzip -9n > "$DOC/changelog.Debian.gz"
chmod 0644 "$DOC/changelog.Debian.gz"

# Shared-library dependencies, as dpkg-shlibdeps computes them for the binary.
mkdir -p "$STAGE/debian"
touch "$STAGE/debian/control"
SHLIBS=$(cd "$STAGE" && dpkg-shlibdeps -O usr/bin/rctr 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
rm -rf "$STAGE/debian"

mkdir -p "$STAGE/DEBIAN"
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<CTL
Package: rctr
Version: $VERSION-1
Architecture: $ARCH
Maintainer: rctr maintainers <maintainers@rctr.invalid>
Installed-Size: $SIZE
Depends: ${SHLIBS:+$SHLIBS, }uidmap, slirp4netns
Recommends: fuse-overlayfs, passt, iproute2, nftables
Section: admin
Priority: optional
Homepage: https://github.com/rctr/rctr
Description: rootless, daemonless containers for Linux workstations
 rctr runs, builds and manages OCI containers and images as an ordinary
 user, with no daemon and no root. Its command line follows podman and
 docker: run, ps, logs, exec, pull, images, build and the rest.
CTL
echo /etc/rctr/config.toml > "$STAGE/DEBIAN/conffiles"
(cd "$STAGE" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/conffiles" "$STAGE/DEBIAN/md5sums"
find "$STAGE" -type d -exec chmod 0755 {} +
DEB="$OUT/rctr_${VERSION}-1_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
