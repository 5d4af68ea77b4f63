#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tcptimeo-reapply: the DaemonSet's sidecar. The kubelet swaps a mounted
# ConfigMap in place when it changes (within about a minute); this loop
# notices the new content and makes the live rules equal to it with
# `tcptimeoctl apply`, which changes nothing if any line is invalid.
set -u

RULES=${TCPTIMEO_RULES:-/etc/tcptimeo/rules.conf}
CTL=${TCPTIMEO_CTL:-tcptimeoctl}
INTERVAL=${TCPTIMEO_POLL_SECONDS:-10}

log() { echo "tcptimeo-reapply: $*" >&2; }
trap 'log "stopping"; exit 0' TERM INT

sum() { cksum < "$RULES" 2>/dev/null || echo none; }

# The init container applied the file as it was when the pod started.
last=$(sum)
log "watching $RULES every ${INTERVAL}s"
while :; do
	sleep "$INTERVAL" &
	wait $! || true
	cur=$(sum)
	[ "$cur" = "$last" ] && continue
	if [ "$cur" = none ]; then
		log "$RULES is gone; keeping the live rules"
		last=$cur
		continue
	fi
	"$CTL" apply "$RULES" >&2
	rc=$?
	case $rc in
	0) log "applied the new $RULES"; last=$cur ;;
	1) log "the new $RULES was rejected; the live rules are unchanged"; last=$cur ;;
	*) log "apply failed (exit $rc); retrying" ;;
	esac
done
