#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The kernel matrix (selftests/vm/kernels.conf), resolved on this machine.
#
#   kernels.sh installed        newest installed kernel of each series, one
#                               per line, in matrix order (default KVERS)
#   kernels.sh packages         for each series: SUITE PKG... (what `make
#                               deps` installs; needs apt lists)
#   kernels.sh opt KVER KEY DEF an option of KVER's series (e.g. smp), or DEF
#   kernels.sh series KVER      the matrix series KVER belongs to
set -euo pipefail
conf=${TCPTIMEO_KERNELS_CONF:-$(dirname "$0")/kernels.conf}

matrix() {		# prints "SERIES SOURCE [OPTIONS]" lines
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$conf"
}

series_of() {		# KVER -> SERIES, or nothing
	local s rest
	while read -r s rest; do
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

case ${1:-} in
installed)
	matrix | while read -r s _; do installed_of "$s"; done ;;
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
	s=$(series_of "$2")
	v=$(matrix | awk -v s="$s" -v k="$3" '$1 == s { for (i = 3; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }')
	echo "${v:-$4}" ;;
series)
	series_of "$2" ;;
*)
	sed -n '2,/^set/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2 ;;
esac
