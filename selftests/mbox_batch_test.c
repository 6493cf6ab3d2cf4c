// SPDX-License-Identifier: GPL-2.0
/*
 * MBOX_IOC_SEND_BATCH and MBOX_IOC_RECV_BATCH: each entry is exactly one
 * write() or read(); only the first may wait; the call returns how many
 * entries it did, or the first entry's error, and a failing entry loses
 * nothing.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <linux/userfaultfd.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

#define NENT 8

static long batch(int fd, unsigned long cmd, struct mbox_batch_entry *e,
		  uint32_t count)
{
	struct mbox_batch b = {
		.entries = (uintptr_t)e,
		.count = count,
		.entry_size = sizeof(*e),
	};

	return ioctl(fd, cmd, &b);
}

static void set_entry(struct mbox_batch_entry *e, const void *buf,
		      uint32_t len)
{
	e->buf = (uintptr_t)buf;
	e->len = len;
	e->result = 0xdeadbeef;	/* ignored on input */
}

FIXTURE(batch) {
	int fd;				/* O_RDWR | O_NONBLOCK */
	struct mbox_batch_entry e[NENT];
	char buf[NENT][256];
};

FIXTURE_SETUP(batch)
{
	self->fd = mbox_open_reset(2, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	memset(self->buf, 0, sizeof(self->buf));
}

FIXTURE_TEARDOWN(batch)
{
	close(self->fd);
}

/* Point every entry at its own receive buffer. */
static void recv_entries(struct mbox_batch_entry *e, char (*buf)[256])
{
	int i;

	for (i = 0; i < NENT; i++)
		set_entry(&e[i], buf[i], 256);
}

TEST_F(batch, send_stamps_each_message_on_its_own)
{
	static const char *const text[] = { "a", "bb", "ccc", "dddd", "eeeee" };
	struct mbox_msg_header hdr;
	struct mbox_info before, after;
	uint64_t seq = 0;
	char buf[16];
	int i;

	for (i = 0; i < 5; i++)
		set_entry(&self->e[i], text[i], strlen(text[i]));
	ASSERT_EQ(0, mbox_info(self->fd, &before));
	ASSERT_EQ(5, batch(self->fd, MBOX_IOC_SEND_BATCH, self->e, 5));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(strlen(text[i]), self->e[i].result);
	ASSERT_EQ(0, mbox_info(self->fd, &after));
	ASSERT_EQ(5, after.msgs_queued);
	ASSERT_EQ(15, after.bytes_queued);
	ASSERT_EQ(before.total_enqueued + 5, after.total_enqueued);

	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	for (i = 0; i < 5; i++) {
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ(sizeof(hdr) + strlen(text[i]),
			  mbox_recv_hdr(self->fd, &hdr, buf, sizeof(buf)));
		ASSERT_STREQ(text[i], buf);
		ASSERT_EQ(strlen(text[i]), hdr.size);
		ASSERT_EQ(getpid(), hdr.pid);
		ASSERT_EQ(gettid(), hdr.tid);
		ASSERT_EQ(geteuid(), hdr.uid);
		ASSERT_EQ(0, hdr.flags);
		/* One seq per message, in entry order. */
		if (i)
			ASSERT_EQ(seq + 1, hdr.seq);
		seq = hdr.seq;
	}
	ASSERT_EQ(0, mbox_queued(self->fd));
}

TEST_F(batch, recv_takes_what_is_queued_and_stops_at_empty)
{
	struct mbox_info before, after;
	int i;

	ASSERT_EQ(3, write(self->fd, "one", 3));
	ASSERT_EQ(3, write(self->fd, "two", 3));
	ASSERT_EQ(5, write(self->fd, "three", 5));
	ASSERT_EQ(0, mbox_info(self->fd, &before));
	recv_entries(self->e, self->buf);
	ASSERT_EQ(3, batch(self->fd, MBOX_IOC_RECV_BATCH, self->e, NENT));
	ASSERT_EQ(3, self->e[0].result);
	ASSERT_EQ(3, self->e[1].result);
	ASSERT_EQ(5, self->e[2].result);
	ASSERT_STREQ("one", self->buf[0]);
	ASSERT_STREQ("two", self->buf[1]);
	ASSERT_STREQ("three", self->buf[2]);
	for (i = 3; i < NENT; i++)
		ASSERT_EQ(0, self->buf[i][0]);
	ASSERT_EQ(0, mbox_info(self->fd, &after));
	ASSERT_EQ(0, after.msgs_queued);
	ASSERT_EQ(before.total_dequeued + 3, after.total_dequeued);

	/* Empty and O_NONBLOCK: the first entry's EAGAIN. */
	ASSERT_EQ(-1, batch(self->fd, MBOX_IOC_RECV_BATCH, self->e, NENT));
	ASSERT_EQ(EAGAIN, errno);
}

TEST_F(batch, recv_in_header_mode_urgent_first)
{
	struct mbox_urgent u = { .buf = (uintptr_t)"now", .len = 3 };
	struct mbox_msg_header hdr;

	ASSERT_EQ(5, write(self->fd, "later", 5));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SEND_URGENT, &u));
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	recv_entries(self->e, self->buf);
	ASSERT_EQ(2, batch(self->fd, MBOX_IOC_RECV_BATCH, self->e, NENT));

	ASSERT_EQ(sizeof(hdr) + 3, self->e[0].result);
	memcpy(&hdr, self->buf[0], sizeof(hdr));
	ASSERT_EQ(sizeof(hdr), hdr.hdr_size);
	ASSERT_EQ(u.seq, hdr.seq);
	ASSERT_EQ(MBOX_MSG_URGENT, hdr.flags);
	ASSERT_EQ(0, memcmp(self->buf[0] + sizeof(hdr), "now", 3));

	ASSERT_EQ(sizeof(hdr) + 5, self->e[1].result);
	memcpy(&hdr, self->buf[1], sizeof(hdr));
	ASSERT_EQ(5, hdr.size);
	ASSERT_EQ(0, hdr.flags);
	ASSERT_EQ(0, memcmp(self->buf[1] + sizeof(hdr), "later", 5));
}

