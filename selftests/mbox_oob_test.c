// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-band: flushing a backlog (all, mine, up to a seq), its permission
 * rules, urgent messages that jump the queue and their reserve, the atomic
 * flush-and-urgent, and EPOLLPRI.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

#define OTHER_UID 1000

FIXTURE(oob) {
	int fd;
	mode_t old_mode;
};

/* Let an unprivileged user open the node, so opener ids can differ. */
FIXTURE_SETUP(oob)
{
	struct stat st;

	self->fd = mbox_open_reset(0, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, stat(MBOX_DEV(0), &st));
	self->old_mode = st.st_mode & 07777;
	ASSERT_EQ(0, chmod(MBOX_DEV(0), 0666));
}

FIXTURE_TEARDOWN(oob)
{
	chmod(MBOX_DEV(0), self->old_mode);
	close(self->fd);
}

static int do_flush(int fd, uint32_t flags, uint64_t up_to_seq,
		    struct mbox_flush *out)
{
	memset(out, 0, sizeof(*out));
	out->flags = flags;
	out->up_to_seq = up_to_seq;
	return ioctl(fd, MBOX_IOC_FLUSH, out);
}

static int send_urgent(int fd, const char *text, uint32_t flags,
		       uint32_t flush_flags, uint64_t up_to_seq,
		       struct mbox_urgent *out)
{
	memset(out, 0, sizeof(*out));
	out->buf = (uintptr_t)text;
	out->len = strlen(text);
	out->flags = flags;
	out->flush_flags = flush_flags;
	out->up_to_seq = up_to_seq;
	return ioctl(fd, MBOX_IOC_SEND_URGENT, out);
}

/* Run @fn(@fd) in a child as OTHER_UID; returns its exit status. */
static int as_other_user(int fd, int (*fn)(int fd))
{
	int status;
	pid_t pid = mbox_fork();

	if (pid == 0) {
		if (setresgid(OTHER_UID, OTHER_UID, OTHER_UID) ||
		    setresuid(OTHER_UID, OTHER_UID, OTHER_UID))
			_exit(100);
		_exit(fn(fd));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* As OTHER_UID: open write-only and queue three 10-byte messages. */
static int other_writes_three(int unused)
{
	int fd = open(MBOX_DEV(0), O_WRONLY);
	int i;

	if (fd < 0)
		return 1;
	for (i = 0; i < 3; i++)
		if (write(fd, "0123456789", 10) != 10)
			return 2;
	return 0;
}

TEST_F(oob, flush_all_returns_exact_counts)
{
	struct mbox_flush fl;
	struct mbox_info before, after;
	char buf[16];
	int i;

	ASSERT_EQ(0, mbox_info(self->fd, &before));
	for (i = 0; i < 5; i++)
		ASSERT_EQ(i + 1, write(self->fd, "abcdef", i + 1));
	ASSERT_EQ(0, do_flush(self->fd, 0, 0, &fl));
	ASSERT_EQ(5, fl.flushed_msgs);
	ASSERT_EQ(1 + 2 + 3 + 4 + 5, fl.flushed_bytes);
	ASSERT_EQ(0, mbox_info(self->fd, &after));
	ASSERT_EQ(0, after.msgs_queued);
	ASSERT_EQ(0, after.bytes_queued);
	ASSERT_EQ(before.flushed_msgs + 5, after.flushed_msgs);
	ASSERT_EQ(before.flushed_bytes + 15, after.flushed_bytes);
	ASSERT_EQ(after.flushed_msgs,
		  mbox_read_sysfs("/sys/class/mbox/mbox0/flushed_msgs"));
	ASSERT_EQ(after.flushed_bytes,
		  mbox_read_sysfs("/sys/class/mbox/mbox0/flushed_bytes"));
	/* Nothing left to read; flushing an empty mailbox removes nothing. */
	fcntl(self->fd, F_SETFL, O_NONBLOCK);
	ASSERT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, do_flush(self->fd, 0, 0, &fl));
	ASSERT_EQ(0, fl.flushed_msgs);
	ASSERT_EQ(0, fl.flushed_bytes);
}

TEST_F(oob, flush_mine_removes_only_my_messages)
{
	struct mbox_msg_header hdr;
	struct mbox_flush fl;
	char buf[64];

	ASSERT_EQ(4, write(self->fd, "root", 4));
	ASSERT_EQ(0, as_other_user(self->fd, other_writes_three));
	ASSERT_EQ(5, write(self->fd, "root2", 5));
	ASSERT_EQ(5, mbox_queued(self->fd));
	ASSERT_EQ(0, do_flush(self->fd, MBOX_FLUSH_MINE, 0, &fl));
	ASSERT_EQ(2, fl.flushed_msgs);
	ASSERT_EQ(9, fl.flushed_bytes);
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(sizeof(hdr) + 10, mbox_recv_hdr(self->fd, &hdr, buf, 64));
		ASSERT_EQ(OTHER_UID, hdr.opener_uid);
	}
	ASSERT_EQ(0, mbox_queued(self->fd));
}

