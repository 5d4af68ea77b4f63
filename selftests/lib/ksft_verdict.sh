# SPDX-License-Identifier: GPL-2.0
# Sourced. kselftest's runner (run_kselftest.sh, kselftest/runner.sh)
# prints each test's output prefixed with "# ", then one verdict line:
#
#   ok N selftests: DIR: TEST                       exit 0
#   ok N selftests: DIR: TEST # SKIP                exit 4 (KSFT_SKIP)
#   not ok N selftests: DIR: TEST # TIMEOUT S seconds
#   not ok N selftests: DIR: TEST # exit=RC
#
# ksft_verdict LINE: 0 if LINE is such a verdict, with KSFT_TEST
# ("DIR: TEST") and KSFT_RC (0, 4, 124 for a timeout, else the exit
# status) set; 1 for any other line. Used by vm/guest.sh (one test per
# runner call) and 46-deb-kselftest.sh (a whole run).
ksft_verdict() {	# LINE
	case $1 in
	"ok "[0-9]*" selftests: "*"# SKIP"*) KSFT_RC=4 ;;
	"ok "[0-9]*" selftests: "*) KSFT_RC=0 ;;
	"not ok "[0-9]*" selftests: "*"# TIMEOUT"*) KSFT_RC=124 ;;
	"not ok "[0-9]*" selftests: "*"# exit="*) KSFT_RC=${1##*# exit=} ;;
	"not ok "[0-9]*" selftests: "*) KSFT_RC=1 ;;
	*) return 1 ;;
	esac
	KSFT_TEST=${1#* selftests: }
	KSFT_TEST=${KSFT_TEST%% # *}
	return 0
}
