#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build-module.sh [--sparse] KVER: build/KVER/tcptimeo.ko (make KVER=...).
#
# Kbuild writes into its source tree, so each kernel builds in its own copy
# (build/KVER/src; for a kernel built in a chroot, ROOT/tcptimeo-build/TREE/KVER/
# src), synced file by file (tools/sync-src.sh) so that Kbuild rebuilds only
# what changed. W=1; any warning fails the build and drops the objects, so
# that the next build warns again instead of finding nothing to do.
# --sparse: sparse (C=2) on every file; any warning about our sources fails.
# Where the kernel tree is and how to build against it: kernels.sh info
# (KDIR in the environment overrides it: a native build against KDIR).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mode=build
[ "${1:-}" = --sparse ] && { mode=sparse; shift; }
kver=${1:?usage: build-module.sh [--sparse] KVER}
eval "$("$top/selftests/vm/kernels.sh" info "$kver")"
if [ -n "${KDIR_OVERRIDE:-}" ]; then KDIR=$KDIR_OVERRIDE; BUILDER=native; fi
out=$top/build/$kver
mkdir -p "$out"
cd "$top"
# One build per kernel at a time (several make check may share the tree).
exec 9>"$out/.build.lock"
flock 9
mapfile -t srcs < <(echo Kbuild; find module lib include -type f | LC_ALL=C sort)

run=() extra=() croot=
case $BUILDER in
native) src=$out/src; m=$src ;;
gcc) src=$out/src; m=$src; extra=(CC=gcc) ;;
cross)
	# arm64 on this host (tools/kernels.sh fetch arm64-*): Debian's
	# cross compiler; the headers' kbuild programs are arm64 ones, run
	# by qemu-user (binfmt_misc) with the arm64 root's libraries.
	src=$out/src; m=$src
	extra=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
	run=(env QEMU_LD_PREFIX="$MODROOT")
	;;
chroot:*)
	root=${BUILDER#chroot:}
	# The chroot is shared by every tree (worktrees, clones) that uses
	# this kernel cache: a copy per tree, and one chroot build at a time
	# (the proc mount below is shared too).
	tree=$(printf %s "$top" | md5sum | cut -c1-12)
	m=/tcptimeo-build/$tree/$kver/src; src=$root$m
	mkdir -p "$root/tcptimeo-build"
	exec 8>"$root/tcptimeo-build/.lock"
	flock 8
	run=(chroot "$root") croot=$root
	if ! mountpoint -q "$root/proc"; then
		mount -t proc proc "$root/proc"
		trap 'umount "$root/proc"' EXIT	# leave no mount in the cache
	fi
	;;
*) echo "build-module.sh: unknown builder $BUILDER for $kver" >&2; exit 1 ;;
esac
[ -f "$croot$KDIR/Makefile" ] || {
	echo "build-module.sh: no kernel tree for $kver at $KDIR (make deps)" >&2; exit 1; }
"$top/tools/sync-src.sh" "$src" "${srcs[@]}"

if [ $mode = build ]; then
	echo "  BUILD   build/$kver/tcptimeo.ko (W=1, ${croot:+chroot $croot: }$KDIR)"
	log=$out/build.log
	if ! "${run[@]}" make -C "$KDIR" M="$m" W=1 "${extra[@]}" -j"$(nproc)" modules >"$log" 2>&1; then
		cat "$log"; exit 1
	fi
	if grep -i 'warning:' "$log"; then
		echo "build/$kver: the W=1 build warns (log: build/$kver/build.log)" >&2
		find "$src" -name '*.o' -delete; rm -f "$src/tcptimeo.ko"
		exit 1
	fi
	# Atomically: a running VM may be reading the old one.
	if ! cmp -s "$src/tcptimeo.ko" "$out/tcptimeo.ko"; then
		cp "$src/tcptimeo.ko" "$out/.tcptimeo.ko.tmp" && mv "$out/.tcptimeo.ko.tmp" "$out/tcptimeo.ko"
	fi
else
	echo "  SPARSE  build/$kver (C=2, ${croot:+chroot $croot: }$KDIR)"
	log=$out/sparse.log
	if ! "${run[@]}" make -C "$KDIR" M="$m" C=2 "${extra[@]}" modules >"$log" 2>&1; then
		cat "$log"; exit 1
	fi
	if grep -q 'sparse is not available' "$log"; then
		echo "  SPARSE  build/$kver: no usable sparse there: not checked" >&2
		exit 0
	fi
	# Ours: paths in the copy, or relative to it; not the kernel's headers.
	if grep -E '(warning|error):' "$log" | grep -E "^($m/|$src/|(module|lib|include)/)"; then
		echo "build/$kver: sparse warns (log: build/$kver/sparse.log)" >&2
		exit 1
	fi
fi
