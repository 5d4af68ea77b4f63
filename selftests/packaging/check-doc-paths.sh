#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host check: what the documents tell an operator to look for on an
# installed system is there. From the shipped docs (README.md, docs/*.md,
# docs/examples/*, the man pages, deploy/systemd/*,
# deploy/kubernetes/README.md) it takes every absolute path under /usr,
# /etc, /lib, /bin, /sbin, /var and /opt, and asserts that the built
# .debs (dpkg-deb -c) ship it, unless the allowlist below names it as
# a file of the node or of another package. /sys, /proc, /dev, /run and
# /tmp are runtime paths that no package ships, and are not collected.
# Also: every docs/*.md is shipped in tcptimeo-tools' doc directory, the
# links between shipped docs resolve there, and `make -C tools/tcptimeoctl
# install` puts its files where the packages do.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
cd "$src" || exit 1
ver=$(tt_version)
arch=$(dpkg --print-architecture)
d=build/deb
dkmsdeb=$d/tcptimeo-dkms_${ver}_all.deb tooldeb=$d/tcptimeo-tools_${ver}_${arch}.deb
docdir=/usr/share/doc/tcptimeo-tools
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Paths the docs name that no tcptimeo package ships, on purpose. Each
# entry: a bash pattern, and why. An entry no document uses any more
# fails (it would hide the next wrong path).
allow=(
	'/bin/sh'                     # the unit's ExecStartPre shell (dash)
	'/sbin/modprobe'              # kmod, called by the unit
	'/etc/dkms/framework.conf'    # DKMS's own configuration (module signing keys)
	'/var/lib/dkms/mok.*'         # the signing key pair DKMS creates on its first build
	'/lib/modules*'               # where DKMS installs the module it builds on the node
	'/etc/modules-load.d/tcptimeo.conf' # the operator's mask (ln -s /dev/null), created by hand
	'/usr/local/sbin/'            # the install from the source tree, not the packages
	'/usr/lib/libkeepalive.so'    # libkeepalive0, the benchmark's comparison
	'/var/lib/prometheus/node-exporter*' # node exporter's textfile directory
	'/var/lib/node_exporter/textfile_collector*' # the same, as node-exporter's Helm chart/DaemonSets name it
	'/opt/tcptimeo/*'             # inside the DaemonSet image (deploy/kubernetes/Dockerfile), not the node
)

for t in dpkg-buildpackage dh dh_dkms; do
	command -v $t >/dev/null || { skip "packaged paths" "$t not installed (make packaging-deps)"; tap_done; exit 0; }
done
# The .debs of this tree: reused when no packaged source is newer (as
# after check-deb.sh), built otherwise.
pkgsrc=(Kbuild dkms.conf module lib include tools/tcptimeoctl docs deploy debian)
if [ -f "$dkmsdeb" ] && [ -f "$tooldeb" ] && [ -z "$(find "${pkgsrc[@]}" -newer "$dkmsdeb" -print -quit 2>/dev/null)" ]; then
	ok "the .debs of this tree: $(basename "$dkmsdeb") $(basename "$tooldeb") (up to date)"
elif out=$(make --no-print-directory -f mk/packaging.mk deb 2>&1) && [ -f "$dkmsdeb" ] && [ -f "$tooldeb" ]; then
	ok "make deb: $(basename "$dkmsdeb") $(basename "$tooldeb")"
else
	not_ok "make deb"; echo "$out" | tail -n 30 | diag; tap_done; exit 1
fi
for deb in "$dkmsdeb" "$tooldeb"; do
	dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||'
done | sort -u > "$tmp/shipped"
shipped() { grep -qxF -- "${1%/}" "$tmp/shipped"; }

