#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The kernel matrix (selftests/vm/kernels.conf), resolved on this machine.
#
#   kernels.sh installed [ARCH] newest installed kernel of each series, one
#                               per line, in matrix order (default KVERS);
#                               with ARCH, of that architecture's series
#                               only (kernels.conf arch=, default amd64)
#   kernels.sh list [ARCH]      the series (of ARCH), installed or not
#   kernels.sh matrix           "SERIES KVER" per series, KVER "-" when none
#                               of it is installed (make check fails those)
#   kernels.sh resolve WORD...  each WORD that names a series ("6.1", "7.x")
#                               as that series' installed kernel, any other
#                               word (a release) as it is; exit 1 if a
#                               series has no installed kernel (the word is
#                               printed as it is)
#   kernels.sh packages         for each apt series: SUITE PKG... (what
#                               `make deps` installs; needs apt lists)
#   kernels.sh fetched          the series of SOURCE "fetch" (make deps runs
#                               tools/kernels.sh fetch SERIES for each)
#   kernels.sh info KVER        where KVER's pieces are, as shell lines:
#                               VMLINUZ= MODROOT= KDIR= BUILDER= SMP=
#                               TCG= SCALE= ARCH= ROOT=; VMLINUZ empty:
#                               a kernel only built against, never booted
#                               (arm64 6.1); ROOT: the guest's root file
#                               system ("/", the host's, for amd64)
#   kernels.sh opt KVER KEY DEF an option of KVER's series (e.g. smp), or DEF
#   kernels.sh series KVER      the matrix series KVER belongs to
#
# A debug kernel (tools/debug-kernel.sh, make check-debug) is no part of
# the matrix: a KVER equal to the release of the tree in the debug cache
# (TCPTIMEO_DEBUG_CACHE, default .cache/kernels/debug) resolves to that
# tree: its bzImage, its modules_install root (modroot: modules.builtin
# for modprobe; everything the tests need is built in), the tree itself
# as KDIR, smp=2, tcg=single (a 6.12), and SCALE=4: the factor by which
# the VM harness stretches its time limits for a KASAN kernel under TCG
# (TCPTIMEO_DEBUG_SCALE changes it). Matrix kernels have SCALE=1.
#
# SOURCE "fetch": a kernel Debian 12 cannot install (5.10, 7.x), fetched
# by tools/kernels.sh into .cache/kernels; its modules are under MODROOT,
# and BUILDER says how to build against it: native, gcc (CC=gcc) or
# chroot:ROOT (build inside that chroot; KDIR is a path in it).
set -euo pipefail
conf=${TCPTIMEO_KERNELS_CONF:-$(dirname "$0")/kernels.conf}
debug=${TCPTIMEO_DEBUG_CACHE:-$(dirname "$0")/../../.cache/kernels/debug}

is_debug() {		# KVER -> true if it is the debug cache's kernel
	local rel
	[ -f "$debug/src/include/config/kernel.release" ] || return 1
	read -r rel <"$debug/src/include/config/kernel.release"
	[ "$rel" = "$1" ]
}

matrix() {		# prints "SERIES SOURCE [OPTIONS]" lines
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$conf"
}

fetched_info() {	# SERIES -> "KVER VMLINUZ MODROOT BUILDER:KDIR", if fetched
	"$(dirname "$0")/../../tools/kernels.sh" info "$1" 2>/dev/null
}

series_of() {		# KVER -> SERIES, or nothing
	local s src rest
	# a fetched kernel by its exact release first: an arm64 6.12 must not
	# be taken for the amd64 series "6.12"
	while read -r s src rest; do
		[ "$src" = fetch ] || continue
		[ "$(fetched_info "$s" | awk '{print $1}')" = "$1" ] && { echo "$s"; return 0; }
	done < <(matrix)
	while read -r s src rest; do
		[ "$src" = fetch ] && continue
		case $1 in "$s".[0-9]*) echo "$s"; return 0 ;; esac
	done < <(matrix)
	return 0
}

installed_of() {	# SERIES -> newest installed KVER with image and headers
	local k best=
	for d in /lib/modules/"$1".*; do
		k=${d##*/}
		case $k in "$1".[0-9]*) ;; *) continue ;; esac
		[ -f "/boot/vmlinuz-$k" ] && [ -f "$d/build/Makefile" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$k" | sed '/^$/d' | sort -V | tail -n 1)
	done
	[ -z "$best" ] || echo "$best"
}

