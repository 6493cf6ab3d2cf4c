// SPDX-License-Identifier: GPL-2.0
/*
 * Acknowledged delivery: in ack mode a read() only leases its message;
 * acknowledging removes it, and a reader that dies (or hands it back)
 * returns it to the head of the queue, flagged redelivered.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

static int set_ack_mode(int fd, uint32_t max_inflight)
{
	struct mbox_mode mode = {
		.flags = MBOX_MODE_ACK | MBOX_MODE_HEADER,
		.max_inflight = max_inflight,
	};

	return ioctl(fd, MBOX_IOC_SET_MODE, &mode);
}

static int ack(int fd, unsigned long req, uint64_t seq, uint32_t flags)
{
	struct mbox_ack a = { .seq = seq, .flags = flags };

	return ioctl(fd, req, &a);
}

/* Read one message in header mode; returns its payload as an int. */
static int recv_int(int fd, struct mbox_msg_header *hdr)
{
	int v = -1;

	if (mbox_recv_hdr(fd, hdr, &v, sizeof(v)) != sizeof(*hdr) + sizeof(v))
		return -1;
	return v;
}

FIXTURE(ack) {
	int fd;		/* a plain reader/writer */
	int rd;		/* a reader in ack mode */
};

FIXTURE_SETUP(ack)
{
	self->fd = mbox_open_reset(1, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	self->rd = open(MBOX_DEV(1), O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, self->rd);
	ASSERT_EQ(0, set_ack_mode(self->rd, 0));
}

FIXTURE_TEARDOWN(ack)
{
	close(self->rd);
	close(self->fd);
}

static void send_ints(struct __test_metadata *_metadata, int fd, int from,
		      int to)
{
	for (int i = from; i < to; i++)
		ASSERT_EQ(sizeof(i), write(fd, &i, sizeof(i)));
}

TEST_F(ack, a_leased_message_is_hidden_until_acknowledged)
{
	struct mbox_msg_header hdr;
	struct mbox_info before, info;
	struct mbox_mode mode;
	char buf[16];
	int n = -1;

	ASSERT_EQ(0, ioctl(self->rd, MBOX_IOC_GET_MODE, &mode));
	ASSERT_EQ(MBOX_MODE_ACK | MBOX_MODE_HEADER, mode.flags);
	ASSERT_EQ(MBOX_DEFAULT_INFLIGHT, mode.max_inflight);
	ASSERT_EQ(0, mbox_info(self->fd, &before));
	send_ints(_metadata, self->fd, 7, 8);
	ASSERT_EQ(7, recv_int(self->rd, &hdr));
	ASSERT_EQ(1, hdr.delivery_count);
	ASSERT_EQ(0, hdr.flags);

	/* In flight: charged, but invisible to everyone else. */
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(1, info.msgs_queued);
	ASSERT_EQ(sizeof(int), info.bytes_queued);
	ASSERT_EQ(1, info.inflight);
	ASSERT_EQ(1, mbox_read_sysfs("/sys/class/mbox/mbox1/inflight"));
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &n));
	ASSERT_EQ(0, n);
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_PEEK, &hdr));
	ASSERT_EQ(ENOMSG, errno);
	ASSERT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);

	ASSERT_EQ(0, ack(self->rd, MBOX_IOC_ACK, hdr.seq, 0));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(0, info.msgs_queued);
	ASSERT_EQ(0, info.bytes_queued);
	ASSERT_EQ(0, info.inflight);
	ASSERT_EQ(before.total_dequeued + 1, info.total_dequeued);
}

