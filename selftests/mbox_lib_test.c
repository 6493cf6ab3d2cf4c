// SPDX-License-Identifier: GPL-2.0
/*
 * libmbox, through its shared library: every call, its results and its
 * errors, named mailboxes in private mbox instances, and module control
 * through libkmod (run last, since it unloads and reloads the module).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "mbox.h"
#include "kselftest_harness.h"
#include "mbox_harness.h"

#define DEV "/dev/mbox0"

static unsigned long long param(const char *name)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/mbox/parameters/%s", name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* The module's default limits on an empty mailbox. */
static int reset(int fd)
{
	struct mbox_limits l = {
		.max_msg_size = param("max_msg_size"),
		.max_msgs = param("max_msgs"),
		.max_bytes = param("max_bytes"),
		.max_urgent = param("max_urgent"),
		.max_urgent_bytes = param("max_urgent_bytes"),
	};
	int ret = mbox_flush(fd, 0, 0, NULL);

	return ret ? ret : mbox_set_limits(fd, &l);
}

/* Messages queued, or a negative errno. */
static long long mbox_queued_msgs(int fd)
{
	struct mbox_info info;
	int ret = mbox_info(fd, &info);

	return ret ? ret : info.msgs_queued;
}

FIXTURE(lib) {
	int rd, wr;
};

FIXTURE_SETUP(lib)
{
	self->wr = mbox_open(DEV, O_WRONLY);
	ASSERT_LE(0, self->wr);
	self->rd = mbox_open("0", O_RDONLY);
	ASSERT_LE(0, self->rd);
	ASSERT_EQ(0, reset(self->rd));
}

FIXTURE_TEARDOWN(lib)
{
	reset(self->rd);
	close(self->rd);
	close(self->wr);
}

TEST(names_resolve_to_device_paths)
{
	char buf[64];
	struct mbox_mode mode;
	int fd;

	ASSERT_EQ(0, mbox_path("0", buf, sizeof(buf)));
	EXPECT_STREQ("/dev/mbox0", buf);
	ASSERT_EQ(0, mbox_path("mbox3", buf, sizeof(buf)));
	EXPECT_STREQ("/dev/mbox3", buf);
	ASSERT_EQ(0, mbox_path("./some/node", buf, sizeof(buf)));
	EXPECT_STREQ("./some/node", buf);
	EXPECT_EQ(-ENAMETOOLONG, mbox_path("0", buf, 10));
	EXPECT_EQ(-EINVAL, mbox_path("", buf, sizeof(buf)));

	EXPECT_EQ(-ENOENT, mbox_open("9999", O_RDONLY));
	/* Something that is not a mailbox is refused, and not leaked open. */
	EXPECT_EQ(-ENOTTY, mbox_open("/dev/null", O_RDONLY));
	EXPECT_EQ(-EINVAL, mbox_open("0", O_RDONLY | O_CREAT));

	/* Readers get header mode and every descriptor gets close-on-exec. */
	fd = mbox_open("mbox0", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	ASSERT_EQ(0, mbox_get_mode(fd, &mode));
	EXPECT_EQ(MBOX_MODE_HEADER, mode.flags);
	ASSERT_EQ(0, mbox_set_header_mode(fd, 0));
	ASSERT_EQ(0, mbox_get_mode(fd, &mode));
	EXPECT_EQ(0, mode.flags);
	close(fd);
	fd = mbox_open(DEV, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mbox_get_mode(fd, &mode));
	EXPECT_EQ(0, mode.flags);
	close(fd);
	EXPECT_STREQ(MBOX_VERSION, mbox_version());
}

/*
 * A name may come from someone else (a reply address): what is not a
 * mailbox must never be opened for writing, nor block in open().
 */
TEST(only_mailboxes_are_opened)
{
	const char *file = "/tmp/mbox-lib-test.file";
	const char *fifo = "/tmp/mbox-lib-test.fifo";
	struct stat st;
	int fd;

	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-ENOTTY, mbox_open(file, O_WRONLY));
	EXPECT_EQ(-ENOTTY, mbox_open(file, O_RDWR));
	ASSERT_EQ(0, stat(file, &st));
	EXPECT_EQ(0, st.st_size);
	unlink(fifo);
	ASSERT_EQ(0, mkfifo(fifo, 0600));
	/* No reader: an open() for writing would block here for ever. */
	EXPECT_EQ(-ENOTTY, mbox_open(fifo, O_WRONLY));
	EXPECT_EQ(-ENOTTY, mbox_open("/dev/null", O_WRONLY));
	unlink(fifo);
	unlink(file);
}

TEST_F(lib, recv_refuses_a_file_not_in_header_mode)
{
	char msg[100], buf[200];

	/* A payload long enough to be mistaken for a header. */
	memset(msg, 'x', sizeof(msg));
	ASSERT_EQ(0, mbox_set_header_mode(self->rd, 0));
	ASSERT_EQ(sizeof(msg), mbox_send(self->wr, msg, sizeof(msg), -1));
	EXPECT_EQ(-EPROTO, mbox_recv(self->rd, NULL, buf, sizeof(buf), 0));
	ASSERT_EQ(5, mbox_send(self->wr, "short", 5, -1));
	EXPECT_EQ(-EPROTO, mbox_recv(self->rd, NULL, buf, sizeof(buf), 0));
	ASSERT_EQ(0, mbox_set_header_mode(self->rd, 1));
}

TEST_F(lib, send_and_recv_fill_the_header)
{
	struct mbox_msg_header h;
	char buf[64];

	ASSERT_EQ(5, mbox_send(self->wr, "hello", 5, -1));
	EXPECT_EQ(72 + 5, mbox_pending(self->rd));
	memset(&h, 0xa5, sizeof(h));
	ASSERT_EQ(5, mbox_recv(self->rd, &h, buf, sizeof(buf), -1));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(sizeof(h), h.hdr_size);
	EXPECT_EQ(5, h.size);
	EXPECT_EQ(getpid(), h.pid);
	EXPECT_EQ(gettid(), h.tid);
	EXPECT_EQ(geteuid(), h.uid);
	EXPECT_EQ(getegid(), h.gid);
	EXPECT_EQ(geteuid(), h.opener_uid);
	EXPECT_EQ(0, h.flags);
	EXPECT_EQ(1, h.delivery_count);
	EXPECT_EQ(0, mbox_pending(self->rd));

	/* A NULL header is allowed. */
	ASSERT_EQ(2, mbox_send(self->wr, "hi", 2, 0));
	ASSERT_EQ(2, mbox_recv(self->rd, NULL, buf, sizeof(buf), 0));
}