TEST_F(oob, flush_up_to_seq_keeps_later_messages)
{
	struct mbox_msg_header hdr;
	struct mbox_flush fl;
	uint64_t third;
	char buf[16];
	int i;

	for (i = 0; i < 6; i++)
		ASSERT_EQ(sizeof(i), write(self->fd, &i, sizeof(i)));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_PEEK, &hdr));
	third = hdr.seq + 2;
	ASSERT_EQ(0, do_flush(self->fd, MBOX_FLUSH_UP_TO_SEQ, third, &fl));
	ASSERT_EQ(3, fl.flushed_msgs);
	ASSERT_EQ(3 * sizeof(int), fl.flushed_bytes);
	for (i = 3; i < 6; i++) {
		ASSERT_EQ(sizeof(i), read(self->fd, buf, sizeof(buf)));
		ASSERT_EQ(i, *(int *)buf);
	}
}

TEST_F(oob, flush_selectors_combine)
{
	struct mbox_msg_header hdr;
	struct mbox_flush fl;
	uint64_t first;

	ASSERT_EQ(1, write(self->fd, "a", 1));			/* mine, old */
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_PEEK, &hdr));
	first = hdr.seq;
	ASSERT_EQ(0, as_other_user(self->fd, other_writes_three)); /* others */
	ASSERT_EQ(1, write(self->fd, "b", 1));			/* mine, new */
	ASSERT_EQ(0, do_flush(self->fd, MBOX_FLUSH_MINE | MBOX_FLUSH_UP_TO_SEQ,
			      first + 3, &fl));
	ASSERT_EQ(1, fl.flushed_msgs);
	ASSERT_EQ(1, fl.flushed_bytes);
	ASSERT_EQ(4, mbox_queued(self->fd));
}

static int flush_all_expect_eperm(int unused)
{
	int fd = open(MBOX_DEV(0), O_WRONLY);
	struct mbox_flush fl;

	if (fd < 0)
		return 1;
	if (do_flush(fd, 0, 0, &fl) != -1 || errno != EPERM)
		return 2;
	if (do_flush(fd, MBOX_FLUSH_UP_TO_SEQ, ~0ULL, &fl) != -1 ||
	    errno != EPERM)
		return 3;
	/* Its own messages it may cancel: there are none. */
	if (do_flush(fd, MBOX_FLUSH_MINE, 0, &fl) || fl.flushed_msgs)
		return 4;
	return 0;
}

static int flush_all_as_reader(int unused)
{
	int fd = open(MBOX_DEV(0), O_RDONLY);
	struct mbox_flush fl;

	if (fd < 0)
		return 1;
	if (do_flush(fd, 0, 0, &fl) || fl.flushed_msgs != 2)
		return 2;
	return 0;
}

TEST_F(oob, flush_permissions)
{
	struct mbox_flush fl;
	int wo;

	ASSERT_EQ(1, write(self->fd, "x", 1));
	ASSERT_EQ(1, write(self->fd, "y", 1));
	/* Write-only, no CAP_SYS_ADMIN: only MBOX_FLUSH_MINE. */
	ASSERT_EQ(0, as_other_user(self->fd, flush_all_expect_eperm));
	ASSERT_EQ(2, mbox_queued(self->fd));
	/* The consumer (open for reading) may discard everything. */
	ASSERT_EQ(0, as_other_user(self->fd, flush_all_as_reader));
	ASSERT_EQ(0, mbox_queued(self->fd));
	/* CAP_SYS_ADMIN may too, even write-only. */
	ASSERT_EQ(1, write(self->fd, "z", 1));
	wo = open(MBOX_DEV(0), O_WRONLY);
	ASSERT_LE(0, wo);
	ASSERT_EQ(0, do_flush(wo, 0, 0, &fl));
	ASSERT_EQ(1, fl.flushed_msgs);
	close(wo);
}

TEST_F(oob, flush_rejects_bad_arguments)
{
	struct mbox_flush fl;

	ASSERT_EQ(1, write(self->fd, "k", 1));
	memset(&fl, 0, sizeof(fl));
	fl.flags = 0x80;
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_FLUSH, &fl));
	ASSERT_EQ(EINVAL, errno);
	memset(&fl, 0, sizeof(fl));
	fl.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_FLUSH, &fl));
	ASSERT_EQ(EINVAL, errno);
	memset(&fl, 0, sizeof(fl));
	fl.flushed_msgs = 1;
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_FLUSH, &fl));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(1, mbox_queued(self->fd));
}

TEST_F(oob, flush_wakes_a_blocked_writer)
{
	struct mbox_flush fl;
	struct mbox_info info;
	long long t0;
	int status;
	pid_t pid;

	ASSERT_EQ(0, mbox_set_limits(self->fd, 16, 2, 32));
	ASSERT_EQ(1, write(self->fd, "1", 1));
	ASSERT_EQ(1, write(self->fd, "2", 1));
	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(write(self->fd, "3", 1) == 1 ? 0 : 1);
	for (t0 = mbox_now_ms(); !mbox_waited_too_long(t0); usleep(5000)) {
		ASSERT_EQ(0, mbox_info(self->fd, &info));
		if (info.writers_waiting == 1)
			break;
	}
	ASSERT_EQ(1, info.writers_waiting);
	ASSERT_EQ(0, do_flush(self->fd, 0, 0, &fl));
	ASSERT_EQ(2, fl.flushed_msgs);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(1, mbox_queued(self->fd));
}

/* Shared tallies for the flush race. */
struct race {
	int stop;
	uint64_t written, read, flushed;
};

