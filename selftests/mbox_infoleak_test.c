// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing leaks from the kernel: every structure the module copies to user
 * space is received into a buffer pre-filled with 0xA5.  Every reserved
 * byte must come back zero, every byte the kernel does not own (past the
 * size the command or read() names) must come back untouched, and an
 * ioctl that fails must not write at all.  The structures have no implicit
 * padding (mbox_compat_test checks the layouts), so the named reserved
 * fields and the zero-filled tail of a longer structure are the only
 * places a stale kernel byte could hide.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

#define PAT		0xA5
#define BUFSZ		1024
#define EXTRA		40	/* a "newer" structure's unknown tail */

/* A command for the same operation with a different structure size. */
#define RESIZE(cmd, size) \
	_IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), (size))

static unsigned char buf[BUFSZ];

static void fill(void)
{
	memset(buf, PAT, sizeof(buf));
}

/* First index in [from, to) that is not @v, or -1. */
static int not_byte(const unsigned char *p, size_t from, size_t to, int v)
{
	size_t i;

	for (i = from; i < to; i++)
		if (p[i] != v)
			return i;
	return -1;
}

static int untouched(size_t from)
{
	return not_byte(buf, from, BUFSZ, PAT);
}

static int zero(size_t from, size_t to)
{
	return not_byte(buf, from, to, 0);
}

FIXTURE(leak) {
	int fd;
};

FIXTURE_SETUP(leak)
{
	self->fd = mbox_open_reset(1, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(leak)
{
	mbox_reset(self->fd);
	close(self->fd);
}

static void check_header(struct __test_metadata *_metadata,
			 const struct mbox_msg_header *h, uint32_t size,
			 uint32_t flags, uint32_t count)
{
	ASSERT_EQ(sizeof(*h), h->hdr_size);
	ASSERT_EQ(flags, h->flags);
	ASSERT_EQ(size, h->size);
	ASSERT_EQ(count, h->delivery_count);
	ASSERT_EQ(0, h->reserved[0]);
	ASSERT_EQ(0, h->reserved[1]);
}

TEST_F(leak, header_mode_read)
{
	const size_t hs = sizeof(struct mbox_msg_header);
	struct iovec iov[3] = {
		{ buf, 10 }, { buf + 100, hs - 10 }, { buf + 300, 200 },
	};
	struct mbox_msg_header h;

	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	ASSERT_EQ(5, write(self->fd, "hello", 5));
	fill();
	ASSERT_EQ(hs + 5, read(self->fd, buf, sizeof(buf)));
	memcpy(&h, buf, hs);
	check_header(_metadata, &h, 5, 0, 1);
	ASSERT_EQ(0, memcmp(buf + hs, "hello", 5));
	ASSERT_EQ(-1, untouched(hs + 5));

	/* The header split across iovecs, the rest of the buffer spare. */
	ASSERT_EQ(3, write(self->fd, "abc", 3));
	fill();
	ASSERT_EQ(hs + 3, readv(self->fd, iov, 3));
	memcpy(&h, buf, 10);
	memcpy((char *)&h + 10, buf + 100, hs - 10);
	check_header(_metadata, &h, 3, 0, 1);
	ASSERT_EQ(-1, not_byte(buf, 10, 100, PAT));
	ASSERT_EQ(-1, not_byte(buf, 100 + hs - 10, 300, PAT));
	ASSERT_EQ(0, memcmp(buf + 300, "abc", 3));
	ASSERT_EQ(-1, untouched(303));

	/* A failed read (buffer too small, or empty) writes nothing. */
	ASSERT_EQ(4, write(self->fd, "four", 4));
	fill();
	ASSERT_EQ(-1, read(self->fd, buf, hs + 3));
	ASSERT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(-1, untouched(0));
	ASSERT_EQ(hs + 4, read(self->fd, buf, sizeof(buf)));
	fill();
	ASSERT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(-1, untouched(0));
}

TEST_F(leak, plain_read_writes_only_the_payload)
{
	ASSERT_EQ(7, write(self->fd, "payload", 7));
	fill();
	ASSERT_EQ(7, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "payload", 7));
	ASSERT_EQ(-1, untouched(7));
}

TEST_F(leak, urgent_and_redelivered_headers)
{
	const size_t hs = sizeof(struct mbox_msg_header);
	struct mbox_mode mode = { .flags = MBOX_MODE_HEADER | MBOX_MODE_ACK };
	struct mbox_urgent u = { .buf = (uintptr_t)"now", .len = 3 };
	struct mbox_ack ack = { 0 };
	struct mbox_msg_header h;
	int fd2;

	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SEND_URGENT, &u));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SET_MODE, &mode));
	fill();
	ASSERT_EQ(hs + 3, read(self->fd, buf, sizeof(buf)));
	memcpy(&h, buf, hs);
	check_header(_metadata, &h, 3, MBOX_MSG_URGENT, 1);
	ASSERT_EQ(-1, untouched(hs + 3));

	ack.seq = h.seq;
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_NACK, &ack));
	fill();
	ASSERT_EQ(hs + 3, read(self->fd, buf, sizeof(buf)));
	memcpy(&h, buf, hs);
	check_header(_metadata, &h, 3,
		     MBOX_MSG_URGENT | MBOX_MSG_REDELIVERED, 2);
	ASSERT_EQ(-1, untouched(hs + 3));

	/* Redelivered by the release of the file that held it. */
	fd2 = open(MBOX_DEV(1), O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioctl(fd2, MBOX_IOC_SET_MODE, &mode));
	ASSERT_EQ(6, write(fd2, "normal", 6));
	ASSERT_EQ(hs + 6, read(fd2, buf, sizeof(buf)));
	close(fd2);
	fill();
	ASSERT_EQ(hs + 6, read(self->fd, buf, sizeof(buf)));
	memcpy(&h, buf, hs);
	check_header(_metadata, &h, 6, MBOX_MSG_REDELIVERED, 2);
	ASSERT_EQ(-1, untouched(hs + 6));
}

