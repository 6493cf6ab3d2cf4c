// SPDX-License-Identifier: GPL-2.0
/*
 * Bad inputs the fuzzer throws, pinned down one by one with the exact
 * errno and, where a message is involved, proof that nothing was lost:
 * the queue holds exactly what it held before, in order.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

FIXTURE(bad) {
	int fd;
	char *ro;	/* a read-only page */
	char *edge;	/* a page followed by a PROT_NONE page */
};

FIXTURE_SETUP(bad)
{
	self->fd = mbox_open_reset(2, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	self->ro = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->ro);
	memset(self->ro, 'r', 4096);
	self->edge = self->ro + 4096;
	ASSERT_EQ(0, mprotect(self->ro, 4096, PROT_READ));
	ASSERT_EQ(0, mprotect(self->edge + 4096, 4096, PROT_NONE));
}

FIXTURE_TEARDOWN(bad)
{
	mbox_reset(self->fd);
	close(self->fd);
	munmap(self->ro, 3 * 4096);
}

/* The queue holds exactly "one", "two" (then whatever was added). */
static void queue_two(struct __test_metadata *_metadata, int fd)
{
	ASSERT_EQ(3, write(fd, "one", 3));
	ASSERT_EQ(3, write(fd, "two", 3));
}

static void expect_two(struct __test_metadata *_metadata, int fd)
{
	char buf[16];

	ASSERT_EQ(3, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "one", 3));
	ASSERT_EQ(3, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "two", 3));
	ASSERT_EQ(0, mbox_queued(fd));
}

/* Hidden from the compiler's argument checks. */
static void *volatile null_buf;
static volatile int minus_one = -1, too_many = IOV_MAX + 1;

TEST_F(bad, read_of_zero_bytes)
{
	struct iovec iov = { self->edge, 0 };

	/* Empty: EAGAIN, as for any read. */
	ASSERT_EQ(-1, read(self->fd, self->edge, 0));
	ASSERT_EQ(EAGAIN, errno);
	queue_two(_metadata, self->fd);
	/* read() of 0 bytes reaches the module: the message does not fit. */
	ASSERT_EQ(-1, read(self->fd, self->edge, 0));
	ASSERT_EQ(EMSGSIZE, errno);
	/* readv() of 0 bytes is answered by the VFS: 0, nothing dequeued. */
	ASSERT_EQ(0, readv(self->fd, &iov, 1));
	ASSERT_EQ(0, readv(self->fd, NULL, 0));
	expect_two(_metadata, self->fd);
}

TEST_F(bad, bad_iovec_counts)
{
	struct iovec iov[2] = { { self->edge, 10 }, { self->edge, 10 } };

	queue_two(_metadata, self->fd);
	ASSERT_EQ(-1, readv(self->fd, iov, minus_one));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, readv(self->fd, iov, too_many));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, writev(self->fd, iov, too_many));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, writev(self->fd, null_buf, 2));
	ASSERT_EQ(EFAULT, errno);
	/* A NULL buffer in an iovec the copy reaches: EFAULT, it stays. */
	iov[0].iov_len = 1;
	iov[1].iov_base = NULL;
	ASSERT_EQ(-1, readv(self->fd, iov, 2));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, writev(self->fd, iov, 2));
	ASSERT_EQ(EFAULT, errno);
	expect_two(_metadata, self->fd);
}

TEST_F(bad, read_into_read_only_memory_keeps_the_message)
{
	queue_two(_metadata, self->fd);
	ASSERT_EQ(-1, read(self->fd, self->ro, 16));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, read(self->fd, null_buf, 16));
	ASSERT_EQ(EFAULT, errno);
	/* Two bytes of room before the PROT_NONE page, three to copy. */
	ASSERT_EQ(-1, read(self->fd, self->edge + 4096 - 2, 16));
	ASSERT_EQ(EFAULT, errno);
	expect_two(_metadata, self->fd);
}

TEST_F(bad, write_from_read_only_memory_is_fine)
{
	char buf[16];

	ASSERT_EQ(4, write(self->fd, self->ro, 4));
	ASSERT_EQ(4, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "rrrr", 4));
}

/* A result that cannot be written back: nothing is flushed or sent. */
TEST_F(bad, unwritable_results_change_nothing)
{
	struct mbox_urgent *u = (void *)self->ro;
	struct mbox_flush *fl = (void *)self->ro;
	struct mbox_msg_header *h = (void *)self->ro;
	struct mbox_info before, after;

	queue_two(_metadata, self->fd);
	ASSERT_EQ(0, mbox_info(self->fd, &before));
	/* The page is all 'r': make a valid request, then seal it. */
	ASSERT_EQ(0, mprotect(self->ro, 4096, PROT_READ | PROT_WRITE));
	memset(self->ro, 0, 4096);
	u->buf = (uintptr_t)"urgent";
	u->len = 6;
	u->flags = MBOX_URGENT_FLUSH;
	ASSERT_EQ(0, mprotect(self->ro, 4096, PROT_READ));
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SEND_URGENT, u));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mprotect(self->ro, 4096, PROT_READ | PROT_WRITE));
	memset(self->ro, 0, 4096);
	ASSERT_EQ(0, mprotect(self->ro, 4096, PROT_READ));
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_FLUSH, fl));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_PEEK, h));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_GET_INFO, self->ro));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, ioctl(self->fd, FIONREAD, self->ro));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mbox_info(self->fd, &after));
	ASSERT_EQ(0, after.urgent_queued);
	ASSERT_EQ(before.flushed_msgs, after.flushed_msgs);
	ASSERT_EQ(before.total_enqueued, after.total_enqueued);
	expect_two(_metadata, self->fd);
}

