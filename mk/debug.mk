# SPDX-License-Identifier: GPL-2.0
# Debug-kernel targets, included by the top-level Makefile (not part of
# make check: they take long).
#
#   make debug-kernel   build (or reuse) the debug kernel: Debian's
#                       linux-source-6.12 with tools/debug-kernel.config
#                       (KASAN, lockdep, PROVE_RCU, DEBUG_ATOMIC_SLEEP,
#                       DEBUG_OBJECTS_TIMERS, kmemleak; the VM's needs built
#                       in) in DEBUG_CACHE (default .cache/kernels/debug:
#                       make clean keeps it, make distclean removes it)
#   make check-debug    the whole VM suite (TESTS= restricts it) on that
#                       kernel; any kernel report and any kmemleak
#                       unreferenced object after the tests fails the run
#   make soak           selftests/soak/90-soak.py on that kernel for
#                       SOAK_MIN minutes (default 10; 0.5 will do) in one
#                       boot (selftests/soak/README.md)
#
# The kernel's release (6.12.117-tcptimeo-debug) is not in kernels.conf:
# selftests/vm/kernels.sh info resolves it to the cached tree, with a time
# scale of 4 for the harness's limits (TCPTIMEO_DEBUG_SCALE changes it).

DEBUG_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
DEBUG_CACHE ?= $(DEBUG_TOP)/.cache/kernels/debug
SOAK_MIN ?= 10
# The VMs run niced: the host has two cores and other runs share them.
DEBUG_NICE ?= nice -n 10

.PHONY: debug-kernel check-debug soak

debug-kernel:
	@echo "  KERNEL  debug kernel in $(DEBUG_CACHE) (tools/debug-kernel.sh)"
	@t0=$$(date +%s); $(DEBUG_TOP)/tools/debug-kernel.sh $(DEBUG_CACHE) >/dev/null && \
		echo "  KERNEL  $$(cat $(DEBUG_CACHE)/src/include/config/kernel.release) ready ($$(( $$(date +%s) - t0 )) s)"

# The release is only known once the tree exists: a sub-make builds the
# module, the CLI, the initramfs and the tests in C for it.
check-debug: debug-kernel bench-bins-if-possible
	@k=$$(cat $(DEBUG_CACHE)/src/include/config/kernel.release) && \
	export TCPTIMEO_DEBUG_CACHE=$(DEBUG_CACHE) && \
	$(MAKE) --no-print-directory KVERS=$$k modules tools initramfs ksft-progs && \
	$(DEBUG_NICE) $(VM)/run.py --kvers "$$k" --tests "$(TESTS)"

# The soak's limit is its length plus 15 minutes (stop, final checks),
# which the guest does not scale.
soak: debug-kernel
	@k=$$(cat $(DEBUG_CACHE)/src/include/config/kernel.release) && \
	export TCPTIMEO_DEBUG_CACHE=$(DEBUG_CACHE) && \
	$(MAKE) --no-print-directory KVERS=$$k modules initramfs && \
	TCPTIMEO_SOAK_MIN=$(SOAK_MIN) \
	TCPTIMEO_TIMEOUT=$$(awk 'BEGIN { print int($(SOAK_MIN) * 60 + 900) }') \
		$(DEBUG_NICE) $(VM)/run.py --kvers "$$k" --tests soak/90-soak.py
