// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring: the mailbox honours IOCB_NOWAIT and sets FMODE_NOWAIT, so
 * io_uring completes reads and writes inline or by polling, never by
 * handing them to an io-wq worker thread.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <liburing.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

/* io-wq workers show up as threads of this process named iou-wrk-<pid>. */
static int count_io_workers(void)
{
	char path[300], comm[32];
	struct dirent *d;
	int n = 0;
	DIR *dir = opendir("/proc/self/task");

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "iou-wrk", 7))
			n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

FIXTURE(uring) {
	int fd;
	struct io_uring ring;
};

FIXTURE_SETUP(uring)
{
	self->fd = mbox_open_reset(1, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, io_uring_queue_init(8, &self->ring, 0));
}

FIXTURE_TEARDOWN(uring)
{
	io_uring_queue_exit(&self->ring);
	close(self->fd);
}

static int wait_one(struct io_uring *ring, uint64_t *tag)
{
	struct io_uring_cqe *cqe;
	int res;

	if (io_uring_wait_cqe(ring, &cqe))
		return -9999;
	res = cqe->res;
	*tag = cqe->user_data;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

TEST_F(uring, read_on_empty_completes_when_a_message_arrives)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	char buf[64];
	uint64_t tag;

	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_read(sqe, self->fd, buf, sizeof(buf), 0);
	sqe->user_data = 1;
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	/* Nothing to read yet: the read is parked, not completed. */
	usleep(100000);
	ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(&self->ring, &cqe));

	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_write(sqe, self->fd, "ring", 4, 0);
	sqe->user_data = 2;
	ASSERT_EQ(1, io_uring_submit(&self->ring));

	ASSERT_EQ(4, wait_one(&self->ring, &tag));
	if (tag == 2)
		ASSERT_EQ(4, wait_one(&self->ring, &tag));
	ASSERT_EQ(1, tag);
	ASSERT_EQ(0, memcmp(buf, "ring", 4));
	ASSERT_EQ(0, count_io_workers());
}

TEST_F(uring, vectored_ops_and_errors)
{
	struct iovec out[2] = { { "ab", 2 }, { "cd", 2 } };
	struct io_uring_sqe *sqe;
	char small[2], buf[8];
	struct iovec in = { buf, sizeof(buf) };
	uint64_t tag;

	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_writev(sqe, self->fd, out, 2, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(4, wait_one(&self->ring, &tag));
	ASSERT_EQ(1, mbox_queued(self->fd));

	/* Too small a buffer: EMSGSIZE, the message stays. */
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_read(sqe, self->fd, small, sizeof(small), 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(-EMSGSIZE, wait_one(&self->ring, &tag));
	ASSERT_EQ(1, mbox_queued(self->fd));

	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_readv(sqe, self->fd, &in, 1, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(4, wait_one(&self->ring, &tag));
	ASSERT_EQ(0, memcmp(buf, "abcd", 4));
	ASSERT_EQ(0, count_io_workers());
}

TEST_F(uring, write_to_a_full_mailbox_completes_when_room_is_made)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	char buf[8];
	uint64_t tag;

	ASSERT_EQ(0, mbox_set_limits(self->fd, 8, 1, 8));
	ASSERT_EQ(1, write(self->fd, "1", 1));
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_write(sqe, self->fd, "2", 1, 0);
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	usleep(100000);
	ASSERT_EQ(-EAGAIN, io_uring_peek_cqe(&self->ring, &cqe));
	ASSERT_EQ(1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(1, wait_one(&self->ring, &tag));
	ASSERT_EQ(1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ('2', buf[0]);
	ASSERT_EQ(0, count_io_workers());
}

TEST_HARNESS_MAIN