TEST_F(batch, first_entry_errors_are_the_call_s_and_lose_nothing)
{
	char big[300];

	memset(big, 'x', sizeof(big));
	ASSERT_EQ(0, mbox_set_limits(self->fd, 200, 0, 0));
	set_entry(&self->e[0], big, sizeof(big));
	ASSERT_EQ(-1, batch(self->fd, MBOX_IOC_SEND_BATCH, self->e, 1));
	ASSERT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, mbox_queued(self->fd));

	ASSERT_EQ(100, write(self->fd, big, 100));
	set_entry(&self->e[0], self->buf[0], 99);
	ASSERT_EQ(-1, batch(self->fd, MBOX_IOC_RECV_BATCH, self->e, 1));
	ASSERT_EQ(EMSGSIZE, errno);
	set_entry(&self->e[0], NULL, 100);
	ASSERT_EQ(-1, batch(self->fd, MBOX_IOC_RECV_BATCH, self->e, 1));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(1, mbox_queued(self->fd));
	ASSERT_EQ(100, read(self->fd, big, sizeof(big)));
}

TEST_F(batch, a_failing_later_entry_ends_the_call_and_loses_nothing)
{
	char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	char small[2], out[8];

	ASSERT_NE(MAP_FAILED, none);
	/* Send: the third payload is unreadable: two sent, then stop. */
	set_entry(&self->e[0], "m1", 2);
	set_entry(&self->e[1], "m2", 2);
	set_entry(&self->e[2], none, 2);
	set_entry(&self->e[3], "m4", 2);
	ASSERT_EQ(2, batch(self->fd, MBOX_IOC_SEND_BATCH, self->e, 4));
	ASSERT_EQ(2, mbox_queued(self->fd));
	/* The failure recurs when the caller resubmits from that entry. */
	ASSERT_EQ(-1, batch(self->fd, MBOX_IOC_SEND_BATCH, &self->e[2], 2));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(1, batch(self->fd, MBOX_IOC_SEND_BATCH, &self->e[3], 1));
	ASSERT_EQ(3, mbox_queued(self->fd));

	/* Recv: the second buffer is too small, then unwritable. */
	set_entry(&self->e[0], self->buf[0], 256);
	set_entry(&self->e[1], small, sizeof(small) - 1);
	ASSERT_EQ(1, batch(self->fd, MBOX_IOC_RECV_BATCH, self->e, 2));
	ASSERT_STREQ("m1", self->buf[0]);
	ASSERT_EQ(2, mbox_queued(self->fd));
	set_entry(&self->e[0], self->buf[1], 256);
	set_entry(&self->e[1], none, 256);
	ASSERT_EQ(1, batch(self->fd, MBOX_IOC_RECV_BATCH, self->e, 2));
	ASSERT_STREQ("m2", self->buf[1]);
	ASSERT_EQ(1, mbox_queued(self->fd));
	ASSERT_EQ(2, read(self->fd, out, sizeof(out)));
	ASSERT_EQ(0, memcmp(out, "m4", 2));
	munmap(none, 4096);
}