TEST_F(ack, bad_acknowledgments)
{
	struct mbox_msg_header hdr;
	struct mbox_ack a = { 0 };
	int other;

	/* Not in ack mode and holding nothing: a misuse. */
	ASSERT_EQ(-1, ack(self->fd, MBOX_IOC_ACK, 1, 0));
	ASSERT_EQ(EINVAL, errno);
	send_ints(_metadata, self->fd, 0, 2);
	ASSERT_EQ(0, recv_int(self->rd, &hdr));
	/* Unknown seq. */
	ASSERT_EQ(-1, ack(self->rd, MBOX_IOC_ACK, hdr.seq + 100, 0));
	ASSERT_EQ(ENOENT, errno);
	/* Leased to another file. */
	other = open(MBOX_DEV(1), O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, set_ack_mode(other, 0));
	ASSERT_EQ(-1, ack(other, MBOX_IOC_ACK, hdr.seq, 0));
	ASSERT_EQ(ENOENT, errno);
	/* Bad flags and reserved fields. */
	ASSERT_EQ(-1, ack(self->rd, MBOX_IOC_ACK, hdr.seq, 0x80));
	ASSERT_EQ(EINVAL, errno);
	a.seq = hdr.seq;
	a.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->rd, MBOX_IOC_ACK, &a));
	ASSERT_EQ(EINVAL, errno);
	/* Twice. */
	ASSERT_EQ(0, ack(self->rd, MBOX_IOC_ACK, hdr.seq, 0));
	ASSERT_EQ(-1, ack(self->rd, MBOX_IOC_ACK, hdr.seq, 0));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(-1, ack(self->rd, MBOX_IOC_NACK, hdr.seq, 0));
	ASSERT_EQ(ENOENT, errno);
	/* max_inflight out of range. */
	ASSERT_EQ(-1, set_ack_mode(other, MBOX_MAX_INFLIGHT_LIMIT + 1));
	ASSERT_EQ(EINVAL, errno);
	close(other);
	ASSERT_EQ(1, mbox_queued(self->fd));
}

TEST_F(ack, ack_up_to_a_seq)
{
	struct mbox_msg_header hdr;
	uint64_t third = 0;
	struct mbox_info info;

	send_ints(_metadata, self->fd, 0, 5);
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(i, recv_int(self->rd, &hdr));
		if (i == 2)
			third = hdr.seq;
	}
	ASSERT_EQ(0, ack(self->rd, MBOX_IOC_ACK, third, MBOX_ACK_UP_TO));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(2, info.inflight);
	ASSERT_EQ(2, info.msgs_queued);
}

TEST_F(ack, killed_reader_messages_come_back_first_in_order)
{
	struct mbox_msg_header hdr;
	int sync[2], i;
	pid_t pid;

	send_ints(_metadata, self->fd, 0, 20);
	ASSERT_EQ(0, pipe(sync));
	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mbox_msg_header h;
		uint64_t fifth = 0;
		int fd = open(MBOX_DEV(1), O_RDONLY);

		if (fd < 0 || set_ack_mode(fd, 0))
			_exit(1);
		for (i = 0; i < 10; i++) {
			if (recv_int(fd, &h) != i)
				_exit(2);
			if (i == 4)
				fifth = h.seq;
		}
		if (ack(fd, MBOX_IOC_ACK, fifth, MBOX_ACK_UP_TO))
			_exit(3);
		if (write(sync[1], "k", 1) != 1)
			_exit(4);
		pause();
		_exit(0);
	}
	ASSERT_EQ(0, mbox_kill_when_ready(pid, sync[0]));

	/* 5..9 first, flagged, second delivery; then 10..19 as usual. */
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	for (i = 5; i < 20; i++) {
		ASSERT_EQ(i, recv_int(self->fd, &hdr));
		if (i < 10) {
			ASSERT_EQ(MBOX_MSG_REDELIVERED, hdr.flags);
			ASSERT_EQ(2, hdr.delivery_count);
		} else {
			ASSERT_EQ(0, hdr.flags);
			ASSERT_EQ(1, hdr.delivery_count);
		}
	}
	ASSERT_EQ(0, mbox_queued(self->fd));
	close(sync[0]);
	close(sync[1]);
}

TEST_F(ack, nack_hands_a_message_back_to_the_head)
{
	struct mbox_msg_header hdr;
	uint64_t second = 0;

	send_ints(_metadata, self->fd, 0, 4);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(i, recv_int(self->rd, &hdr));
		if (i == 1)
			second = hdr.seq;
	}
	ASSERT_EQ(0, ack(self->rd, MBOX_IOC_NACK, second, 0));
	ASSERT_EQ(1, recv_int(self->rd, &hdr));
	ASSERT_EQ(MBOX_MSG_REDELIVERED, hdr.flags);
	ASSERT_EQ(2, hdr.delivery_count);
	ASSERT_EQ(3, recv_int(self->rd, &hdr));
}