/* PEEK at the first size, a longer one, and a shorter (refused) one. */
TEST_F(leak, peek)
{
	const size_t hs = sizeof(struct mbox_msg_header);
	struct mbox_msg_header h;

	fill();
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_PEEK, buf));
	ASSERT_EQ(ENOMSG, errno);
	ASSERT_EQ(-1, untouched(0));

	ASSERT_EQ(2, write(self->fd, "hi", 2));
	fill();
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_PEEK, buf));
	memcpy(&h, buf, hs);
	check_header(_metadata, &h, 2, 0, 1);
	ASSERT_EQ(-1, untouched(hs));

	fill();
	ASSERT_EQ(0, ioctl(self->fd, RESIZE(MBOX_IOC_PEEK, hs + EXTRA), buf));
	memcpy(&h, buf, hs);
	check_header(_metadata, &h, 2, 0, 1);
	ASSERT_EQ(-1, zero(hs, hs + EXTRA));
	ASSERT_EQ(-1, untouched(hs + EXTRA));

	fill();
	ASSERT_EQ(-1, ioctl(self->fd, RESIZE(MBOX_IOC_PEEK, hs - 8), buf));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, untouched(0));
}

TEST_F(leak, get_info)
{
	const size_t is = sizeof(struct mbox_info);
	struct mbox_info info;

	ASSERT_EQ(3, write(self->fd, "abc", 3));
	fill();
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_GET_INFO, buf));
	memcpy(&info, buf, is);
	ASSERT_EQ(1, info.index);
	ASSERT_EQ(0, info.flags);
	ASSERT_EQ(1, info.msgs_queued);
	ASSERT_EQ(3, info.bytes_queued);
	ASSERT_EQ(-1, untouched(is));

	fill();
	ASSERT_EQ(0, ioctl(self->fd, RESIZE(MBOX_IOC_GET_INFO, is + EXTRA),
			   buf));
	memcpy(&info, buf, is);
	ASSERT_EQ(1, info.msgs_queued);
	ASSERT_EQ(-1, zero(is, is + EXTRA));
	ASSERT_EQ(-1, untouched(is + EXTRA));

	/* The first version's size gets the first version's fields. */
	fill();
	ASSERT_EQ(0, ioctl(self->fd, RESIZE(MBOX_IOC_GET_INFO,
					    MBOX_INFO_SIZE_VER0), buf));
	ASSERT_EQ(-1, untouched(MBOX_INFO_SIZE_VER0));

	fill();
	ASSERT_EQ(-1, ioctl(self->fd, RESIZE(MBOX_IOC_GET_INFO,
					     MBOX_INFO_SIZE_VER0 - 8), buf));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, untouched(0));
}

TEST_F(leak, get_mode)
{
	const size_t ms = sizeof(struct mbox_mode);
	struct mbox_mode mode = { .flags = MBOX_MODE_ACK, .max_inflight = 5 };

	fill();
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_GET_MODE, buf));
	ASSERT_EQ(-1, zero(0, ms));	/* no mode, no max_inflight */
	ASSERT_EQ(-1, untouched(ms));

	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SET_MODE, &mode));
	fill();
	ASSERT_EQ(0, ioctl(self->fd, RESIZE(MBOX_IOC_GET_MODE, ms + EXTRA),
			   buf));
	memcpy(&mode, buf, ms);
	ASSERT_EQ(MBOX_MODE_ACK, mode.flags);
	ASSERT_EQ(5, mode.max_inflight);
	ASSERT_EQ(-1, zero(ms, ms + EXTRA));
	ASSERT_EQ(-1, untouched(ms + EXTRA));

	fill();
	ASSERT_EQ(-1, ioctl(self->fd, RESIZE(MBOX_IOC_GET_MODE, ms - 4), buf));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, untouched(0));
}

