# SPDX-License-Identifier: GPL-2.0
# Packaging targets, included by the top-level Makefile.
#
#   make deb                .debs in build/deb/ (dpkg-buildpackage on a clean copy)
#   make deb-arm64          the same cross-built for arm64, in build/deb-arm64/
#   make lintian            lintian on them (fails on warnings and errors)
#   make lintian-arm64      the same on the arm64 ones
#   make dkms-src           the DKMS source tree in build/dkms-src/tcptimeo-<ver>
#   make k8s-image-context  the DaemonSet image's build context in build/k8s-image/
#                           (debs for amd64 and arm64)
#   make check-packaging    host checks: version, man pages, docs, Kubernetes
#                           manifests, .deb contents and lintian (amd64, arm64),
#                           the image context per arch (no VM, no root)
#   make check-install      DKMS and .deb installs on the host, each booted in
#                           the VM on every kernel, then removed (root; leaves
#                           the host as it found it)
#   make packaging-deps     install what the targets above need (apt-get)

PKG_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
PKG_VERSION := $(shell sed -n 's/^.define[[:space:]]*TCPTIMEO_VERSION[[:space:]]*"\(.*\)"/\1/p' $(PKG_TOP)/include/uapi/tcptimeo.h)
PKG_BUILD := $(PKG_TOP)/build
PKG_DEB_DIR := $(PKG_BUILD)/deb
PKG_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
PKG_DEBS := $(PKG_DEB_DIR)/tcptimeo-dkms_$(PKG_VERSION)_all.deb \
	    $(PKG_DEB_DIR)/tcptimeo-tools_$(PKG_VERSION)_$(PKG_ARCH).deb
# arm64, cross-built with Debian's cross toolchain (no arm64 in dpkg's
# architectures needed: debian/rules points dpkg-shlibdeps at its libc).
PKG_ARM64_DIR := $(PKG_BUILD)/deb-arm64
PKG_ARM64_GNU_TYPE := aarch64-linux-gnu
PKG_DEBS_ARM64 := $(PKG_ARM64_DIR)/tcptimeo-dkms_$(PKG_VERSION)_all.deb \
	    $(PKG_ARM64_DIR)/tcptimeo-tools_$(PKG_VERSION)_arm64.deb

# Debian packages the packaging targets and their tests need (the VM
# harness's own needs are listed with it).
PACKAGING_APT_DEPS := dpkg-dev debhelper dh-dkms dkms lintian man-db \
	groff-base shellcheck python3 python3-yaml git file \
	gcc-$(PKG_ARM64_GNU_TYPE) binutils-$(PKG_ARM64_GNU_TYPE) libc6-dev-arm64-cross
# node + npm for the offline Kubernetes schema validation (check-k8s.sh
# installs its npm packages, pinned, into .cache/k8s-validate). Debian's
# nodejs and npm only if no node is there: a nodesource nodejs bundles
# npm and conflicts with Debian's npm package.
PACKAGING_NODE_DEPS := nodejs npm

# What the source package is made of: everything debian/rules reads.
PKG_PATHS := Kbuild dkms.conf module lib include tools/tcptimeoctl docs \
	deploy debian

.PHONY: deb deb-arm64 lintian lintian-arm64 dkms-src k8s-image-context \
	check-packaging check-install packaging-deps

# Built from a copy holding only the package's files (tracked or not yet
# committed, never ignored build output), so dpkg-buildpackage's in-tree
# debian/ leftovers and the parent-directory outputs stay in build/deb.
# $(call pkg_copy,DIR): that copy in DIR/tcptimeo-<ver>.
define pkg_copy
	rm -rf $(1)
	mkdir -p $(1)/tcptimeo-$(PKG_VERSION)
	cd $(PKG_TOP) && { git ls-files --cached --others --exclude-standard -- $(PKG_PATHS) 2>/dev/null \
		|| find $(PKG_PATHS) -type f; } | \
		while read -r f; do [ -f "$$f" ] && echo "$$f"; done | \
		tar -c -T - -f - | tar -x -C $(1)/tcptimeo-$(PKG_VERSION)
endef

