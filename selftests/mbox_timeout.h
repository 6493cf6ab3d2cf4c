/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How long the selftests wait.  Nothing in the suite may depend on the
 * machine's speed: a bound only tells a hang from slowness, so each is far
 * beyond the slowest run measured (the debug lane under TCG on a loaded
 * 2-core machine; README, "Timeouts"), and MBOX_TIMEOUT_SCALE (a number,
 * default 1) stretches every one of them for a slower machine.
 *
 * Include after kselftest_harness.h: TEST_HARNESS_MAIN then also applies
 * the scale, and a case without TEST_F_TIMEOUT gets MBOX_CASE_TIMEOUT_S
 * instead of the harness's 30 s.
 */
#ifndef MBOX_TIMEOUT_H
#define MBOX_TIMEOUT_H

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

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

#ifdef TEST_HARNESS_MAIN
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
		mbox_scale_case_timeouts(); \
		return test_harness_run(argc, argv); \
	}
#endif

#endif /* MBOX_TIMEOUT_H */