TEST_F(ack, inflight_limit_per_file)
{
	struct mbox_msg_header hdr;
	int rd;

	/* A blocking file still gets EAGAIN: only an ack makes room. */
	rd = open(MBOX_DEV(1), O_RDONLY);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, set_ack_mode(rd, 3));
	send_ints(_metadata, self->fd, 0, 5);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(i, recv_int(rd, &hdr));
	ASSERT_EQ(-1, recv_int(rd, &hdr));
	ASSERT_EQ(EAGAIN, errno);
	/* Other files are not limited by this one's leases. */
	ASSERT_EQ(3, recv_int(self->rd, &hdr));
	ASSERT_EQ(0, ack(self->rd, MBOX_IOC_ACK, hdr.seq, 0));
	ASSERT_EQ(0, ack(rd, MBOX_IOC_ACK, ~0ULL, MBOX_ACK_UP_TO));
	ASSERT_EQ(4, recv_int(rd, &hdr));
	close(rd);
	/* Closed with a lease: it comes back. */
	ASSERT_EQ(1, mbox_queued(self->fd));
}

TEST_F(ack, no_pollin_at_the_lease_limit)
{
	struct pollfd p = { .fd = self->rd, .events = POLLIN };
	struct mbox_msg_header hdr;

	ASSERT_EQ(0, set_ack_mode(self->rd, 1));
	send_ints(_metadata, self->fd, 0, 2);
	ASSERT_EQ(0, recv_int(self->rd, &hdr));
	/* A message is queued, but this file cannot read it yet. */
	ASSERT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(0, ack(self->rd, MBOX_IOC_ACK, hdr.seq, 0));
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLIN, p.revents);
}

/*
 * Issue 15, item 5: changing the mode can make the file readable (a
 * higher max_inflight, or leaving ack mode, at the lease limit), and must
 * wake its pollers.  An epoll item is only polled again when woken, so
 * epoll_wait(0) sees the change only if MBOX_IOC_SET_MODE woke it.
 */
static int epoll_in(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(0);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		return -1;
	return ep;
}

TEST_F(ack, set_mode_that_makes_the_file_readable_wakes_pollers)
{
	struct mbox_mode plain = { .flags = MBOX_MODE_HEADER };
	struct mbox_msg_header hdr;
	struct epoll_event ev;
	int ep;

	ASSERT_EQ(0, set_ack_mode(self->rd, 1));
	send_ints(_metadata, self->fd, 0, 3);
	ASSERT_EQ(0, recv_int(self->rd, &hdr));
	ep = epoll_in(self->rd);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	/* Room for a second lease: readable. */
	ASSERT_EQ(0, set_ack_mode(self->rd, 2));
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 0)) {
		TH_LOG("raising max_inflight woke no poller");
	}
	ASSERT_EQ(1, recv_int(self->rd, &hdr));
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));
	/* Leaving ack mode (the leases stay): readable. */
	ASSERT_EQ(0, ioctl(self->rd, MBOX_IOC_SET_MODE, &plain));
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 0)) {
		TH_LOG("leaving ack mode woke no poller");
	}
	ASSERT_EQ(2, recv_int(self->rd, &hdr));
	close(ep);
}

/*
 * A read in ack mode holds a lease slot while it copies, so a file at its
 * limit (max_inflight 1) hides EPOLLIN during the copy.  If a flush
 * selects the message meanwhile and the copy then fails, the message is
 * discarded and the slot freed: the file can read the next message again,
 * and its EPOLLIN pollers must be woken (an EPOLLOUT-only wake-up skips
 * them).  The copy is parked on a userfaultfd page while the flush runs.
 */
/* struct parked_read and parked_reader(): mbox_test.h. */