# The documents an operator reads, as plain text: roff escapes of the man
# pages undone (\- \fB \(mu \e \& \%).
docs=(README.md docs/*.md docs/examples/* docs/tcptimeo.4 tools/tcptimeoctl/tcptimeoctl.8
      deploy/systemd/* deploy/kubernetes/README.md)
plain() { sed -e 's/\\-/-/g; s/\\f[BIRP]//g; s/\\(mu/x/g; s/\\[&%]//g; s/\\e/\\/g' "$1"; }
# FILE:LINE PATH for every absolute path: not inside a word, a URL or a
# relative path; <ver> is the version; the path ends before a placeholder
# ($, {, <, *, …) and without trailing punctuation.
paths() {
	local f
	for f in "${docs[@]}"; do
		[ -f "$f" ] || continue
		plain "$f" | grep -noE '(^|[^A-Za-z0-9_.~/$-])/(usr|etc|lib|bin|sbin|var|opt)(/[^][:space:]`"'\'',;:()|]*)?' |
			sed -E "s|^([0-9]+):[^/]*|$f:\\1 |; s|<ver>|$ver|g; s/(\\\$|\\{|<|\\*|…).*//; s/[.]+$//"
	done
}
# shellcheck disable=SC2053 # the entries are patterns
allowed() { local p; for p in "${allow[@]}"; do [[ $1 == $p ]] && return 0; done; return 1; }

paths > "$tmp/named"
n=$(wc -l < "$tmp/named")
if [ "$n" -ge 10 ]; then ok "the docs name $n installed-system paths"; else not_ok "the docs name installed-system paths (found $n)"; fi
for f in "${docs[@]}"; do
	[ -f "$f" ] || continue
	miss='' k=0
	while read -r where p; do
		[ "${where%%:*}" = "$f" ] || continue
		k=$((k + 1))
		allowed "$p" && continue
		shipped "$p" || miss="$miss"$'\n'"$where $p"
	done < "$tmp/named"
	[ "$k" = 0 ] && continue
	if [ -z "$miss" ]; then ok "$f: the $k paths it names are shipped (or allowlisted)"
	else not_ok "$f: every path it names is shipped"; echo "not in the .debs:$miss" | diag; fi
done
unused=
for a in "${allow[@]}"; do
	used=
	# shellcheck disable=SC2053
	while read -r _ p; do [[ $p == $a ]] && { used=1; break; }; done < "$tmp/named"
	[ -n "$used" ] || unused="$unused $a"
done
if [ -z "$unused" ]; then ok "every allowlist entry is a path some document names"
else not_ok "every allowlist entry is a path some document names"; echo "unused:$unused" | diag; fi

# Every document of docs/ is in the doc directory (dh_compress may add .gz).
miss=
for f in docs/*.md; do
	b=$docdir/$(basename "$f")
	shipped "$b" || shipped "$b.gz" || miss="$miss $f"
done
if [ -z "$miss" ]; then ok "every docs/*.md is in $docdir"; else not_ok "every docs/*.md is in $docdir"; echo "not shipped:$miss" | diag; fi

# Links from one shipped doc to another resolve in the doc directory.
bad=
for f in docs/*.md; do
	b=$docdir/$(basename "$f")
	shipped "$b" || shipped "$b.gz" || continue
	while read -r l; do
		case $l in http*|mailto:*|\#*|../*|*/*) continue ;; esac
		l=${l%%#*}
		shipped "$docdir/$l" || shipped "$docdir/$l.gz" || bad="$bad $f->$l"
	done < <(grep -oE '\]\([^)]+\)' "$f" | sed -E 's/^\]\((.*)\)$/\1/')
done
if [ -z "$bad" ]; then ok "links between the shipped docs resolve in $docdir"; else not_ok "links between the shipped docs resolve in $docdir"; echo "broken:$bad" | diag; fi

# The Makefile's install (a source install) puts files where the packages
# do; man pages are compressed in the package.
if command -v "${CC:-gcc}" >/dev/null && out=$(make -s -C tools/tcptimeoctl O="$tmp/o" DESTDIR="$tmp/inst" install 2>&1); then
	miss=
	while read -r p; do
		p=${p#"$tmp/inst"}
		shipped "$p" || shipped "$p.gz" || miss="$miss $p"
	done < <(find "$tmp/inst" -type f | sort)
	if [ -z "$miss" ]; then ok "make -C tools/tcptimeoctl install: every file at a path tcptimeo-tools ships"
	else not_ok "make -C tools/tcptimeoctl install: every file at a path tcptimeo-tools ships"; echo "not in the .deb:$miss" | diag; fi
else
	not_ok "make -C tools/tcptimeoctl install DESTDIR=..."; echo "${out:-no compiler}" | tail -n 20 | diag
fi
tap_done