TEST_F_TIMEOUT(oob, flush_races_with_writers_and_readers, 300)
{
	struct race *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pids[8];
	struct mbox_flush fl;
	struct mbox_info info;
	char buf[64];
	ssize_t n;
	int i, status;

	ASSERT_NE(MAP_FAILED, r);
	memset(buf, 'r', sizeof(buf));
	ASSERT_EQ(0, mbox_set_limits(self->fd, 64, 256, 64 * 256));
	for (i = 0; i < 8; i++) {
		pids[i] = mbox_fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i])
			continue;
		if (i < 4) {
			/* Writers: 5000 messages each, non-blocking. */
			int fd = open(MBOX_DEV(0), O_WRONLY | O_NONBLOCK);
			int k = 0;

			while (k < 5000) {
				if (write(fd, buf, 1 + k % 64) > 0) {
					__atomic_add_fetch(&r->written, 1, __ATOMIC_RELAXED);
					k++;
				} else if (errno != EAGAIN) {
					_exit(1);
				}
			}
			_exit(0);
		}
		/* Readers: until told to stop. */
		{
			int fd = open(MBOX_DEV(0), O_RDONLY | O_NONBLOCK);

			while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
				if (read(fd, buf, sizeof(buf)) > 0)
					__atomic_add_fetch(&r->read, 1, __ATOMIC_RELAXED);
				else if (errno != EAGAIN)
					_exit(1);
			}
			_exit(0);
		}
	}
	/* Flush while they run, until the writers are done. */
	for (i = 0; i < 4; i++) {
		while (waitpid(pids[i], &status, WNOHANG) == 0) {
			ASSERT_EQ(0, do_flush(self->fd, 0, 0, &fl));
			r->flushed += fl.flushed_msgs;
			usleep(1000);
		}
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	for (i = 4; i < 8; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	/* Whatever is left is read now. */
	fcntl(self->fd, F_SETFL, O_NONBLOCK);
	while ((n = read(self->fd, buf, sizeof(buf))) > 0)
		r->read++;
	ASSERT_EQ(EAGAIN, errno);
	TH_LOG("written %llu = read %llu + flushed %llu",
	       (unsigned long long)r->written, (unsigned long long)r->read,
	       (unsigned long long)r->flushed);
	ASSERT_EQ(20000, r->written);
	ASSERT_EQ(r->written, r->read + r->flushed);
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(0, info.msgs_queued);
	ASSERT_EQ(0, info.bytes_queued);
	munmap(r, sizeof(*r));
}

TEST_F_TIMEOUT(oob, urgent_jumps_a_full_queue, 120)
{
	struct mbox_msg_header hdr;
	struct mbox_urgent u;
	char buf[64];
	int i, n;

	ASSERT_EQ(0, mbox_set_limits(self->fd, 16, 10000, 10000 * 16));
	for (i = 0; i < 10000; i++)
		ASSERT_EQ(sizeof(i), write(self->fd, &i, sizeof(i)));
	fcntl(self->fd, F_SETFL, O_RDWR | O_NONBLOCK);
	ASSERT_EQ(-1, write(self->fd, &i, sizeof(i)));
	ASSERT_EQ(EAGAIN, errno);

	ASSERT_EQ(0, send_urgent(self->fd, "STOP", 0, 0, 0, &u));
	ASSERT_LT(0, u.seq);
	ASSERT_EQ(0, u.flushed_msgs);
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &n));
	ASSERT_EQ(4, n);
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	ASSERT_EQ(sizeof(hdr) + 4, mbox_recv_hdr(self->fd, &hdr, buf, 64));
	ASSERT_EQ(MBOX_MSG_URGENT, hdr.flags);
	ASSERT_EQ(u.seq, hdr.seq);
	ASSERT_EQ(getpid(), hdr.pid);
	ASSERT_EQ(0, memcmp(buf, "STOP", 4));
	/* Then the normal queue, untouched. */
	ASSERT_EQ(sizeof(hdr) + sizeof(int), mbox_recv_hdr(self->fd, &hdr, buf, 64));
	ASSERT_EQ(0, hdr.flags);
	ASSERT_EQ(0, *(int *)buf);
	ASSERT_EQ(9999, mbox_queued(self->fd));
}

TEST_F(oob, urgent_messages_are_fifo_among_themselves)
{
	struct mbox_urgent u;
	char buf[16];

	ASSERT_EQ(6, write(self->fd, "normal", 6));
	ASSERT_EQ(0, send_urgent(self->fd, "u1", 0, 0, 0, &u));
	ASSERT_EQ(0, send_urgent(self->fd, "u2", 0, 0, 0, &u));
	ASSERT_EQ(0, send_urgent(self->fd, "u3", 0, 0, 0, &u));
	ASSERT_EQ(2, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "u1", 2));
	ASSERT_EQ(2, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "u2", 2));
	ASSERT_EQ(2, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "u3", 2));
	ASSERT_EQ(6, read(self->fd, buf, sizeof(buf)));
}

TEST_F(oob, urgent_reserve_full_is_eagain)
{
	struct mbox_limits lim = { .max_urgent = 2 };
	struct mbox_info info;
	struct mbox_urgent u;
	char buf[16];

	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SET_LIMITS, &lim));
	ASSERT_EQ(0, send_urgent(self->fd, "a", 0, 0, 0, &u));
	ASSERT_EQ(0, send_urgent(self->fd, "b", 0, 0, 0, &u));
	ASSERT_EQ(-1, send_urgent(self->fd, "c", 0, 0, 0, &u));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(2, info.urgent_queued);
	ASSERT_EQ(2, mbox_read_sysfs("/sys/class/mbox/mbox0/urgent_queued"));
	/* Urgent messages do not use the normal queue's room. */
	ASSERT_EQ(0, info.msgs_queued);
	ASSERT_EQ(0, info.bytes_queued);
	ASSERT_EQ(1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, send_urgent(self->fd, "c", 0, 0, 0, &u));
}

