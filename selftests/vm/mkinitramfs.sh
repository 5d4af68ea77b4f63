#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkinitramfs.sh KVER OUT: the VM's initramfs for kernel KVER -> OUT
# (a gzipped newc cpio): busybox-static, selftests/vm/init, and the
# virtio/9p modules KVER needs to mount the host's root (and configfs),
# decompressed
# (busybox insmod reads no .ko.xz/.ko.zst) and listed in load order.
# Modules come from /lib/modules/KVER, or from MODROOT/lib/modules/KVER
# for a kernel fetched into a cache (kernels.sh info). A guest with a root
# of its own (ROOT, an arm64 guest) gets that root's busybox and overlay.
# Nothing is done when OUT is newer than all its inputs.
set -euo pipefail
kver=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
eval "$("$here/kernels.sh" info "$kver")"
# a kernel only built against (kernels.conf: arm64 6.1) is never booted
[ -n "${VMLINUZ:-}" ] || { echo "initramfs: $kver has no image to boot: none made"; exit 0; }
modroot=${MODROOT:-}
root=${ROOT:-/}
MODULES="virtio_pci 9pnet_virtio 9p configfs"
[ "$root" = / ] || MODULES="$MODULES overlay"
busybox=${root%/}/bin/busybox

if [ -f "$out" ]; then
	fresh=1
	for f in "$here/init" "$0" "$busybox" "$modroot/lib/modules/$kver/modules.dep"; do
		[ "$f" -nt "$out" ] && fresh=
	done
	[ -z "$fresh" ] || exit 0
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$busybox" "$stage/bin/busybox"
cp "$here/init" "$stage/init"
chmod 755 "$stage/init"
# An initial console for the kernel to open (init remounts /dev anyway).
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true

: >"$stage/modules.list"
for m in $MODULES; do
	modprobe ${modroot:+-d "$modroot"} -S "$kver" --show-depends "$m" |
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue	# "builtin NAME": nothing to load
		name=$(basename "$path"); name=${name%.xz}; name=${name%.zst}; name=${name%.gz}
		grep -qxF "$name" "$stage/modules.list" && continue
		case $path in
		*.xz) xz -dc "$path" ;;
		*.zst) zstd -qdc "$path" ;;
		*.gz) gzip -dc "$path" ;;
		*) cat "$path" ;;
		esac >"$stage/lib/modules/$name"
		echo "$name" >>"$stage/modules.list"
	done
done

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$out.$$.tmp"
mv "$out.$$.tmp" "$out"
echo "initramfs $out: $(xargs <"$stage/modules.list")"
