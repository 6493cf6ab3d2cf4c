// SPDX-License-Identifier: GPL-2.0
/*
 * Fault-injection sweep: for each system call path that allocates or
 * copies, fail its 1st, 2nd, ... allocation or user copy in turn (through
 * /proc/thread-self/fail-nth) until the call runs clean, and check each
 * time that the call failed cleanly (ENOMEM or EFAULT) or succeeded, and
 * that no message was lost, duplicated or half-queued.  Needs a kernel
 * with CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC and
 * FAULT_INJECTION_USERCOPY (the debug lane); skipped elsewhere.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

#define PAYLOAD 100
#define MAX_STEPS 200

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	int ret;

	if (fd < 0)
		return -1;
	ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return ret;
}

/* Fail GFP_KERNEL allocations too, and quietly. */
static int setup_fault_injection(void)
{
	if (access("/proc/thread-self/fail-nth", W_OK) ||
	    write_str("/sys/kernel/debug/failslab/ignore-gfp-wait", "N") ||
	    write_str("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N"))
		return -1;
	write_str("/sys/kernel/debug/failslab/verbose", "0");
	write_str("/sys/kernel/debug/fail_page_alloc/verbose", "0");
	write_str("/sys/kernel/debug/fail_usercopy/verbose", "0");
	return 0;
}

/* Arm the @n-th fault point of this thread's next system calls. */
static void arm(int nth_fd, int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	if (write(nth_fd, buf, len) != len)
		abort();
}

/*
 * Whether the armed fault fired ("0" means it was injected); disarms.  If
 * the call did not reach the n-th fault point, the count runs on into
 * these very reads and writes of fail-nth, and one of them may be the one
 * that fails: then the call ran clean, and the next write disarms.
 */
static bool disarm(int nth_fd)
{
	char buf[16] = "";
	bool fired;
	int i;

	fired = pread(nth_fd, buf, sizeof(buf) - 1, 0) > 0 && buf[0] == '0';
	for (i = 0; i < 3; i++)
		if (write(nth_fd, "0", 1) == 1)
			return fired;
	abort();
}

struct outcome {
	long ret;
	int err;
};

FIXTURE(faults) {
	int fd;
	int nth;
	char msg[PAYLOAD];
};

FIXTURE_SETUP(faults)
{
	if (setup_fault_injection())
		SKIP(return, "no fault injection in this kernel (debug lane only)");
	self->fd = mbox_open_reset(1, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	self->nth = open("/proc/thread-self/fail-nth", O_RDWR);
	ASSERT_LE(0, self->nth);
	for (int i = 0; i < PAYLOAD; i++)
		self->msg[i] = 'A' + i % 26;
}

/* The 6.1 harness runs the test body even when its setup skipped. */
#define REQUIRE_FAULT_INJECTION() \
	do { \
		if (self->nth <= 0) \
			SKIP(return, "no fault injection in this kernel"); \
	} while (0)

FIXTURE_TEARDOWN(faults)
{
	if (self->nth > 0)
		close(self->nth);
	if (self->fd > 0)
		close(self->fd);
}

/*
 * The mailbox's books balance: everything ever enqueued was read, flushed,
 * or is still queued.
 */
static void check_books(struct __test_metadata *_metadata, int fd)
{
	struct mbox_info in;

	ASSERT_EQ(0, mbox_info(fd, &in));
	ASSERT_EQ(in.total_enqueued - in.total_dequeued - in.flushed_msgs,
		  (uint64_t)in.msgs_queued + in.urgent_queued);
	ASSERT_EQ(0, in.readers_waiting);
	ASSERT_EQ(0, in.writers_waiting);
}

/* The one queued message, read back, is whole. */
static void check_intact(struct __test_metadata *_metadata, int fd,
			 const char *msg)
{
	char buf[PAYLOAD * 2];

	ASSERT_EQ(PAYLOAD, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, msg, PAYLOAD));
}

static void check_errno(struct __test_metadata *_metadata, struct outcome o)
{
	if (o.ret < 0) {
		ASSERT_TRUE(o.err == ENOMEM || o.err == EFAULT)
			TH_LOG("unexpected errno %d (%s)", o.err, strerror(o.err));
	}
}

/*
 * Run @op with its n-th fault point failing, for n = 1, 2, ... until it
 * completes without a fault; @check verifies the state after each run.
 */