/* 1: no userfaultfd here (skip). */
static int discarded_copy_wakes_pollin(struct __test_metadata *_metadata,
				       int fd, int rd, bool urgent)
{
	struct mbox_urgent urg = { .buf = (uintptr_t)"A", .len = 1 };
	struct parked_read p = { .fd = rd };
	struct mbox_flush fl = { .flags = MBOX_FLUSH_UP_TO_SEQ };
	struct mbox_info info;
	struct epoll_event ev;
	pthread_t reader;
	uint64_t seq_a;
	int uffd, ep;

	ASSERT_EQ(0, set_ack_mode(rd, 1));
	ASSERT_EQ(0, mbox_info(fd, &info));
	seq_a = info.next_seq;
	if (urgent) {
		ASSERT_EQ(0, ioctl(fd, MBOX_IOC_SEND_URGENT, &urg));
		ASSERT_EQ(seq_a, urg.seq);
	} else {
		ASSERT_EQ(1, write(fd, "A", 1));
	}
	ASSERT_EQ(1, write(fd, "B", 1));

	p.buf = mbox_uffd_page(&uffd);
	if (!p.buf && errno == ENOSYS)
		return 1;
	ASSERT_NE(NULL, p.buf);
	ASSERT_EQ(0, pthread_create(&reader, NULL, parked_reader, &p));
	/* A is detached and being copied: the file is at its limit. */
	ASSERT_EQ(0, mbox_uffd_wait_fault(uffd));
	ep = epoll_in(rd);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));

	/* Selects A, which is on no queue: nothing removed, nothing woken. */
	fl.up_to_seq = seq_a;
	ASSERT_EQ(0, ioctl(fd, MBOX_IOC_FLUSH, &fl));
	ASSERT_EQ(0, fl.flushed_msgs);
	ASSERT_EQ(0, epoll_wait(ep, &ev, 1, 0));

	/* The copy fails: A is discarded, the lease slot is free again. */
	ASSERT_EQ(0, mbox_uffd_fail(uffd, p.buf));
	ASSERT_EQ(0, pthread_join(reader, NULL));
	ASSERT_EQ(-1, p.ret);
	ASSERT_EQ(EFAULT, p.err);
	ASSERT_EQ(1, mbox_queued(fd));

	/* An epoll item is polled again only when woken. */
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 0)) {
		TH_LOG("the discarded copy freed the lease slot but woke no EPOLLIN poller");
	}
	ASSERT_EQ(EPOLLIN, ev.events);
	close(ep);
	close(uffd);
	munmap(p.buf, 4096);
	return 0;
}

TEST_F(ack, a_discarded_copy_wakes_pollin_at_the_lease_limit)
{
	if (discarded_copy_wakes_pollin(_metadata, self->fd, self->rd, false))
		SKIP(return, "no userfaultfd in this kernel (ENOSYS)");
}

TEST_F(ack, a_discarded_urgent_copy_wakes_pollin_at_the_lease_limit)
{
	if (discarded_copy_wakes_pollin(_metadata, self->fd, self->rd, true))
		SKIP(return, "no userfaultfd in this kernel (ENOSYS)");
}

TEST_F(ack, inflight_messages_count_against_capacity)
{
	struct mbox_msg_header hdr;
	int i = 9;

	ASSERT_EQ(0, mbox_set_limits(self->fd, 16, 2, 32));
	send_ints(_metadata, self->fd, 0, 2);
	ASSERT_EQ(0, recv_int(self->rd, &hdr));
	ASSERT_EQ(1, recv_int(self->rd, &hdr));
	/* Both leased, the mailbox is still full: nothing can overflow it. */
	ASSERT_EQ(-1, write(self->fd, &i, sizeof(i)));
	ASSERT_EQ(EAGAIN, errno);
	close(self->rd);
	self->rd = open(MBOX_DEV(1), O_RDONLY | O_NONBLOCK);
	ASSERT_EQ(2, mbox_queued(self->fd));
	ASSERT_EQ(-1, write(self->fd, &i, sizeof(i)));
	ASSERT_EQ(EAGAIN, errno);
}

TEST_F(ack, flush_spares_leased_messages)
{
	struct mbox_msg_header hdr;
	struct mbox_flush fl = { 0 };

	send_ints(_metadata, self->fd, 0, 3);
	ASSERT_EQ(0, recv_int(self->rd, &hdr));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_FLUSH, &fl));
	ASSERT_EQ(2, fl.flushed_msgs);
	ASSERT_EQ(1, mbox_queued(self->fd));
	close(self->rd);
	self->rd = -1;
	/* Back from the closed file, flagged, and flushable now. */
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_PEEK, &hdr));
	ASSERT_EQ(MBOX_MSG_REDELIVERED, hdr.flags);
	memset(&fl, 0, sizeof(fl));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_FLUSH, &fl));
	ASSERT_EQ(1, fl.flushed_msgs);
}

TEST_F(ack, urgent_messages_are_leased_like_others)
{
	struct pollfd p = { .fd = self->fd, .events = POLLPRI };
	struct mbox_msg_header hdr;
	struct mbox_urgent u = { 0 };
	int v = 42;

	send_ints(_metadata, self->fd, 0, 1);
	u.buf = (uintptr_t)&v;
	u.len = sizeof(v);
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_SEND_URGENT, &u));
	ASSERT_EQ(42, recv_int(self->rd, &hdr));
	ASSERT_EQ(MBOX_MSG_URGENT, hdr.flags);
	ASSERT_EQ(0, poll(&p, 1, 0));
	close(self->rd);
	self->rd = -1;
	/* Back at the urgent head: POLLPRI again, flagged both ways. */
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	ASSERT_EQ(42, recv_int(self->fd, &hdr));
	ASSERT_EQ(MBOX_MSG_URGENT | MBOX_MSG_REDELIVERED, hdr.flags);
}

