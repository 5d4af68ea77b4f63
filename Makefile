# SPDX-License-Identifier: GPL-2.0
# tcptimeo: the out-of-tree module (Kbuild), its CLI and the test suite.
#
#   make [KVER=<kver>]   build/<kver>/tcptimeo.ko for every installed kernel
#                        of selftests/vm/kernels.conf (or only KVER, a
#                        release or a series such as 6.1; KDIR= builds
#                        against another kernel tree), W=1 clean
#   make tools           build/tools/tcptimeoctl
#   make ksft-progs      the tests in C: selftests/NN-name.c -> NN-name
#   make ksft-install    the suite installed as kernel CI installs it
#                        (make -C selftests install) into build/kselftest,
#                        which make check's VMs run with run_kselftest.sh
#   make deps            install what the build and the tests need (root)
#   make check           deps + build + tools + host unit tests + lint +
#                        packaging + the VM suite on every kernel, each
#                        phase run and counted even if another failed;
#                        KVERS="<kver or series> ..." and
#                        TESTS="NN-name ..." restrict it;
#                        TCPTIMEO_NEGATIVE_CONTROL=1 runs only the
#                        deliberately failing test (must exit non-zero)
#   make check-vm        the VM suite alone (no deps, no unit tests)
#   make check-arm64     deps, the arm64 builds and the whole VM suite on the
#                        arm64 kernels of kernels.conf (make check runs only
#                        selftests/vm/core.tests there)
#   make tools-arm64     tcptimeoctl and the tests' Go program for arm64
#                        (build/arm64/tools), cross-compiled
#   make ksft-install-arm64  the suite with its tests in C for arm64
#                        (build/arm64/kselftest)
#   make check-unit      the host unit tests alone
#   make demo            boot the newest kernel, load the module, show it
#   make lint            checkpatch --strict and sparse on the module
#   make clean           build/ except caches (build/cache, initramfs)
#   make distclean       build/ and .cache/ entirely
#
# Other makefiles in mk/*.mk are included at the end (packaging, ...).

TOP := $(CURDIR)
B := $(TOP)/build
VM := $(TOP)/selftests/vm
KERNELS := $(VM)/kernels.sh

# The negative control runs one test only: say so early, so that nothing
# keyed on a full run (mk/*.mk) joins in.
ifneq ($(TCPTIMEO_NEGATIVE_CONTROL:0=),)
TESTS := 99-negative-control
endif

# A given KDIR (e.g. a debug kernel's build tree) names its own release.
ifneq ($(KDIR),)
KVER ?= $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
endif
ifneq ($(KVER),)
KVERS ?= $(KVER)
endif
# KVER/KVERS may name releases or series of kernels.conf ("6.1", "7.x"):
# a series is its newest installed kernel. make check hands the words as
# given to run.py, which resolves them only after `make deps`.
KVERS_ASKED := $(strip $(KVERS))
ifneq ($(KVERS_ASKED),)
override KVERS := $(shell $(KERNELS) resolve $(KVERS_ASKED))
endif
# Default: the installed kernels of the matrix, computed when needed.
KVERS ?= $(shell $(KERNELS) installed)

.PHONY: all modules tools deps check check-vm check-unit demo lint lint-tap \
	tools-arm64 ksft-install-arm64 check-arm64 \
	checkpatch sparse initramfs clean distclean testprogs ksft-progs ksft-install FORCE
.DEFAULT_GOAL := all

all: modules tools

modules:
	@test -n "$(strip $(KVERS))" || { echo "no kernel of selftests/vm/kernels.conf is installed: make deps" >&2; exit 1; }
	@set -e; for k in $(KVERS); do KDIR_OVERRIDE=$(KDIR) $(TOP)/tools/build-module.sh $$k; done

# One kernel (tools/build-module.sh: its own source copy, W=1, no warning).
$(B)/%/tcptimeo.ko: FORCE
	@KDIR_OVERRIDE=$(KDIR) $(TOP)/tools/build-module.sh $*

