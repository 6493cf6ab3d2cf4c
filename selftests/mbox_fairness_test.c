// SPDX-License-Identifier: GPL-2.0
/*
 * Liveness of blocked writers (issue 15, items 1 and 2): room freed while
 * writers wait goes to them, in arrival order, at the moment it is freed;
 * a writer that arrives later, blocking or not, does not pass a waiting
 * one; so a large writer is not starved by a stream of small ones.
 *
 * Races are ordered without sleeping: tasks are pinned to one CPU where
 * the test runs SCHED_FIFO, and the test waits for writers_waiting in
 * MBOX_IOC_GET_INFO to see a task blocked.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

FIXTURE(fair) {
	int fd;
};

FIXTURE_SETUP(fair)
{
	self->fd = mbox_open_reset(2, O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(fair)
{
	close(self->fd);
	/* Leave the mailbox empty for the next test even if this one failed. */
	close(mbox_open_reset(2, O_RDWR));
}

/* Reap @pid and return its exit status, or -1. */
static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Item 1.  max_msg_size = max_bytes = 100; M0 (100 B) queued; W1 blocks in
 * write(100), W2 in write(50).  A reader consumes M0.  Before W1 can run,
 * a non-blocking writer tries 40 B.  The old wake-up counted W1 against
 * the freed room without claiming it: the 40 B went in, W1's retry failed
 * and it slept again, and W2 (40 + 50 <= 100) was never woken though the
 * mailbox was not full.  Now the read itself hands the room to W1: its
 * message is queued when read() returns, the non-blocking writer gets
 * EAGAIN, and reading W1's message lets W2 in.
 */
