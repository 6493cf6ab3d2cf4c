// SPDX-License-Identifier: GPL-2.0
/*
 * poll, select and epoll (level- and edge-triggered) on a mailbox.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

FIXTURE(poll) {
	int fd;
};

FIXTURE_SETUP(poll)
{
	self->fd = mbox_open_reset(1, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(poll)
{
	close(self->fd);
}

static short revents(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, timeout_ms) < 0)
		return -1;
	return p.revents;
}

TEST_F(poll, empty_mailbox_is_writable_not_readable)
{
	ASSERT_EQ(POLLOUT | POLLWRNORM,
		  revents(self->fd, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLPRI, 0));
}

TEST_F(poll, queued_message_is_readable)
{
	ASSERT_EQ(1, write(self->fd, "a", 1));
	ASSERT_EQ(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM,
		  revents(self->fd, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLPRI, 0));
}

/*
 * Writable means a write of the size that last got EAGAIN on this file
 * would not block (1 byte when no write failed since the last success).
 */
TEST_F(poll, writable_when_the_write_that_got_eagain_fits)
{
	char buf[100] = { 0 };
	int other;

	/* 250 bytes of room, messages of up to 100. */
	ASSERT_EQ(0, mbox_set_limits(self->fd, 100, 10, 250));
	ASSERT_EQ(100, write(self->fd, buf, 100));
	ASSERT_EQ(50, write(self->fd, buf, 50));
	ASSERT_EQ(10, write(self->fd, buf, 10));
	/* 160 queued: any write up to 90 bytes fits. */
	ASSERT_EQ(POLLOUT, revents(self->fd, POLLOUT, 0));
	ASSERT_EQ(-1, write(self->fd, buf, 100));
	ASSERT_EQ(EAGAIN, errno);
	/* Now it is about 100 bytes, which do not fit. */
	ASSERT_EQ(0, revents(self->fd, POLLOUT, 0));
	/* Another open file has its own N. */
	other = open(MBOX_DEV(1), O_WRONLY);
	ASSERT_LE(0, other);
	ASSERT_EQ(POLLOUT, revents(other, POLLOUT, 0));
	close(other);
	/* A write that works resets N to 1 byte. */
	ASSERT_EQ(80, write(self->fd, buf, 80));
	ASSERT_EQ(POLLOUT, revents(self->fd, POLLOUT, 0));
	ASSERT_EQ(10, write(self->fd, buf, 10));
	/* 250 queued: not even 1 byte fits. */
	ASSERT_EQ(0, revents(self->fd, POLLOUT, 0));
	/* And full by count. */
	ASSERT_EQ(0, mbox_reset(self->fd));
	ASSERT_EQ(0, mbox_set_limits(self->fd, 100, 1, 250));
	ASSERT_EQ(1, write(self->fd, buf, 1));
	ASSERT_EQ(POLLIN, revents(self->fd, POLLIN | POLLOUT, 0));
	ASSERT_EQ(1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(POLLOUT, revents(self->fd, POLLIN | POLLOUT, 0));
}

/* While a writer is blocked, a write would be EAGAIN: not writable. */
TEST_F(poll, not_writable_while_a_writer_waits)
{
	char buf[100] = { 0 };
	int status;
	pid_t pid;

	ASSERT_EQ(0, mbox_set_limits(self->fd, 100, 10, 100));
	ASSERT_EQ(60, write(self->fd, buf, 60));
	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = open(MBOX_DEV(1), O_WRONLY);

		_exit(fd >= 0 && write(fd, buf, 50) == 50 ? 0 : 1);
	}
	ASSERT_EQ(0, mbox_wait_writers(self->fd, 1));
	/* 40 bytes free, but the 50-byte writer is first in line. */
	ASSERT_EQ(0, revents(self->fd, POLLOUT, 0));
	ASSERT_EQ(60, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(POLLOUT, revents(self->fd, POLLOUT, 0));
}

TEST_F(poll, directions_follow_the_open_mode)
{
	int ro = open(MBOX_DEV(1), O_RDONLY);
	int wo = open(MBOX_DEV(1), O_WRONLY);

	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	ASSERT_EQ(1, write(self->fd, "a", 1));
	ASSERT_EQ(POLLIN, revents(ro, POLLIN | POLLOUT, 0));
	ASSERT_EQ(POLLOUT, revents(wo, POLLIN | POLLOUT, 0));
	close(ro);
	close(wo);
}

TEST_F(poll, poll_sleeps_until_a_message_arrives)
{
	pid_t pid = mbox_fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		usleep(200000);
		_exit(write(self->fd, "late", 4) == 4 ? 0 : 1);
	}
	ASSERT_EQ(0, revents(self->fd, POLLIN, 0));
	ASSERT_EQ(POLLIN, revents(self->fd, POLLIN, mbox_scaled_ms(MBOX_WAIT_MS)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST_F(poll, select_sees_readable_and_writable)
{
	struct timeval tv = { 0 };
	fd_set r, w;

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(self->fd, &r);
	FD_SET(self->fd, &w);
	ASSERT_EQ(1, select(self->fd + 1, &r, &w, NULL, &tv));
	ASSERT_FALSE(FD_ISSET(self->fd, &r));
	ASSERT_TRUE(FD_ISSET(self->fd, &w));
	ASSERT_EQ(1, write(self->fd, "s", 1));
	FD_SET(self->fd, &r);
	FD_SET(self->fd, &w);
	ASSERT_EQ(2, select(self->fd + 1, &r, &w, NULL, &tv));
	ASSERT_TRUE(FD_ISSET(self->fd, &r));
}

static int epoll_for(int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	int ep = epoll_create1(0);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		return -1;
	return ep;
}

static int wait_events(int ep, uint32_t *events, int timeout_ms)
{
	struct epoll_event ev;
	int n = epoll_wait(ep, &ev, 1, timeout_ms);

	*events = n > 0 ? ev.events : 0;
	return n;
}

TEST_F(poll, epoll_level_triggered_repeats_while_queued)
{
	int ep = epoll_for(self->fd, EPOLLIN);
	uint32_t ev;
	char buf[8];

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, wait_events(ep, &ev, 0));
	ASSERT_EQ(1, write(self->fd, "l", 1));
	ASSERT_EQ(1, wait_events(ep, &ev, 0));
	ASSERT_EQ(EPOLLIN, ev);
	ASSERT_EQ(1, wait_events(ep, &ev, 0));
	ASSERT_EQ(1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, wait_events(ep, &ev, 0));
	close(ep);
}

TEST_F(poll, epoll_edge_triggered_fires_once_per_message)
{
	int ep = epoll_for(self->fd, EPOLLIN | EPOLLET);
	uint32_t ev;

	ASSERT_LE(0, ep);
	ASSERT_EQ(1, write(self->fd, "1", 1));
	ASSERT_EQ(1, wait_events(ep, &ev, 0));
	ASSERT_EQ(EPOLLIN, ev);
	/* Already reported: no new edge until something new arrives... */
	ASSERT_EQ(0, wait_events(ep, &ev, 0));
	/* ...even if the mailbox was not empty. */
	ASSERT_EQ(1, write(self->fd, "2", 1));
	ASSERT_EQ(1, wait_events(ep, &ev, 0));
	ASSERT_EQ(0, wait_events(ep, &ev, 0));
	close(ep);
}

TEST_F(poll, epoll_edge_triggered_out_when_room_is_made)
{
	int ep;
	uint32_t ev;
	char buf[8];

	ASSERT_EQ(0, mbox_set_limits(self->fd, 8, 1, 8));
	ASSERT_EQ(1, write(self->fd, "f", 1));
	ep = epoll_for(self->fd, EPOLLOUT | EPOLLET);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, wait_events(ep, &ev, 0));
	ASSERT_EQ(1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(1, wait_events(ep, &ev, 0));
	ASSERT_EQ(EPOLLOUT, ev);
	ASSERT_EQ(0, wait_events(ep, &ev, 0));
	close(ep);
}

TEST_F(poll, epoll_wakes_a_sleeping_waiter)
{
	int ep = epoll_for(self->fd, EPOLLIN);
	pid_t pid = mbox_fork();
	uint32_t ev;
	int status;

	ASSERT_LE(0, ep);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		usleep(200000);
		_exit(write(self->fd, "e", 1) == 1 ? 0 : 1);
	}
	ASSERT_EQ(1, wait_events(ep, &ev, mbox_scaled_ms(MBOX_WAIT_MS)));
	ASSERT_EQ(EPOLLIN, ev);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	close(ep);
}

/*
 * Issue 15, item 3: EPOLLOUT tells the truth.  The rule: a file open for
 * writing is writable when no writer is blocked and a message of the size
 * of its last write that failed with EAGAIN (1 byte if none did since its
 * last successful write) fits.  So "write until EAGAIN, then wait for
 * EPOLLOUT" never stalls: the wait ends as soon as that write would work.
 *
 * max_msg_size = max_bytes = 100, and an ack-mode reader holds one
 * 10-byte message leased (still charged): before, EPOLLOUT needed room for
 * 100 bytes and never came while the lease was held.
 */
static void lease_one(struct __test_metadata *_metadata, int fd, int *ack)
{
	struct mbox_mode mode = { .flags = MBOX_MODE_ACK };
	char buf[16];

	ASSERT_EQ(0, mbox_set_limits(fd, 100, 100, 100));
	*ack = open(MBOX_DEV(1), O_RDONLY);
	ASSERT_LE(0, *ack);
	ASSERT_EQ(0, ioctl(*ack, MBOX_IOC_SET_MODE, &mode));
	ASSERT_EQ(10, write(fd, "leased....", 10));
	ASSERT_EQ(10, read(*ack, buf, sizeof(buf)));
}

TEST_F(poll, pollout_after_eagain_means_that_write_fits)
{
	char buf[100] = { 0 };
	int ack, n = 0;

	lease_one(_metadata, self->fd, &ack);
	while (write(self->fd, buf, 10) == 10)
		n++;
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(9, n);
	ASSERT_EQ(0, revents(self->fd, POLLOUT, 0));
	/* 10 bytes freed: the 10-byte write that failed fits now. */
	ASSERT_EQ(10, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(POLLOUT, revents(self->fd, POLLOUT, 0)) {
		TH_LOG("a 10-byte write would succeed but POLLOUT is not reported");
	}
	ASSERT_EQ(10, write(self->fd, buf, 10));
	/* A 50-byte write fails: writable once 50 bytes are free, not before. */
	ASSERT_EQ(-1, write(self->fd, buf, 50));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, revents(self->fd, POLLOUT, 0));
	for (n = 0; n < 4; n++) {
		ASSERT_EQ(10, read(self->fd, buf, sizeof(buf)));
		ASSERT_EQ(0, revents(self->fd, POLLOUT, 0));
	}
	ASSERT_EQ(10, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(POLLOUT, revents(self->fd, POLLOUT, 0));
	ASSERT_EQ(50, write(self->fd, buf, 50));
	close(ack);
}

struct drain {
	int fd;
	int count;
	int got;
};

static void *drainer(void *arg)
{
	struct drain *d = arg;
	char buf[128];

	for (d->got = 0; d->got < d->count; d->got++)
		if (read(d->fd, buf, sizeof(buf)) != 10)
			break;
	return NULL;
}

#define LOOP_MSGS 2000

/*
 * The event loop itself, level- and edge-triggered, against a reader on
 * another thread: every message gets written.  An epoll_wait() that sees
 * nothing for 10 s is the stall this proves absent (it was permanent).
 */
static void event_loop(struct __test_metadata *_metadata, int fd,
		       uint32_t et)
{
	struct drain d = { .count = LOOP_MSGS };
	struct epoll_event ev = { .events = EPOLLOUT | et };
	int ep, ack, sent = 0, waits = 0;
	char buf[10] = { 0 };
	pthread_t reader;

	lease_one(_metadata, fd, &ack);
	d.fd = open(MBOX_DEV(1), O_RDONLY);
	ASSERT_LE(0, d.fd);
	ep = epoll_create1(0);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	ASSERT_EQ(0, pthread_create(&reader, NULL, drainer, &d));
	while (sent < LOOP_MSGS) {
		if (write(fd, buf, sizeof(buf)) == sizeof(buf)) {
			sent++;
			continue;
		}
		ASSERT_EQ(EAGAIN, errno);
		waits++;
		ASSERT_EQ(1, epoll_wait(ep, &ev, 1,
					mbox_scaled_ms(MBOX_WAIT_MS))) {
			TH_LOG("stalled: %d messages sent, %d read, no EPOLLOUT",
			       sent, d.got);
			pthread_cancel(reader);
		}
		ASSERT_TRUE(ev.events & EPOLLOUT);
	}
	ASSERT_EQ(0, pthread_join(reader, NULL));
	ASSERT_EQ(LOOP_MSGS, d.got);
	TH_LOG("%d messages, %d waits for EPOLLOUT", sent, waits);
	close(ep);
	close(d.fd);
	close(ack);
}

TEST_F(poll, write_until_eagain_then_epollout_never_stalls)
{
	event_loop(_metadata, self->fd, 0);
}

TEST_F(poll, write_until_eagain_then_epollout_et_never_stalls)
{
	event_loop(_metadata, self->fd, EPOLLET);
}

TEST_HARNESS_MAIN