/* FLUSH writes its result back: reserved stays 0, the tail is zeroed. */
TEST_F(leak, flush_result)
{
	const size_t fs = sizeof(struct mbox_flush);
	struct mbox_flush fl;

	ASSERT_EQ(3, write(self->fd, "abc", 3));
	fill();
	memset(buf, 0, fs);
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_FLUSH, buf));
	memcpy(&fl, buf, fs);
	ASSERT_EQ(0, fl.flags);
	ASSERT_EQ(0, fl.reserved);
	ASSERT_EQ(0, fl.up_to_seq);
	ASSERT_EQ(1, fl.flushed_msgs);
	ASSERT_EQ(3, fl.flushed_bytes);
	ASSERT_EQ(-1, untouched(fs));

	/* A longer structure: its unknown tail must be zero going in. */
	ASSERT_EQ(4, write(self->fd, "abcd", 4));
	fill();
	memset(buf, 0, fs + EXTRA);
	ASSERT_EQ(0, ioctl(self->fd, RESIZE(MBOX_IOC_FLUSH, fs + EXTRA), buf));
	memcpy(&fl, buf, fs);
	ASSERT_EQ(1, fl.flushed_msgs);
	ASSERT_EQ(4, fl.flushed_bytes);
	ASSERT_EQ(0, fl.reserved);
	ASSERT_EQ(-1, zero(fs, fs + EXTRA));
	ASSERT_EQ(-1, untouched(fs + EXTRA));

	/* Non-zero unknown tail: E2BIG, nothing written or flushed. */
	ASSERT_EQ(4, write(self->fd, "efgh", 4));
	fill();
	memset(buf, 0, fs);
	ASSERT_EQ(-1, ioctl(self->fd, RESIZE(MBOX_IOC_FLUSH, fs + EXTRA), buf));
	ASSERT_EQ(E2BIG, errno);
	ASSERT_EQ(-1, zero(0, fs));
	ASSERT_EQ(-1, untouched(fs));
	ASSERT_EQ(1, mbox_queued(self->fd));

	/* Shorter than the first version: ENOTTY. */
	fill();
	memset(buf, 0, fs - 8);
	ASSERT_EQ(-1, ioctl(self->fd, RESIZE(MBOX_IOC_FLUSH, fs - 8), buf));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, zero(0, fs - 8));
	ASSERT_EQ(-1, untouched(fs - 8));
	ASSERT_EQ(1, mbox_queued(self->fd));
}

TEST_F(leak, send_urgent_result)
{
	const size_t us = sizeof(struct mbox_urgent);
	struct mbox_urgent u = {
		.buf = (uintptr_t)"urgent", .len = 6,
		.flags = MBOX_URGENT_FLUSH,
	};

	ASSERT_EQ(3, write(self->fd, "old", 3));
	fill();
	memcpy(buf, &u, us);
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SEND_URGENT, buf));
	memcpy(&u, buf, us);
	ASSERT_EQ(6, u.len);
	ASSERT_EQ(0, u.reserved);
	ASSERT_EQ(0, u.flush_flags);
	ASSERT_LT(0, u.seq);
	ASSERT_EQ(1, u.flushed_msgs);
	ASSERT_EQ(3, u.flushed_bytes);
	ASSERT_EQ(-1, untouched(us));

	fill();
	memset(buf, 0, us + EXTRA);
	u = (struct mbox_urgent){ .buf = (uintptr_t)"again", .len = 5 };
	memcpy(buf, &u, us);
	ASSERT_EQ(0, ioctl(self->fd, RESIZE(MBOX_IOC_SEND_URGENT, us + EXTRA),
			   buf));
	memcpy(&u, buf, us);
	ASSERT_LT(0, u.seq);
	ASSERT_EQ(0, u.reserved);
	ASSERT_EQ(0, u.flushed_msgs);
	ASSERT_EQ(0, u.flushed_bytes);
	ASSERT_EQ(-1, zero(us, us + EXTRA));
	ASSERT_EQ(-1, untouched(us + EXTRA));

	/* Refused (len 0): nothing written back. */
	fill();
	u = (struct mbox_urgent){ .buf = (uintptr_t)"x", .len = 0 };
	memcpy(buf, &u, us);
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SEND_URGENT, buf));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, memcmp(buf, &u, us));
	ASSERT_EQ(-1, untouched(us));
}

/* FIONREAD stores one int. */
TEST_F(leak, fionread)
{
	int n;

	ASSERT_EQ(9, write(self->fd, "123456789", 9));
	fill();
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, buf));
	memcpy(&n, buf, sizeof(n));
	ASSERT_EQ(9, n);
	ASSERT_EQ(-1, untouched(sizeof(n)));
}

TEST_HARNESS_MAIN