TEST_F(lib, sendv_sends_one_message)
{
	struct iovec iov[3] = {
		{ .iov_base = "one ", .iov_len = 4 },
		{ .iov_base = "two ", .iov_len = 4 },
		{ .iov_base = "three", .iov_len = 5 },
	};
	struct mbox_msg_header h;
	char buf[64];

	ASSERT_EQ(13, mbox_sendv(self->wr, iov, 3, -1));
	ASSERT_EQ(13, mbox_sendv(self->wr, iov, 3, 1000));
	ASSERT_EQ(13, mbox_recv(self->rd, &h, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "one two three", 13));
	ASSERT_EQ(13, mbox_recv(self->rd, &h, buf, sizeof(buf), 0));
	EXPECT_EQ(-EAGAIN, mbox_recv(self->rd, &h, buf, sizeof(buf), 0));
}

TEST_F(lib, short_buffer_keeps_the_message_and_alloc_sizes_itself)
{
	struct mbox_msg_header h;
	static char big[10000];
	size_t cap = 0;
	void *buf = NULL;
	char small[4];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = i * 7;
	ASSERT_EQ(sizeof(big), mbox_send(self->wr, big, sizeof(big), -1));
	EXPECT_EQ(-EMSGSIZE, mbox_recv(self->rd, &h, small, sizeof(small), 0));
	EXPECT_EQ(72 + sizeof(big), mbox_pending(self->rd));

	ASSERT_EQ(sizeof(big), mbox_recv_alloc(self->rd, &h, &buf, &cap, 0));
	ASSERT_NE(NULL, buf);
	EXPECT_LE(sizeof(big), cap);
	EXPECT_EQ(0, memcmp(buf, big, sizeof(big)));
	EXPECT_EQ(sizeof(big), h.size);

	/* A buffer that fits already is kept as it is. */
	ASSERT_EQ(3, mbox_send(self->wr, "abc", 3, -1));
	ASSERT_EQ(3, mbox_recv_alloc(self->rd, &h, &buf, &cap, 0));
	EXPECT_LE(sizeof(big), cap);
	EXPECT_EQ(-EAGAIN, mbox_recv_alloc(self->rd, &h, &buf, &cap, 0));
	free(buf);
}

TEST_F(lib, recv_timeouts)
{
	char buf[16];
	pid_t pid;
	int status, fd;

	EXPECT_EQ(-EAGAIN, mbox_recv(self->rd, NULL, buf, sizeof(buf), 0));
	EXPECT_EQ(-ETIMEDOUT, mbox_recv(self->rd, NULL, buf, sizeof(buf), 50));

	/* A message that comes while waiting is taken. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		usleep(100 * 1000);
		_exit(mbox_send(self->wr, "late", 4, -1) == 4 ? 0 : 1);
	}
	EXPECT_EQ(4, mbox_recv(self->rd, NULL, buf, sizeof(buf),
			       mbox_scaled_ms(MBOX_WAIT_MS)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);

	/* -1 follows the descriptor: O_NONBLOCK does not wait. */
	fd = mbox_open(DEV, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EAGAIN, mbox_recv(fd, NULL, buf, sizeof(buf), -1));
	close(fd);
}

TEST_F(lib, send_timeouts_leave_nothing_queued)
{
	struct mbox_limits l = { .max_msgs = 1 };
	struct mbox_info info, before;

	ASSERT_EQ(0, mbox_info(self->rd, &before));
	ASSERT_EQ(0, mbox_set_limits(self->rd, &l));
	ASSERT_EQ(1, mbox_send(self->wr, "a", 1, 0));
	EXPECT_EQ(-EAGAIN, mbox_send(self->wr, "b", 1, 0));
	EXPECT_EQ(-ETIMEDOUT, mbox_send(self->wr, "b", 1, 50));
	ASSERT_EQ(0, mbox_info(self->rd, &info));
	EXPECT_EQ(1, info.msgs_queued);
	EXPECT_EQ(before.total_enqueued + 1, info.total_enqueued);
}

/*
 * A timed send that got EAGAIN waits for POLLOUT, which stands for room
 * for the size that failed (300 here): it goes once the 500 are read.
 */
