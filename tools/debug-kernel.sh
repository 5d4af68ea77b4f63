#!/bin/bash
# Build a debug kernel (KASAN, lockdep, PROVE_RCU, kmemleak, ...) from
# Debian's linux-source-6.12, everything the VM tests need built in.
# Usage: tools/debug-kernel.sh [CACHE_DIR]   (default: .cache/kernels/debug)
# Prints the path of the kernel image; the build tree doubles as the
# headers tree for building the module (make KDIR=...).
# CACHE_DIR/src is the tree (rebuilt only where make finds something to
# do; the config only when tools/debug-kernel.config changed), CACHE_DIR/
# modroot its modules_install root (modules.builtin, so that the tests'
# modprobe of a built-in module succeeds). selftests/vm/kernels.sh info
# resolves the tree's release (6.12.117-tcptimeo-debug) to both. The
# cache is outside build/: make clean keeps it, make distclean removes it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${1:-$here/.cache/kernels/debug}
src_tar=/usr/src/linux-source-6.12.tar.xz
mkdir -p "$cache"
for tool in flex bison bc; do
	command -v $tool >/dev/null || need=1
done
[ -z "${need:-}" ] || apt-get install -y -q -o DPkg::Lock::Timeout=600 \
	flex bison bc libelf-dev libssl-dev >/dev/null
if [ ! -f "$cache/src/Makefile" ]; then
	[ -f "$src_tar" ] || apt-get install -y -q linux-source-6.12 >/dev/null
	rm -rf "$cache/src" && mkdir -p "$cache/src"
	tar -xJf "$src_tar" -C "$cache/src" --strip-components=1
fi
cd "$cache/src"
if [ ! -f .config.tcptimeo ] || ! cmp -s "$here/tools/debug-kernel.config" .config.tcptimeo; then
	make -s defconfig
	./scripts/kconfig/merge_config.sh -m .config "$here/tools/debug-kernel.config" >/dev/null
	make -s olddefconfig
	cp "$here/tools/debug-kernel.config" .config.tcptimeo
fi
nice -n "${NICE:-10}" make -s -j"$(nproc)" bzImage modules >&2
kver=$(cat include/config/kernel.release)
if [ ! -f "$cache/modroot/lib/modules/$kver/modules.dep" ] ||
	[ -n "$(find modules.order modules.builtin -newer "$cache/modroot/lib/modules/$kver/modules.dep" 2>/dev/null)" ]; then
	rm -rf "$cache/modroot"
	make -s INSTALL_MOD_PATH="$cache/modroot" INSTALL_MOD_STRIP=1 modules_install >&2
	# No symlinks back into the tree: the guest binds this folder alone.
	rm -f "$cache/modroot/lib/modules/$kver/build" "$cache/modroot/lib/modules/$kver/source"
fi
echo "$cache/src/arch/x86/boot/bzImage"
