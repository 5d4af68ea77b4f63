# SPDX-License-Identifier: GPL-2.0
# Benchmark targets, included by the top-level Makefile (docs/performance.md).
#
#   make bench          one VM boot of BENCH_KVER: every configuration,
#                       interleaved, 5 rounds; writes bench/results/
#                       <date>-<kver>.{json,md,png} and prints the ratios
#   make bench-smoke    the same, tiny (about a minute with the boot; it is
#                       also the VM test selftests/60-bench-smoke.sh)
#   make bench-build    the load generator, the rule generator, the BPF
#                       program and the module, in build/bench/, and the
#                       module again with its tracepoints compiled out
#                       (build/bench/mod-notrace-<kver>/tcptimeo.ko)
#   make bench-doc      copy the latest results into docs/performance.md
#   make bench-probe-cost  time spent in the module's probe and in the BPF
#                       peer's program, measured in the guest (ftrace,
#                       bpf_stats): bench/results/<date>-<kver>-probe-cost.*
#   make bench-deps     install what the targets above need (apt-get)
#
# Knobs: BENCH_KVER (default: the installed kernel of series BENCH_SERIES,
# 6.12, or of KVER given on the command line: a series or a release), and
# every BENCH_* variable of bench/guest.sh (BENCH_REPS, BENCH_SECONDS,
# BENCH_CONFIGS, ...), passed to the guest.
# Run alone with: make -f mk/bench.mk bench

BENCH_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
BENCH_B := $(BENCH_TOP)/build/bench
# A series ("6.12") or a release; the series is resolved through the matrix
# (selftests/vm/kernels.sh), after bench-deps has run make deps.
ifeq ($(origin KVER),command line)
BENCH_SERIES ?= $(firstword $(KVER))
endif
BENCH_SERIES ?= 6.12
BENCH_KVER ?= $(shell $(BENCH_TOP)/selftests/vm/kernels.sh resolve $(BENCH_SERIES) 2>/dev/null)
BENCH_KDIR ?= /lib/modules/$(BENCH_KVER)/build
BENCH_CC ?= gcc
BENCH_CLANG ?= clang
BENCH_CFLAGS ?= -O2 -g -Wall -Wextra -Werror
BENCH_RUN = $(BENCH_B)/run-$(BENCH_KVER)

# What the benchmark needs on the host (the guest uses the host's root).
# (The kernels come from make deps, as the matrix names them today.)
BENCH_APT_DEPS := gcc make clang libbpf-dev bpftool libkeepalive0 \
	gnuplot-nox qemu-system-x86 busybox-static kmod xz-utils cpio \
	iproute2 python3

