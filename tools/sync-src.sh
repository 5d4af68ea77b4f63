#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# sync-src.sh DEST FILE...: make DEST hold exactly these source files (as
# of the last sync), copying only the changed ones so that their mtimes,
# and Kbuild's view of what to rebuild, stay put. Build output in DEST
# (objects, .ko, .cmd) is left alone; a source removed from the list is
# removed from DEST.
set -euo pipefail
dest=$1; shift
manifest=$dest/.sources
mkdir -p "$dest"
for f in "$@"; do
	if ! cmp -s "$f" "$dest/$f"; then
		mkdir -p "$dest/$(dirname "$f")"
		cp -p "$f" "$dest/$f"
	fi
done
if [ -f "$manifest" ]; then
	printf '%s\n' "$@" | LC_ALL=C sort >"$manifest.new"
	LC_ALL=C sort "$manifest" | comm -23 - "$manifest.new" | while read -r gone; do
		rm -f "$dest/$gone"
	done
	mv "$manifest.new" "$manifest"
else
	printf '%s\n' "$@" | LC_ALL=C sort >"$manifest"
fi
