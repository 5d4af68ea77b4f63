#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what the build and the tests need on Debian 12, as root
# (`make deps`). Idempotent; when everything is present it only checks,
# without apt-get update.
#
#  - the bookworm-backports suite (the 6.12 kernel comes from there)
#  - linux-image + linux-headers of every kernel in selftests/vm/kernels.conf,
#    each the one that suite's linux-image-amd64 names today
#  - the host tools of the build, the VM harness and the guest-side tests
#    (an amd64 guest runs the host's own root file system, read-only; the
#    arm64 guest a bookworm arm64 root that tools/kernels.sh makes)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kernels=$top/selftests/vm/kernels.sh
export DEBIAN_FRONTEND=noninteractive

# One per line, with who needs it.
PACKAGES="
build-essential		module and CLI builds, host unit tests
sparse			make lint
linux-source-6.12	make lint (checkpatch.pl); selftests/Makefile: kselftest's lib.mk, runner, headers
rsync			selftests/Makefile: kselftest's install and run_tests
qemu-system-x86		the VM harness (TCG)
busybox-static		the VM's initramfs
cpio			the VM's initramfs
kmod			modprobe --show-depends for the initramfs; the guest
xz-utils		.ko.xz modules (6.12) for the initramfs
zstd			.ko.zst modules
python3			the VM harness (host) and the Python tests (guest)
python3-yaml		44-k8s-node-init reads the ConfigMap
iproute2		ip, ss, tc in the guest (netns, veth)
iputils-ping		the guest's network tests
procps			the guest runner (ps, pkill by process group)
util-linux		setpriv, dmesg in the guest
clang			60-bench-smoke: the BPF sock_ops peer (configuration 5)
libbpf-dev		60-bench-smoke: the BPF peer's loader
bpftool			60-bench-smoke: attaches the BPF peer
libkeepalive0		60-bench-smoke: the LD_PRELOAD peer (configuration 6)
redis-tools		63-redis-cli-half-open: redis-cli (hiredis), a real post-connect keepalive client
golang-go		64-go-client: net.Dialer and ListenConfig set keepalive after connect()/accept()
debootstrap		make deps: the sid chroot that builds against 7.x; the arm64 root
qemu-system-arm		the VM harness: qemu-system-aarch64 boots the arm64 guest (TCG)
qemu-user-static	make deps: debootstrap and the module build in the arm64 root (binfmt_misc)
binfmt-support		registers qemu-user-static's interpreters
gcc-aarch64-linux-gnu	make tools-arm64, ksft-install-arm64: the CLI and the C tests for arm64
libc6-dev-arm64-cross	the same: bookworm's arm64 libc, the arm64 guest's own
"

apt_get() {
	apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends "$@"
}

[ "$(id -u)" = 0 ] || { echo "deps.sh: run as root (apt-get install)" >&2; exit 1; }

updated=
update() {
	[ -n "$updated" ] && return 0
	echo "deps: apt-get update"
	# Other sources on the machine may be unreachable: do not stop on them.
	apt-get -q -o DPkg::Lock::Timeout=600 update >/tmp/tcptimeo-apt-update.log 2>&1 ||
		echo "deps: apt-get update reported errors (see /tmp/tcptimeo-apt-update.log); going on"
	updated=1
}

# bookworm-backports, if no apt source has it yet.
if ! grep -rqsE '^[^#]*(Suites:.*[[:space:]]|deb .*[[:space:]])bookworm-backports([[:space:]]|$)' \
	/etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "deps: adding bookworm-backports (/etc/apt/sources.list.d/tcptimeo-backports.sources)"
	cat >/etc/apt/sources.list.d/tcptimeo-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	update
fi

# The kernels, as each suite names them now.
if ! matrix=$("$kernels" packages 2>/dev/null); then
	update
	matrix=$("$kernels" packages)
fi

missing() {		# PKG... -> the ones not installed
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
	done
}

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
base=$(sed -e 's/[[:space:]].*//' -e '/^$/d' <<<"$PACKAGES")
# shellcheck disable=SC2086
need=$(missing $base)
if [ -n "$need" ]; then
	update
	echo "deps: installing" $need
	# shellcheck disable=SC2086
	apt_get install $need
fi
while read -r suite pkgs; do
	# shellcheck disable=SC2086
	need=$(missing $pkgs)
	[ -n "$need" ] || continue
	update
	echo "deps: installing from $suite:" $need
	# Another suite than the host's own (backports) must be asked for.
	target=()
	[ "$suite" = "$codename" ] || target=(-t "$suite")
	# shellcheck disable=SC2086
	apt_get install "${target[@]}" $need
done <<<"$matrix"

# Kernels Debian 12 cannot install (SOURCE "fetch"): into .cache/kernels.
for s in $("$kernels" fetched); do
	"$top/tools/kernels.sh" fetch "$s"
done

echo "deps: ok (kernels: $("$kernels" installed | xargs))"