tools: testprogs
	@if [ -f tools/tcptimeoctl/Makefile ]; then \
		$(MAKE) --no-print-directory -C tools/tcptimeoctl O=$(B)/tools; \
	else echo "tools: no tools/tcptimeoctl/Makefile yet, nothing to build"; fi

# The tests' Go program (selftests/go: 64-go-client), built with Debian's
# golang-go (make deps) into build/tools/ttgo; without go the test skips.
GO ?= go
# $(call go-ttgo,OUTDIR,GOARCH or empty for the host's,target)
go-ttgo = @if command -v $(GO) >/dev/null 2>&1; then \
		mkdir -p $(1) && cd selftests/go && \
		GOCACHE=$(B)/cache/go GOPATH=$(B)/cache/gopath CGO_ENABLED=0 $(if $(2),GOARCH=$(2)) \
		$(GO) build -trimpath -o $(1)/ttgo ttgo.go; \
	else echo "$(3): no $(GO) (make deps installs golang-go): 64-go-client will skip"; fi
testprogs:
	$(call go-ttgo,$(B)/tools,,testprogs)

# The tests in C (selftests/NN-name.c, kselftest_harness.h from the
# kselftest framework tools/ksft-dir.sh finds) into selftests/NN-name,
# which the VM runs from the shared root like the scripts.
ksft-progs:
	@$(MAKE) --no-print-directory -C selftests all

# Afresh each time: a test removed from the tree must not linger in it.
ksft-install:
	@rm -rf $(B)/kselftest
	@$(MAKE) -s --no-print-directory -C selftests install INSTALL_PATH=$(B)/kselftest >/dev/null

deps:
	@tools/deps.sh

# The userspace half for an arm64 guest (kernels.conf arch=arm64): built
# on this host with Debian's cross compiler against bookworm's arm64 libc,
# the arm64 guest's own (its root is a bookworm arm64 debootstrap).
ARM64_CC ?= aarch64-linux-gnu-gcc
tools-arm64:
	@$(MAKE) --no-print-directory -C tools/tcptimeoctl O=$(B)/arm64/tools CC=$(ARM64_CC)
	$(call go-ttgo,$(B)/arm64/tools,arm64,tools-arm64)

# The C tests built into build/arm64/ksft (OUTPUT), so that the host's
# programs next to their sources stay the host's.
ksft-install-arm64:
	@rm -rf $(B)/arm64/kselftest
	@mkdir -p $(B)/arm64/ksft
	@$(MAKE) -s --no-print-directory -C selftests install INSTALL_PATH=$(B)/arm64/kselftest \
		OUTPUT=$(B)/arm64/ksft CC=$(ARM64_CC) >/dev/null

# The VM's initramfs, per kernel; rebuilt when its inputs change.
initramfs:
	@set -e; for k in $(KVERS); do $(VM)/mkinitramfs.sh $$k $(B)/$$k/initramfs.cpio.gz; done

$(B)/%/initramfs.cpio.gz: FORCE
	@$(VM)/mkinitramfs.sh $* $@

# make check's phases, run by selftests/vm/run.py in this order, every one
# of them whatever the others did, all counted into the closing line:
#   CHECK_STEPS         make targets counted by exit status, one point each
#                       (what installs things: they run first)
#   the build           per kernel: the module and the VM's initramfs; tools; the tests in C
#   the host unit tests
#   CHECK_HOST_SUITES   make targets that print TAP
#   the VM suite        on every kernel
# mk/*.mk add to both lists (packaging: packaging-deps, check-packaging,
# check-install on a full run).
CHECK_STEPS ?=
CHECK_STEPS += deps
CHECK_HOST_SUITES ?=
CHECK_HOST_SUITES += lint-tap