# "SUITE VERSION" of linux-image-amd64 for each matrix suite, read from one
# madison listing ("bookworm" also means bookworm-security and -updates).
candidates() {
	local listing suite best v s
	listing=$(apt-cache madison linux-image-amd64 2>/dev/null)
	matrix | while read -r _ suite _; do
		[ "$suite" != fetch ] || continue
		best=
		while IFS='|' read -r _ v s; do
			v=${v// /}
			s=$(awk '{print $2}' <<<"$s"); s=${s%%/*}
			case $s in "$suite"|"$suite-security"|"$suite-updates") ;; *) continue ;; esac
			if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
		done <<<"$listing"
		echo "$suite ${best:-none}"
	done
}

arch_in() {		# OPTIONS... -> the series' arch= (default amd64)
	local o
	for o in "$@"; do
		case $o in arch=*) echo "${o#arch=}"; return ;; esac
	done
	echo amd64
}

kver_of() {		# SERIES SOURCE -> its installed KVER, or nothing
	if [ "$2" = fetch ]; then
		fetched_info "$1" | awk '{print $1}'
	else
		installed_of "$1"
	fi
}

case ${1:-} in
installed)
	# a series not fetched yet (before `make deps`) is left out
	matrix | while read -r s src opts; do
		# shellcheck disable=SC2086
		[ -z "${2:-}" ] || [ "$(arch_in $opts)" = "$2" ] || continue
		kver_of "$s" "$src" || true
	done ;;
list)
	# the series (of ARCH): what make check-arm64 asks for before make deps
	matrix | while read -r s src opts; do
		# shellcheck disable=SC2086
		[ -z "${2:-}" ] || [ "$(arch_in $opts)" = "$2" ] || continue
		echo "$s"
	done ;;
matrix)
	matrix | while read -r s src _; do
		k=$(kver_of "$s" "$src" || true)
		echo "$s ${k:--}"
	done ;;
resolve)
	shift
	rc=0 res=()
	for w in "$@"; do
		src=$(matrix | awk -v s="$w" '$1 == s {print $2}')
		if [ -z "$src" ]; then res+=("$w"); continue; fi
		k=$(kver_of "$w" "$src" || true)
		if [ -n "$k" ]; then
			res+=("$k")
		else
			echo "kernels.sh: no kernel of series $w is installed (make deps)" >&2
			res+=("$w") rc=1
		fi
	done
	[ ${#res[@]} = 0 ] || echo "${res[*]}"
	exit $rc ;;
fetched)
	matrix | awk '$2 == "fetch" {print $1}' ;;
info)
	if is_debug "$2"; then
		d=$(cd "$debug" && pwd)
		printf 'VMLINUZ=%s\nMODROOT=%s\nKDIR=%s\nBUILDER=native\nSMP=2\nTCG=single\nSCALE=%s\nARCH=amd64\nROOT=/\n' \
			"$d/src/arch/x86/boot/bzImage" "$d/modroot" "$d/src" "${TCPTIMEO_DEBUG_SCALE:-4}"
		exit 0
	fi
	s=$(series_of "$2")
	smp=$("$0" opt "$2" smp 2)
	tcg=$("$0" opt "$2" tcg multi)
	arch=$("$0" opt "$2" arch amd64)
	if [ -n "$s" ] && [ "$(matrix | awk -v s="$s" '$1 == s {print $2}')" = fetch ]; then
		read -r _ vmlinuz modroot b < <(fetched_info "$s")
		case $b in
		chroot:*) b=${b#chroot:}; builder=chroot:${b%%:*}; kdir=${b#*:} ;;
		*) builder=${b%%:*}; kdir=${b#*:} ;;
		esac
		# a foreign architecture's cache is its guest's whole root
		root=/
		[ "$arch" = amd64 ] || root=$modroot
		[ "$vmlinuz" != - ] || vmlinuz=
		printf 'VMLINUZ=%s\nMODROOT=%s\nKDIR=%s\nBUILDER=%s\nSMP=%s\nTCG=%s\nSCALE=1\nARCH=%s\nROOT=%s\n' \
			"$vmlinuz" "$modroot" "$kdir" "$builder" "$smp" "$tcg" "$arch" "$root"
	else
		printf 'VMLINUZ=%s\nMODROOT=\nKDIR=%s\nBUILDER=native\nSMP=%s\nTCG=%s\nSCALE=1\nARCH=amd64\nROOT=/\n' \
			"/boot/vmlinuz-$2" "/lib/modules/$2/build" "$smp" "$tcg"
	fi ;;
packages)
	cand=$(candidates)
	if grep -q ' none$' <<<"$cand"; then
		echo "kernels.sh: no linux-image-amd64 in suite(s) $(awk '$2 == "none" {print $1}' <<<"$cand" | xargs) (apt-get update?)" >&2
		exit 1
	fi
	# One apt-cache call for all suites: its blocks come in argument order.
	mapfile -t imgs < <(apt-cache depends $(awk '{print "linux-image-amd64=" $2}' <<<"$cand") 2>/dev/null |
		awk '/^[^ ]/ {n++} /Depends: linux-image-[0-9]/ && !seen[n]++ {print $2}')
	i=0
	while read -r suite _; do
		img=${imgs[$i]:-}
		[ -n "$img" ] || { echo "kernels.sh: linux-image-amd64 in $suite names no kernel" >&2; exit 1; }
		echo "$suite $img linux-headers-${img#linux-image-}"
		i=$((i + 1))
	done <<<"$cand" ;;
opt)
	is_debug "$2" && { echo "$4"; exit 0; }
	s=$(series_of "$2")
	v=$(matrix | awk -v s="$s" -v k="$3" '$1 == s { for (i = 3; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }')
	echo "${v:-$4}" ;;
series)
	is_debug "$2" || series_of "$2" ;;
*)
	sed -n '2,/^set/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2 ;;
esac