/*
 * Readers holding leases die while a flusher empties the mailbox: every
 * message ends up flushed exactly once (leased ones once they come back),
 * and the books balance.
 */
TEST_F_TIMEOUT(ack, release_races_with_flush, 300)
{
	/* flushed[0]: what the flusher removed; flushed[1]: stop it. */
	uint64_t *flushed = mmap(NULL, 2 * sizeof(*flushed),
				 PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct mbox_info before, info;
	struct mbox_flush fl = { 0 };
	pid_t readers[3], flusher;
	int i, r, sent = 0;

	ASSERT_NE(MAP_FAILED, flushed);
	flushed[0] = flushed[1] = 0;
	ASSERT_EQ(0, mbox_info(self->fd, &before));
	for (r = 0; r < 3; r++) {
		readers[r] = mbox_fork();
		if (readers[r] == 0) {
			int fd = open(MBOX_DEV(1), O_RDONLY | O_NONBLOCK);
			char buf[128];

			if (fd < 0 || set_ack_mode(fd, 32))
				_exit(1);
			for (;;)	/* lease, never acknowledge */
				if (read(fd, buf, sizeof(buf)) < 0)
					usleep(1000);
		}
	}
	flusher = mbox_fork();
	if (flusher == 0) {
		while (!__atomic_load_n(&flushed[1], __ATOMIC_RELAXED)) {
			struct mbox_flush f = { 0 };

			if (ioctl(self->fd, MBOX_IOC_FLUSH, &f))
				_exit(1);
			__atomic_add_fetch(&flushed[0], f.flushed_msgs,
					   __ATOMIC_RELAXED);
			usleep(2000);
		}
		_exit(0);
	}
	for (i = 0; sent < 3000 && i < 100000; i++) {
		if (write(self->fd, &i, sizeof(i)) == sizeof(i))
			sent++;
		if (i % 50 == 0) {
			/* A reader dies with its leases; a fresh one replaces it. */
			r = i / 50 % 3;
			kill(readers[r], SIGKILL);
			waitpid(readers[r], NULL, 0);
			readers[r] = mbox_fork();
			if (readers[r] == 0) {
				int fd = open(MBOX_DEV(1), O_RDONLY | O_NONBLOCK);
				char buf[128];

				if (fd < 0 || set_ack_mode(fd, 32))
					_exit(1);
				for (;;)
					if (read(fd, buf, sizeof(buf)) < 0)
						usleep(1000);
			}
		}
	}
	ASSERT_EQ(3000, sent);
	for (r = 0; r < 3; r++) {
		kill(readers[r], SIGKILL);
		waitpid(readers[r], NULL, 0);
	}
	__atomic_store_n(&flushed[1], 1, __ATOMIC_RELAXED);
	ASSERT_EQ(flusher, waitpid(flusher, &r, 0));
	ASSERT_EQ(0, WEXITSTATUS(r));
	/* Everything the dead readers held is back: flush the rest. */
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_FLUSH, &fl));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	TH_LOG("3000 sent: %llu flushed while readers died, %llu after",
	       (unsigned long long)flushed[0],
	       (unsigned long long)fl.flushed_msgs);
	ASSERT_EQ(3000, flushed[0] + fl.flushed_msgs);
	ASSERT_EQ(3000, info.flushed_msgs - before.flushed_msgs);
	ASSERT_EQ(before.total_dequeued, info.total_dequeued);
	ASSERT_EQ(0, info.msgs_queued);
	ASSERT_EQ(0, info.inflight);
	munmap(flushed, 2 * sizeof(*flushed));
}

/* The stress test's shared tallies. */
#define S_WRITERS	4
#define S_PER_WRITER	5000
#define S_READERS	4

struct stress {
	uint32_t seen[S_WRITERS][S_PER_WRITER];
	int unflagged_repeat;
	int corrupt;
};