# checkpatch and sparse on every kernel, as TAP (counted by make check).
lint-tap: modules
	@KDIR_OVERRIDE=$(KDIR) $(TOP)/tools/lint-tap.sh "$(KVERS)"

check:
	@$(VM)/run.py $(foreach s,$(CHECK_STEPS),--step $(s)) --build \
		$(if $(TCPTIMEO_NEGATIVE_CONTROL:0=),--negative-control,--unit \
		$(foreach t,$(CHECK_HOST_SUITES),--host-suite $(t))) \
		--kvers "$(KVERS_ASKED)" --tests "$(TESTS)"

check-vm: modules tools initramfs ksft-install
	@$(VM)/run.py --kvers "$(KVERS)" --tests "$(TESTS)"

# The arm64 kernels of the matrix, whole suite (make check: the core).
check-arm64:
	@$(VM)/run.py --step deps --step packaging-deps --build --full --kvers "$(or $(KVERS_ASKED),$(shell $(KERNELS) list arm64))" \
		--tests "$(TESTS)"

check-unit:
	@if [ -f selftests/unit/Makefile ]; then $(MAKE) --no-print-directory -C selftests/unit check; \
	else echo "no host unit tests (selftests/unit/Makefile)"; fi

# Like check, it installs what it needs first; it boots the newest kernel
# of the matrix only, so only that one is built.
demo: deps
	@$(MAKE) --no-print-directory modules tools initramfs KVERS="$(lastword $(shell $(KERNELS) installed amd64))"
	@$(VM)/run.py --demo --kvers "$(lastword $(shell $(KERNELS) installed amd64))"

# checkpatch.pl from Debian's linux-source-6.12, extracted once.
CHECKPATCH := $(B)/cache/checkpatch/checkpatch.pl
LINT_SRCS := $(wildcard module/*.c module/*.h lib/*.c lib/*.h)

$(CHECKPATCH):
	@test -f /usr/src/linux-source-6.12.tar.xz || { echo "no /usr/src/linux-source-6.12.tar.xz: make deps" >&2; exit 1; }
	@echo "  EXTRACT checkpatch.pl from linux-source-6.12"
	@mkdir -p $(@D)
	@tar -xJf /usr/src/linux-source-6.12.tar.xz -C $(@D) --strip-components=2 \
		linux-source-6.12/scripts/checkpatch.pl linux-source-6.12/scripts/spelling.txt \
		linux-source-6.12/scripts/const_structs.checkpatch

lint: checkpatch sparse

checkpatch: $(CHECKPATCH)
	@echo "  CHECKPATCH --strict $(LINT_SRCS)"
	@$(CHECKPATCH) --strict --no-tree --quiet --show-types -f $(LINT_SRCS)

# sparse on every kernel: C=2 checks every file; any warning from our
# sources (not from the kernel's headers) fails.
sparse: modules
	@set -e; for k in $(KVERS); do KDIR_OVERRIDE=$(KDIR) $(TOP)/tools/build-module.sh --sparse $$k; done

# The C tests are built next to their sources (selftests/NN-name.c ->
# selftests/NN-name), as lib.mk builds them.
clean:
	@if [ -f tools/tcptimeoctl/Makefile ]; then $(MAKE) -s -C tools/tcptimeoctl O=$(B)/tools clean; fi
	@rm -f $(patsubst %.c,%,$(wildcard $(TOP)/selftests/[0-9][0-9]-*.c))
	@for d in $(B)/* $(B)/.[!.]*; do \
		[ -e "$$d" ] || continue; \
		case "$${d##*/}" in cache) continue ;; esac; \
		if [ -f "$$d/initramfs.cpio.gz" ]; then \
			find "$$d" -mindepth 1 -maxdepth 1 ! -name initramfs.cpio.gz -exec rm -rf {} +; \
		else rm -rf "$$d"; fi; \
	done

distclean:
	rm -rf $(B) $(TOP)/.cache

FORCE:

-include $(wildcard $(TOP)/mk/*.mk)