deb:
	$(call pkg_copy,$(PKG_DEB_DIR))
	cd $(PKG_DEB_DIR)/tcptimeo-$(PKG_VERSION) && \
		dpkg-buildpackage -b -us -uc -j2 > ../build.log 2>&1 || \
		{ tail -n 40 ../build.log; exit 1; }
	@ls -1 $(PKG_DEB_DIR)/*.deb

# What sbuild gives a cross build: the profiles cross and nocheck, and
# nocheck in DEB_BUILD_OPTIONS too (the tests need a VM anyway; dh warns
# about tests in cross builds and about nocheck only in the profiles). CC
# in the environment is what dpkg-architecture checks the host type
# against.
deb-arm64:
	$(call pkg_copy,$(PKG_ARM64_DIR))
	cd $(PKG_ARM64_DIR)/tcptimeo-$(PKG_VERSION) && \
		CC=$(PKG_ARM64_GNU_TYPE)-gcc DEB_BUILD_OPTIONS="$${DEB_BUILD_OPTIONS:+$$DEB_BUILD_OPTIONS }nocheck" \
		dpkg-buildpackage -aarm64 -Pcross,nocheck -b -us -uc -j2 > ../build.log 2>&1 || \
		{ tail -n 40 ../build.log; exit 1; }
	@ls -1 $(PKG_ARM64_DIR)/*.deb

lintian: deb
	lintian --fail-on error,warning --display-info --pedantic --suppress-tags \
		spelling-error-in-binary $(PKG_DEB_DIR)/tcptimeo_$(PKG_VERSION)_$(PKG_ARCH).changes

lintian-arm64: deb-arm64
	lintian --fail-on error,warning --display-info --pedantic --suppress-tags \
		spelling-error-in-binary $(PKG_ARM64_DIR)/tcptimeo_$(PKG_VERSION)_arm64.changes

dkms-src:
	rm -rf $(PKG_BUILD)/dkms-src
	cd $(PKG_TOP) && debian/stage-dkms-src $(PKG_BUILD)/dkms-src/tcptimeo-$(PKG_VERSION)

# debs/<arch>/ per Docker platform architecture (TARGETARCH, which
# docker buildx sets; the Dockerfile installs debs/$$TARGETARCH/*.deb).
k8s-image-context: deb deb-arm64
	rm -rf $(PKG_BUILD)/k8s-image
	mkdir -p $(PKG_BUILD)/k8s-image/debs/$(PKG_ARCH) $(PKG_BUILD)/k8s-image/debs/arm64 \
		$(PKG_BUILD)/k8s-image/modules
	cp $(PKG_DEBS) $(PKG_BUILD)/k8s-image/debs/$(PKG_ARCH)/
	cp $(PKG_DEBS_ARM64) $(PKG_BUILD)/k8s-image/debs/arm64/
	cp $(PKG_TOP)/deploy/kubernetes/Dockerfile $(PKG_TOP)/deploy/kubernetes/node-init.sh \
		$(PKG_TOP)/deploy/kubernetes/reapply.sh $(PKG_BUILD)/k8s-image/
	@echo "build/k8s-image: add modules/<uname -r>/tcptimeo.ko for prebuilt modules, then docker buildx build"

check-packaging:
	$(PKG_TOP)/selftests/packaging/run.sh host

check-install:
	$(PKG_TOP)/selftests/packaging/run.sh install

# Only calls apt-get when something is missing (then with a fresh list).
packaging-deps:
	@missing=$$(for p in $(PACKAGING_APT_DEPS); do \
		dpkg-query -W -f '$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done; \
		command -v npm >/dev/null || echo $(PACKAGING_NODE_DEPS)); \
	if [ -n "$$missing" ]; then \
		echo "packaging-deps: installing" $$missing; \
		[ "$$(id -u)" = 0 ] || { echo "packaging-deps: run as root" >&2; exit 1; }; \
		apt-get -q update && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $$missing; \
	fi

# A full `make check` (no TESTS= given) also runs the packaging checks and
# the install flow, as phases of its own before the VM suite (whose summary
# stays the last line), counted whatever they print or exit with.
# TCPTIMEO_PACKAGING=0 leaves them out.
ifeq ($(strip $(TESTS))$(filter 0,$(TCPTIMEO_PACKAGING)),)
CHECK_STEPS += packaging-deps
CHECK_HOST_SUITES += check-packaging check-install
endif