TEST_F(lib, timed_send_goes_when_a_small_message_fits)
{
	struct mbox_limits l = { .max_msg_size = 1000, .max_bytes = 1000 };
	static char m500[500], m400[400], m300[300];
	struct mbox_info info;
	char buf[1000];
	pid_t pid;
	int status;

	ASSERT_EQ(0, mbox_set_limits(self->rd, &l));
	ASSERT_EQ(500, mbox_send(self->wr, m500, 500, 0));
	ASSERT_EQ(400, mbox_send(self->wr, m400, 400, 0));
	ASSERT_EQ(-EAGAIN, mbox_send(self->wr, m300, 300, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Take the 500-byte one once the parent waits: 400 stay. */
		usleep(300 * 1000);
		_exit(mbox_recv(self->rd, NULL, buf, sizeof(buf), -1) == 500 ?
		      0 : 1);
	}
	/* Without the retry this would wait for POLLOUT, which never comes. */
	EXPECT_EQ(300, mbox_send(self->wr, m300, 300,
			       mbox_scaled_ms(MBOX_WAIT_MS)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	ASSERT_EQ(0, mbox_info(self->rd, &info));
	EXPECT_EQ(2, info.msgs_queued);
	EXPECT_EQ(700, info.bytes_queued);
}

/*
 * A timed send never joins the line of writers blocked in write(): while
 * one waits, it gets EAGAIN even where its message would fit, and goes
 * only after that writer.
 */
TEST_F(lib, timed_send_waits_behind_a_blocked_writer)
{
	struct mbox_limits l = { .max_msg_size = 100, .max_bytes = 100 };
	static char m60[60], m50[50], m10[10];
	struct mbox_info info;
	long long t0;
	char buf[100];
	pid_t pid;
	int status;

	ASSERT_EQ(0, mbox_set_limits(self->rd, &l));
	ASSERT_EQ(60, mbox_send(self->wr, m60, 60, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)	/* 60 + 50 > 100: blocks until the 60 are read */
		_exit(mbox_send(self->wr, m50, 50, -1) == 50 ? 0 : 1);
	for (t0 = mbox_now_ms(); ; usleep(5000)) {
		ASSERT_EQ(0, mbox_info(self->rd, &info));
		if (info.writers_waiting == 1)
			break;
		ASSERT_FALSE(mbox_waited_too_long(t0));
	}
	/* 60 + 10 fits, but the blocked writer came first. */
	EXPECT_EQ(-EAGAIN, mbox_send(self->wr, m10, 10, 0));
	EXPECT_EQ(-ETIMEDOUT, mbox_send(self->wr, m10, 10, 50));
	ASSERT_EQ(0, mbox_info(self->rd, &info));
	EXPECT_EQ(1, info.msgs_queued);
	EXPECT_EQ(60, info.bytes_queued);

	ASSERT_EQ(60, mbox_recv(self->rd, NULL, buf, sizeof(buf), 0));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(10, mbox_send(self->wr, m10, 10, 0));
	ASSERT_EQ(0, mbox_info(self->rd, &info));
	EXPECT_EQ(2, info.msgs_queued);
	EXPECT_EQ(60, info.bytes_queued);
}

TEST_F(lib, peek_flush_and_urgent)
{
	struct mbox_urgent u = { .flags = MBOX_URGENT_FLUSH };
	struct mbox_msg_header h, p;
	struct mbox_flush f;
	struct mbox_info info;
	char buf[64];
	__u64 first;

	EXPECT_EQ(-ENOMSG, mbox_peek(self->rd, &h));
	ASSERT_EQ(3, mbox_send(self->wr, "one", 3, -1));
	ASSERT_EQ(3, mbox_send(self->wr, "two", 3, -1));
	ASSERT_EQ(5, mbox_send(self->wr, "three", 5, -1));
	ASSERT_EQ(0, mbox_peek(self->rd, &p));
	first = p.seq;
	EXPECT_EQ(3, p.size);

	ASSERT_EQ(0, mbox_flush(self->rd, MBOX_FLUSH_UP_TO_SEQ, first, &f));
	EXPECT_EQ(1, f.flushed_msgs);
	EXPECT_EQ(3, f.flushed_bytes);

	ASSERT_EQ(0, mbox_send_urgent(self->wr, "hey", 3, NULL));
	ASSERT_EQ(0, mbox_send_urgent(self->wr, "stop", 4, &u));
	EXPECT_EQ(3, u.flushed_msgs);	/* two, three, hey */
	EXPECT_EQ(11, u.flushed_bytes);
	EXPECT_LT(first + 3, u.seq);
	EXPECT_EQ(-EINVAL, mbox_send_urgent(self->wr, "", 0, NULL));

	ASSERT_EQ(0, mbox_info(self->rd, &info));
	EXPECT_EQ(1, info.urgent_queued);
	EXPECT_EQ(0, info.msgs_queued);
	ASSERT_EQ(4, mbox_recv(self->rd, &h, buf, sizeof(buf), 0));
	EXPECT_EQ(u.seq, h.seq);
	EXPECT_EQ(MBOX_MSG_URGENT, h.flags);
}

TEST_F(lib, limits_modes_and_acks)
{
	struct mbox_limits bad = { .max_msg_size = 4096, .max_bytes = 100 };
	struct mbox_mode m = { .flags = MBOX_MODE_HEADER | MBOX_MODE_ACK };
	struct mbox_msg_header h;
	struct mbox_info before, after;
	char buf[16];
	int fd;

	ASSERT_EQ(0, mbox_info(self->rd, &before));
	EXPECT_EQ(-EINVAL, mbox_set_limits(self->rd, &bad));
	ASSERT_EQ(0, mbox_info(self->rd, &after));
	EXPECT_EQ(before.max_msg_size, after.max_msg_size);
	EXPECT_EQ(before.max_bytes, after.max_bytes);

	fd = mbox_open(DEV, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, mbox_ack(fd, 1, 0));	/* not in ack mode */
	ASSERT_EQ(0, mbox_set_mode(fd, &m));
	ASSERT_EQ(1, mbox_send(self->wr, "x", 1, -1));
	ASSERT_EQ(1, mbox_send(self->wr, "y", 1, -1));
	ASSERT_EQ(1, mbox_recv(fd, &h, buf, sizeof(buf), 0));
	ASSERT_EQ(0, mbox_nack(fd, h.seq, 0));
	ASSERT_EQ(1, mbox_recv(fd, &h, buf, sizeof(buf), 0));
	EXPECT_EQ('x', buf[0]);
	EXPECT_EQ(MBOX_MSG_REDELIVERED, h.flags);
	EXPECT_EQ(2, h.delivery_count);
	ASSERT_EQ(1, mbox_recv(fd, &h, buf, sizeof(buf), 0));
	EXPECT_EQ('y', buf[0]);
	ASSERT_EQ(0, mbox_ack(fd, h.seq, MBOX_ACK_UP_TO));
	EXPECT_EQ(-ENOENT, mbox_ack(fd, h.seq, 0));
	ASSERT_EQ(0, mbox_info(self->rd, &after));
	EXPECT_EQ(0, after.msgs_queued);
	EXPECT_EQ(0, after.inflight);
	close(fd);
}

/* Room for a header and a payload of @n bytes, as a batch buffer needs. */
#define SLOT(n)	(sizeof(struct mbox_msg_header) + (n))

TEST_F(lib, batch_sends_and_receives_whole_messages)
{
	static char big[2000], rx[4][SLOT(2048)];
	struct iovec msgs[3] = {
		{ .iov_base = "one", .iov_len = 3 },
		{ .iov_base = "three", .iov_len = 5 },
		{ .iov_base = big, .iov_len = sizeof(big) },
	};
	struct iovec bufs[4];
	struct mbox_msg_header h[4];
	struct mbox_info before, info;
	size_t lens[4];
	int i, fd;

	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = i * 13;
	for (i = 0; i < 4; i++) {
		bufs[i].iov_base = rx[i];
		bufs[i].iov_len = sizeof(rx[i]);
	}
	ASSERT_EQ(0, mbox_info(self->rd, &before));
	ASSERT_EQ(3, mbox_send_batch(self->wr, msgs, 3));
	ASSERT_EQ(0, mbox_info(self->rd, &info));
	EXPECT_EQ(3, info.msgs_queued);
	EXPECT_EQ(3 + 5 + sizeof(big), info.bytes_queued);
	EXPECT_EQ(before.total_enqueued + 3, info.total_enqueued);

	/* Four asked, three queued: the fourth would wait, so the call stops. */
	memset(h, 0xa5, sizeof(h));
	memset(lens, 0xa5, sizeof(lens));
	ASSERT_EQ(3, mbox_recv_batch(self->rd, h, bufs, lens, 4));
	EXPECT_EQ(3, lens[0]);
	EXPECT_EQ(0, memcmp(rx[0], "one", 3));
	EXPECT_EQ(5, lens[1]);
	EXPECT_EQ(0, memcmp(rx[1], "three", 5));
	EXPECT_EQ(sizeof(big), lens[2]);
	EXPECT_EQ(0, memcmp(rx[2], big, sizeof(big)));
	/* Each message was stamped and sequenced on its own. */
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(sizeof(h[i]), h[i].hdr_size);
		EXPECT_EQ(lens[i], h[i].size);
		EXPECT_EQ(before.next_seq + i, h[i].seq);
		EXPECT_EQ(getpid(), h[i].pid);
		EXPECT_EQ(geteuid(), h[i].uid);
		EXPECT_EQ(0, h[i].flags);
		EXPECT_EQ(1, h[i].delivery_count);
	}
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, (unsigned long long)lens[3]);
	EXPECT_EQ(0, mbox_pending(self->rd));

	/* Empty: the first message waits as the descriptor says. */
	fd = mbox_open(DEV, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EAGAIN, mbox_recv_batch(fd, h, bufs, lens, 4));

	/* No headers wanted; a zero-length entry is done and sends nothing. */
	msgs[1].iov_len = 0;
	ASSERT_EQ(3, mbox_send_batch(self->wr, msgs, 3));
	ASSERT_EQ(2, mbox_recv_batch(fd, NULL, bufs, lens, 4));
	EXPECT_EQ(3, lens[0]);
	EXPECT_EQ(sizeof(big), lens[1]);
	EXPECT_EQ(0, memcmp(rx[1], big, sizeof(big)));
	close(fd);
}

TEST_F(lib, batch_stops_at_a_message_that_would_wait_or_fail)
{
	struct mbox_limits l = { .max_msgs = 2 };
	static char m200[200], rx[SLOT(200)], small[SLOT(4)];
	struct iovec msgs[3] = {
		{ .iov_base = "abcdefghij", .iov_len = 10 },
		{ .iov_base = m200, .iov_len = sizeof(m200) },
		{ .iov_base = "xyz", .iov_len = 3 },
	};
	struct iovec bufs[2] = {
		{ .iov_base = rx, .iov_len = sizeof(rx) },
		{ .iov_base = small, .iov_len = sizeof(small) },
	};
	size_t lens[2];
	int fd;

	/* Full after two: the third would wait, and only a first may. */
	ASSERT_EQ(0, mbox_set_limits(self->rd, &l));
	ASSERT_EQ(2, mbox_send_batch(self->wr, msgs, 3));
	EXPECT_EQ(2, mbox_queued_msgs(self->rd));
	fd = mbox_open(DEV, O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EAGAIN, mbox_send_batch(fd, msgs + 2, 1));
	close(fd);

	/* The second buffer is too small: one received, the other kept. */
	ASSERT_EQ(1, mbox_recv_batch(self->rd, NULL, bufs, lens, 2));
	EXPECT_EQ(10, lens[0]);
	EXPECT_EQ(0, memcmp(rx, "abcdefghij", 10));
	EXPECT_EQ(SLOT(sizeof(m200)), mbox_pending(self->rd));
	EXPECT_EQ(-EMSGSIZE, mbox_recv_batch(self->rd, NULL, bufs + 1, lens,
					     1));
	EXPECT_EQ(SLOT(sizeof(m200)), mbox_pending(self->rd));
	ASSERT_EQ(0, reset(self->rd));

	/* Too long: the batch stops before it; the next call reports it. */
	l.max_msgs = 0;
	l.max_msg_size = 100;
	ASSERT_EQ(0, mbox_set_limits(self->rd, &l));
	ASSERT_EQ(1, mbox_send_batch(self->wr, msgs, 3));
	EXPECT_EQ(-EMSGSIZE, mbox_send_batch(self->wr, msgs + 1, 2));
	EXPECT_EQ(1, mbox_queued_msgs(self->rd));

	/* A length no entry can carry is refused the same way. */
	msgs[1].iov_len = (size_t)UINT32_MAX + 1;
	if (msgs[1].iov_len) {
		ASSERT_EQ(1, mbox_send_batch(self->wr, msgs, 3));
		EXPECT_EQ(-EMSGSIZE, mbox_send_batch(self->wr, msgs + 1, 2));
		EXPECT_EQ(2, mbox_queued_msgs(self->rd));
	}

	EXPECT_EQ(-EINVAL, mbox_send_batch(self->wr, msgs, 0));
	EXPECT_EQ(-EINVAL, mbox_recv_batch(self->rd, NULL, bufs, lens, 0));
	EXPECT_EQ(-EBADF, mbox_send_batch(self->rd, msgs, 1));
	EXPECT_EQ(-EBADF, mbox_recv_batch(self->wr, NULL, bufs, lens, 1));
	EXPECT_EQ(2, mbox_queued_msgs(self->rd));
}

/* More than MBOX_BATCH_MAX: capped, and the rest goes in the next call. */
TEST_F(lib, batch_count_is_capped_at_the_kernel_maximum)
{
	enum { N = MBOX_BATCH_MAX + 5 };
	struct mbox_limits l = { .max_msgs = N };
	static unsigned short payload[N];
	static char rx[N][SLOT(2)];
	static struct iovec msgs[N], bufs[N];
	static struct mbox_msg_header h[N];
	static size_t lens[N];
	unsigned short got;
	int i;

	for (i = 0; i < N; i++) {
		payload[i] = i;
		msgs[i].iov_base = &payload[i];
		msgs[i].iov_len = sizeof(payload[i]);
		bufs[i].iov_base = rx[i];
		bufs[i].iov_len = sizeof(rx[i]);
	}
	ASSERT_EQ(0, mbox_set_limits(self->rd, &l));
	ASSERT_EQ(MBOX_BATCH_MAX, mbox_send_batch(self->wr, msgs, N));
	ASSERT_EQ(5, mbox_send_batch(self->wr, msgs + MBOX_BATCH_MAX, 5));
	EXPECT_EQ(N, mbox_queued_msgs(self->rd));

	ASSERT_EQ(MBOX_BATCH_MAX, mbox_recv_batch(self->rd, h, bufs, lens, N));
	ASSERT_EQ(5, mbox_recv_batch(self->rd, h + MBOX_BATCH_MAX,
				     bufs + MBOX_BATCH_MAX,
				     lens + MBOX_BATCH_MAX, N));
	for (i = 0; i < N; i++) {
		ASSERT_EQ(2, lens[i]);
		memcpy(&got, rx[i], sizeof(got));
		ASSERT_EQ(i, got);
		ASSERT_EQ(h[0].seq + i, h[i].seq);
	}
	EXPECT_EQ(0, mbox_queued_msgs(self->rd));
}

TEST_F(lib, recv_batch_refuses_a_file_not_in_header_mode)
{
	static char msg[100], rx[SLOT(100)];
	struct iovec buf = { .iov_base = rx, .iov_len = sizeof(rx) };
	size_t len;

	/* A payload long enough to be mistaken for a header. */
	memset(msg, 'x', sizeof(msg));
	ASSERT_EQ(0, mbox_set_header_mode(self->rd, 0));
	ASSERT_EQ(sizeof(msg), mbox_send(self->wr, msg, sizeof(msg), -1));
	EXPECT_EQ(-EPROTO, mbox_recv_batch(self->rd, NULL, &buf, &len, 1));
	/* Consumed, as by mbox_recv(). */
	EXPECT_EQ(0, mbox_queued_msgs(self->rd));
	ASSERT_EQ(0, mbox_set_header_mode(self->rd, 1));
}

TEST(headers_format_on_one_line)
{
	struct mbox_msg_header h = {
		.hdr_size = sizeof(h), .flags = MBOX_MSG_URGENT, .seq = 42,
		.time_ns = 1700000000123456789ULL, .size = 5, .pid = 10,
		.tid = 11, .uid = 1000, .gid = 100, .opener_uid = 0,
		.opener_gid = 0, .delivery_count = 1,
	};
	char buf[512], printed[512] = "", tiny[8];
	FILE *f;
	int n;

	n = mbox_format_header(&h, buf, sizeof(buf));
	EXPECT_STREQ("seq=42 time=2023-11-14T22:13:20.123456789Z pid=10 tid=11 uid=1000 gid=100 opener_uid=0 opener_gid=0 flags=urgent delivery=1 size=5",
		     buf);
	EXPECT_EQ(strlen(buf), n);
	/* mbox_fprint_header() writes the same line and a newline. */
	f = fmemopen(printed, sizeof(printed), "w");
	ASSERT_NE(NULL, f);
	EXPECT_EQ(n, mbox_fprint_header(f, &h));
	fclose(f);
	EXPECT_EQ(0, strncmp(printed, buf, n));
	EXPECT_STREQ("\n", printed + n);
	/* Truncated like snprintf: the full length back, NUL-terminated. */
	EXPECT_EQ(n, mbox_format_header(&h, tiny, sizeof(tiny)));
	EXPECT_STREQ("seq=42 ", tiny);

	mbox_format_flags(0, buf, sizeof(buf));
	EXPECT_STREQ("-", buf);
	n = mbox_format_flags(MBOX_MSG_CRED_MISMATCH | MBOX_MSG_URGENT |
			      MBOX_MSG_REDELIVERED | 0x40, buf, sizeof(buf));
	EXPECT_STREQ("cred_mismatch,urgent,redelivered,0x40", buf);
	EXPECT_EQ(strlen(buf), n);
	EXPECT_EQ(n, mbox_format_flags(MBOX_MSG_CRED_MISMATCH |
				       MBOX_MSG_URGENT | MBOX_MSG_REDELIVERED |
				       0x40, tiny, sizeof(tiny)));
	EXPECT_STREQ("cred_mi", tiny);
}

/*
 * Named mailboxes: each case mounts a private mbox instance in a mount
 * namespace of its own (the harness forks each case), so nothing it
 * mounts outlives it.
 */
FIXTURE(named) {
	char dir[64];		/* the instance, mode 1777, max=4 */
	char plain[64];		/* an ordinary directory */
};

FIXTURE_SETUP(named)
{
	strcpy(self->dir, "/tmp/mbox-lib-named.XXXXXX");
	strcpy(self->plain, "/tmp/mbox-lib-plain.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_NE(NULL, mkdtemp(self->plain));
	ASSERT_EQ(0, chmod(self->plain, 0755));
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_EQ(0, mount("mbox", self->dir, "mbox", 0, "mode=1777,max=4"));
	umask(0);
	unsetenv("MBOX_DIR");
}

FIXTURE_TEARDOWN(named)
{
	char path[128];

	umount2(self->plain, MNT_DETACH);
	umount2(self->dir, MNT_DETACH);
	snprintf(path, sizeof(path), "%s/" MBOX_CONTROL_NAME, self->plain);
	unlink(path);
	rmdir(self->dir);
	rmdir(self->plain);
}

/* @dir/@name into @buf, returned. */
static const char *in(char *buf, const char *dir, const char *name)
{
	snprintf(buf, 512, "%s/%s", dir, name);
	return buf;
}

/* Entries of @dir, "." and ".." not counted. */
static int entries(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

enum user_op { U_CREATE_0600, U_CREATE_GID_3000, U_CREATE_GID_OWN,
	       U_OPEN_RD, U_OPEN_WR, U_REMOVE };

struct user_call {
	uid_t uid;
	const char *path;
	enum user_op op;
};

/* What @c->op returns as uid/gid @c->uid without capabilities: -errno. */
static int user_op(const struct user_call *c)
{
	int fd;

	if (setgroups(0, NULL) || setresgid(c->uid, c->uid, c->uid) ||
	    setresuid(c->uid, c->uid, c->uid))
		return -200;
	switch (c->op) {
	case U_CREATE_0600:
		return mbox_create(c->path, 0600, (gid_t)-1, NULL);
	case U_CREATE_GID_3000:
		return mbox_create(c->path, 0600, 3000, NULL);
	case U_CREATE_GID_OWN:
		return mbox_create(c->path, 0600, c->uid, NULL);
	case U_OPEN_RD:
	case U_OPEN_WR:
		fd = mbox_open(c->path, c->op == U_OPEN_RD ? O_RDONLY : O_WRONLY);
		if (fd < 0)
			return fd;
		close(fd);
		return 0;
	case U_REMOVE:
		return mbox_remove(c->path);
	}
	return -201;
}

/* user_op() in a child as @uid; its result, or a positive number. */
static int as_user(uid_t uid, const char *path, enum user_op op)
{
	struct user_call c = { uid, path, op };
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 1000;
	if (pid == 0)
		_exit(-user_op(&c));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 1001;
	return -WEXITSTATUS(status);
}

TEST_F(named, create_open_remove)
{
	struct mbox_msg_header hdr;
	struct mbox_info info;
	char path[512], buf[16];
	struct stat st;
	int fd;

	in(path, self->dir, "jobs");
	ASSERT_EQ(0, mbox_create(path, 0640, (gid_t)-1, NULL));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(S_IFCHR | 0640, st.st_mode);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);

	/* A mailbox like /dev/mboxN, with the module's default limits. */
	fd = mbox_open(path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mbox_info(fd, &info));
	EXPECT_EQ((__u32)st.st_ino, info.index);
	EXPECT_EQ(param("max_msg_size"), info.max_msg_size);
	EXPECT_EQ(param("max_msgs"), info.max_msgs);
	EXPECT_EQ(param("max_bytes"), info.max_bytes);
	EXPECT_EQ(param("max_urgent"), info.max_urgent);
	EXPECT_EQ(param("max_urgent_bytes"), info.max_urgent_bytes);
	ASSERT_EQ(2, mbox_send(fd, "hi", 2, 0));

	/* Removed: the name is gone, the open file still works. */
	ASSERT_EQ(0, mbox_remove(path));
	EXPECT_EQ(-1, stat(path, &st));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-ENOENT, mbox_open(path, O_RDONLY));
	EXPECT_EQ(-ENOENT, mbox_remove(path));
	ASSERT_EQ(2, mbox_recv(fd, &hdr, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "hi", 2));
	close(fd);

	/* The kernel applies the umask to the mode. */
	umask(022);
	in(path, self->dir, "masked");
	ASSERT_EQ(0, mbox_create(path, 0666, (gid_t)-1, NULL));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(S_IFCHR | 0644, st.st_mode);
}

TEST_F(named, create_takes_limits_and_group)
{
	struct mbox_limits l = {
		.max_msg_size = 100, .max_msgs = 3, .max_bytes = 1000,
		.max_urgent = 4, .max_urgent_bytes = 12345,
	};
	struct mbox_info info;
	char path[512];
	struct stat st;
	int fd;

	in(path, self->dir, "small");
	ASSERT_EQ(0, mbox_create(path, 0600, 3000, &l));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0, st.st_uid);
	/* Root may give any group. */
	EXPECT_EQ(3000, st.st_gid);
	fd = mbox_open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mbox_info(fd, &info));
	close(fd);
	EXPECT_EQ(100, info.max_msg_size);
	EXPECT_EQ(3, info.max_msgs);
	EXPECT_EQ(1000, info.max_bytes);
	EXPECT_EQ(4, info.max_urgent);
	EXPECT_EQ(12345, info.max_urgent_bytes);

	/* A limit left 0 is the module's default. */
	memset(&l, 0, sizeof(l));
	l.max_msgs = 5;
	in(path, self->dir, "five");
	ASSERT_EQ(0, mbox_create(path, 0600, (gid_t)-1, &l));
	fd = mbox_open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mbox_info(fd, &info));
	close(fd);
	EXPECT_EQ(5, info.max_msgs);
	EXPECT_EQ(param("max_msg_size"), info.max_msg_size);
	EXPECT_EQ(param("max_bytes"), info.max_bytes);
	EXPECT_EQ(param("max_urgent"), info.max_urgent);
	EXPECT_EQ(param("max_urgent_bytes"), info.max_urgent_bytes);

	/* Out of range: nothing created. */
	memset(&l, 0, sizeof(l));
	l.max_urgent_bytes = MBOX_MAX_BYTES_LIMIT + 1;
	EXPECT_EQ(-EINVAL, mbox_create(in(path, self->dir, "big"), 0600,
				       (gid_t)-1, &l));
	EXPECT_EQ(-1, access(path, F_OK));
}

