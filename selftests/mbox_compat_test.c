// SPDX-License-Identifier: GPL-2.0
/*
 * The uapi is the same for 32- and 64-bit callers.  This file is built
 * twice, natively and with -m32, and both binaries must pass: the layout
 * checks below hold at compile time on both, and at run time the 32-bit
 * build drives every ioctl through compat_ioctl.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

#define LAYOUT(type, field, off) \
	_Static_assert(offsetof(struct type, field) == (off), \
		       #type "." #field " moved")

_Static_assert(sizeof(struct mbox_msg_header) == 72, "header size");
LAYOUT(mbox_msg_header, seq, 8);
LAYOUT(mbox_msg_header, time_ns, 16);
LAYOUT(mbox_msg_header, size, 24);
LAYOUT(mbox_msg_header, delivery_count, 52);
LAYOUT(mbox_msg_header, reserved, 56);
_Static_assert(sizeof(struct mbox_mode) == 8, "mode size");
_Static_assert(sizeof(struct mbox_limits) == 32, "limits size");
LAYOUT(mbox_limits, max_bytes, 8);
LAYOUT(mbox_limits, max_urgent, 16);
LAYOUT(mbox_limits, max_urgent_bytes, 24);
_Static_assert(sizeof(struct mbox_info) == 112, "info size");
LAYOUT(mbox_info, max_bytes, 16);
LAYOUT(mbox_info, bytes_queued, 32);
LAYOUT(mbox_info, total_enqueued, 56);
LAYOUT(mbox_info, flushed_bytes, 88);
LAYOUT(mbox_info, max_urgent_bytes, 96);
LAYOUT(mbox_info, urgent_bytes_queued, 104);
_Static_assert(sizeof(struct mbox_flush) == 32, "flush size");
LAYOUT(mbox_flush, up_to_seq, 8);
LAYOUT(mbox_flush, flushed_bytes, 24);
_Static_assert(sizeof(struct mbox_urgent) == 56, "urgent size");
LAYOUT(mbox_urgent, len, 8);
LAYOUT(mbox_urgent, up_to_seq, 24);
LAYOUT(mbox_urgent, seq, 32);
LAYOUT(mbox_urgent, flushed_bytes, 48);
_Static_assert(sizeof(struct mbox_batch_entry) == 16, "batch entry size");
LAYOUT(mbox_batch_entry, len, 8);
LAYOUT(mbox_batch_entry, result, 12);
_Static_assert(sizeof(struct mbox_batch) == 24, "batch size");
LAYOUT(mbox_batch, count, 8);
LAYOUT(mbox_batch, entry_size, 12);
LAYOUT(mbox_batch, reserved, 20);
_Static_assert(sizeof(struct mbox_create) == 312, "create size");
LAYOUT(mbox_create, gid, 8);
LAYOUT(mbox_create, max_msg_size, 16);
LAYOUT(mbox_create, max_bytes, 24);
LAYOUT(mbox_create, max_urgent, 32);
LAYOUT(mbox_create, max_urgent_bytes, 40);
LAYOUT(mbox_create, ino, 48);
LAYOUT(mbox_create, name, 56);

FIXTURE(compat) {
	int fd;
};

FIXTURE_SETUP(compat)
{
	self->fd = mbox_open_reset(1, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(compat)
{
	close(self->fd);
}

TEST_F(compat, every_ioctl_works)
{
	struct mbox_msg_header hdr;
	struct mbox_urgent u = { 0 };
	struct mbox_flush fl = { 0 };
	struct mbox_info info;
	struct mbox_mode mode;
	char buf[128];
	int n;

	TH_LOG("running as a %zu-bit process", sizeof(long) * 8);
	ASSERT_EQ(0, mbox_set_limits(self->fd, 1000, 50, 5000));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(1, info.index);
	ASSERT_EQ(1000, info.max_msg_size);
	ASSERT_EQ(50, info.max_msgs);
	ASSERT_EQ(5000, info.max_bytes);

	ASSERT_EQ(5, write(self->fd, "first", 5));
	ASSERT_EQ(6, write(self->fd, "second", 6));
	u.buf = (uintptr_t)"urgent";
	u.len = 6;
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SEND_URGENT, &u));
	ASSERT_LT(0, u.seq);

	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &n));
	ASSERT_EQ(6, n);
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_PEEK, &hdr));
	ASSERT_EQ(u.seq, hdr.seq);
	ASSERT_EQ(MBOX_MSG_URGENT, hdr.flags);

	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_GET_MODE, &mode));
	ASSERT_EQ(MBOX_MODE_HEADER, mode.flags);
	ASSERT_EQ(sizeof(hdr) + 6, mbox_recv_hdr(self->fd, &hdr, buf, sizeof(buf)));
	ASSERT_EQ(sizeof(hdr), hdr.hdr_size);
	ASSERT_EQ(getpid(), hdr.pid);
	ASSERT_EQ(0, memcmp(buf, "urgent", 6));

	fl.flags = MBOX_FLUSH_UP_TO_SEQ;
	fl.up_to_seq = u.seq;
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_FLUSH, &fl));
	ASSERT_EQ(2, fl.flushed_msgs);
	ASSERT_EQ(11, fl.flushed_bytes);
	ASSERT_EQ(0, mbox_queued(self->fd));
}

/* The batch entries hold user pointers: a 32-bit caller's must work too. */
TEST_F(compat, batch_ioctls_work)
{
	char a[8] = "one", b[8] = "three";
	struct mbox_batch_entry e[2] = {
		{ .buf = (uintptr_t)a, .len = 3 },
		{ .buf = (uintptr_t)b, .len = 5 },
	};
	struct mbox_batch batch = {
		.entries = (uintptr_t)e,
		.count = 2,
		.entry_size = sizeof(e[0]),
	};

	ASSERT_EQ(2, ioctl(self->fd, MBOX_IOC_SEND_BATCH, &batch));
	ASSERT_EQ(3, e[0].result);
	ASSERT_EQ(5, e[1].result);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	e[0].len = e[1].len = sizeof(a);
	ASSERT_EQ(2, ioctl(self->fd, MBOX_IOC_RECV_BATCH, &batch));
	ASSERT_EQ(3, e[0].result);
	ASSERT_EQ(5, e[1].result);
	ASSERT_STREQ("one", a);
	ASSERT_STREQ("three", b);
	ASSERT_EQ(0, mbox_queued(self->fd));
}

/* The control node's ioctl, in a private instance. */
TEST_F(compat, create_works)
{
	char dir[] = "/tmp/mbox-compat.XXXXXX", path[64];
	struct mbox_create req;
	struct stat st;
	int ctl, fd;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_EQ(0, mount("mbox", dir, "mbox", 0, NULL));
	snprintf(path, sizeof(path), "%s/" MBOX_CONTROL_NAME, dir);
	ctl = open(path, O_RDWR);
	ASSERT_LE(0, ctl);
	memset(&req, 0, sizeof(req));
	req.mode = 0600;
	req.max_bytes = 1ULL << 20;
	strcpy(req.name, "c32");
	ASSERT_EQ(0, ioctl(ctl, MBOX_CTL_CREATE, &req));
	snprintf(path, sizeof(path), "%s/c32", dir);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_EQ(req.ino, st.st_ino);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(2, write(fd, "32", 2));
	close(fd);
	close(ctl);
	ASSERT_EQ(0, umount(dir));
	rmdir(dir);
}

TEST_HARNESS_MAIN
