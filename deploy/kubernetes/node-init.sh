#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tcptimeo-node-init: the DaemonSet's init container. Loads the tcptimeo
# module into the node's kernel, then applies the rules file from the
# ConfigMap. Tries, in order (TCPTIMEO_INSTALL=auto), or only the one named:
#   host      a module already installed on the node (.deb or DKMS on the
#             node), found through the node's /lib/modules mounted at
#             $HOST_ROOT/lib/modules
#   prebuilt  $TCPTIMEO_PREBUILT_DIR/<uname -r>/tcptimeo.ko shipped in the image
#   dkms      build with DKMS inside this container against the node's
#             kernel headers (installed here with apt-get if missing); the
#             node's filesystem is never written
# Exit: 0 loaded and applied; 1 bad rules file; 2 no way to load the module.
set -eu

KVER=$(uname -r)
HOST_ROOT=${HOST_ROOT:-/host}
MODE=${TCPTIMEO_INSTALL:-auto}
PREBUILT_DIR=${TCPTIMEO_PREBUILT_DIR:-/opt/tcptimeo/modules}
RULES=${TCPTIMEO_RULES:-/etc/tcptimeo/rules.conf}
CTL=${TCPTIMEO_CTL:-tcptimeoctl}
VERSION=${TCPTIMEO_VERSION:-0.1.0}

log() { echo "tcptimeo-node-init: $*" >&2; }

host_modprobe() {
	if [ "$HOST_ROOT" = / ]; then modprobe "$@"; else modprobe -d "$HOST_ROOT" "$@"; fi
}

loaded() { [ -d /sys/kernel/tcptimeo ]; }

mount_configfs() {
	host_modprobe configfs 2>/dev/null || true
	if ! grep -qs ' /sys/kernel/config configfs ' /proc/mounts; then
		mount -t configfs none /sys/kernel/config
	fi
}

load_host() {
	host_modprobe -n tcptimeo 2>/dev/null || return 1
	log "loading the module installed on the node ($HOST_ROOT/lib/modules/$KVER)"
	host_modprobe tcptimeo || return 1
}

load_prebuilt() {
	for ko in "$PREBUILT_DIR/$KVER/tcptimeo.ko" "$PREBUILT_DIR/$KVER/tcptimeo.ko.xz"; do
		[ -f "$ko" ] || continue
		log "loading the prebuilt module $ko"
		mount_configfs
		insmod "$ko" || return 1
		return 0
	done
	return 1
}

load_dkms() {
	command -v dkms >/dev/null || { log "dkms is not in this image"; return 1; }
	if [ ! -e "/lib/modules/$KVER/build/Makefile" ]; then
		log "installing linux-headers-$KVER"
		if ! { apt-get update -qq &&
		       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "linux-headers-$KVER" >/dev/null; }; then
			log "cannot install linux-headers-$KVER (no such package for this image's distribution?)"
			return 1
		fi
	fi
	log "building tcptimeo/$VERSION for $KVER with DKMS"
	dkms install "tcptimeo/$VERSION" -k "$KVER" >&2 || return 1
	for ko in "/lib/modules/$KVER/updates/dkms/tcptimeo.ko" \
		  "/lib/modules/$KVER/updates/dkms/tcptimeo.ko.xz"; do
		[ -f "$ko" ] || continue
		mount_configfs
		insmod "$ko" || return 1
		return 0
	done
	log "DKMS reported success but left no module"
	return 1
}

if loaded; then
	log "module already loaded (version $(cat /sys/kernel/tcptimeo/version))"
else
	case "$MODE" in
	auto)     load_host || load_prebuilt || load_dkms || true ;;
	host)     load_host || true ;;
	prebuilt) load_prebuilt || true ;;
	dkms)     load_dkms || true ;;
	*)        log "TCPTIMEO_INSTALL must be auto, host, prebuilt or dkms, not '$MODE'"; exit 2 ;;
	esac
	if ! loaded; then
		log "could not load tcptimeo on $KVER (mode $MODE); see above. With Secure Boot, only modules signed by an enrolled key load."
		exit 2
	fi
fi
mount_configfs

if [ ! -e "$RULES" ]; then
	log "no rules file at $RULES; nothing to apply"
	exit 0
fi
log "applying $RULES"
if ! "$CTL" apply "$RULES"; then
	log "the rules file was rejected; the live rules are unchanged"
	exit 1
fi
"$CTL" list >&2 || true
