#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The harness's negative control: with TCPTIMEO_NEGATIVE_CONTROL=1
# (`TCPTIMEO_NEGATIVE_CONTROL=1 make check` runs only this test, on the
# first kernel) its one point fails, and the run must exit non-zero with
# "0 passed, 1 failed". Otherwise it is left out of runs, or skips when
# named in TESTS.
. "$(dirname "$0")/lib/tap.sh"
tap_plan 1
if [ "${TCPTIMEO_NEGATIVE_CONTROL:-0}" != 0 ]; then
	not_ok "negative control: this point fails on purpose"
else
	skip "negative control" "runs only with TCPTIMEO_NEGATIVE_CONTROL=1"
fi
tap_done