/* An urgent message whose payload faults: EFAULT, and no flush either. */
TEST_F(bad, urgent_flush_with_a_bad_payload_flushes_nothing)
{
	struct mbox_urgent u = {
		.len = 6, .flags = MBOX_URGENT_FLUSH,
	};
	struct mbox_info before, after;

	queue_two(_metadata, self->fd);
	ASSERT_EQ(0, mbox_info(self->fd, &before));
	u.buf = 0;
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SEND_URGENT, &u));
	ASSERT_EQ(EFAULT, errno);
	u.buf = (uintptr_t)(self->edge + 4096 - 3);
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SEND_URGENT, &u));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mbox_info(self->fd, &after));
	ASSERT_EQ(before.flushed_msgs, after.flushed_msgs);
	ASSERT_EQ(before.total_enqueued, after.total_enqueued);
	expect_two(_metadata, self->fd);
}

TEST_F(bad, what_a_mailbox_is_not)
{
	void *m;
	int pfd;

	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_EQ(MAP_FAILED, m);
	ASSERT_EQ(ENODEV, errno);
	/* An O_PATH descriptor can do nothing with the mailbox. */
	pfd = open(MBOX_DEV(2), O_PATH);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(-1, ioctl(pfd, MBOX_IOC_GET_INFO, self->edge));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(-1, write(pfd, "x", 1));
	ASSERT_EQ(EBADF, errno);
	close(pfd);
	ASSERT_EQ(-1, open(MBOX_DEV(2), O_RDWR | O_DIRECTORY));
	ASSERT_EQ(ENOTDIR, errno);
	ASSERT_EQ(0, mbox_queued(self->fd));
}

/* ACK/NACK with boundary seqs in ack mode, holding nothing: ENOENT. */
TEST_F(bad, boundary_acks)
{
	struct mbox_mode mode = { .flags = MBOX_MODE_ACK };
	uint64_t seqs[] = { 0, 1, UINT64_MAX };
	unsigned int i;

	queue_two(_metadata, self->fd);
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SET_MODE, &mode));
	for (i = 0; i < 3; i++) {
		struct mbox_ack a = { .seq = seqs[i] };

		ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_ACK, &a));
		ASSERT_EQ(ENOENT, errno);
		a.flags = MBOX_ACK_UP_TO;
		ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_NACK, &a));
		ASSERT_EQ(ENOENT, errno);
		a.flags = 2;
		ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_ACK, &a));
		ASSERT_EQ(EINVAL, errno);
	}
	mode.flags = 0;
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SET_MODE, &mode));
	expect_two(_metadata, self->fd);
}

/* The largest size an ioctl number can carry works, with a zero tail. */
TEST_F(bad, largest_ioctl_size)
{
	unsigned int cmd = _IOC(_IOC_READ, MBOX_IOC_MAGIC,
				_IOC_NR(MBOX_IOC_GET_INFO),
				(1 << _IOC_SIZEBITS) - 1);
	unsigned char *buf = malloc(1 << _IOC_SIZEBITS);
	size_t i;

	ASSERT_NE(NULL, buf);
	memset(buf, 0xA5, 1 << _IOC_SIZEBITS);
	ASSERT_EQ(0, ioctl(self->fd, cmd, buf));
	for (i = sizeof(struct mbox_info); i < (1 << _IOC_SIZEBITS) - 1; i++)
		ASSERT_EQ(0, buf[i]);
	ASSERT_EQ(0xA5, buf[(1 << _IOC_SIZEBITS) - 1]);
	free(buf);
}

struct blocked {
	int fd;
	ssize_t ret;
	char buf[16];
};

static void *blocked_read(void *arg)
{
	struct blocked *b = arg;

	b->ret = read(b->fd, b->buf, sizeof(b->buf));
	return NULL;
}

/*
 * A descriptor closed by another thread while a read blocks on it: the
 * read holds the file and still gets the next message; nothing is lost.
 */
TEST_F(bad, close_during_a_blocked_read)
{
	struct blocked b = { .ret = -2 };
	struct mbox_info info;
	pthread_t t;

	b.fd = open(MBOX_DEV(2), O_RDONLY);
	ASSERT_LE(0, b.fd);
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_read, &b));
	do {
		usleep(10000);
		ASSERT_EQ(0, mbox_info(self->fd, &info));
	} while (info.readers_waiting != 1);
	ASSERT_EQ(0, close(b.fd));
	ASSERT_EQ(4, write(self->fd, "late", 4));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(4, b.ret);
	ASSERT_EQ(0, memcmp(b.buf, "late", 4));
	ASSERT_EQ(0, mbox_queued(self->fd));
}

TEST_HARNESS_MAIN