TEST_F(batch, a_zero_length_entry_sends_nothing_as_write_does)
{
	set_entry(&self->e[0], "x", 1);
	set_entry(&self->e[1], "", 0);
	set_entry(&self->e[2], "z", 1);
	ASSERT_EQ(3, batch(self->fd, MBOX_IOC_SEND_BATCH, self->e, 3));
	ASSERT_EQ(1, self->e[0].result);
	ASSERT_EQ(0, self->e[1].result);
	ASSERT_EQ(1, self->e[2].result);
	ASSERT_EQ(2, mbox_queued(self->fd));
}

TEST_F(batch, bad_arguments)
{
	struct mbox_batch b = {
		.entries = (uintptr_t)self->e,
		.count = 1,
		.entry_size = sizeof(self->e[0]),
	};
	struct {
		struct mbox_batch_entry e;
		uint64_t more;
	} longer[2] = {
		{ { (uintptr_t)"p", 1, 0 }, 0 },
		{ { (uintptr_t)"q", 1, 0 }, 0 },
	};
	struct mbox_batch bad;
	int rdonly, wronly;

	set_entry(&self->e[0], "x", 1);
#define EXPECT_BATCH_ERR(field, value, err) do {			\
		bad = b;						\
		bad.field = value;					\
		ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SEND_BATCH, &bad)); \
		ASSERT_EQ(err, errno);					\
		ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_RECV_BATCH, &bad)); \
		ASSERT_EQ(err, errno);					\
	} while (0)
	EXPECT_BATCH_ERR(count, 0, EINVAL);
	EXPECT_BATCH_ERR(count, MBOX_BATCH_MAX + 1, EINVAL);
	EXPECT_BATCH_ERR(flags, 1, EINVAL);
	EXPECT_BATCH_ERR(reserved, 1, EINVAL);
	EXPECT_BATCH_ERR(entry_size, sizeof(struct mbox_batch_entry) - 1,
			 EINVAL);
	EXPECT_BATCH_ERR(entry_size, sizeof(struct mbox_batch_entry) + 4,
			 EINVAL);
	EXPECT_BATCH_ERR(entry_size, 4096 + 8, E2BIG);
	EXPECT_BATCH_ERR(entries, 0, EFAULT);