BENCH_BINS := $(BENCH_B)/ttbench $(BENCH_B)/ttrules $(BENCH_B)/stamp.bpf.o
BENCH_MOD_SRC := $(BENCH_TOP)/Kbuild $(wildcard $(BENCH_TOP)/module/*.[ch] \
	$(BENCH_TOP)/lib/*.[ch] $(BENCH_TOP)/include/uapi/*.h)
BENCH_CTL_SRC := $(wildcard $(BENCH_TOP)/tools/tcptimeoctl/*.[ch])

.PHONY: bench bench-smoke bench-build bench-bins bench-doc bench-deps bench-probe-cost \
	bench-ctl bench-bins-if-possible bench-notrace

$(BENCH_B)/ttbench: $(BENCH_TOP)/bench/ttbench.c
	@mkdir -p $(@D)
	$(BENCH_CC) $(BENCH_CFLAGS) -pthread -o $@ $<

$(BENCH_B)/ttrules: $(BENCH_TOP)/bench/ttrules.c
	@mkdir -p $(@D)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $<

# Only uapi <linux/bpf.h> and libbpf's bpf_helpers.h: no vmlinux.h needed.
$(BENCH_B)/stamp.bpf.o: $(BENCH_TOP)/bench/bpf/stamp.bpf.c
	@mkdir -p $(@D)
	$(BENCH_CLANG) -target bpf -O2 -g -Wall -Werror \
		-I/usr/include/$(shell $(BENCH_CC) -dumpmachine) -c $< -o $@

# The module: the project's build (tools/build-module.sh, as `make` does:
# build/<kver>/tcptimeo.ko); without it, a copy built in build/bench/.
ifneq ($(wildcard $(BENCH_TOP)/tools/build-module.sh),)
BENCH_KO := $(BENCH_TOP)/build/$(BENCH_KVER)/tcptimeo.ko
$(BENCH_KO): $(BENCH_MOD_SRC)
	$(BENCH_TOP)/tools/build-module.sh $(BENCH_KVER)
else
BENCH_KO := $(BENCH_B)/mod-$(BENCH_KVER)/tcptimeo.ko
$(BENCH_KO): $(BENCH_MOD_SRC)
	rm -rf $(@D) && mkdir -p $(@D)
	cd $(BENCH_TOP) && cp -r Kbuild module lib include $(@D)/
	$(MAKE) -C $(BENCH_KDIR) M=$(@D) modules >$(@D)/build.log 2>&1 || \
		{ tail -n 30 $(@D)/build.log; exit 1; }
endif

# The same sources with the tracepoints compiled out, for configurations
# mod0nt and mod1nt: with NOTRACE defined, <linux/tracepoint.h> makes each
# trace_x() an empty inline and trace/define_trace.h creates nothing. (For
# the whole unit: a tracepoint of the kernel's own headers' inlines, if
# one were called, would be compiled out too.) The build fails unless the
# normal module defines the events and this one none.
BENCH_KO_NOTRACE := $(BENCH_B)/mod-notrace-$(BENCH_KVER)/tcptimeo.ko
BENCH_TP_EVENTS := stamp timeout abort
$(BENCH_KO_NOTRACE): $(BENCH_MOD_SRC) $(BENCH_KO)
	rm -rf $(@D) && mkdir -p $(@D)
	cd $(BENCH_TOP) && cp -r Kbuild module lib include $(@D)/
	$(MAKE) -C $(BENCH_KDIR) M=$(@D) KCFLAGS=-DNOTRACE modules >$(@D)/build.log 2>&1 || \
		{ tail -n 30 $(@D)/build.log; exit 1; }
	@for e in $(BENCH_TP_EVENTS); do \
		nm $(BENCH_KO) | grep -q " __tracepoint_$$e$$" || \
			{ echo "bench: $(BENCH_KO) has no tracepoint $$e" >&2; rm -f $@; exit 1; }; \
	done; \
	if nm --defined-only $@ | grep -E ' (__tracepoint_|__traceiter_|event_)'; then \
		echo "bench: $@ still defines tracepoints (above)" >&2; rm -f $@; exit 1; \
	fi; \
	echo "  NOTRACE $@: no tracepoint ($(BENCH_KO): $(BENCH_TP_EVENTS))"

bench-notrace: $(BENCH_KO_NOTRACE)

# tcptimeoctl, where `make tools` puts it.
BENCH_CTL ?= $(if $(BENCH_CTL_SRC),$(BENCH_TOP)/build/tools/tcptimeoctl)
$(BENCH_TOP)/build/tools/tcptimeoctl: $(BENCH_CTL_SRC)
	$(MAKE) --no-print-directory -C $(BENCH_TOP)/tools/tcptimeoctl O=$(BENCH_TOP)/build/tools

bench-ctl: $(BENCH_CTL)

bench-bins: $(BENCH_BINS)

bench-build: bench-bins $(BENCH_KO) $(BENCH_KO_NOTRACE) bench-ctl

# selftests/60-bench-smoke.sh uses build/bench when it is there (else it
# compiles in the guest, slower): build it before the VM suite, never
# failing the suite for it.
CHECK_STEPS += bench-bins-if-possible
check-vm: bench-bins-if-possible
bench-bins-if-possible:
	@$(MAKE) --no-print-directory -f $(BENCH_TOP)/mk/bench.mk bench-bins >/dev/null 2>&1 || \
		echo "bench: could not build build/bench (60-bench-smoke builds in the guest)"

bench-deps:
	@$(BENCH_TOP)/tools/deps.sh
	@missing=$$(for p in $(BENCH_APT_DEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "bench-deps: installing $$missing"; \
		apt-get install -y -q --no-install-recommends $$missing; \
	fi

# On a machine without the kernel yet, BENCH_KVER is only known after
# bench-deps: then the target runs again in a make that resolves it.
ifeq ($(strip $(BENCH_KVER)),)
bench bench-smoke bench-probe-cost: bench-deps
	@k=$$($(BENCH_TOP)/selftests/vm/kernels.sh resolve $(BENCH_SERIES)) && \
		$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) $@ BENCH_KVER=$$k
else
bench: bench-deps bench-build
	rm -rf $(BENCH_RUN) && mkdir -p $(BENCH_RUN)
	BENCH_KO=$(BENCH_KO) BENCH_KO_NOTRACE=$(BENCH_KO_NOTRACE) BENCH_BIN=$(BENCH_B) \
		BENCH_CTL=$(BENCH_CTL) $(BENCH_TOP)/bench/vm.sh $(BENCH_KVER) $(BENCH_RUN)
	python3 $(BENCH_TOP)/bench/report.py $(BENCH_RUN)/raw.jsonl \
		--out $(BENCH_TOP)/bench/results

bench-smoke: bench-deps bench-build
	rm -rf $(BENCH_RUN)-smoke && mkdir -p $(BENCH_RUN)-smoke
	BENCH_SMOKE=1 BENCH_KO=$(BENCH_KO) BENCH_KO_NOTRACE=$(BENCH_KO_NOTRACE) \
		BENCH_BIN=$(BENCH_B) BENCH_CTL=$(BENCH_CTL) \
		$(BENCH_TOP)/bench/vm.sh $(BENCH_KVER) $(BENCH_RUN)-smoke
	python3 $(BENCH_TOP)/bench/report.py $(BENCH_RUN)-smoke/raw.jsonl \
		--out $(BENCH_RUN)-smoke --check

bench-probe-cost: bench-deps bench-build
	rm -rf $(BENCH_RUN)-cost && mkdir -p $(BENCH_RUN)-cost
	BENCH_GUEST=$(BENCH_TOP)/bench/probe-cost.sh BENCH_KO=$(BENCH_KO) BENCH_BIN=$(BENCH_B) \
		$(BENCH_TOP)/bench/vm.sh $(BENCH_KVER) $(BENCH_RUN)-cost
	@stem=$(BENCH_TOP)/bench/results/$$(date +%F)-$(BENCH_KVER)-probe-cost; \
	cp $(BENCH_RUN)-cost/probe-cost.jsonl $$stem.jsonl && \
	python3 $(BENCH_TOP)/bench/report.py --probe-cost $$stem.jsonl | tee $$stem.md
endif

bench-doc:
	python3 $(BENCH_TOP)/bench/report.py --doc $(BENCH_TOP)/docs/performance.md \
		--latest $(BENCH_TOP)/bench/results