TEST_F(oob, urgent_reserve_full_flushes_nothing)
{
	struct mbox_limits lim = { .max_urgent = 2 };
	struct mbox_msg_header hdr;
	struct mbox_urgent u;
	uint64_t last_normal;

	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SET_LIMITS, &lim));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(1, write(self->fd, "n", 1));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_PEEK, &hdr));
	last_normal = hdr.seq + 2;
	ASSERT_EQ(0, send_urgent(self->fd, "a", 0, 0, 0, &u));
	ASSERT_EQ(0, send_urgent(self->fd, "b", 0, 0, 0, &u));
	/* The flush would not free an urgent slot: neither part happens. */
	ASSERT_EQ(-1, send_urgent(self->fd, "c", MBOX_URGENT_FLUSH,
				  MBOX_FLUSH_UP_TO_SEQ, last_normal, &u));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(3, mbox_queued(self->fd));
}

static int send_urgent_len(int fd, size_t len, uint32_t flags,
			   struct mbox_urgent *out)
{
	static char payload[4096];

	memset(payload, 'u', sizeof(payload));
	memset(out, 0, sizeof(*out));
	out->buf = (uintptr_t)payload;
	out->len = len;
	out->flags = flags;
	return ioctl(fd, MBOX_IOC_SEND_URGENT, out);
}

/* The reserve's bytes are bounded too, whatever max_urgent allows. */
TEST_F(oob, urgent_bytes_are_bounded)
{
	struct mbox_limits lim = { .max_urgent = 100, .max_urgent_bytes = 250 };
	struct mbox_info info;
	struct mbox_urgent u;
	char buf[4096];

	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SET_LIMITS, &lim));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(250, info.max_urgent_bytes);
	ASSERT_EQ(250, mbox_read_sysfs("/sys/class/mbox/mbox0/max_urgent_bytes"));
	ASSERT_EQ(0, send_urgent_len(self->fd, 100, 0, &u));
	ASSERT_EQ(0, send_urgent_len(self->fd, 100, 0, &u));
	/* 200 + 51 > 250: refused, nothing queued; 50 fits exactly. */
	ASSERT_EQ(-1, send_urgent_len(self->fd, 51, 0, &u));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(2, info.urgent_queued);
	ASSERT_EQ(200, info.urgent_bytes_queued);
	ASSERT_EQ(200, mbox_read_sysfs("/sys/class/mbox/mbox0/urgent_bytes_queued"));
	ASSERT_EQ(0, send_urgent_len(self->fd, 50, 0, &u));
	ASSERT_EQ(-1, send_urgent_len(self->fd, 1, 0, &u));
	ASSERT_EQ(EAGAIN, errno);
	/* A read gives its bytes back. */
	ASSERT_EQ(100, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(150, info.urgent_bytes_queued);
	ASSERT_EQ(0, send_urgent_len(self->fd, 100, 0, &u));
	/* A flush gives back what it removes. */
	ASSERT_EQ(0, do_flush(self->fd, 0, 0, &(struct mbox_flush){ 0 }));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(0, info.urgent_queued);
	ASSERT_EQ(0, info.urgent_bytes_queued);
}

/*
 * An empty reserve takes one message larger than max_urgent_bytes (up to
 * max_msg_size), so lowering the bound never silences urgent messages.
 */
TEST_F(oob, empty_urgent_reserve_takes_one_large_message)
{
	struct mbox_limits lim = { .max_urgent_bytes = 10 };
	struct mbox_info info;
	struct mbox_urgent u;
	char buf[4096];

	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SET_LIMITS, &lim));
	ASSERT_EQ(0, send_urgent_len(self->fd, 4000, 0, &u));
	ASSERT_EQ(-1, send_urgent_len(self->fd, 1, 0, &u));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(4000, info.urgent_bytes_queued);
	ASSERT_EQ(4000, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, send_urgent_len(self->fd, 10, 0, &u));
}

/* A flush that frees the bytes an urgent message needs lets it in. */
TEST_F(oob, urgent_flush_frees_urgent_bytes_first)
{
	struct mbox_limits lim = { .max_urgent_bytes = 300 };
	struct mbox_info info;
	struct mbox_urgent u;

	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SET_LIMITS, &lim));
	ASSERT_EQ(0, send_urgent_len(self->fd, 200, 0, &u));
	ASSERT_EQ(-1, send_urgent_len(self->fd, 200, 0, &u));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, send_urgent_len(self->fd, 200, MBOX_URGENT_FLUSH, &u));
	ASSERT_EQ(1, u.flushed_msgs);
	ASSERT_EQ(200, u.flushed_bytes);
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(1, info.urgent_queued);
	ASSERT_EQ(200, info.urgent_bytes_queued);
}

TEST_F(oob, urgent_bytes_limit_is_checked)
{
	struct mbox_limits lim = { .max_urgent_bytes = MBOX_MAX_BYTES_LIMIT + 1 };
	struct mbox_info info;

	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SET_LIMITS, &lim));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(mbox_param("max_urgent_bytes"), info.max_urgent_bytes);
	lim.max_urgent_bytes = MBOX_MAX_BYTES_LIMIT;
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SET_LIMITS, &lim));
}