#undef EXPECT_BATCH_ERR
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SEND_BATCH, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mbox_queued(self->fd));

	/* A newer, larger entry: zero tail accepted, nonzero tail E2BIG. */
	bad = b;
	bad.entries = (uintptr_t)longer;
	bad.entry_size = sizeof(longer[0]);
	bad.count = 2;
	ASSERT_EQ(2, ioctl(self->fd, MBOX_IOC_SEND_BATCH, &bad));
	ASSERT_EQ(1, longer[1].e.result);
	longer[0].more = 1;
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SEND_BATCH, &bad));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(2, mbox_queued(self->fd));

	/* The direction the file was opened for, as read() and write(). */
	rdonly = open(MBOX_DEV(2), O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, rdonly);
	wronly = open(MBOX_DEV(2), O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, wronly);
	ASSERT_EQ(-1, ioctl(rdonly, MBOX_IOC_SEND_BATCH, &b));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(-1, ioctl(wronly, MBOX_IOC_RECV_BATCH, &b));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(2, mbox_queued(self->fd));
	close(rdonly);
	close(wronly);
}

/* Where @result cannot be written, nothing is sent or received. */
TEST_F(batch, an_unwritable_result_is_efault_before_acting)
{
	struct mbox_batch_entry *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char out[8];

	ASSERT_NE(MAP_FAILED, ro);
	set_entry(&ro[0], "sent", 4);
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	ASSERT_EQ(-1, batch(self->fd, MBOX_IOC_SEND_BATCH, ro, 1));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mbox_queued(self->fd));

	ASSERT_EQ(4, write(self->fd, "kept", 4));
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ | PROT_WRITE));
	set_entry(&ro[0], out, sizeof(out));
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	ASSERT_EQ(-1, batch(self->fd, MBOX_IOC_RECV_BATCH, ro, 1));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(1, mbox_queued(self->fd));
	munmap(ro, 4096);
}

/* A full mailbox: the first entry waits, later ones never do. */
TEST_F(batch, only_the_first_entry_waits_for_room)
{
	int fd = open(MBOX_DEV(2), O_RDWR);	/* blocking */
	char out[8];
	pid_t pid;
	int status;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mbox_set_limits(self->fd, 0, 2, 0));
	set_entry(&self->e[0], "f1", 2);
	set_entry(&self->e[1], "f2", 2);
	set_entry(&self->e[2], "f3", 2);
	set_entry(&self->e[3], "f4", 2);
	/* Blocking, but the third would wait: two sent. */
	ASSERT_EQ(2, batch(fd, MBOX_IOC_SEND_BATCH, self->e, 3));

	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Once the batch is blocked, make room for exactly one. */
		if (mbox_wait_writers(self->fd, 1))
			_exit(2);
		_exit(read(self->fd, out, sizeof(out)) == 2 ? 0 : 1);
	}
	ASSERT_EQ(1, batch(fd, MBOX_IOC_SEND_BATCH, &self->e[2], 2));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(2, mbox_queued(self->fd));
	close(fd);
}

TEST_F(batch, only_the_first_entry_waits_for_a_message)
{
	int fd = open(MBOX_DEV(2), O_RDWR);	/* blocking */
	pid_t pid;
	int status;

	ASSERT_LE(0, fd);
	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (mbox_wait_readers(self->fd, 1))
			_exit(2);
		_exit(write(self->fd, "late", 4) == 4 ? 0 : 1);
	}
	recv_entries(self->e, self->buf);
	ASSERT_EQ(1, batch(fd, MBOX_IOC_RECV_BATCH, self->e, NENT));
	ASSERT_STREQ("late", self->buf[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	close(fd);
}

static void on_alarm(int sig)
{
}

TEST_F(batch, a_signal_interrupts_the_first_wait)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no restart */
	/* Repeating, so a signal that comes before the wait is not the last. */
	struct itimerval every = { { 0, 100000 }, { 0, 100000 } }, off = { 0 };
	int fd = open(MBOX_DEV(2), O_RDWR);
	long ret;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	recv_entries(self->e, self->buf);
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &every, NULL));
	ret = batch(fd, MBOX_IOC_RECV_BATCH, self->e, NENT);
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &off, NULL));
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(0, mbox_queued(fd));
	close(fd);
}

