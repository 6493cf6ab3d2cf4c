# SPDX-License-Identifier: GPL-2.0
#
# mbox: the one entry point.  'make help' lists the targets.

MBOX_CACHE ?= $(HOME)/.cache/mbox
export MBOX_CACHE

VM := selftests/vm
BUILD := build

# Kbuild splits M= at spaces: a checkout whose path has one builds its
# module through a link, without spaces, that points at it from the cache.
ifeq ($(words $(CURDIR)),1)
MODTOP := $(CURDIR)
else
MODTOP := $(MBOX_CACHE)/kbuild-links/$(shell pwd -P | sha256sum | cut -c1-16)
ifneq ($(words $(MODTOP)),1)
$(error $(CURDIR) and MBOX_CACHE ($(MBOX_CACHE)) both have spaces in their paths, and kbuild cannot build there: set MBOX_CACHE to a path without spaces)
endif
$(shell mkdir -p "$(dir $(MODTOP))" && ln -sfn "$$(pwd -P)" "$(MODTOP)")
endif
ABI = $(shell dpkg-query -W -f='$${Depends}' linux-headers-amd64 2>/dev/null | \
	sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p')
# The stock lane's kernel: Debian's, of the installed headers' version.
KDIR ?= /usr/src/linux-headers-$(ABI)

VERSION := $(shell cat VERSION)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))

CFLAGS ?= -O2 -g
USER_CFLAGS := $(CFLAGS) -Wall -Wextra -Werror -pthread -Iuapi
# kselftest_harness.h's macros compare mixed signedness and leave handler
# parameters unused by design; everything else stays a hard error.
TEST_CFLAGS := $(USER_CFLAGS) -Wno-sign-compare -Wno-unused-parameter