#define SWEEP(prepare, op, check)					\
	do {								\
		int n, faults = 0;					\
		for (n = 1; n <= MAX_STEPS; n++) {			\
			struct outcome o;				\
			bool fired;					\
			ASSERT_EQ(0, mbox_reset(self->fd));		\
			prepare;					\
			arm(self->nth, n);				\
			o.ret = (op);					\
			o.err = errno;					\
			fired = disarm(self->nth);			\
			check_errno(_metadata, o);			\
			check;						\
			check_books(_metadata, self->fd);		\
			if (!fired)					\
				break;					\
			faults++;					\
			if (o.ret >= 0)					\
				TH_LOG("fault %d: the call returned %ld", n, o.ret); \
		}							\
		ASSERT_GE(MAX_STEPS, n);				\
		TH_LOG("%d fault points failed in turn", faults);	\
	} while (0)

TEST_F(faults, write)
{
	REQUIRE_FAULT_INJECTION();
	SWEEP(,
	      write(self->fd, self->msg, PAYLOAD),
	      ({
		if (o.ret == PAYLOAD) {
			ASSERT_EQ(1, mbox_queued(self->fd));
			check_intact(_metadata, self->fd, self->msg);
		} else {
			ASSERT_EQ(-1, o.ret);
			ASSERT_EQ(0, mbox_queued(self->fd));
		}
	      }));
}

TEST_F(faults, writev)
{
	struct iovec iov[2] = {
		{ self->msg, PAYLOAD / 2 },
		{ self->msg + PAYLOAD / 2, PAYLOAD / 2 },
	};

	REQUIRE_FAULT_INJECTION();
	SWEEP(,
	      writev(self->fd, iov, 2),
	      ({
		if (o.ret == PAYLOAD) {
			check_intact(_metadata, self->fd, self->msg);
		} else {
			ASSERT_EQ(-1, o.ret);
			ASSERT_EQ(0, mbox_queued(self->fd));
		}
	      }));
}

TEST_F(faults, read)
{
	char buf[PAYLOAD * 2];

	REQUIRE_FAULT_INJECTION();
	SWEEP(ASSERT_EQ(PAYLOAD, write(self->fd, self->msg, PAYLOAD)),
	      read(self->fd, buf, sizeof(buf)),
	      ({
		if (o.ret == PAYLOAD) {
			ASSERT_EQ(0, memcmp(buf, self->msg, PAYLOAD));
			ASSERT_EQ(0, mbox_queued(self->fd));
		} else {
			/* The message stays, whole. */
			ASSERT_EQ(-1, o.ret);
			check_intact(_metadata, self->fd, self->msg);
		}
	      }));
}

TEST_F(faults, header_mode_read)
{
	char buf[sizeof(struct mbox_msg_header) + PAYLOAD];

	REQUIRE_FAULT_INJECTION();
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	SWEEP(ASSERT_EQ(PAYLOAD, write(self->fd, self->msg, PAYLOAD)),
	      read(self->fd, buf, sizeof(buf)),
	      ({
		ASSERT_EQ(o.ret < 0 ? 1 : 0, mbox_queued(self->fd));
	      }));
}

TEST_F(faults, open)
{
	REQUIRE_FAULT_INJECTION();
	SWEEP(,
	      open(MBOX_DEV(1), O_RDWR),
	      ({
		if (o.ret >= 0)
			close(o.ret);
	      }));
}

TEST_F(faults, info_peek_mode_fionread)
{
	struct mbox_msg_header hdr;
	struct mbox_mode mode = { .flags = MBOX_MODE_HEADER };
	struct mbox_info info;
	int avail;

	REQUIRE_FAULT_INJECTION();
	SWEEP(ASSERT_EQ(PAYLOAD, write(self->fd, self->msg, PAYLOAD)),
	      ioctl(self->fd, MBOX_IOC_GET_INFO, &info),
	      ASSERT_EQ(1, mbox_queued(self->fd)));
	SWEEP(ASSERT_EQ(PAYLOAD, write(self->fd, self->msg, PAYLOAD)),
	      ioctl(self->fd, MBOX_IOC_PEEK, &hdr),
	      check_intact(_metadata, self->fd, self->msg));
	SWEEP(,
	      ioctl(self->fd, FIONREAD, &avail),
	      ASSERT_EQ(0, mbox_queued(self->fd)));
	SWEEP(,
	      ioctl(self->fd, MBOX_IOC_SET_MODE, &mode),
	      ASSERT_EQ(0, mbox_set_header_mode(self->fd, 0)));
}

TEST_F(faults, set_limits)
{
	struct mbox_limits lim = { .max_msgs = 77 };

	REQUIRE_FAULT_INJECTION();
	SWEEP(,
	      ioctl(self->fd, MBOX_IOC_SET_LIMITS, &lim),
	      ({
		struct mbox_info info;

		ASSERT_EQ(0, mbox_info(self->fd, &info));
		ASSERT_EQ(o.ret == 0 ? 77 : mbox_param("max_msgs"),
			  info.max_msgs);
	      }));
}