TEST_F(oob, urgent_rejects_bad_arguments)
{
	struct mbox_urgent u;
	char *big;
	int ro;

	memset(&u, 0, sizeof(u));
	u.buf = (uintptr_t)"x";
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SEND_URGENT, &u));	/* len 0 */
	ASSERT_EQ(EINVAL, errno);
	big = calloc(1, mbox_param("max_msg_size") + 1);
	ASSERT_NE(NULL, big);
	memset(big, 'b', mbox_param("max_msg_size") + 1);
	ASSERT_EQ(-1, send_urgent(self->fd, big, 0, 0, 0, &u));
	ASSERT_EQ(EMSGSIZE, errno);
	free(big);
	u.buf = 8;
	u.len = 4;
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SEND_URGENT, &u));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, send_urgent(self->fd, "x", 0x80, 0, 0, &u));
	ASSERT_EQ(EINVAL, errno);
	/* Flush selectors without MBOX_URGENT_FLUSH make no sense. */
	ASSERT_EQ(-1, send_urgent(self->fd, "x", 0, MBOX_FLUSH_MINE, 0, &u));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, send_urgent(self->fd, "x", MBOX_URGENT_FLUSH, 0x80, 0, &u));
	ASSERT_EQ(EINVAL, errno);
	memset(&u, 0, sizeof(u));
	u.buf = (uintptr_t)"x";
	u.len = 1;
	u.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SEND_URGENT, &u));
	ASSERT_EQ(EINVAL, errno);
	ro = open(MBOX_DEV(0), O_RDONLY);
	ASSERT_LE(0, ro);
	ASSERT_EQ(-1, send_urgent(ro, "x", 0, 0, 0, &u));
	ASSERT_EQ(EBADF, errno);
	close(ro);
	/* None of that queued anything. */
	ASSERT_EQ(0, mbox_queued(self->fd));
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_PEEK, &(struct mbox_msg_header){ 0 }));
	ASSERT_EQ(ENOMSG, errno);
}

static int other_flushes_and_sends_urgent(int unused)
{
	int fd = open(MBOX_DEV(0), O_WRONLY);
	struct mbox_urgent u;

	if (fd < 0)
		return 1;
	/* A writer may not flush other senders' messages... */
	if (send_urgent(fd, "abort", MBOX_URGENT_FLUSH, 0, 0, &u) != -1 ||
	    errno != EPERM)
		return 2;
	/* ...but it may cancel its own, and tell why, in one step. */
	if (send_urgent(fd, "abort", MBOX_URGENT_FLUSH, MBOX_FLUSH_MINE, 0, &u))
		return 3;
	if (u.flushed_msgs != 3 || u.flushed_bytes != 30)
		return 4;
	return 0;
}

TEST_F(oob, flush_and_urgent_in_one_step)
{
	struct mbox_msg_header hdr;
	char buf[64];

	ASSERT_EQ(4, write(self->fd, "keep", 4));
	ASSERT_EQ(0, as_other_user(self->fd, other_writes_three));
	ASSERT_EQ(0, as_other_user(self->fd, other_flushes_and_sends_urgent));
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	ASSERT_EQ(sizeof(hdr) + 5, mbox_recv_hdr(self->fd, &hdr, buf, 64));
	ASSERT_EQ(MBOX_MSG_URGENT, hdr.flags);
	ASSERT_EQ(OTHER_UID, hdr.uid);
	ASSERT_EQ(sizeof(hdr) + 4, mbox_recv_hdr(self->fd, &hdr, buf, 64));
	ASSERT_EQ(0, memcmp(buf, "keep", 4));
	ASSERT_EQ(0, mbox_queued(self->fd));
}

/*
 * A reader that keeps reading while the writer floods and then aborts:
 * once it has seen the urgent message, it never sees one of the messages
 * the same call flushed.
 */
struct abort_ctx {
	int fd;
	uint64_t urgent_seq;
	int stale_after_urgent;
	int got_urgent;
};

static void *abort_reader(void *arg)
{
	struct abort_ctx *c = arg;
	struct mbox_msg_header hdr;
	char buf[64];
	int fd = open(MBOX_DEV(0), O_RDONLY);
	struct mbox_mode mode = { .flags = MBOX_MODE_HEADER };

	ioctl(fd, MBOX_IOC_SET_MODE, &mode);
	for (;;) {
		if (mbox_recv_hdr(fd, &hdr, buf, 64) <= 0)
			break;
		if (hdr.flags & MBOX_MSG_URGENT) {
			c->got_urgent = 1;
			c->urgent_seq = hdr.seq;
			continue;
		}
		if (!memcmp(buf, "end", 3))
			break;
		if (c->got_urgent)
			c->stale_after_urgent++;
	}
	close(fd);
	return NULL;
}

TEST_F(oob, no_flushed_message_is_read_after_the_urgent_one)
{
	struct abort_ctx c = { .fd = self->fd };
	struct mbox_urgent u;
	pthread_t t;
	int i;

	ASSERT_EQ(0, pthread_create(&t, NULL, abort_reader, &c));
	for (i = 0; i < 2000; i++)
		ASSERT_EQ(7, write(self->fd, "request", 7));
	ASSERT_EQ(0, send_urgent(self->fd, "abort", MBOX_URGENT_FLUSH,
				 MBOX_FLUSH_MINE, 0, &u));
	ASSERT_EQ(3, write(self->fd, "end", 3));
	ASSERT_EQ(0, pthread_join(t, NULL));
	TH_LOG("flushed %llu of 2000 requests", (unsigned long long)u.flushed_msgs);
	ASSERT_EQ(1, c.got_urgent);
	ASSERT_EQ(u.seq, c.urgent_seq);
	ASSERT_EQ(0, c.stale_after_urgent);
}

