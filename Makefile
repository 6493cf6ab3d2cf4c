# SPDX-License-Identifier: GPL-2.0
#
# mbox: the one entry point.  'make help' lists the targets.

MBOX_CACHE ?= $(HOME)/.cache/mbox
export MBOX_CACHE

VM := selftests/vm
BUILD := build
ABI = $(shell dpkg-query -W -f='$${Depends}' linux-headers-amd64 2>/dev/null | \
	sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p')
# The stock lane's kernel: Debian's, of the installed headers' version.
KDIR ?= /usr/src/linux-headers-$(ABI)

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
BENCH := $(BUILD)/bench/mbox_bench
KSELFTEST_STAMP := $(BUILD)/.kselftest-dir
DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all module module-debug tests userspace deps check check-fast vm vm-run demo \
	bench clean help

all: module tests userspace

help:
	@echo 'make              build mbox.ko (stock kernel), user space and the selftests'
	@echo 'make check        static checks + every selftest in the VM, stock and debug kernels'
	@echo 'make check-fast   the same on the stock kernel only'
	@echo '   T=NAME         only the named test programs (e.g. T=mbox_oob_test)'
	@echo 'make demo         boot the VM and watch two processes exchange messages'
	@echo 'make bench        mbox against pipes, sockets and message queues in the VM'
	@echo '   BENCH_ARGS=... options of mbox_bench (e.g. "--reps 7 -s 1,2")'
	@echo 'make vm           an interactive shell in the VM with the module loaded'
	@echo "make vm-run CMD='...'  run any command in the VM (LANE=debug for the debug kernel)"
	@echo 'make deps         install the Debian packages that are missing'
	@echo 'make KDIR=/lib/modules/$$(uname -r)/build   build for the running kernel'
	@echo 'Cache: $(MBOX_CACHE) (MBOX_CACHE=...); VM options: selftests/vm/run.sh --help'

# Installing packages only when something is missing keeps this cheap.
deps:
	@$(VM)/deps.sh

$(DEPS_STAMP): $(VM)/deps.sh
	@$(VM)/deps.sh
	@mkdir -p $(BUILD) && touch $@

module: $(DEPS_STAMP)
	@$(VM)/stage-module.sh $(BUILD)/stock
	$(MAKE) -C $(KDIR) M=$(CURDIR)/$(BUILD)/stock W=1 modules

module-debug: $(DEPS_STAMP)
	@$(VM)/stage-module.sh $(BUILD)/debug
	$(MAKE) -C $$($(VM)/debug-kernel.sh) M=$(CURDIR)/$(BUILD)/debug W=1 modules

tests: $(TESTS)

userspace: $(EXAMPLES) $(BENCH)

$(BUILD)/examples/%: userspace/examples/%.c uapi/linux/mbox.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $<

$(BUILD)/bench/%: userspace/bench/%.c uapi/linux/mbox.h
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -o $@ $<

$(KSELFTEST_STAMP): $(DEPS_STAMP) $(VM)/kselftest.sh
	@mkdir -p $(BUILD)
	@$(VM)/kselftest.sh > $@

$(BUILD)/selftests/%: selftests/%.c selftests/mbox_test.h uapi/linux/mbox.h $(KSELFTEST_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -I$$(cat $(KSELFTEST_STAMP)) -o $@ $< \
		$(if $(filter mbox_uring_test,$*),-luring)

$(BUILD)/selftests/mbox_compat_test_32: selftests/mbox_compat_test.c selftests/mbox_test.h uapi/linux/mbox.h $(KSELFTEST_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -m32 -static -I$$(cat $(KSELFTEST_STAMP)) -o $@ $<

check: all module-debug
	@MBOX_TESTS='$(T)' $(VM)/check.sh

check-fast: all
	@MBOX_TESTS='$(T)' MBOX_LANES=stock $(VM)/check.sh

LANE ?= stock

vm-run: all $(if $(filter debug,$(LANE)),module-debug)
	@MBOX_CMD="$$CMD" $(VM)/run.sh --lane $(LANE)

vm: all
	@$(VM)/run.sh --lane $(LANE) --interactive

demo: all
	@$(VM)/run.sh --lane stock -- sh $(VM)/demo.sh

# Not part of 'make check' (minutes, and timing means nothing there); a
# smoke run of the same program is (selftests/mbox_bench_smoke.sh).
bench: all
	@BENCH_ARGS='$(BENCH_ARGS)' userspace/bench/bench.sh

clean:
	rm -rf $(BUILD)