/*
 * An instance's per-user quotas: mbox_create() and every way of sending
 * over them fail with -EDQUOT at once (no waiting, nothing queued), and
 * flushing one's own messages gives the bytes back.  A message of 100
 * bytes is charged 100 + 128.
 */
TEST_F(named, quotas_are_edquot)
{
	struct mbox_urgent u = { 0 };
	struct mbox_flush res;
	struct mbox_info info;
	char path[512], msg[100];
	struct iovec iov = { msg, sizeof(msg) };
	int fd;

	memset(msg, 'q', sizeof(msg));
	ASSERT_EQ(0, mount("mbox", self->plain, "mbox", 0,
			   "user_max=1,user_bytes=300"));
	ASSERT_EQ(0, mbox_create(in(path, self->plain, "q"), 0600, (gid_t)-1,
				 NULL));
	EXPECT_EQ(-EDQUOT, mbox_create(in(path, self->plain, "r"), 0600,
				       (gid_t)-1, NULL));
	EXPECT_EQ(-1, access(path, F_OK));

	fd = mbox_open(in(path, self->plain, "q"), O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(100, mbox_send(fd, msg, sizeof(msg), -1));
	/* Blocking, timed or not: EDQUOT at once, never a wait. */
	EXPECT_EQ(-EDQUOT, mbox_send(fd, msg, sizeof(msg), -1));
	EXPECT_EQ(-EDQUOT, mbox_send(fd, msg, sizeof(msg), 60000));
	EXPECT_EQ(-EDQUOT, mbox_send(fd, msg, sizeof(msg), 0));
	EXPECT_EQ(-EDQUOT, mbox_send_urgent(fd, "x", 1, &u));
	EXPECT_EQ(-EDQUOT, mbox_send_batch(fd, &iov, 1));
	ASSERT_EQ(0, mbox_info(fd, &info));
	EXPECT_EQ(1, info.msgs_queued);
	EXPECT_EQ(100, info.bytes_queued);
	EXPECT_EQ(0, info.urgent_queued);

	ASSERT_EQ(0, mbox_flush(fd, MBOX_FLUSH_MINE, 0, &res));
	EXPECT_EQ(1, res.flushed_msgs);
	EXPECT_EQ(100, res.flushed_bytes);
	EXPECT_EQ(100, mbox_send(fd, msg, sizeof(msg), 0));
	close(fd);
}

/* Every error of mbox_create(), and after each nothing was created. */
TEST_F(named, create_errors_create_nothing)
{
	struct mbox_limits bad = { .max_msg_size = 4096, .max_bytes = 4095 };
	char path[512], name[MBOX_NAME_MAX + 2], file[512];
	char events[sizeof(struct inotify_event) + NAME_MAX + 1];
	struct stat st;
	int fd, ino;

	ASSERT_EQ(0, mbox_create(in(path, self->dir, "taken"), 0600,
				 (gid_t)-1, NULL));
#define CREATE_FAILS(err, path, mode, limits) do {				\
		const char *p_ = (path);					\
									\
		EXPECT_EQ(-(err), mbox_create(p_, mode, (gid_t)-1, limits))	\
			TH_LOG("%s", p_);					\
		EXPECT_EQ(2, entries(self->dir));				\
	} while (0)

	CREATE_FAILS(EEXIST, in(path, self->dir, "taken"), 0600, NULL);
	CREATE_FAILS(EEXIST, in(path, self->dir, MBOX_CONTROL_NAME), 0600, NULL);
	CREATE_FAILS(EINVAL, in(path, self->dir, "x"), 01600, NULL);
	CREATE_FAILS(EINVAL, in(path, self->dir, "x"), 0600, &bad);
	CREATE_FAILS(EINVAL, in(path, self->dir, "."), 0600, NULL);
	CREATE_FAILS(EINVAL, in(path, self->dir, ".."), 0600, NULL);
	CREATE_FAILS(EINVAL, in(path, self->dir, ""), 0600, NULL);
	CREATE_FAILS(EINVAL, "", 0600, NULL);
	EXPECT_EQ(-EINVAL, mbox_create(NULL, 0600, (gid_t)-1, NULL));
	memset(name, 'n', MBOX_NAME_MAX + 1);
	name[MBOX_NAME_MAX + 1] = '\0';
	CREATE_FAILS(ENAMETOOLONG, in(path, self->dir, name), 0600, NULL);
	CREATE_FAILS(ENOENT, "/nonexistent-mbox-dir/x", 0600, NULL);

	/*
	 * Not an instance: -ENOTTY before anything is opened, even with a
	 * node of the control's name there.
	 */
	fd = open(in(file, self->plain, MBOX_CONTROL_NAME),
		  O_WRONLY | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	/* The debug lane's kernel has no inotify: the stock lane checks. */
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino < 0) {
		ASSERT_EQ(ENOSYS, errno);
		TH_LOG("no inotify in this kernel: not checking that nothing was opened");
	} else {
		ASSERT_LE(0, inotify_add_watch(ino, file, IN_OPEN));
	}
	CREATE_FAILS(ENOTTY, in(path, self->plain, "x"), 0600, NULL);
	/* The node was not even opened. */
	if (ino >= 0) {
		EXPECT_EQ(-1, read(ino, events, sizeof(events)));
		EXPECT_EQ(EAGAIN, errno);
		close(ino);
	}
	EXPECT_EQ(1, entries(self->plain));

	/* Through a read-only bind mount of the instance. */
	ASSERT_EQ(0, mount(self->dir, self->plain, NULL, MS_BIND, NULL));
	ASSERT_EQ(0, mount(NULL, self->plain, NULL,
			   MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
	CREATE_FAILS(EROFS, in(path, self->plain, "x"), 0600, NULL);
	EXPECT_EQ(-EROFS, mbox_remove(in(path, self->plain, "taken")));
	ASSERT_EQ(0, umount(self->plain));

	/* Another user: no write permission on the root, not in the group. */
	ASSERT_EQ(0, chmod(self->dir, 01755));
	EXPECT_EQ(-EACCES, as_user(2000, in(path, self->dir, "x"), U_CREATE_0600));
	EXPECT_EQ(2, entries(self->dir));
	ASSERT_EQ(0, chmod(self->dir, 01777));
	EXPECT_EQ(-EPERM, as_user(2000, in(path, self->dir, "x"), U_CREATE_GID_3000));
	EXPECT_EQ(2, entries(self->dir));
	EXPECT_EQ(0, as_user(2000, in(path, self->dir, "x"), U_CREATE_GID_OWN));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(2000, st.st_uid);
	EXPECT_EQ(2000, st.st_gid);

	/* 255 bytes is a name; then the instance holds its max=4. */
	name[MBOX_NAME_MAX] = '\0';
	EXPECT_EQ(0, mbox_create(in(path, self->dir, name), 0600, (gid_t)-1, NULL));
	EXPECT_EQ(0, mbox_create(in(path, self->dir, "fourth"), 0600,
				 (gid_t)-1, NULL));
	EXPECT_EQ(-ENOSPC, mbox_create(in(path, self->dir, "fifth"), 0600,
				       (gid_t)-1, NULL));
	/* The four and mbox-control. */
	EXPECT_EQ(5, entries(self->dir));
#undef CREATE_FAILS
}

TEST_F(named, remove_refuses_what_is_not_a_named_mailbox)
{
	char path[512], file[512];
	struct stat st;
	int fd;

	EXPECT_EQ(-EPERM, mbox_remove(in(path, self->dir, MBOX_CONTROL_NAME)));
	EXPECT_EQ(0, stat(path, &st));
	/* A fixed mailbox, a file, a directory: not in an instance. */
	EXPECT_EQ(-ENOTTY, mbox_remove("/dev/mbox0"));
	EXPECT_EQ(0, stat("/dev/mbox0", &st));
	fd = open(in(file, self->plain, "file"), O_WRONLY | O_CREAT | O_EXCL,
		  0600);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_EQ(-ENOTTY, mbox_remove(file));
	EXPECT_EQ(0, stat(file, &st));
	unlink(file);
	EXPECT_EQ(-ENOTTY, mbox_remove(self->dir));
	EXPECT_EQ(-ENOENT, mbox_remove(in(path, self->dir, "none")));
	EXPECT_EQ(-EINVAL, mbox_remove(in(path, self->dir, "")));
	/* The instance's root itself is no mailbox. */
	EXPECT_EQ(-ENOTTY, mbox_remove(in(path, self->dir, ".")));

	/* The sticky root: only the owner (or root) removes a mailbox. */
	in(path, self->dir, "priv");
	ASSERT_EQ(0, as_user(1000, path, U_CREATE_0600));
	EXPECT_EQ(-EPERM, as_user(1001, path, U_REMOVE));
	EXPECT_EQ(0, stat(path, &st));
	EXPECT_EQ(0, as_user(1000, path, U_REMOVE));
	EXPECT_EQ(-1, stat(path, &st));
	EXPECT_EQ(ENOENT, errno);
}

/* A bare name is $MBOX_DIR/NAME (default /dev/mbox), unless N or mboxN. */
TEST_F(named, bare_names_resolve_in_mbox_dir)
{
	struct stat st, fst;
	char buf[512], path[512];
	int fd;

	ASSERT_EQ(0, mbox_path("jobs", buf, sizeof(buf)));
	EXPECT_STREQ(MBOX_DEFAULT_DIR "/jobs", buf);
	ASSERT_EQ(0, setenv("MBOX_DIR", "", 1));
	ASSERT_EQ(0, mbox_path("jobs", buf, sizeof(buf)));
	EXPECT_STREQ("/dev/mbox/jobs", buf);

	ASSERT_EQ(0, setenv("MBOX_DIR", self->dir, 1));
	ASSERT_EQ(0, mbox_path("jobs", buf, sizeof(buf)));
	EXPECT_STREQ(in(path, self->dir, "jobs"), buf);
	ASSERT_EQ(0, mbox_path("mbox", buf, sizeof(buf)));
	EXPECT_STREQ(in(path, self->dir, "mbox"), buf);
	ASSERT_EQ(0, mbox_path("mbox1x", buf, sizeof(buf)));
	EXPECT_STREQ(in(path, self->dir, "mbox1x"), buf);
	ASSERT_EQ(0, mbox_path("mbox1", buf, sizeof(buf)));
	EXPECT_STREQ("/dev/mbox1", buf);
	ASSERT_EQ(0, mbox_path("1", buf, sizeof(buf)));
	EXPECT_STREQ("/dev/mbox1", buf);
	ASSERT_EQ(0, mbox_path("sub/jobs", buf, sizeof(buf)));
	EXPECT_STREQ("sub/jobs", buf);
	EXPECT_EQ(-ENAMETOOLONG, mbox_path("jobs", buf, strlen(self->dir) + 5));

	/* Created, opened and removed by the bare name. */
	ASSERT_EQ(0, mbox_create("jobs", 0600, (gid_t)-1, NULL));
	ASSERT_EQ(0, stat(in(path, self->dir, "jobs"), &st));
	fd = mbox_open("jobs", O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &fst));
	EXPECT_EQ(st.st_ino, fst.st_ino);
	EXPECT_EQ(st.st_rdev, fst.st_rdev);
	close(fd);
	ASSERT_EQ(0, mbox_remove("jobs"));
	EXPECT_EQ(-ENOENT, mbox_open("jobs", O_WRONLY));

	/*
	 * One called mbox0 is created in $MBOX_DIR, but "mbox0" opens
	 * /dev/mbox0: the named one is reached by its path.
	 */
	ASSERT_EQ(0, mbox_create("mbox0", 0600, (gid_t)-1, NULL));
	ASSERT_EQ(0, stat(in(path, self->dir, "mbox0"), &st));
	fd = mbox_open("mbox0", O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &fst));
	EXPECT_NE(st.st_rdev, fst.st_rdev);
	close(fd);
	ASSERT_EQ(0, stat("/dev/mbox0", &st));
	EXPECT_EQ(st.st_rdev, fst.st_rdev);
	fd = mbox_open(path, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &fst));
	close(fd);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(st.st_ino, fst.st_ino);
	EXPECT_EQ(0, mbox_remove("mbox0"));
}