TEST_F(oob, pollpri_while_an_urgent_message_is_queued)
{
	struct pollfd p = { .fd = self->fd, .events = POLLIN | POLLPRI };
	struct epoll_event ev = { .events = EPOLLPRI };
	struct mbox_urgent u;
	char buf[16];
	int ep;

	ASSERT_EQ(1, write(self->fd, "n", 1));
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLIN, p.revents);
	ep = epoll_create1(0);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));

	ASSERT_EQ(0, send_urgent(self->fd, "u", 0, 0, 0, &u));
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLIN | POLLPRI, p.revents);
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	ASSERT_EQ(EPOLLPRI, ev.events);

	/* Reading the urgent message clears POLLPRI, not POLLIN. */
	ASSERT_EQ(1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ('u', buf[0]);
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLIN, p.revents);
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	close(ep);
}

TEST_F(oob, urgent_wakes_a_poller_waiting_for_pri)
{
	struct pollfd p = { .fd = self->fd, .events = POLLPRI };
	struct mbox_urgent u;
	int status;
	pid_t pid;

	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		usleep(200000);
		_exit(send_urgent(self->fd, "now", 0, 0, 0, &u) ? 1 : 0);
	}
	ASSERT_EQ(1, poll(&p, 1, mbox_scaled_ms(MBOX_WAIT_MS)));
	ASSERT_EQ(POLLPRI, p.revents);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/*
 * A message a reader has detached and is copying out when a flush comes
 * (issue 15, item 4).  userfaultfd parks the reader's copy with the
 * message detached; then the flush (or the urgent abort) happens; then the
 * copy is made to fail (the page turns read-only) or to succeed.  A copy
 * that fails must not bring the flushed message back: before, it returned
 * to the queue behind the urgent abort it was meant to be cancelled by.
 */
/* struct parked_read and parked_reader(): mbox_test.h. */

enum park_flush { PARK_FLUSH, PARK_URGENT_FLUSH };

/*
 * Queue "request", park a read of it, flush as @how says, then let the
 * copy fail (@fail) or succeed.  Returns the reader's read() in @p, the
 * flush's result in @removed.  1: no userfaultfd here (skip).
 */
static int flush_during_a_parked_read(struct __test_metadata *_metadata,
				      int fd, enum park_flush how, bool fail,
				      struct parked_read *p, uint64_t *removed)
{
	struct mbox_urgent urg;
	struct mbox_flush fl;
	struct mbox_info info;
	pthread_t reader;
	int uffd;

	ASSERT_EQ(7, write(fd, "request", 7));
	p->fd = fd;
	p->buf = mbox_uffd_page(&uffd);
	if (!p->buf && errno == ENOSYS)
		return 1;
	ASSERT_NE(NULL, p->buf);
	ASSERT_EQ(0, pthread_create(&reader, NULL, parked_reader, p));
	/* The reader has taken "request" off the queue and is copying it. */
	ASSERT_EQ(0, mbox_uffd_wait_fault(uffd));
	ASSERT_EQ(0, mbox_info(fd, &info));
	ASSERT_EQ(1, info.msgs_queued);

	if (how == PARK_FLUSH) {
		ASSERT_EQ(0, do_flush(fd, 0, 0, &fl));
		*removed = fl.flushed_msgs;
	} else {
		ASSERT_EQ(0, send_urgent(fd, "abort", MBOX_URGENT_FLUSH, 0, 0,
					 &urg));
		*removed = urg.flushed_msgs;
	}

	if (fail) {
		ASSERT_EQ(0, mbox_uffd_fail(uffd, p->buf));
	} else {
		ASSERT_EQ(0, mbox_uffd_resolve(uffd, p->buf, 'x'));
	}
	ASSERT_EQ(0, pthread_join(reader, NULL));
	close(uffd);
	return 0;
}

TEST_F(oob, urgent_abort_discards_a_message_whose_copy_fails)
{
	struct mbox_info before, after;
	struct parked_read p;
	uint64_t removed;
	char buf[64];
	int nb;

	ASSERT_EQ(0, mbox_info(self->fd, &before));
	if (flush_during_a_parked_read(_metadata, self->fd, PARK_URGENT_FLUSH,
				       true, &p, &removed))
		SKIP(return, "no userfaultfd in this kernel (ENOSYS)");
	/* Not queued when the abort came: not in its result. */
	ASSERT_EQ(0, removed);
	ASSERT_EQ(-1, p.ret);
	ASSERT_EQ(EFAULT, p.err);
	/* The abort, and nothing after it. */
	ASSERT_EQ(5, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "abort", 5));
	nb = open(MBOX_DEV(0), O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, nb);
	EXPECT_EQ(-1, read(nb, buf, sizeof(buf))) {
		TH_LOG("the aborted request came back after the abort: %.*s",
		       7, buf);
	}
	EXPECT_EQ(EAGAIN, errno);
	close(nb);
	/* It was flushed when it came back: counted with the flushed. */
	ASSERT_EQ(0, mbox_info(self->fd, &after));
	EXPECT_EQ(0, after.msgs_queued);
	EXPECT_EQ(0, after.urgent_queued);
	EXPECT_EQ(before.flushed_msgs + 1, after.flushed_msgs);
	EXPECT_EQ(before.flushed_bytes + 7, after.flushed_bytes);
	munmap(p.buf, 4096);
}