/* In ack mode each entry takes a lease; the lease limit ends the batch. */
TEST_F(batch, ack_mode_leases_each_message)
{
	struct mbox_mode mode = { .flags = MBOX_MODE_ACK, .max_inflight = 2 };
	struct mbox_ack ack = { .seq = UINT64_MAX, .flags = MBOX_ACK_UP_TO };
	struct mbox_info info;
	int i;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(1, write(self->fd, "0123" + i, 1));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SET_MODE, &mode));
	recv_entries(self->e, self->buf);
	ASSERT_EQ(2, batch(self->fd, MBOX_IOC_RECV_BATCH, self->e, 4));
	ASSERT_STREQ("0", self->buf[0]);
	ASSERT_STREQ("1", self->buf[1]);
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(2, info.inflight);
	ASSERT_EQ(4, info.msgs_queued);
	/* At the limit even the first entry gets EAGAIN. */
	ASSERT_EQ(-1, batch(self->fd, MBOX_IOC_RECV_BATCH, self->e, 4));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_ACK, &ack));
	ASSERT_EQ(2, batch(self->fd, MBOX_IOC_RECV_BATCH, &self->e[2], 2));
	ASSERT_STREQ("2", self->buf[2]);
	ASSERT_STREQ("3", self->buf[3]);
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_ACK, &ack));
	ASSERT_EQ(0, mbox_queued(self->fd));
}

/* The largest batch in both directions, every message intact. */
TEST_F(batch, max_entries_round_trip)
{
	struct mbox_batch_entry *e = calloc(MBOX_BATCH_MAX, sizeof(*e));
	uint32_t *val = calloc(MBOX_BATCH_MAX, sizeof(*val));
	uint32_t i;

	ASSERT_NE(NULL, e);
	ASSERT_NE(NULL, val);
	ASSERT_EQ(0, mbox_set_limits(self->fd, 64, MBOX_BATCH_MAX,
				     MBOX_BATCH_MAX * 64ULL));
	for (i = 0; i < MBOX_BATCH_MAX; i++) {
		val[i] = i * 7 + 1;
		set_entry(&e[i], &val[i], sizeof(val[i]));
	}
	ASSERT_EQ(MBOX_BATCH_MAX,
		  batch(self->fd, MBOX_IOC_SEND_BATCH, e, MBOX_BATCH_MAX));
	ASSERT_EQ(MBOX_BATCH_MAX, mbox_queued(self->fd));
	memset(val, 0, MBOX_BATCH_MAX * sizeof(*val));
	ASSERT_EQ(MBOX_BATCH_MAX,
		  batch(self->fd, MBOX_IOC_RECV_BATCH, e, MBOX_BATCH_MAX));
	for (i = 0; i < MBOX_BATCH_MAX; i++) {
		ASSERT_EQ(sizeof(val[i]), e[i].result);
		ASSERT_EQ(i * 7 + 1, val[i]);
	}
	ASSERT_EQ(0, mbox_queued(self->fd));
	free(e);
	free(val);
}

/*
 * The one path where a message has moved but its result cannot be
 * written: the array is made read-only while the kernel copies the
 * payload (the copy faults on a userfaultfd page, whose handler first
 * write-protects the entries, then supplies the page).  The entry still
 * counts: 1 is returned, and the message is queued (send) or delivered
 * (receive), once.
 */
struct uffd_job {
	int uffd;
	void *entries;		/* to make read-only */
	char fill;		/* the supplied page's bytes */
};

/*
 * Wait (at most 60 s) for the fault, write-protect the entries, and always
 * resolve the fault, so that the faulting call never stays stuck.  Returns
 * 0, or which step failed.
 */
