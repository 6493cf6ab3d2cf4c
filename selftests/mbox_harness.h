/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the selftests add to kselftest_harness.h.
 *
 * How long they wait.  Nothing in the suite may depend on the
 * machine's speed: a bound only tells a hang from slowness, so each is far
 * beyond the slowest run measured (the debug lane under TCG on a loaded
 * 2-core machine; README, "Timeouts"), and MBOX_TIMEOUT_SCALE (a number,
 * default 1) stretches every one of them for a slower machine.
 *
 * How they leave the mailboxes: as they found them.  Each case resets the
 * mailbox it uses when it starts; when the program ends, every mailbox is
 * emptied and given the module's default limits again, so the VM's runner
 * (selftests/vm/run-tests.sh), which checks that before each program,
 * finds it clean unless the program died.
 *
 * Include after kselftest_harness.h: TEST_HARNESS_MAIN then also applies
 * the scale, gives a case without TEST_F_TIMEOUT MBOX_CASE_TIMEOUT_S
 * instead of the harness's 30 s, and resets the mailboxes when the
 * program exits.
 */
#ifndef MBOX_HARNESS_H
#define MBOX_HARNESS_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/mbox.h>

/* A case's default budget (the slowest measured default case: README). */
#define MBOX_CASE_TIMEOUT_S	300
/* Waiting for something that must happen: a task to block, an event. */
#define MBOX_WAIT_MS		60000

static inline double mbox_timeout_scale(void)
{
	const char *s = getenv("MBOX_TIMEOUT_SCALE");
	double k = s ? strtod(s, NULL) : 1.0;

	return k >= 1.0 && k <= 1000.0 ? k : 1.0;
}

/* @ms stretched by MBOX_TIMEOUT_SCALE. */
static inline int mbox_scaled_ms(int ms)
{
	return (int)(ms * mbox_timeout_scale());
}

static inline long long mbox_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * for (long long t0 = mbox_now_ms(); !mbox_waited_too_long(t0); )
 * polls a condition until it holds or MBOX_WAIT_MS (scaled) have passed.
 */
static inline bool mbox_waited_too_long(long long t0)
{
	return mbox_now_ms() - t0 > mbox_scaled_ms(MBOX_WAIT_MS);
}

static inline unsigned long long mbox_harness_param(const char *name)
{
	char path[96], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/mbox/parameters/%s", name);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	return strtoull(buf, NULL, 10);
}

/* Every /dev/mboxN empty, with the module's default limits. */
static inline void mbox_harness_reset_all(void)
{
	struct mbox_limits lim = {
		.max_msg_size = mbox_harness_param("max_msg_size"),
		.max_msgs = mbox_harness_param("max_msgs"),
		.max_bytes = mbox_harness_param("max_bytes"),
		.max_urgent = mbox_harness_param("max_urgent"),
	};
	unsigned long long i, n = mbox_harness_param("nr_mailboxes");
	struct mbox_flush fl = { 0 };
	char path[32];
	int fd;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/dev/mbox%llu", i);
		fd = open(path, O_RDWR | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (ioctl(fd, MBOX_IOC_SET_LIMITS, &lim) ||
		    ioctl(fd, MBOX_IOC_FLUSH, &fl))
			fprintf(stderr, "# could not reset %s\n", path);
		close(fd);
	}
}

#ifdef TEST_HARNESS_MAIN
/*
 * test_harness_run() ends with exit(), so the reset is an exit handler;
 * forked children (cases end with _exit(), helpers too, but be sure) must
 * not run it.
 */
static pid_t mbox_harness_main_pid;

static void mbox_harness_at_exit(void)
{
	if (getpid() == mbox_harness_main_pid)
		mbox_harness_reset_all();
}

static inline void mbox_scale_case_timeouts(void)
{
	double k = mbox_timeout_scale();
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next) {
		for (t = f->tests; t; t = t->next) {
			if (t->timeout == TEST_TIMEOUT_DEFAULT)
				t->timeout = MBOX_CASE_TIMEOUT_S;
			t->timeout = (int)(t->timeout * k);
		}
	}
}

#undef TEST_HARNESS_MAIN
#define TEST_HARNESS_MAIN \
	static void __attribute__((constructor)) \
	__constructor_order_last(void) \
	{ \
		if (!__constructor_order) \
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	} \
	int main(int argc, char **argv) { \
		mbox_harness_main_pid = getpid(); \
		atexit(mbox_harness_at_exit); \
		mbox_scale_case_timeouts(); \
		return test_harness_run(argc, argv); \
	}
#endif

#endif /* MBOX_HARNESS_H */
