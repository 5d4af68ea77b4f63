#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tcptimeo-reapply: the DaemonSet's second container, a reconcile loop.
# Every TCPTIMEO_POLL_SECONDS it compares the live rules with the mounted
# ConfigMap file (`tcptimeoctl apply --dry-run`: reads only, exit 0 when
# equal) and, when they differ, makes them equal with `tcptimeoctl apply`
# (all or nothing). So a new ConfigMap version, a rule deleted by hand, a
# module reloaded on the host or a host `systemctl reload tcptimeo` are all
# repaired within one period. The first apply after the module was
# (re)loaded also stamps the connections already open (--existing).
#
# What it found is kept in $TCPTIMEO_STATE_DIR (an emptyDir):
#   status        "UNIXTIME STATE DETAIL", STATE one of in-sync, pending,
#                 invalid-rules, apply-failed, down, unsupported, no-rules
#   metrics.prom  Prometheus text: tcptimeoctl stats --prometheus
#                 (tcptimeo_up 0 when the module is not loaded) plus
#                 tcptimeo_rules_in_sync, tcptimeo_last_apply_timestamp_seconds
#                 and tcptimeo_apply_failures_total
# and, when TCPTIMEO_TEXTFILE_DIR is set (node-exporter's textfile
# collector directory), metrics.prom is also written there as
# tcptimeo.prom, atomically (temporary file, then rename).
#
# `tcptimeo-reapply --ready` is the readiness probe: exit 0 only when the
# last pass, at most 3 periods ago, found the live rules equal to the file.
set -u

RULES=${TCPTIMEO_RULES:-/etc/tcptimeo/rules.conf}
CTL=${TCPTIMEO_CTL:-tcptimeoctl}
INTERVAL=${TCPTIMEO_POLL_SECONDS:-10}
STATE=${TCPTIMEO_STATE_DIR:-/run/tcptimeo}
TEXTFILE_DIR=${TCPTIMEO_TEXTFILE_DIR:-}
SYSFS=/sys/kernel/tcptimeo

if [ "${1:-}" = --ready ]; then
	if ! read -r ts state detail 2>/dev/null < "$STATE/status"; then
		echo "no status yet"; exit 1
	fi
	age=$(($(date +%s) - ts))
	echo "$state $detail (${age}s ago)"
	[ "$state" = in-sync ] && [ "$age" -le $((3 * INTERVAL + 10)) ]
	exit
fi

log() { echo "tcptimeo-reapply: $*" >&2; }
trap 'log "stopping"; exit 0' TERM INT

# put FILE: standard input to FILE, atomically (same directory, rename).
put() {
	cat > "${1%/*}/.${1##*/}.$$" && mv -f "${1%/*}/.${1##*/}.$$" "$1"
}

insync=0 failures=0 instance='' existing='' said='' repeats=0
last_apply=$(cat "$STATE/last_apply" 2>/dev/null || echo 0)

# state STATE DETAIL: record it; log it when it changed (a failure that
# lasts is logged again every 60 passes, so it never goes quiet).
state() {
	echo "$(date +%s) $1 $2" | put "$STATE/status"
	repeats=$((repeats + 1))
	if [ "$1 $2" != "$said" ] || { [ "$1" != in-sync ] && [ "$repeats" -ge 60 ]; }; then
		case $1 in
		in-sync) log "live rules equal $RULES${2:+ ($2)}" ;;
		*) log "$1: $2" ;;
		esac
		said="$1 $2" repeats=0
	fi
}

metrics() {
	prom=$("$CTL" stats --prometheus 2>/dev/null) || prom=
	case $prom in
	*"tcptimeo_up "*) ;;
	*) prom="# HELP tcptimeo_up 1 if the tcptimeo module is loaded.
# TYPE tcptimeo_up gauge
tcptimeo_up 0" ;;
	esac
	put "$STATE/metrics.prom" <<EOF
$prom
# HELP tcptimeo_rules_in_sync 1 if the live rules equal the rules file $RULES.
# TYPE tcptimeo_rules_in_sync gauge
tcptimeo_rules_in_sync $insync
# HELP tcptimeo_last_apply_timestamp_seconds When this pod last applied the rules file (Unix time, 0: never).
# TYPE tcptimeo_last_apply_timestamp_seconds gauge
tcptimeo_last_apply_timestamp_seconds $last_apply
# HELP tcptimeo_apply_failures_total Applies of the rules file by this container that failed.
# TYPE tcptimeo_apply_failures_total counter
tcptimeo_apply_failures_total $failures
EOF
	if [ -n "$TEXTFILE_DIR" ]; then
		put "$TEXTFILE_DIR/tcptimeo.prom" < "$STATE/metrics.prom" ||
			log "cannot write $TEXTFILE_DIR/tcptimeo.prom"
	fi
}

# One pass: compare, repair, record.
reconcile() {
	insync=0
	if [ ! -d "$SYSFS" ]; then
		instance=gone
		if [ -s "$STATE/unsupported" ]; then state unsupported "$(cat "$STATE/unsupported")"
		else state down "the tcptimeo module is not loaded"; fi
		return
	fi
	# A new module instance (reloaded, or loaded after being absent) has
	# its own, empty, rule table and never saw the open connections.
	# shellcheck disable=SC2012 # one fixed path; its inode number
	inst=$(ls -di "$SYSFS" 2>/dev/null | awk '{print $1}')
	if [ "$instance" = gone ] || { [ -n "$instance" ] && [ "$inst" != "$instance" ]; }; then
		existing=--existing
		log "the module was (re)loaded (version $(cat "$SYSFS/version" 2>/dev/null))"
	fi
	instance=$inst
	if [ ! -e "$RULES" ]; then
		state no-rules "$RULES is missing; the live rules are kept"
		return
	fi
	out=$("$CTL" apply --dry-run "$RULES" 2>&1)
	rc=$?
	case $rc in
	0) [ -z "$existing" ] && { insync=1; state in-sync ""; return; } ;;
	5) log "the live rules differ from $RULES:"
	   printf '%s\n' "$out" | grep -v '^dry run' | sed 's/^/  /' >&2 ;;
	1) state invalid-rules "$RULES is rejected, the live rules are unchanged: $(printf '%s\n' "$out" | head -3 | tr '\n' ' ')"
	   return ;;
	2) state down "the tcptimeo module is not loaded"; return ;;
	*) failures=$((failures + 1))
	   state apply-failed "apply --dry-run exit $rc: $(printf '%s\n' "$out" | tail -2 | tr '\n' ' ')"
	   return ;;
	esac
	# shellcheck disable=SC2086 # $existing: empty or one word
	out=$("$CTL" apply -q $existing "$RULES" 2>&1)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" >&2
	if [ $rc = 0 ]; then
		last_apply=$(date +%s) insync=1
		log "applied $RULES${existing:+ and stamped the connections already open}"
		existing=
		state in-sync ""
	else
		failures=$((failures + 1))
		state apply-failed "apply exit $rc: $(printf '%s\n' "$out" | tail -2 | tr '\n' ' ')"
	fi
}

mkdir -p "$STATE"
log "reconciling $RULES with the live rules every ${INTERVAL}s"
while :; do
	reconcile
	metrics
	sleep "$INTERVAL" &
	wait $! || true
done
