#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# tools/ksft-dir.sh [OUTDIR]: print a kernel tree's tools/testing/selftests
# directory, the one whose lib.mk selftests/Makefile includes.
#
#   1. $KSFT_DIR, when set (it must hold lib.mk);
#   2. an unpacked Debian source tree, /usr/src/linux-source-*/ (newest);
#   3. the kselftest framework files unpacked from the newest
#      /usr/src/linux-source-*.tar.xz (Debian's linux-source package) into
#      OUTDIR (default: build/ksft of the source tree), once per tarball.
#
# Nothing of the kernel's is copied into this repository. Prints nothing
# and exits 1, saying why on stderr, when no tree is found.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/ksft}
sub=tools/testing/selftests

if [ -n "${KSFT_DIR:-}" ]; then
	[ -f "$KSFT_DIR/lib.mk" ] || { echo "ksft-dir: KSFT_DIR=$KSFT_DIR has no lib.mk" >&2; exit 1; }
	(cd "$KSFT_DIR" && pwd)
	exit 0
fi
newest() { ls -d "$@" 2>/dev/null | sort -V | tail -n 1; }
d=$(newest /usr/src/linux-source-*/$sub/lib.mk)
if [ -n "$d" ]; then
	dirname "$d"
	exit 0
fi
tb=$(newest /usr/src/linux-source-*.tar.xz)
if [ -z "$tb" ]; then
	echo "ksft-dir: no kernel selftests framework: install Debian's linux-source package (apt install linux-source) or set KSFT_DIR=<linux>/$sub" >&2
	exit 1
fi
name=$(basename "$tb" .tar.xz)
dir=$out/$name/$sub
if [ ! -f "$dir/.unpacked" ]; then
	mkdir -p "$out"
	tar -xJf "$tb" -C "$out" --wildcards "$name/$sub/lib.mk" \
		"$name/$sub/kselftest.h" "$name/$sub/kselftest_harness.h" \
		"$name/$sub/kselftest/*" "$name/$sub/run_kselftest.sh" >&2
	touch "$dir/.unpacked"
fi
echo "$dir"
