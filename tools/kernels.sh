#!/bin/bash
# Fetch and prepare the kernels of the matrix that Debian 12 does not
# install natively, into a cache that `make clean` keeps:
#   tools/kernels.sh fetch 5.10   bullseye image + headers, extracted
#   tools/kernels.sh fetch 7.x    sid image + a sid chroot to build in
#   tools/kernels.sh info  SERIES prints: KVER VMLINUZ MODROOT BUILDER
# BUILDER is "native:KDIR", "gcc:KDIR" (5.10: its headers name gcc-10;
# gcc-12 builds it fine) or "chroot:ROOT:KDIR" (7.x needs sid's gcc).
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

case "${1:-}" in
fetch)
	case "${2:-}" in
	5.10) fetch_510 ;;
	7.x) fetch_7x ;;
	*) echo "usage: $0 fetch 5.10|7.x" >&2; exit 1 ;;
	esac ;;
info)
	f=$cache/${2:-}/ready
	[ -f "$f" ] || { echo "$0: ${2:-?} not fetched (run: $0 fetch ${2:-SERIES})" >&2; exit 2; }
	cat "$f" ;;
*)
	echo "usage: $0 fetch|info 5.10|7.x" >&2; exit 1 ;;
esac