static void *uffd_handler(void *arg)
{
	static char page[4096] __attribute__((aligned(4096)));
	struct uffd_job *job = arg;
	struct pollfd pfd = { .fd = job->uffd, .events = POLLIN };
	struct uffdio_copy copy;
	struct uffd_msg msg;
	long err = 0;

	if (poll(&pfd, 1, mbox_scaled_ms(MBOX_WAIT_MS)) != 1)
		return (void *)1;
	if (read(job->uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		return (void *)2;
	if (mprotect(job->entries, 4096, PROT_READ))
		err = 3;
	memset(page, job->fill, sizeof(page));
	copy = (struct uffdio_copy){
		.dst = msg.arg.pagefault.address & ~4095ULL,
		.src = (uintptr_t)page,
		.len = 4096,
	};
	if (ioctl(job->uffd, UFFDIO_COPY, &copy))
		err = 4;
	return (void *)err;
}

/*
 * A page whose first touch waits for @job's handler.  NULL with errno
 * ENOSYS or EPERM when the kernel has no userfaultfd for us.
 */
static char *uffd_page(struct uffd_job *job)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	char *p;

	job->uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (job->uffd < 0)
		return NULL;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		close(job->uffd);
		errno = ENOMEM;
		return NULL;
	}
	reg = (struct uffdio_register){
		.range = { .start = (uintptr_t)p, .len = 4096 },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	if (ioctl(job->uffd, UFFDIO_API, &api) ||
	    ioctl(job->uffd, UFFDIO_REGISTER, &reg)) {
		munmap(p, 4096);
		close(job->uffd);
		errno = EIO;
		return NULL;
	}
	return p;
}

/*
 * One entry of @len bytes on a userfaultfd page, whose result becomes
 * read-only during the copy.  Returns the ioctl's result, or below -1 on
 * a setup failure (-2: no userfaultfd here, skip).
 */
static long batch_with_unwritable_result(struct __test_metadata *_metadata,
					 int fd, unsigned long cmd,
					 uint32_t len, char fill, char **data)
{
	struct mbox_batch_entry *e;
	struct uffd_job job = { .fill = fill };
	pthread_t handler;
	void *hret;
	long ret;

	*data = uffd_page(&job);
	if (!*data)
		return errno == ENOSYS || errno == EPERM ? -2 : -3;
	e = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e == MAP_FAILED)
		return -3;
	set_entry(e, *data, len);
	job.entries = e;
	if (pthread_create(&handler, NULL, uffd_handler, &job))
		return -3;
	ret = batch(fd, cmd, e, 1);
	if (pthread_join(handler, &hret))
		return -3;
	if (hret) {
		TH_LOG("userfaultfd handler failed at step %ld", (long)hret);
		return -4;
	}
	/* The kernel zeroed the result before acting, and could not write it. */
	if (e->result != 0) {
		TH_LOG("result %u: it was written after all", e->result);
		return -5;
	}
	munmap(e, 4096);
	close(job.uffd);
	return ret;
}

TEST_F(batch, a_result_unwritable_after_the_copy_still_counts)
{
	struct mbox_info before, after;
	char *data, out[64];
	long ret;

	ASSERT_EQ(0, mbox_info(self->fd, &before));
	ret = batch_with_unwritable_result(_metadata, self->fd,
					   MBOX_IOC_SEND_BATCH, 64, 's', &data);
	if (ret == -2)
		SKIP(return, "no userfaultfd in this kernel");
	ASSERT_EQ(1, ret);
	ASSERT_EQ(1, mbox_queued(self->fd));
	ASSERT_EQ(64, read(self->fd, out, sizeof(out)));
	ASSERT_EQ('s', out[0]);
	ASSERT_EQ('s', out[63]);
	munmap(data, 4096);

	ASSERT_EQ(5, write(self->fd, "recvd", 5));
	ret = batch_with_unwritable_result(_metadata, self->fd,
					   MBOX_IOC_RECV_BATCH, 64, 'r', &data);
	ASSERT_EQ(1, ret);
	ASSERT_EQ(0, memcmp(data, "recvd", 5));
	ASSERT_EQ('r', data[5]);
	ASSERT_EQ(0, mbox_info(self->fd, &after));
	ASSERT_EQ(0, after.msgs_queued);
	ASSERT_EQ(before.total_dequeued + 2, after.total_dequeued);
	munmap(data, 4096);
}

TEST_HARNESS_MAIN
