#!/usr/bin/env bash
# Builds target/packages/rctr-VERSION-1.ARCH.rpm with rpmbuild from the staged files.
# RCTR_PREBUILT=path/to/rctr skips the cargo build.
source "$(dirname "$0")/common.sh"
stage_files
TOPDIR=$(mktemp -d)
rpmbuild -bb --quiet \
  --define "_topdir $TOPDIR" \
  --define "rctr_version $VERSION" \
  --define "rctr_stage $STAGE" \
  --define "__os_install_post %{nil}" \
  --define "debug_package %{nil}" \
  --define "_build_id_links none" \
  "$TOP/packaging/rpm/rctr.spec"
RPM=$(find "$TOPDIR/RPMS" -name '*.rpm' | head -1)
mv "$RPM" "$OUT/"
rm -rf "$TOPDIR"
echo "$OUT/$(basename "$RPM")"