/* A 0600 mailbox of uid 1000: uid 1001 cannot open it, root can. */
TEST_F(named, a_private_mailbox_is_its_owners)
{
	char path[512];
	struct stat st;
	int fd;

	in(path, self->dir, "priv");
	ASSERT_EQ(0, as_user(1000, path, U_CREATE_0600));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(S_IFCHR | 0600, st.st_mode);
	EXPECT_EQ(1000, st.st_uid);
	EXPECT_EQ(1000, st.st_gid);
	EXPECT_EQ(0, as_user(1000, path, U_OPEN_RD));
	EXPECT_EQ(-EACCES, as_user(1001, path, U_OPEN_RD));
	EXPECT_EQ(-EACCES, as_user(1001, path, U_OPEN_WR));
	fd = mbox_open(path, O_RDWR);
	ASSERT_LE(0, fd);
	close(fd);
}

static int run(const char *cmd)
{
	int status = system(cmd);

	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/*
 * Module control runs last: it unloads and reloads the module.  Whatever
 * happens, the teardown leaves it loaded as it was found, so the tests
 * after this program still have their mailboxes.
 */
FIXTURE(module) {
	const char *ko;
	struct mbox_module_status orig;
	char params[256];
};

FIXTURE_SETUP(module)
{
	struct mbox_module_status *o = &self->orig;

	self->ko = getenv("MBOX_KO");
	if (!self->ko)
		SKIP(return, "MBOX_KO does not name the module file");
	ASSERT_EQ(0, mbox_module_status(o));
	ASSERT_EQ(1, o->loaded);
	snprintf(self->params, sizeof(self->params),
		 "nr_mailboxes=%u max_msg_size=%u max_msgs=%u max_bytes=%llu max_urgent=%u",
		 o->nr_mailboxes, o->max_msg_size, o->max_msgs, o->max_bytes,
		 o->max_urgent);
}

FIXTURE_TEARDOWN(module)
{
	struct mbox_module_status st;

	if (!self->ko || (!mbox_module_status(&st) && st.loaded &&
			  st.nr_mailboxes == self->orig.nr_mailboxes &&
			  st.max_msgs == self->orig.max_msgs &&
			  st.max_urgent == self->orig.max_urgent))
		return;
	if (st.loaded)
		mbox_module_unload();
	ASSERT_EQ(0, mbox_module_load(self->ko, self->params));
}

TEST_F(module, load_unload_status)
{
	const char *ko = self->ko;
	struct mbox_module_status st, orig = self->orig;
	char cmd[1024], dir[256];
	struct utsname uts;
	int fd;

	if (!ko)
		SKIP(return, "MBOX_KO does not name the module file");
	EXPECT_STREQ(MBOX_VERSION, orig.version);
	EXPECT_EQ(param("nr_mailboxes"), orig.nr_mailboxes);
	EXPECT_EQ(param("max_bytes"), orig.max_bytes);

	/* An open mailbox holds the module. */
	fd = mbox_open(DEV, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mbox_module_status(&st));
	EXPECT_LT(orig.refcount, st.refcount);
	EXPECT_EQ(-EBUSY, mbox_module_unload());
	ASSERT_EQ(0, mbox_module_status(&st));
	EXPECT_EQ(1, st.loaded);
	close(fd);

	ASSERT_EQ(0, mbox_module_unload());
	ASSERT_EQ(0, mbox_module_status(&st));
	EXPECT_EQ(0, st.loaded);
	EXPECT_EQ(-ENOENT, mbox_module_unload());
	EXPECT_EQ(-ENOENT, mbox_open(DEV, O_RDONLY));

	/* Bad parameters: out of range, unknown; nothing gets loaded. */
	EXPECT_EQ(-EINVAL, mbox_module_load(ko, "nr_mailboxes=9999"));
	/* The kernel would load it and ignore the name: the library refuses. */
	EXPECT_EQ(-EINVAL, mbox_module_load(ko, "no_such_param=1"));
	EXPECT_EQ(-EINVAL, mbox_module_load(ko, "max_msgs=5 max_msg=1"));
	EXPECT_EQ(-ENOENT, mbox_module_load("/nonexistent/mbox.ko", NULL));
	ASSERT_EQ(0, mbox_module_status(&st));
	EXPECT_EQ(0, st.loaded);

	ASSERT_EQ(0, mbox_module_load(ko, "nr_mailboxes=2 max_msgs=7"));
	ASSERT_EQ(0, mbox_module_status(&st));
	EXPECT_EQ(1, st.loaded);
	EXPECT_EQ(2, st.nr_mailboxes);
	EXPECT_EQ(7, st.max_msgs);
	EXPECT_TRUE(exists("/dev/mbox1"));
	EXPECT_FALSE(exists("/dev/mbox2"));
	EXPECT_EQ(-EEXIST, mbox_module_load(ko, NULL));
	ASSERT_EQ(0, mbox_module_unload());

	/* By name, from a module tree of our own, as modprobe would. */
	ASSERT_EQ(0, uname(&uts));
	snprintf(dir, sizeof(dir), "/tmp/mbox-lib-test/lib/modules/%s",
		 uts.release);
	EXPECT_EQ(-ENOENT, mbox_module_load_by_name("/tmp/mbox-lib-test-none",
						    NULL));
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/extra && cp '%s' %s/extra/ && depmod -b /tmp/mbox-lib-test %s 2>/dev/null",
		 dir, ko, dir, uts.release);
	ASSERT_EQ(0, run(cmd));
	ASSERT_EQ(0, mbox_module_load_by_name(dir, "max_urgent=3"));
	ASSERT_EQ(0, mbox_module_status(&st));
	EXPECT_EQ(3, st.max_urgent);
	EXPECT_EQ(-EEXIST, mbox_module_load_by_name(dir, NULL));
	ASSERT_EQ(0, mbox_module_unload());
	run("rm -rf /tmp/mbox-lib-test");
	/* The teardown loads it back as it was. */
}

TEST_HARNESS_MAIN