TEST_SRCS := $(wildcard selftests/*.c)
TESTS := $(patsubst selftests/%.c,$(BUILD)/selftests/%,$(TEST_SRCS))
# The compat test also runs as a 32-bit program, through compat_ioctl.
TESTS += $(BUILD)/selftests/mbox_compat_test_32
EXAMPLES := $(patsubst userspace/examples/%.c,$(BUILD)/examples/%,$(wildcard userspace/examples/*.c))

# libmbox: one set of PIC objects for the static and the shared library.
LIB_SRCS := userspace/lib/mbox.c userspace/lib/module.c
LIB_OBJS := $(patsubst userspace/lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRCS))
LIB_CFLAGS := $(USER_CFLAGS) -fPIC -DMBOX_VERSION='"$(VERSION)"'
LIB_SO := $(BUILD)/lib/libmbox.so.$(VERSION)
LIB_A := $(BUILD)/lib/libmbox.a
LIB_USER_CFLAGS := $(USER_CFLAGS) -Iuserspace/lib
# Programs run from the build tree find the shared library beside them.
LIB_LINK := -L$(BUILD)/lib -lmbox -Wl,-rpath,'$$ORIGIN/../lib'
CLI := $(BUILD)/bin/mbox
MANPAGES := $(wildcard userspace/man/*.[0-9])

BENCH := $(BUILD)/bench/mbox_bench
KSELFTEST_STAMP := $(BUILD)/.kselftest-dir
DEPS_STAMP := $(BUILD)/.deps-ok
BUILD_DEPS_STAMP := $(BUILD)/.build-deps-ok

.PHONY: all module module-debug module-kcsan kcsan-race tests userspace deps check check-fast vm vm-run demo \
	man-check stress fuzz bench bench-ab bench-profile clean help

all: module tests userspace

help:
	@echo 'make              build mbox.ko (stock kernel), user space and the selftests'
	@echo 'make check        static checks, host tests, every selftest in the VM on the stock'
	@echo '                  and debug kernels, the racing ones on the KCSAN kernel'
	@echo '   MBOX_TIMEOUT_SCALE=K  stretch every timeout K times (a slow machine)'
	@echo 'make check-fast   the same on the stock kernel only'
	@echo '   T=NAME         only the named test programs (e.g. T=mbox_oob_test)'
	@echo 'make demo         boot the VM and watch a one-minute tour of a named mailbox'
	@echo 'make bench        mbox against pipes, sockets and message queues: single-CPU'
	@echo '                  scenarios in instructions (icount VM), two-CPU ones in TCG time'
	@echo '   BENCH_ARGS=... options of mbox_bench (e.g. "--reps 7 -z 64"); BENCH_ONLY=icount|tcg'
	@echo 'make bench-ab BASE=REV  the module at REV against the working tree, in instructions'
	@echo '   AB_ROUNDS=N, AB_ARGS=...  rounds (default 2), mbox_bench options'
	@echo 'make bench-profile  top symbols of scenario 1, mbox and pipe, 64 B and 4 KiB, in instructions'
	@echo 'make vm           an interactive shell in the VM with the module loaded'
	@echo "make vm-run CMD='...'  run any command in the VM (LANE=debug or kcsan for those kernels)"
	@echo 'make stress DURATION=S [SEED=N]   the concurrency stress test for S seconds (debug kernel)'
	@echo 'make fuzz DURATION=S [SEED=N]     the fuzzer for S seconds (debug kernel; LANE=stock for the stock one)'
	@echo 'make deps         install the Debian packages that are missing'
	@echo 'make install      module, libmbox, mbox, headers, man pages, udev rule, /dev/mbox mount unit (DESTDIR=, PREFIX=/usr/local)'
	@echo 'make install-userspace  the same without the module (with DKMS); make uninstall'
	@echo 'make dkms-install / dkms-remove   the module through DKMS, rebuilt for each kernel'
	@echo 'make KDIR=/lib/modules/$$(uname -r)/build   build for the running kernel'
	@echo 'Cache: $(MBOX_CACHE) (MBOX_CACHE=...); VM options: selftests/vm/run.sh --help'

# Installing packages only when something is missing keeps this cheap.
deps:
	@$(VM)/deps.sh

$(DEPS_STAMP): $(VM)/deps.sh
	@$(VM)/deps.sh
	@mkdir -p $(BUILD) && touch $@ $(BUILD_DEPS_STAMP)

# Building and installing need less than testing (no QEMU, no sources).
$(BUILD_DEPS_STAMP): $(VM)/deps.sh
	@$(VM)/deps.sh --build
	@mkdir -p $(BUILD) && touch $@

module: $(BUILD_DEPS_STAMP)
	@$(VM)/stage-module.sh $(BUILD)/stock
	$(MAKE) -C $(KDIR) M=$(MODTOP)/$(BUILD)/stock W=1 modules

module-debug: $(DEPS_STAMP)
	@$(VM)/stage-module.sh $(BUILD)/debug
	kdir=$$($(VM)/debug-kernel.sh debug) && $(MAKE) -C "$$kdir" M=$(MODTOP)/$(BUILD)/debug W=1 modules

module-kcsan: $(DEPS_STAMP)
	@$(VM)/stage-module.sh $(BUILD)/kcsan
	kdir=$$($(VM)/debug-kernel.sh kcsan) && $(MAKE) -C "$$kdir" M=$(MODTOP)/$(BUILD)/kcsan W=1 modules

# The KCSAN lane's proof that a race is caught (selftests/vm/sabotage/race):
# one planted race, built as mbox.ko (ours) and as kcsan_race.ko (not ours).
kcsan-race: $(DEPS_STAMP)
	@for n in mbox kcsan_race; do \
		mkdir -p $(BUILD)/kcsan-race/$$n && \
		cp -pu $(VM)/sabotage/race/race.c $(VM)/sabotage/race/Kbuild $(BUILD)/kcsan-race/$$n/ && \
		kdir=$$($(VM)/debug-kernel.sh kcsan) && \
		$(MAKE) -C "$$kdir" M=$(MODTOP)/$(BUILD)/kcsan-race/$$n \
			RACE_NAME=$$n W=1 modules || exit 1; \
	done

tests: $(TESTS)

userspace: $(LIB_A) $(LIB_SO) $(CLI) $(EXAMPLES) $(BENCH) $(BUILD)/bench/flush_stall

$(BUILD)/lib/%.o: userspace/lib/%.c userspace/lib/mbox.h uapi/linux/mbox.h VERSION | $(BUILD_DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# Only the symbols in the version script are exported.
$(LIB_SO): $(LIB_OBJS) userspace/lib/libmbox.map
	$(CC) -shared -Wl,-soname,libmbox.so.$(SOMAJOR) \
		-Wl,--version-script=userspace/lib/libmbox.map -Wl,--no-undefined \
		-o $@ $(LIB_OBJS) -lkmod
	ln -sf libmbox.so.$(VERSION) $(BUILD)/lib/libmbox.so.$(SOMAJOR)
	ln -sf libmbox.so.$(SOMAJOR) $(BUILD)/lib/libmbox.so

$(CLI): userspace/cli/mbox.c $(LIB_SO)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_USER_CFLAGS) -o $@ $< $(LIB_LINK)

# The examples show the library; the static one keeps them self-contained.
$(BUILD)/examples/%: userspace/examples/%.c userspace/lib/mbox.h uapi/linux/mbox.h $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_USER_CFLAGS) -o $@ $< $(LIB_A)

$(BUILD)/bench/%: userspace/bench/%.c uapi/linux/mbox.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $<

$(KSELFTEST_STAMP): $(DEPS_STAMP) $(VM)/kselftest.sh
	@mkdir -p $(BUILD)
	@$(VM)/kselftest.sh > $@

$(BUILD)/selftests/%: selftests/%.c selftests/mbox_test.h selftests/mbox_harness.h uapi/linux/mbox.h $(KSELFTEST_STAMP) $(LIB_SO)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -Iuserspace/lib -I"$$(cat $(KSELFTEST_STAMP))" -o $@ $< \
		$(if $(filter mbox_uring_test,$*),-luring) \
		$(if $(filter mbox_lib_test,$*),-DMBOX_VERSION='"$(VERSION)"' $(LIB_LINK))

$(BUILD)/selftests/mbox_compat_test_32: selftests/mbox_compat_test.c selftests/mbox_test.h selftests/mbox_harness.h uapi/linux/mbox.h $(KSELFTEST_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -m32 -static -I"$$(cat $(KSELFTEST_STAMP))" -o $@ $<

# The man pages must format without a single groff warning.
man-check:
	@for m in $(MANPAGES); do \
		out=$$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 $$m 2>&1); \
		if [ -n "$$out" ]; then echo "$$m:"; echo "$$out"; exit 1; fi; \
	done

# The counts line must stay the last line printed, also on failure: make's
# own "*** Error" line would follow it, so a failed run ends make with
# SIGPIPE instead, which neither make nor the calling shell reports (the
# exit status is 141).
check: all $(DEPS_STAMP)
	@MBOX_TESTS='$(T)' $(VM)/check.sh || kill -PIPE $$PPID

check-fast: all
	@MBOX_TESTS='$(T)' MBOX_LANES=stock $(VM)/check.sh || kill -PIPE $$PPID

LANE ?= stock

vm-run: all $(if $(filter debug,$(LANE)),module-debug) $(if $(filter kcsan,$(LANE)),module-kcsan)
	@MBOX_CMD="$$CMD" $(VM)/run.sh --lane $(LANE)

vm: all
	@$(VM)/run.sh --lane $(LANE) --interactive

# Longer runs of the stress test and the fuzzer, by default in the debug
# kernel (LANE=stock for the stock one); any failure prints the seed.
DURATION ?= 300
HOSTILE_LANE = $(if $(filter command line,$(origin LANE)),$(LANE),debug)
HOSTILE_TIMEOUT = $$(( $(DURATION) * 3 + 600 ))

stress: all module-debug
	@MBOX_CMD='MBOX_STRESS_SECONDS=$(DURATION) $(if $(SEED),MBOX_STRESS_SEED=$(SEED)) build/selftests/mbox_stress_test' \
		$(VM)/run.sh --lane $(HOSTILE_LANE) --timeout $(HOSTILE_TIMEOUT)

fuzz: all module-debug
	@MBOX_CMD='MBOX_FUZZ_SECONDS=$(DURATION) $(if $(SEED),MBOX_FUZZ_SEED=$(SEED)) build/selftests/mbox_fuzz_test' \
		$(VM)/run.sh --lane $(HOSTILE_LANE) --timeout $(HOSTILE_TIMEOUT)

demo: all
	@$(VM)/run.sh --lane stock -- sh $(VM)/demo.sh

# ---- installing ------------------------------------------------------------
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
# The module goes where the kernel of KDIR looks for it.
KRELEASE = $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
MODDIR = /lib/modules/$(KRELEASE)/extra

# Every file 'make install' writes, relative to DESTDIR; 'make uninstall'
# removes exactly these.  install = install-module + install-userspace;
# with DKMS managing the module, install only the second.
INSTALLED_MODULE = $(MODDIR)/mbox.ko
INSTALLED_USERSPACE = $(INCLUDEDIR)/linux/mbox.h $(INCLUDEDIR)/mbox.h \
	$(LIBDIR)/libmbox.so.$(VERSION) $(LIBDIR)/libmbox.so.$(SOMAJOR) \
	$(LIBDIR)/libmbox.so $(LIBDIR)/libmbox.a $(LIBDIR)/pkgconfig/libmbox.pc \
	$(BINDIR)/mbox \
	$(MANDIR)/man1/mbox.1 $(MANDIR)/man3/libmbox.3 $(MANDIR)/man4/mbox.4 \
	$(MANDIR)/man5/mboxfs.5 \
	$(SYSCONFDIR)/udev/rules.d/60-mbox.rules \
	$(SYSCONFDIR)/systemd/system/dev-mbox.mount
# Configuration the user may edit: installed only when absent, removed only
# when unchanged.
INSTALLED_CONFIG = $(SYSCONFDIR)/modprobe.d/mbox.conf:packaging/modprobe.conf \
	$(SYSCONFDIR)/modules-load.d/mbox.conf:packaging/modules-load.conf
INSTALLED = $(INSTALLED_MODULE) $(INSTALLED_USERSPACE) \
	$(foreach c,$(INSTALLED_CONFIG),$(firstword $(subst :, ,$(c))))

.PHONY: install install-module install-userspace uninstall installed-files \
	dkms-install dkms-remove

installed-files:
	@printf '%s\n' $(INSTALLED)

install: install-module install-userspace

# depmod runs below, for the real system only: a staging tree gets no index.
install-module: module
	$(MAKE) -C $(KDIR) M=$(MODTOP)/$(BUILD)/stock INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=extra CONFIG_MODULE_SIG_ALL= DEPMOD=true modules_install
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KRELEASE); fi

install-userspace: userspace
	install -D -m 644 uapi/linux/mbox.h $(DESTDIR)$(INCLUDEDIR)/linux/mbox.h
	install -D -m 644 userspace/lib/mbox.h $(DESTDIR)$(INCLUDEDIR)/mbox.h
	install -D -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libmbox.so.$(VERSION)
	ln -sf libmbox.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmbox.so.$(SOMAJOR)
	ln -sf libmbox.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libmbox.so
	install -D -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libmbox.a
	@mkdir -p $(DESTDIR)$(LIBDIR)/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		userspace/lib/libmbox.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libmbox.pc
	install -D -m 755 $(CLI) $(DESTDIR)$(BINDIR)/mbox
	install -D -m 644 userspace/man/mbox.1 $(DESTDIR)$(MANDIR)/man1/mbox.1
	install -D -m 644 userspace/man/libmbox.3 $(DESTDIR)$(MANDIR)/man3/libmbox.3
	install -D -m 644 userspace/man/mbox.4 $(DESTDIR)$(MANDIR)/man4/mbox.4
	install -D -m 644 userspace/man/mboxfs.5 $(DESTDIR)$(MANDIR)/man5/mboxfs.5
	install -D -m 644 packaging/60-mbox.rules $(DESTDIR)$(SYSCONFDIR)/udev/rules.d/60-mbox.rules
	install -D -m 644 packaging/dev-mbox.mount $(DESTDIR)$(SYSCONFDIR)/systemd/system/dev-mbox.mount
	@for c in $(INSTALLED_CONFIG); do \
		dst=$(DESTDIR)$${c%%:*}; \
		if [ -e "$$dst" ]; then echo "kept $$dst (yours)"; \
		else install -D -m 644 $${c#*:} "$$dst"; fi; \
	done
	@# On the real system: the linker cache, the group, udev's rules,
	@# systemd's units (the mount unit is installed, not enabled).
	@if [ -z "$(DESTDIR)" ]; then \
		ldconfig; \
		getent group mbox > /dev/null || groupadd --system mbox; \
		if command -v udevadm > /dev/null; then udevadm control --reload || true; fi; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi; \
		echo 'installed: add users to group mbox to give them the mailboxes'; \
		echo 'named mailboxes at boot: systemctl enable --now dev-mbox.mount'; \
	fi

uninstall:
	@# An enabled mount unit would leave its link in sysinit.target.wants.
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemctl disable --quiet dev-mbox.mount 2> /dev/null || true; \
	fi
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_MODULE) $(INSTALLED_USERSPACE))
	@for c in $(INSTALLED_CONFIG); do \
		dst=$(DESTDIR)$${c%%:*}; \
		if [ -e "$$dst" ] && ! cmp -s "$$dst" $${c#*:}; then \
			echo "kept $$dst (edited)"; else rm -f "$$dst"; fi; \
	done
	@# In a staging tree, the directories that held our files go too when
	@# empty (never DESTDIR itself); the real system's stay.
	@if [ -n "$(DESTDIR)" ]; then \
		for f in $(INSTALLED); do \
			d=$$(dirname $$f); \
			while [ "$$d" != / ] && rmdir "$(DESTDIR)$$d" 2> /dev/null; do \
				d=$$(dirname $$d); \
			done; \
		done; \
	else \
		depmod -a $(KRELEASE); ldconfig; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi; \
	fi

# DKMS rebuilds the module for each kernel installed later.
dkms-install:
	dkms add $(CURDIR)
	dkms install mbox/$(VERSION)

dkms-remove:
	dkms remove mbox/$(VERSION) --all

# Not part of 'make check' (minutes, and timing means nothing there); a
# smoke run of the same program is (selftests/mbox_bench_smoke.sh).
bench: all
	@BENCH_ARGS='$(BENCH_ARGS)' BENCH_ONLY='$(BENCH_ONLY)' userspace/bench/bench.sh

# The module at BASE and the working tree's, side by side in one icount VM.
bench-ab: all
	@BASE='$(BASE)' KDIR='$(KDIR)' AB_ROUNDS='$(AB_ROUNDS)' AB_ARGS='$(AB_ARGS)' \
		userspace/bench/bench-ab.sh

# perf record -e cpu-clock in the icount VM: samples every N instructions.
bench-profile: all
	@userspace/bench/bench-profile.sh

clean:
	rm -rf $(BUILD)