static void stress_reader(struct stress *s, uint32_t seed)
{
	int fd = open(MBOX_DEV(1), O_RDONLY);
	struct mbox_msg_header hdr;
	uint32_t msg[2];

	if (fd < 0 || set_ack_mode(fd, 16))
		_exit(1);
	for (;;) {
		ssize_t n = mbox_recv_hdr(fd, &hdr, msg, sizeof(msg));

		if (n < 0 && errno == EAGAIN) {
			/* Holding its maximum of leases: acknowledge them all. */
			ack(fd, MBOX_IOC_ACK, ~0ULL, MBOX_ACK_UP_TO);
			continue;
		}
		if (n != sizeof(hdr) + sizeof(msg)) {
			__atomic_add_fetch(&s->corrupt, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (msg[0] >= S_WRITERS || msg[1] >= S_PER_WRITER) {
			__atomic_add_fetch(&s->corrupt, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (__atomic_fetch_add(&s->seen[msg[0]][msg[1]], 1,
				       __ATOMIC_RELAXED) &&
		    !(hdr.flags & MBOX_MSG_REDELIVERED))
			__atomic_add_fetch(&s->unflagged_repeat, 1,
					   __ATOMIC_RELAXED);
		/* Acknowledge in batches, so kills catch several leases. */
		seed = seed * 1103515245 + 12345;
		if ((seed >> 16) % 4 == 0)
			ack(fd, MBOX_IOC_ACK, hdr.seq, MBOX_ACK_UP_TO);
		else if (hdr.delivery_count > 1 || (seed >> 16) % 4 == 1)
			ack(fd, MBOX_IOC_ACK, hdr.seq, 0);
	}
}

TEST_F_TIMEOUT(ack, readers_killed_at_random_lose_nothing, 600)
{
	struct stress *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t writers[S_WRITERS], readers[S_READERS];
	struct mbox_info before, info;
	uint32_t seed = 12345;
	int kills = 0, status, w, r, waited;
	uint64_t total = S_WRITERS * S_PER_WRITER, acked;

	ASSERT_NE(MAP_FAILED, s);
	ASSERT_EQ(0, mbox_set_limits(self->fd, 64, 256, 64 * 256));
	ASSERT_EQ(0, mbox_info(self->fd, &before));
	for (r = 0; r < S_READERS; r++) {
		readers[r] = mbox_fork();
		if (readers[r] == 0)
			stress_reader(s, r + 1);
	}
	for (w = 0; w < S_WRITERS; w++) {
		writers[w] = mbox_fork();
		ASSERT_LE(0, writers[w]);
		if (writers[w] == 0) {
			int fd = open(MBOX_DEV(1), O_WRONLY);

			for (uint32_t i = 0; i < S_PER_WRITER; i++) {
				uint32_t msg[2] = { w, i };

				if (write(fd, msg, sizeof(msg)) != sizeof(msg))
					_exit(1);
			}
			_exit(0);
		}
	}
	/* Kill a random reader every 20 ms until everything is acknowledged. */
	for (waited = 0; waited < 30000; waited++) {
		ASSERT_EQ(0, mbox_info(self->fd, &info));
		acked = info.total_dequeued - before.total_dequeued;
		if (acked >= total)
			break;
		usleep(20000);
		seed = seed * 1103515245 + 12345;
		r = (seed >> 16) % S_READERS;
		kill(readers[r], SIGKILL);
		waitpid(readers[r], NULL, 0);
		kills++;
		readers[r] = mbox_fork();
		if (readers[r] == 0)
			stress_reader(s, seed);
	}
	for (r = 0; r < S_READERS; r++) {
		kill(readers[r], SIGKILL);
		waitpid(readers[r], NULL, 0);
	}
	for (w = 0; w < S_WRITERS; w++) {
		ASSERT_EQ(writers[w], waitpid(writers[w], &status, 0));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	acked = info.total_dequeued - before.total_dequeued;
	{
		int missing = 0, repeats = 0;

		for (w = 0; w < S_WRITERS; w++)
			for (uint32_t i = 0; i < S_PER_WRITER; i++) {
				missing += !s->seen[w][i];
				repeats += s->seen[w][i] > 1;
			}
		TH_LOG("%llu messages, %llu acknowledged, %d readers killed, %d delivered again (all flagged: %s), %d missing",
		       (unsigned long long)total, (unsigned long long)acked,
		       kills, repeats, s->unflagged_repeat ? "no" : "yes",
		       missing);
		ASSERT_EQ(0, missing);
	}
	/* Each message acknowledged exactly once: the kernel's count. */
	ASSERT_EQ(total, acked);
	ASSERT_EQ(0, s->corrupt);
	ASSERT_EQ(0, s->unflagged_repeat);
	ASSERT_EQ(0, info.msgs_queued);
	ASSERT_EQ(0, info.inflight);
	munmap(s, sizeof(*s));
}

TEST_HARNESS_MAIN
