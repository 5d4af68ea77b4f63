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
# In auto, prebuilt and dkms modes only a module of this image's version
# (tcptimeoctl's) is loaded. When another version is already loaded it is
# replaced: save the rules, remove them, rmmod, load this image's module,
# apply the rules with --existing; the time without rules is printed.
#
# A node that cannot run out-of-tree modules at all (Container-Optimized
# OS, Bottlerocket, Talos, Flatcar; kernel.modules_disabled=1; a kernel
# that accepts only signed modules and refused ours) is not an error to
# retry: one line says why, $TCPTIMEO_STATE_DIR/unsupported keeps it for
# the reapply container (which then stays not ready with tcptimeo_up 0),
# and the exit is 0 so the pod idles instead of crash-looping.
#
# Exit: 0 loaded and applied, or unsupported node; 1 bad rules file;
# 2 no way to load the module here (retried by the kubelet).
set -eu

KVER=$(uname -r)
HOST_ROOT=${HOST_ROOT:-/host}
MODE=${TCPTIMEO_INSTALL:-auto}
PREBUILT_DIR=${TCPTIMEO_PREBUILT_DIR:-/opt/tcptimeo/modules}
RULES=${TCPTIMEO_RULES:-/etc/tcptimeo/rules.conf}
CTL=${TCPTIMEO_CTL:-tcptimeoctl}
STATE=${TCPTIMEO_STATE_DIR:-/run/tcptimeo}
OS_RELEASE=${TCPTIMEO_OS_RELEASE:-$HOST_ROOT/etc/os-release}
MODULES_DISABLED=${TCPTIMEO_MODULES_DISABLED_FILE:-/proc/sys/kernel/modules_disabled}
# The version this image brings: its tcptimeoctl's ("tcptimeoctl X").
VERSION=${TCPTIMEO_VERSION:-$("$CTL" --version 2>/dev/null | sed -n 's/^tcptimeoctl //p')}

log() { echo "tcptimeo-node-init: $*" >&2; }

host_modprobe() {
	if [ "$HOST_ROOT" = / ]; then modprobe "$@"; else modprobe -d "$HOST_ROOT" "$@"; fi
}

loaded() { [ -d /sys/kernel/tcptimeo ]; }
loaded_version() { cat /sys/kernel/tcptimeo/version 2>/dev/null || echo unknown; }
# Seconds since boot, to 1/100 s (monotonic; POSIX sh has no clock).
now() { cut -d' ' -f1 /proc/uptime; }

# unsupported REASON: say why in one line, leave it for reapply, exit 0.
unsupported() {
	log "unsupported node, not loading tcptimeo: $*"
	echo "$*" > "$STATE/unsupported" 2>/dev/null || true
	exit 0
}

# Version of a module file, or of the node's installed module ("" if none).
ko_version() { modinfo -F version "$1" 2>/dev/null || true; }
host_version() {
	if [ "$HOST_ROOT" = / ]; then modinfo -F version tcptimeo 2>/dev/null || true
	else modinfo -b "$HOST_ROOT" -k "$KVER" -F version tcptimeo 2>/dev/null || true; fi
}
# wanted VERSION-OF-CANDIDATE WHAT: may this candidate be loaded?
wanted() {
	[ "$MODE" = host ] && return 0
	[ -z "$VERSION" ] || [ "$1" = "$VERSION" ] && return 0
	log "skipping $2: version ${1:-unknown}, this image is $VERSION"
	return 1
}

mount_configfs() {
	host_modprobe configfs 2>/dev/null || true
	if ! grep -qs ' /sys/kernel/config configfs ' /proc/mounts; then
		mount -t configfs none /sys/kernel/config
	fi
}

# do_insmod FILE: insmod, keeping what it said to tell a refused signature.
do_insmod() {
	if insmod "$1" 2>"$STATE/insmod.err"; then return 0; fi
	cat "$STATE/insmod.err" >&2
	return 1
}

load_host() {
	host_modprobe -n tcptimeo 2>/dev/null || return 1
	wanted "$(host_version)" "the module installed on the node" || return 1
	log "loading the module installed on the node ($HOST_ROOT/lib/modules/$KVER)"
	host_modprobe tcptimeo 2>"$STATE/insmod.err" || { cat "$STATE/insmod.err" >&2; return 1; }
}

load_prebuilt() {
	for ko in "$PREBUILT_DIR/$KVER/tcptimeo.ko" "$PREBUILT_DIR/$KVER/tcptimeo.ko.xz"; do
		[ -f "$ko" ] || continue
		wanted "$(ko_version "$ko")" "$ko" || return 1
		log "loading the prebuilt module $ko"
		mount_configfs
		do_insmod "$ko" || return 1
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
		do_insmod "$ko" || return 1
		return 0
	done
	log "DKMS reported success but left no module"
	return 1
}