TEST_F(oob, flush_discards_a_message_whose_copy_fails)
{
	struct mbox_info before, after;
	struct parked_read p;
	uint64_t removed;

	ASSERT_EQ(0, mbox_info(self->fd, &before));
	if (flush_during_a_parked_read(_metadata, self->fd, PARK_FLUSH, true,
				       &p, &removed))
		SKIP(return, "no userfaultfd in this kernel (ENOSYS)");
	ASSERT_EQ(0, removed);
	ASSERT_EQ(-1, p.ret);
	ASSERT_EQ(EFAULT, p.err);
	ASSERT_EQ(0, mbox_info(self->fd, &after));
	EXPECT_EQ(0, after.msgs_queued) {
		TH_LOG("the flushed request is back in the queue");
	}
	EXPECT_EQ(before.flushed_msgs + 1, after.flushed_msgs);
	EXPECT_EQ(before.total_dequeued, after.total_dequeued);
	munmap(p.buf, 4096);
}

/* A copy that succeeds delivers the message: it was read before the flush. */
TEST_F(oob, a_message_being_copied_when_flushed_is_delivered_if_the_copy_works)
{
	struct mbox_info before, after;
	struct parked_read p;
	uint64_t removed;
	char buf[64];

	ASSERT_EQ(0, mbox_info(self->fd, &before));
	if (flush_during_a_parked_read(_metadata, self->fd, PARK_URGENT_FLUSH,
				       false, &p, &removed))
		SKIP(return, "no userfaultfd in this kernel (ENOSYS)");
	ASSERT_EQ(0, removed);
	ASSERT_EQ(7, p.ret);
	ASSERT_EQ(0, memcmp(p.buf, "request", 7));
	ASSERT_EQ(5, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "abort", 5));
	ASSERT_EQ(0, mbox_info(self->fd, &after));
	EXPECT_EQ(0, after.msgs_queued);
	EXPECT_EQ(before.flushed_msgs, after.flushed_msgs);
	EXPECT_EQ(before.total_dequeued + 2, after.total_dequeued);
	munmap(p.buf, 4096);
}

/*
 * Review item 3: an O_NONBLOCK SEND_URGENT with MBOX_URGENT_FLUSH does not
 * wait for another flush in progress (which can walk a million messages
 * for a write-only opener): EAGAIN, and nothing sent or flushed.  Forced
 * on CPU 0: the main thread flushes UP_TO_SEQ over more than one chunk;
 * its first chunk frees room and serves a SCHED_FIFO writer blocked on a
 * full mailbox, which preempts the flush at the chunk boundary (the flush
 * holds its lock from start to end) and sends the urgent abort.
 */
#define NB_FILL		(3 * 256)

struct urgent_behind_flush {
	int wfd;		/* blocking, for the write that waits */
	int nbfd;		/* O_NONBLOCK, for the urgent abort */
	ssize_t wret;
	bool plain;		/* MBOX_IOC_FLUSH instead of the abort */
	int uret;
	int uerr;
	struct mbox_urgent urg;
	struct mbox_flush fl;
};

static void *fifo_writer_then_urgent(void *arg)
{
	struct urgent_behind_flush *u = arg;

	u->uret = -2;
	if (mbox_pin_cpu(0) || mbox_set_fifo(1))
		return NULL;
	u->wret = write(u->wfd, "w", 1);
	if (u->plain)
		u->uret = do_flush(u->nbfd, 0, 0, &u->fl);
	else
		u->uret = send_urgent(u->nbfd, "abort", MBOX_URGENT_FLUSH, 0,
				      0, &u->urg);
	u->uerr = errno;
	return NULL;
}

static void flush_behind_a_flush(struct __test_metadata *_metadata, int fd,
				 bool plain)
{
	struct urgent_behind_flush u = { .plain = plain };
	struct mbox_info info;
	struct mbox_flush fl;
	pthread_t w;
	uint64_t first;
	int i;

	ASSERT_EQ(0, mbox_set_limits(fd, 0, NB_FILL, 0));
	ASSERT_EQ(0, mbox_info(fd, &info));
	first = info.next_seq;
	for (i = 0; i < NB_FILL; i++)
		ASSERT_EQ(1, write(fd, "m", 1));
	u.wfd = open(MBOX_DEV(0), O_WRONLY);
	ASSERT_LE(0, u.wfd);
	u.nbfd = open(MBOX_DEV(0), O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, u.nbfd);

	ASSERT_EQ(0, mbox_pin_cpu(0));
	ASSERT_EQ(0, pthread_create(&w, NULL, fifo_writer_then_urgent, &u));
	ASSERT_EQ(0, mbox_wait_writers(fd, 1));
	ASSERT_EQ(0, do_flush(fd, MBOX_FLUSH_UP_TO_SEQ,
			      first + NB_FILL - 1, &fl));
	ASSERT_EQ(0, pthread_join(w, NULL));
	ASSERT_EQ(NB_FILL, fl.flushed_msgs);
	ASSERT_EQ(1, u.wret);
	EXPECT_EQ(-1, u.uret) {
		TH_LOG("the %s waited for the flush in progress",
		       plain ? "flush" : "urgent abort");
	}
	EXPECT_EQ(EAGAIN, u.uerr);
	/* Nothing sent, nothing flushed by it: the writer's message stays. */
	ASSERT_EQ(0, mbox_info(fd, &info));
	EXPECT_EQ(0, info.urgent_queued);
	EXPECT_EQ(1, info.msgs_queued);
	close(u.nbfd);
	close(u.wfd);
}

