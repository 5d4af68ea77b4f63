#!/bin/bash
# Fetch and prepare the kernels of the matrix that Debian 12 does not
# install natively, into a cache that `make clean` keeps:
#   tools/kernels.sh fetch 5.10   bullseye image + headers, extracted
#   tools/kernels.sh fetch 7.x    sid image + a sid chroot to build in
#   tools/kernels.sh fetch arm64-6.12 | arm64-6.1
#                                 an arm64 Debian 12 userland (the arm64
#                                 guest's root and build chroot) holding
#                                 the suite's arm64 kernel: 6.12 (image,
#                                 modules, headers: booted) or 6.1
#                                 (headers: built against, not booted)
#   tools/kernels.sh info  SERIES prints: KVER VMLINUZ MODROOT BUILDER
# BUILDER is "native:KDIR", "gcc:KDIR" (5.10: its headers name gcc-10;
# gcc-12 builds it fine), "chroot:ROOT:KDIR" (7.x needs sid's gcc) or
# "cross:KDIR" (arm64: aarch64-linux-gnu-gcc, MODROOT the arm64 root).
# apt state for the foreign suites lives in the cache, so the host's apt
# configuration is never changed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${TCPTIMEO_KCACHE:-$here/.cache/kernels}
mirror=${MIRROR:-http://deb.debian.org/debian}

apt_foreign() {		# SUITE apt-get|apt-cache args...
	local suite=$1 tool=$2 dir=$cache/apt-$1
	shift 2
	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$dir/sources.list"
	"$tool" -q -o Dir::Etc::sourcelist="$dir/sources.list" \
		-o Dir::Etc::sourceparts=- -o Dir::State::Lists="$dir/lists" \
		-o Dir::Cache::archives="$dir/archives" \
		-o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root "$@"
}

abi_of() {		# SUITE METAPACKAGE -> the versioned package it depends on
	apt_foreign "$1" apt-cache depends "$2" 2>/dev/null |
		awk '/Depends: linux-(image|headers)-[0-9]/ {print $2; exit}'
}

fetch_510() {
	local d=$cache/5.10 img kver
	[ -f "$d/ready" ] && return 0
	apt_foreign bullseye apt-get update >/dev/null
	img=$(abi_of bullseye linux-image-amd64)	# linux-image-5.10.0-NN-amd64
	kver=${img#linux-image-}
	rm -rf "$d" && mkdir -p "$d/debs" && cd "$d/debs"
	apt_foreign bullseye apt-get download "linux-image-$kver-unsigned" \
		"linux-headers-$kver" "linux-headers-${kver%-amd64}-common" \
		linux-kbuild-5.10 >/dev/null
	for f in *.deb; do dpkg -x "$f" "$d/root"; done
	# the headers' Makefile includes the -common tree by absolute path
	sed -i "s|include /usr/src/|include $d/root/usr/src/|" \
		"$d/root/usr/src/linux-headers-$kver/Makefile"
	depmod -b "$d/root" "$kver"
	echo "$kver $d/root/boot/vmlinuz-$kver $d/root gcc:$d/root/usr/src/linux-headers-$kver" >"$d/ready"
}

# make sparse in the chroot: sparse itself (chroots made before it was in
# the include list lack it), and the scripts/checker-valid.sh that 7.x's
# Makefile runs before C=2 but Debian's headers package does not ship.
checker_valid() {
	local root=$1 f
	[ -x "$root/usr/bin/sparse" ] ||
		chroot "$root" apt-get install -y -q -o APT::Sandbox::User=root sparse >/dev/null 2>&1
	for f in "$root"/usr/src/linux-headers-*-common/scripts; do
		[ -d "$f" ] && [ ! -e "$f/checker-valid.sh" ] || continue
		cat >"$f/checker-valid.sh" <<-'EOF'
		#!/bin/sh
		# by tcptimeo's tools/kernels.sh: 1 if the checker runs
		"$@" -E - </dev/null >/dev/null 2>&1 && echo 1 || echo 0
		EOF
		chmod +x "$f/checker-valid.sh"
	done
}

fetch_7x() {
	local d=$cache/7.x root=$cache/7.x/chroot kver
	if [ -f "$d/ready" ]; then
		checker_valid "$root"
		return 0
	fi
	command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
	mkdir -p "$d"
	if [ ! -x "$root/usr/bin/make" ]; then
		rm -rf "$root"
		debootstrap --variant=minbase --include=make,gcc,sparse,linux-headers-amd64 \
			sid "$root" "$mirror" >"$d/debootstrap.log" 2>&1
	fi
	kver=$(ls "$root/usr/src" | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | sort -V | tail -1)
	mkdir -p "$root/dl" && rm -f "$root"/dl/*.deb
	chroot "$root" sh -c "cd /dl && apt-get -q -o APT::Sandbox::User=root download linux-binary-$kver linux-modules-$kver linux-base-$kver" >/dev/null
	rm -rf "$d/root" && for f in "$root"/dl/*.deb; do dpkg -x "$f" "$d/root"; done
	mkdir -p "$d/root/lib" && ln -sfn ../usr/lib/modules "$d/root/lib/modules"
	depmod -b "$d/root" "$kver"
	checker_valid "$root"
	echo "$kver $d/root/usr/lib/modules/$kver/vmlinuz $d/root chroot:$root:/usr/src/linux-headers-$kver" >"$d/ready"
}

# arm64: one bookworm arm64 root for both series, made with debootstrap
# and run on this amd64 host through qemu-user (binfmt_misc, qemu-user-
# static's "F" registration, so that it works inside the chroot). It is
# both the arm64 guest's root file system (9p, read-only, an overlay on
# top: the amd64 host's root cannot be run there) and where the kernel's
# headers (and the kbuild programs the cross build runs through qemu-user)
# come from. What the tests run in the guest comes from here: python3,
# iproute2, kmod, busybox for the initramfs; gcc, make, dkms and the
# headers for the DKMS test. (sparse runs on the host: the cross build.)
ARM64_PKGS=busybox-static,python3,python3-yaml,iproute2,iputils-ping,procps,util-linux,kmod,make,gcc,libc6-dev,dkms,redis-tools,rsync,file

binfmt_arm64() {
	local f=/proc/sys/fs/binfmt_misc
	[ -e $f/register ] || mount -t binfmt_misc binfmt_misc $f
	[ -e $f/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
	grep -q '^flags: .*F' $f/qemu-aarch64 2>/dev/null || {
		echo "$0: no binfmt_misc registration of qemu-aarch64 with flag F (qemu-user-static)" >&2
		return 1
	}
}

arm64_root() {		# -> the arm64 root, made once
	local root=$cache/arm64/root
	binfmt_arm64
	if [ ! -f "$cache/arm64/root.ready" ]; then
		rm -rf "$root"
		mkdir -p "$cache/arm64"
		debootstrap --arch=arm64 --variant=minbase --include=$ARM64_PKGS \
			bookworm "$root" "$mirror" >"$cache/arm64/debootstrap.log" 2>&1 || {
			tail -n 20 "$cache/arm64/debootstrap.log" >&2; return 1; }
		cat >"$root/etc/apt/sources.list" <<-EOF
		deb $mirror bookworm main
		deb $mirror bookworm-updates main
		deb ${mirror%/debian}/debian-security bookworm-security main
		deb $mirror bookworm-backports main
		EOF
		touch "$cache/arm64/root.ready"
	fi
	echo "$root"
}

in_arm64() {		# ROOT CMD...: run CMD in the arm64 root (proc mounted)
	local root=$1 rc=0
	shift
	mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
	chroot "$root" env DEBIAN_FRONTEND=noninteractive "$@" || rc=$?
	umount "$root/proc" 2>/dev/null || true
	return $rc
}

fetch_arm64() {		# 6.12|6.1
	local ver=$1 d=$cache/arm64-$1 root suite img kver pkgs
	if [ -f "$d/ready" ]; then
		binfmt_arm64
		return 0
	fi
	root=$(arm64_root)
	case $ver in
	6.12) suite=bookworm-backports ;;
	6.1) suite=bookworm ;;
	esac
	in_arm64 "$root" apt-get -q -o APT::Sandbox::User=root update >"$d.log" 2>&1 ||
		{ tail -n 20 "$d.log" >&2; return 1; }
	# The version the suite's linux-image-arm64 names today ("bookworm"
	# also takes bookworm-security and -updates, as for amd64).
	img=$(in_arm64 "$root" apt-cache madison linux-image-arm64 | awk -v s="$suite" '
		{ split($6, a, "/"); x = a[1] }
		x == s || (s == "bookworm" && (x == "bookworm-security" || x == "bookworm-updates")) { print $3 }' |
		sort -V | tail -n 1)
	[ -n "$img" ] || { echo "$0: no linux-image-arm64 in $suite" >&2; return 1; }
	img=$(in_arm64 "$root" apt-cache depends "linux-image-arm64=$img" |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	kver=${img#linux-image-}
	# No initrd: the VM boots with its own initramfs, and mkinitramfs
	# under qemu-user takes minutes per run (the postinst and a trigger).
	if [ ! -e "$root/usr/sbin/update-initramfs.distrib" ]; then
		in_arm64 "$root" dpkg-divert --local --rename --add /usr/sbin/update-initramfs >/dev/null
		ln -sfn /bin/true "$root/usr/sbin/update-initramfs"
	fi
	pkgs="linux-headers-$kver"
	[ "$ver" = 6.1 ] || pkgs="$img $pkgs"
	in_arm64 "$root" apt-get -q -y -o APT::Sandbox::User=root --no-install-recommends \
		install $pkgs >>"$d.log" 2>&1 || { tail -n 20 "$d.log" >&2; return 1; }
	# The build: on this host, with Debian's cross compiler (Debian
	# builds its arm64 kernels so: CONFIG_CC_VERSION_TEXT is
	# aarch64-linux-gnu-gcc-12), against a copy of the headers' small
	# arch tree whose Makefile includes the -common tree in the root,
	# and whose kbuild programs (fixdep, modpost: arm64) qemu-user runs
	# with the root as their library prefix (build-module.sh).
	# Emulating gcc instead, in the root as a chroot, takes 5x longer.
	rm -rf "$d" && mkdir -p "$d"
	cp -a "$root/usr/src/linux-headers-$kver" "$d/kdir"
	sed -i "s|include /usr/src/|include $root/usr/src/|" "$d/kdir/Makefile"
	local l
	for l in scripts tools; do
		ln -sfn "$root/usr/src/linux-headers-$kver/$(readlink "$root/usr/src/linux-headers-$kver/$l")" "$d/kdir/$l"
	done
	local vmlinuz=-
	[ "$ver" = 6.1 ] || vmlinuz=$root/boot/vmlinuz-$kver
	echo "$kver $vmlinuz $root cross:$d/kdir" >"$d/ready"
}

case "${1:-}" in
fetch)
	case "${2:-}" in
	5.10) fetch_510 ;;
	7.x) fetch_7x ;;
	arm64-6.12) fetch_arm64 6.12 ;;
	arm64-6.1) fetch_arm64 6.1 ;;
	*) echo "usage: $0 fetch 5.10|7.x|arm64-6.12|arm64-6.1" >&2; exit 1 ;;
	esac ;;
info)
	f=$cache/${2:-}/ready
	[ -f "$f" ] || { echo "$0: ${2:-?} not fetched (run: $0 fetch ${2:-SERIES})" >&2; exit 2; }
	cat "$f" ;;
*)
	echo "usage: $0 fetch|info 5.10|7.x|arm64-6.12|arm64-6.1" >&2; exit 1 ;;
esac
