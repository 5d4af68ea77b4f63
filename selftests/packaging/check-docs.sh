#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host check: the operator guide's rules are real. Every ```rules block of
# docs/operator-guide.md is a line of docs/examples/rules.conf (and the
# other way round), and `tcptimeoctl check` lints them clean, with the
# ```rules-6.15 blocks (rules for newer kernels only). The guide's
# internal links resolve. The docs' facts hold (docs-facts.py): the
# guide's contents list its sections, its rules' arithmetic, its
# Kubernetes addressing, no ClusterIP called a node, no "this machine".
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
cd "$src" || exit 1
guide=docs/operator-guide.md ex=docs/examples/rules.conf
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

awk '/^```rules$/{f=1; next} /^```/{f=0} f' "$guide" > "$tmp/guide.conf"
# ```rules-6.15: rules for newer kernels only (not in the examples, which
# every kernel loads); tcptimeoctl check reads them with the others
awk '/^```rules(-[0-9.]+)?$/{f=1; next} /^```/{f=0} f' "$guide" > "$tmp/guide-all.conf"
norm() { grep -Ev '^[[:space:]]*(#|$)' "$1" | tr -s ' \t' ' ' | sort; }
n=$(norm "$tmp/guide.conf" | wc -l)
if [ "$n" -ge 4 ]; then ok "$guide has $n rules blocks"; else not_ok "$guide has the mission's rules blocks (found $n)"; fi
if [ -f "$ex" ]; then
	if d=$(diff <(norm "$tmp/guide.conf") <(norm "$ex")); then ok "$guide rules == $ex rules"
	else not_ok "$guide rules == $ex rules"; echo "$d" | diag; fi
else
	skip "$guide rules == $ex rules" "no $ex"
fi

ctl=${TCPTIMEO_CTL:-}
for c in "$ctl" build/tools/tcptimeoctl tools/tcptimeoctl/tcptimeoctl; do
	[ -n "$c" ] && [ -x "$c" ] && { ctl=$c; break; }
done
if [ ! -x "$ctl" ] && [ -f tools/tcptimeoctl/Makefile ] &&
   make -s -C tools/tcptimeoctl O="$tmp/ctl" >/dev/null 2>&1; then
	ctl=$tmp/ctl/tcptimeoctl
fi
if [ -x "$ctl" ]; then
	check "tcptimeoctl check on the guide's rules, those for newer kernels too ($ctl)" \
		"$ctl" check "$tmp/guide-all.conf"
else
	skip "tcptimeoctl check on the guide's rules" "tcptimeoctl not built"
fi

# Markdown links to files and anchors inside the guide.
bad=
while IFS= read -r l; do
	case $l in
	http*|mailto:*) ;;
	\#*) a=${l#\#}
	     grep -E '^#+ ' "$guide" | sed -E 's/^#+ //' | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9 _-]//g; s/ /-/g' |
		grep -qx -- "$a" || bad="$bad $l" ;;
	*) [ -e "docs/${l%%#*}" ] || bad="$bad $l" ;;
	esac
done < <(grep -oE '\]\([^)]+\)' "$guide" | sed -E 's/^\]\((.*)\)$/\1/')
if [ -z "$bad" ]; then ok "$guide: every link resolves"; else not_ok "$guide: every link resolves"; echo "broken:$bad" | diag; fi

# What the docs state is what their own numbers give (docs-facts.py).
tap_from_cmd python3 "$here/docs-facts.py" "$src"
tap_done
