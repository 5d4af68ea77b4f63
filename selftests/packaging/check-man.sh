#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host check: the man pages render cleanly. The same command lintian runs
# on packaged man pages (man --warnings, UTF-8, groff warnings on
# stderr): any output on stderr is a failure. Also: each page has NAME
# and SEE ALSO, and renders to something of a sane length.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/tap.sh"

for page in docs/tcptimeo.4 tools/tcptimeoctl/tcptimeoctl.8; do
	f=$src/$page
	if [ ! -f "$f" ]; then skip "man --warnings -l $page" "not there yet"; continue; fi
	err=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null)
	if [ -z "$err" ]; then ok "man --warnings -l $page: no warnings"; else not_ok "man --warnings -l $page: no warnings"; echo "$err" | diag; fi
	txt=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>/dev/null | col -b)
	if grep -q '^NAME' <<<"$txt" && grep -q '^SEE ALSO' <<<"$txt" && [ "$(wc -l <<<"$txt")" -gt 40 ]; then
		ok "man -l $page renders ($(wc -l <<<"$txt") lines, NAME .. SEE ALSO)"
	else
		not_ok "man -l $page renders with NAME and SEE ALSO"
	fi
done
tap_done