load() {
	: > "$STATE/insmod.err"
	case "$MODE" in
	auto)     load_host || load_prebuilt || load_dkms || true ;;
	host)     load_host || true ;;
	prebuilt) load_prebuilt || true ;;
	dkms)     load_dkms || true ;;
	esac
	loaded
}

# The kernel refused our module for want of a signature it trusts?
signature_refused() {
	grep -qis 'key\|signature\|not permitted' "$STATE/insmod.err" || return 1
	grep -qs '^Y' /sys/module/module/parameters/sig_enforce && return 0
	grep -qs '\[integrity\]\|\[confidentiality\]' /sys/kernel/security/lockdown && return 0
	grep -qis 'key' "$STATE/insmod.err"
}

case "$MODE" in
auto|host|prebuilt|dkms) ;;
*) log "TCPTIMEO_INSTALL must be auto, host, prebuilt or dkms, not '$MODE'"; exit 2 ;;
esac
mkdir -p "$STATE"
rm -f "$STATE/unsupported"

# Platforms that cannot load an out-of-tree module: say so before trying.
if ! loaded; then
	id=$(sed -n 's/^ID=//p' "$OS_RELEASE" 2>/dev/null | tr -d '"' || true)
	case "$id" in
	cos|bottlerocket|talos|flatcar)
		name=$(sed -n 's/^PRETTY_NAME=//p' "$OS_RELEASE" | tr -d '"')
		unsupported "${name:-$id} (os-release ID=$id) does not load out-of-tree kernel modules; keep this DaemonSet off such node pools (nodeAffinity, see deploy/kubernetes/README.md)" ;;
	esac
	if [ "$(cat "$MODULES_DISABLED" 2>/dev/null || echo 0)" = 1 ]; then
		unsupported "module loading is disabled on this node (kernel.modules_disabled=1)"
	fi
fi

existing=
if loaded && [ "$MODE" != host ] && [ -n "$VERSION" ] && [ "$(loaded_version)" != "$VERSION" ]; then
	# Upgrade (or downgrade) to this image's module, rules kept.
	old=$(loaded_version)
	log "module $old is loaded, this image is $VERSION: replacing it"
	mount_configfs
	"$CTL" save > "$STATE/rules.before-upgrade"
	log "saved the live rules ($(grep -c . "$STATE/rules.before-upgrade" || true) lines) to $STATE/rules.before-upgrade"
	t0=$(now)
	"$CTL" apply -q /dev/null
	if ! rmmod tcptimeo; then
		log "cannot unload module $old; restoring its rules and keeping it"
		"$CTL" apply -q "$STATE/rules.before-upgrade"
		log "policy gap: $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }') ms without rules"
		exit 2
	fi
	if ! load; then
		log "could not load tcptimeo $VERSION; no module is loaded now. The rules of $old are in $STATE/rules.before-upgrade"
		exit 2
	fi
	log "module $(loaded_version) loaded in place of $old"
	[ -e "$RULES" ] || RULES=$STATE/rules.before-upgrade
	mount_configfs
	if ! "$CTL" apply -q --existing "$RULES"; then
		log "$RULES was rejected by the new module; restoring the rules of $old"
		"$CTL" apply -q --existing "$STATE/rules.before-upgrade" || true
		exit 1
	fi
	log "policy gap: $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }') ms without rules (save, remove, rmmod, load, apply --existing)"
	date +%s > "$STATE/last_apply"
	"$CTL" list >&2 || true
	exit 0
elif loaded; then
	log "module already loaded (version $(loaded_version))"
	"$CTL" --version >/dev/null || true
else
	if ! load; then
		if signature_refused; then
			unsupported "the kernel accepts only modules signed by a trusted key (Secure Boot / lockdown) and refused tcptimeo's: $(tail -1 "$STATE/insmod.err"); ship a prebuilt module signed by a key enrolled on the nodes"
		fi
		[ -d "$HOST_ROOT/lib/modules/$KVER" ] || log "the node has no $HOST_ROOT/lib/modules/$KVER"
		log "could not load tcptimeo on $KVER (mode $MODE); see above. With Secure Boot, only modules signed by an enrolled key load."
		exit 2
	fi
	existing=--existing
fi
mount_configfs

if [ ! -e "$RULES" ]; then
	log "no rules file at $RULES; nothing to apply"
	exit 0
fi
log "applying $RULES${existing:+ (and to the connections already open)}"
# shellcheck disable=SC2086 # $existing: empty or one word
if ! "$CTL" apply $existing "$RULES"; then
	log "the rules file was rejected; the live rules are unchanged"
	exit 1
fi
date +%s > "$STATE/last_apply"
"$CTL" list >&2 || true