TEST_F(faults, flush)
{
	struct mbox_flush fl;

	REQUIRE_FAULT_INJECTION();
	/* A flush that fails before acting removes nothing. */
	SWEEP(({
		for (int i = 0; i < 3; i++)
			ASSERT_EQ(PAYLOAD, write(self->fd, self->msg, PAYLOAD));
		memset(&fl, 0, sizeof(fl));
	      }),
	      ioctl(self->fd, MBOX_IOC_FLUSH, &fl),
	      ({
		long long q = mbox_queued(self->fd);

		if (o.ret == 0) {
			ASSERT_EQ(0, q);
			ASSERT_EQ(3, fl.flushed_msgs);
		} else {
			/* Only the report of a flush already done can fail. */
			ASSERT_TRUE(q == 3 || (q == 0 && o.err == EFAULT));
		}
	      }));
}

TEST_F(faults, send_urgent)
{
	struct mbox_urgent u;

	REQUIRE_FAULT_INJECTION();
	SWEEP(({
		memset(&u, 0, sizeof(u));
		u.buf = (uintptr_t)self->msg;
		u.len = PAYLOAD;
	      }),
	      ioctl(self->fd, MBOX_IOC_SEND_URGENT, &u),
	      ({
		struct mbox_info info;

		ASSERT_EQ(0, mbox_info(self->fd, &info));
		if (o.ret == 0 || info.urgent_queued) {
			/* Sent (a failed report of the seq says EFAULT). */
			ASSERT_TRUE(o.ret == 0 || o.err == EFAULT);
			ASSERT_EQ(1, info.urgent_queued);
			check_intact(_metadata, self->fd, self->msg);
		}
	      }));
}

/*
 * Three messages in one batch.  Whatever fails, the first k entries are
 * done, each whole, and nothing else.
 */
static long send_batch3(int fd, const char *msg,
			struct mbox_batch_entry *e)
{
	struct mbox_batch b = {
		.entries = (uintptr_t)e,
		.count = 3,
		.entry_size = sizeof(*e),
	};
	int i;

	for (i = 0; i < 3; i++) {
		e[i].buf = (uintptr_t)msg;
		e[i].len = PAYLOAD;
		e[i].result = 0xdeadbeef;
	}
	return ioctl(fd, MBOX_IOC_SEND_BATCH, &b);
}

TEST_F(faults, send_batch)
{
	struct mbox_batch_entry e[3];

	REQUIRE_FAULT_INJECTION();
	SWEEP(,
	      send_batch3(self->fd, self->msg, e),
	      ({
		long k = o.ret < 0 ? 0 : o.ret;

		ASSERT_GE(3, o.ret);
		ASSERT_NE(0, o.ret);
		ASSERT_EQ(k, mbox_queued(self->fd));
		for (int i = 0; i < k; i++) {
			ASSERT_EQ(PAYLOAD, e[i].result);
			check_intact(_metadata, self->fd, self->msg);
		}
	      }));
}

TEST_F(faults, recv_batch)
{
	char buf[3][PAYLOAD * 2];
	struct mbox_batch_entry e[3] = {
		{ (uintptr_t)buf[0], sizeof(buf[0]), 0 },
		{ (uintptr_t)buf[1], sizeof(buf[1]), 0 },
		{ (uintptr_t)buf[2], sizeof(buf[2]), 0 },
	};
	struct mbox_batch b = {
		.entries = (uintptr_t)e,
		.count = 3,
		.entry_size = sizeof(e[0]),
	};

	REQUIRE_FAULT_INJECTION();
	SWEEP(({
		memset(buf, 0, sizeof(buf));
		for (int i = 0; i < 3; i++) {
			e[i].result = 0xdeadbeef;
			ASSERT_EQ(PAYLOAD, write(self->fd, self->msg, PAYLOAD));
		}
	      }),
	      ioctl(self->fd, MBOX_IOC_RECV_BATCH, &b),
	      ({
		long k = o.ret < 0 ? 0 : o.ret;

		ASSERT_GE(3, o.ret);
		ASSERT_NE(0, o.ret);
		for (int i = 0; i < k; i++) {
			ASSERT_EQ(PAYLOAD, e[i].result);
			ASSERT_EQ(0, memcmp(buf[i], self->msg, PAYLOAD));
		}
		/* What was not received stays, whole. */
		ASSERT_EQ(3 - k, mbox_queued(self->fd));
		for (int i = k; i < 3; i++)
			check_intact(_metadata, self->fd, self->msg);
	      }));
}

TEST_HARNESS_MAIN