TEST_F(fair, a_woken_writer_keeps_the_room_it_was_woken_for)
{
	struct mbox_info info;
	char buf[128] = { 0 };
	ssize_t got, nb_ret;
	int nb, nb_err;
	pid_t w1, w2;

	ASSERT_EQ(0, mbox_set_limits(self->fd, 100, 10, 100));
	ASSERT_EQ(100, write(self->fd, buf, 100));
	nb = open(MBOX_DEV(2), O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, nb);
	/* Everything on CPU 0: the writers inherit the affinity. */
	ASSERT_EQ(0, mbox_pin_cpu(0));
	w1 = mbox_fork();
	ASSERT_LE(0, w1);
	if (w1 == 0) {
		memset(buf, '1', sizeof(buf));
		_exit(write(self->fd, buf, 100) == 100 ? 0 : 1);
	}
	ASSERT_EQ(0, mbox_wait_writers(self->fd, 1));
	w2 = mbox_fork();
	ASSERT_LE(0, w2);
	if (w2 == 0) {
		memset(buf, '2', sizeof(buf));
		_exit(write(self->fd, buf, 50) == 50 ? 0 : 1);
	}
	ASSERT_EQ(0, mbox_wait_writers(self->fd, 2));

	/* From here until mbox_set_fifo(0) neither writer can run. */
	ASSERT_EQ(0, mbox_set_fifo(1));
	got = read(self->fd, buf, sizeof(buf));
	mbox_info(self->fd, &info);
	nb_ret = write(nb, buf, 40);
	nb_err = errno;
	ASSERT_EQ(0, mbox_set_fifo(0));

	ASSERT_EQ(100, got);
	/* The room went to W1 at once; W2 still waits, behind it. */
	EXPECT_EQ(1, info.msgs_queued);
	EXPECT_EQ(100, info.bytes_queued);
	EXPECT_EQ(1, info.writers_waiting);
	/* And nobody else could take it. */
	EXPECT_EQ(-1, nb_ret);
	EXPECT_EQ(EAGAIN, nb_err);
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(100, info.bytes_queued) {
		TH_LOG("W1 was woken for the room M0 left and lost it: %u messages, %llu bytes queued, %u writers asleep",
		       info.msgs_queued, (unsigned long long)info.bytes_queued,
		       info.writers_waiting);
	}

	ASSERT_EQ(0, reap(w1));
	ASSERT_EQ(100, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ('1', buf[99]);
	ASSERT_EQ(0, reap(w2));
	ASSERT_EQ(50, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ('2', buf[49]);
	ASSERT_EQ(0, mbox_queued(self->fd));
	close(nb);
}

/*
 * Item 2, the rule: once a writer waits, a writer that arrives later does
 * not pass it, even if its own message would fit.  A non-blocking one gets
 * EAGAIN; a blocking one waits behind it, and they are served in arrival
 * order as room appears.
 */
TEST_F(fair, a_new_writer_does_not_pass_a_waiting_one)
{
	struct mbox_msg_header hdr;
	char buf[128] = { 0 };
	pid_t big, small;
	int nb;

	/* 60 of 100 bytes used: a 50-byte writer waits, 10 bytes would fit. */
	ASSERT_EQ(0, mbox_set_limits(self->fd, 100, 10, 100));
	ASSERT_EQ(30, write(self->fd, buf, 30));
	ASSERT_EQ(30, write(self->fd, buf, 30));
	big = mbox_fork();
	ASSERT_LE(0, big);
	if (big == 0) {
		memset(buf, 'B', sizeof(buf));
		_exit(write(self->fd, buf, 50) == 50 ? 0 : 1);
	}
	ASSERT_EQ(0, mbox_wait_writers(self->fd, 1));

	nb = open(MBOX_DEV(2), O_WRONLY | O_NONBLOCK);
	ASSERT_LE(0, nb);
	ASSERT_EQ(-1, write(nb, buf, 10));
	ASSERT_EQ(EAGAIN, errno);
	close(nb);

	small = mbox_fork();
	ASSERT_LE(0, small);
	if (small == 0) {
		memset(buf, 's', sizeof(buf));
		_exit(write(self->fd, buf, 10) == 10 ? 0 : 1);
	}
	ASSERT_EQ(0, mbox_wait_writers(self->fd, 2)) {
		TH_LOG("the 10-byte writer passed the waiting 50-byte one");
	}
	ASSERT_EQ(2, mbox_queued(self->fd));

	/* 30 freed: the big one goes (90 of 100), then the small one (100). */
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	ASSERT_EQ(sizeof(hdr) + 30, mbox_recv_hdr(self->fd, &hdr, buf, 128));
	ASSERT_EQ(0, reap(big));
	ASSERT_EQ(0, reap(small));
	ASSERT_EQ(sizeof(hdr) + 30, mbox_recv_hdr(self->fd, &hdr, buf, 128));
	ASSERT_EQ(sizeof(hdr) + 50, mbox_recv_hdr(self->fd, &hdr, buf, 128));
	ASSERT_EQ('B', buf[0]);
	ASSERT_EQ(sizeof(hdr) + 10, mbox_recv_hdr(self->fd, &hdr, buf, 128));
	ASSERT_EQ('s', buf[0]);
	ASSERT_EQ(0, mbox_queued(self->fd));
}

#define NR_SMALL	4
#define DEPTH		64
#define BIG		65536
/* Reads the test makes after the big write started before giving up. */
#define READ_CAP	(8 * DEPTH)

/*
 * Item 2, starvation.  max_msg_size = max_bytes = 64 KiB, so a 64 KiB
 * message fits only an empty mailbox.  Four writers stream 1-byte
 * messages (blocking writes) into a mailbox of DEPTH messages, a reader
 * drains it, and a 64 KiB write is made.  The reader reads one message
 * only once every writer is blocked again, so the stream always outpaces
 * it: the only way for the big write to get in is its place in line.
 *
 * When the big write starts all four small writers wait (the mailbox is
 * full); S = next_seq then.  In arrival order they go first, then the big
 * one, and every small write made after it waits behind it: its seq must
 * be at most S + NR_SMALL.  Before, each freed slot went to a small writer
 * and the mailbox never emptied: the big write never got in.
 */
TEST_F(fair, a_large_writer_is_not_starved_by_small_ones)
{
	volatile int *stop;
	struct mbox_msg_header hdr;
	struct mbox_info info;
	pid_t small[NR_SMALL], big;
	uint64_t start_seq, big_seq = 0;
	char *buf;
	int i, reads = 0;

	buf = malloc(BIG + sizeof(hdr));
	ASSERT_NE(NULL, buf);
	stop = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, stop);
	*stop = 0;
	ASSERT_EQ(0, mbox_set_limits(self->fd, BIG, DEPTH, BIG));

	for (i = 0; i < NR_SMALL; i++) {
		small[i] = mbox_fork();
		ASSERT_LE(0, small[i]);
		if (small[i] == 0) {
			char c = 'a' + i;

			while (!*stop)
				if (write(self->fd, &c, 1) != 1)
					_exit(1);
			_exit(0);
		}
	}
	/* Full, and all four blocked. */
	ASSERT_EQ(0, mbox_wait_writers(self->fd, NR_SMALL));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(DEPTH, info.msgs_queued);
	start_seq = info.next_seq;

	big = mbox_fork();
	ASSERT_LE(0, big);
	if (big == 0) {
		memset(buf, 'B', BIG);
		_exit(write(self->fd, buf, BIG) == BIG ? 0 : 1);
	}
	ASSERT_EQ(0, mbox_wait_writers(self->fd, NR_SMALL + 1));

	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	while (reads < READ_CAP) {
		ssize_t n = read(self->fd, buf, BIG + sizeof(hdr));

		ASSERT_LT(0, n);
		memcpy(&hdr, buf, sizeof(hdr));
		reads++;
		if (hdr.size == BIG) {
			big_seq = hdr.seq;
			break;
		}
		/* Let every writer come back and block before the next read. */
		for (i = 0; i < 4000; i++) {
			ASSERT_EQ(0, mbox_info(self->fd, &info));
			if (info.writers_waiting == NR_SMALL + 1 ||
			    info.bytes_queued >= BIG)
				break;
			usleep(1000);
		}
	}
	*stop = 1;
	/* Let everyone finish: drain until all writers are gone. */
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 0));
	for (;;) {
		int alive = 0;

		for (i = 0; i < NR_SMALL; i++)
			alive += small[i] && waitpid(small[i], NULL, WNOHANG) == 0;
		alive += waitpid(big, NULL, WNOHANG) == 0;
		if (!alive)
			break;
		if (mbox_queued(self->fd) > 0) {
			ASSERT_LT(0, read(self->fd, buf, BIG));
		} else {
			usleep(1000);
		}
	}
	ASSERT_NE(0, big_seq) {
		TH_LOG("the 64 KiB write was still waiting after %d messages were read",
		       reads);
	}
	TH_LOG("the 64 KiB message got seq %llu, %llu after the call started (%d reads)",
	       (unsigned long long)big_seq,
	       (unsigned long long)(big_seq - start_seq), reads);
	ASSERT_LE(big_seq, start_seq + NR_SMALL);
	free(buf);
}

TEST_HARNESS_MAIN