TEST_F_TIMEOUT(oob, nonblocking_urgent_flush_does_not_wait_for_a_flush, 300)
{
	flush_behind_a_flush(_metadata, self->fd, false);
}

TEST_F_TIMEOUT(oob, nonblocking_flush_does_not_wait_for_a_flush, 300)
{
	flush_behind_a_flush(_metadata, self->fd, true);
}

/*
 * Review item 7: a chunk of a flush that removed nothing and served no
 * writer freed no room: it must not wake the EPOLLOUT pollers.  An
 * edge-triggered epoll item reports each wake-up that finds the file
 * writable; a FLUSH_MINE by another user walks three chunks of root's
 * messages and removes none.
 */
static int other_flushes_mine(int unused)
{
	struct mbox_flush fl;
	int fd = open(MBOX_DEV(0), O_WRONLY);

	if (fd < 0)
		return 1;
	if (do_flush(fd, MBOX_FLUSH_MINE, 0, &fl))
		return 2;
	return fl.flushed_msgs ? 3 : 0;
}

TEST_F(oob, a_flush_that_removes_nothing_wakes_no_epollout_poller)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };
	int ep, i;

	for (i = 0; i < 3 * 256 + 1; i++)
		ASSERT_EQ(1, write(self->fd, "m", 1));
	ep = epoll_create1(0);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	/* The first report; then none until a wake-up. */
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	ASSERT_EQ(0, as_other_user(self->fd, other_flushes_mine));
	EXPECT_EQ(0, epoll_wait(ep, &ev, 1, 0)) {
		TH_LOG("a flush that removed nothing woke the EPOLLOUT pollers");
	}
	close(ep);
}

/*
 * Issue 15, item 5: a flush does bounded work under the mailbox lock.
 * FLUSH_MINE needs only a write-only file, and walks every queued message
 * to find its own.  On a mailbox of BIG_QUEUE messages, half of them the
 * flusher's (in runs of 128), another thread (on the other CPU if there
 * is one) samples msgs_queued (which takes the lock) while the flush
 * runs: it must see the removals land in steps, i.e. get the lock
 * between them.  Before, the walk held the spinlock from start to end:
 * the sampler saw BIG_QUEUE, then BIG_QUEUE minus everything, never a
 * value in between.  Counted in samples, not time.
 */
#define BIG_QUEUE	(64 * 1024)
#define FLUSH_STEPS	10

struct flusher {
	int fd;
	volatile int state;	/* 0 before, 1 during, 2 after the ioctl */
	struct mbox_flush fl;
	int ret;
};

static void *flusher_thread(void *arg)
{
	struct flusher *f = arg;

	mbox_pin_cpu(0);
	f->state = 1;
	f->ret = do_flush(f->fd, MBOX_FLUSH_MINE, 0, &f->fl);
	f->state = 2;
	return NULL;
}

TEST_F_TIMEOUT(oob, a_long_flush_lets_others_take_the_lock, 600)
{
	static struct mbox_batch_entry e[128];
	struct flusher f = { 0 };
	struct mbox_batch b = {
		.entries = (uintptr_t)e,
		.count = 128,
		.entry_size = sizeof(e[0]),
	};
	int i, steps = 0, samples = 0, sampler_cpu;
	struct mbox_info info;
	char c = 'x';
	pthread_t t;

	/*
	 * With one CPU (the debug lane may have only one online) both share
	 * it: the flusher can only let the sampler run between chunks, as a
	 * walk under a spinlock cannot be preempted.
	 */
	sampler_cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
	ASSERT_EQ(0, mbox_set_limits(self->fd, 64, BIG_QUEUE, BIG_QUEUE));
	/* A write-only file opened as another user: its messages are "mine". */
	ASSERT_EQ(0, seteuid(OTHER_UID));
	f.fd = open(MBOX_DEV(0), O_WRONLY);
	ASSERT_EQ(0, seteuid(0));
	ASSERT_LE(0, f.fd);
	for (i = 0; i < 128; i++) {
		e[i].buf = (uintptr_t)&c;
		e[i].len = 1;
	}
	for (i = 0; i < BIG_QUEUE / 128; i++)
		ASSERT_EQ(128, ioctl(i % 2 ? f.fd : self->fd,
				     MBOX_IOC_SEND_BATCH, &b));
	ASSERT_EQ(BIG_QUEUE, mbox_queued(self->fd));

	ASSERT_EQ(0, mbox_pin_cpu(sampler_cpu));
	ASSERT_EQ(0, pthread_create(&t, NULL, flusher_thread, &f));
	while (f.state != 2) {
		ASSERT_EQ(0, mbox_info(self->fd, &info));
		samples++;
		steps += info.msgs_queued > BIG_QUEUE / 2 &&
			 info.msgs_queued < BIG_QUEUE;
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, f.ret);
	ASSERT_EQ(BIG_QUEUE / 2, f.fl.flushed_msgs);
	ASSERT_EQ(BIG_QUEUE / 2, mbox_queued(self->fd));
	TH_LOG("%d of %d samples saw the flush half done", steps, samples);
	ASSERT_LE(FLUSH_STEPS, steps) {
		TH_LOG("the flush held the lock for its whole walk");
	}
	close(f.fd);
	ASSERT_EQ(0, mbox_reset(self->fd));
}

TEST_HARNESS_MAIN
