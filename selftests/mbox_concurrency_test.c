// SPDX-License-Identifier: GPL-2.0
/*
 * Many writers and readers at once: every message arrives whole, exactly
 * once, in per-writer order; one message wakes one reader; blocked readers
 * are served first come, first served.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

#define WRITERS		8
#define PER_WRITER	10000
#define MAX_PAYLOAD	2048

/* Every message says who wrote it, which one it is, and checks itself. */
struct stamp {
	uint32_t writer;
	uint32_t counter;
	uint32_t len;
	uint32_t sum;
};

static uint32_t rng_next(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

static uint32_t checksum(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* Build message @counter of @writer into @buf; returns its length. */
static size_t make_msg(unsigned char *buf, uint32_t writer, uint32_t counter)
{
	uint32_t state = (writer + 1) * 2654435761u ^ (counter + 1) * 40503u;
	struct stamp *st = (struct stamp *)buf;
	size_t len, i;

	rng_next(&state);
	len = sizeof(*st) + rng_next(&state) % (MAX_PAYLOAD - sizeof(*st) + 1);
	for (i = sizeof(*st); i < len; i++)
		buf[i] = rng_next(&state);
	st->writer = writer;
	st->counter = counter;
	st->len = len;
	st->sum = checksum(buf + sizeof(*st), len - sizeof(*st));
	return len;
}

static bool msg_intact(const unsigned char *buf, ssize_t n)
{
	const struct stamp *st = (const struct stamp *)buf;
	unsigned char expect[MAX_PAYLOAD];

	if (n < (ssize_t)sizeof(*st) || st->len != (size_t)n ||
	    st->writer >= WRITERS || st->counter >= PER_WRITER)
		return false;
	if (make_msg(expect, st->writer, st->counter) != (size_t)n)
		return false;
	return memcmp(expect, buf, n) == 0;
}

static pid_t spawn_writer(int fd, uint32_t writer)
{
	unsigned char buf[MAX_PAYLOAD];
	pid_t pid = mbox_fork();
	uint32_t i;

	if (pid)
		return pid;
	for (i = 0; i < PER_WRITER; i++) {
		size_t len = make_msg(buf, writer, i);

		if (write(fd, buf, len) != (ssize_t)len)
			_exit(1);
	}
	_exit(0);
}

/* Counts shared between reader processes. */
struct tally {
	uint8_t seen[WRITERS][PER_WRITER];
	int corrupt;
	int out_of_order;
	int total;
};

FIXTURE(conc) {
	int fd;
	struct tally *tally;
};

FIXTURE_SETUP(conc)
{
	self->fd = mbox_open_reset(1, O_RDWR);
	ASSERT_LE(0, self->fd);
	self->tally = mmap(NULL, sizeof(*self->tally), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->tally);
}

FIXTURE_TEARDOWN(conc)
{
	munmap(self->tally, sizeof(*self->tally));
	close(self->fd);
}

/*
 * Read @count messages, recording each in the tally; per-writer counters
 * must increase within one reader.
 */
static void reader_loop(int fd, struct tally *t, int count)
{
	static unsigned char buf[MAX_PAYLOAD + 1];
	int32_t last[WRITERS];
	int i;

	for (i = 0; i < WRITERS; i++)
		last[i] = -1;
	for (i = 0; i < count; i++) {
		const struct stamp *st = (const struct stamp *)buf;
		ssize_t n = read(fd, buf, sizeof(buf));

		if (!msg_intact(buf, n)) {
			__atomic_add_fetch(&t->corrupt, 1, __ATOMIC_RELAXED);
			continue;
		}
		if ((int32_t)st->counter <= last[st->writer])
			__atomic_add_fetch(&t->out_of_order, 1, __ATOMIC_RELAXED);
		last[st->writer] = st->counter;
		__atomic_add_fetch(&t->seen[st->writer][st->counter], 1,
				   __ATOMIC_RELAXED);
		__atomic_add_fetch(&t->total, 1, __ATOMIC_RELAXED);
	}
}

static void check_tally(struct __test_metadata *_metadata, struct tally *t)
{
	int w, i, missing = 0, dup = 0;

	for (w = 0; w < WRITERS; w++) {
		for (i = 0; i < PER_WRITER; i++) {
			missing += t->seen[w][i] == 0;
			dup += t->seen[w][i] > 1;
		}
	}
	TH_LOG("read %d messages: %d corrupt, %d missing, %d duplicated, %d out of order",
	       t->total, t->corrupt, missing, dup, t->out_of_order);
	ASSERT_EQ(0, t->corrupt);
	ASSERT_EQ(0, missing);
	ASSERT_EQ(0, dup);
	ASSERT_EQ(0, t->out_of_order);
	ASSERT_EQ(WRITERS * PER_WRITER, t->total);
}

static void wait_all(struct __test_metadata *_metadata, pid_t *pids, int n)
{
	int i, status;

	for (i = 0; i < n; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
}

TEST_F_TIMEOUT(conc, eight_writers_one_reader, 1200)
{
	pid_t writers[WRITERS];
	int w;

	/* A small mailbox, so writers block and wake all the time. */
	ASSERT_EQ(0, mbox_set_limits(self->fd, MAX_PAYLOAD, 64, 64 * 1024));
	for (w = 0; w < WRITERS; w++)
		writers[w] = spawn_writer(self->fd, w);
	reader_loop(self->fd, self->tally, WRITERS * PER_WRITER);
	wait_all(_metadata, writers, WRITERS);
	check_tally(_metadata, self->tally);
	ASSERT_EQ(0, mbox_queued(self->fd));
}

TEST_F_TIMEOUT(conc, eight_writers_four_readers, 1200)
{
	pid_t writers[WRITERS], readers[4];
	int w, r;

	ASSERT_EQ(0, mbox_set_limits(self->fd, MAX_PAYLOAD, 64, 64 * 1024));
	for (r = 0; r < 4; r++) {
		readers[r] = mbox_fork();
		ASSERT_LE(0, readers[r]);
		if (readers[r] == 0) {
			reader_loop(self->fd, self->tally,
				    WRITERS * PER_WRITER / 4);
			_exit(0);
		}
	}
	for (w = 0; w < WRITERS; w++)
		writers[w] = spawn_writer(self->fd, w);
	wait_all(_metadata, writers, WRITERS);
	wait_all(_metadata, readers, 4);
	check_tally(_metadata, self->tally);
	ASSERT_EQ(0, mbox_queued(self->fd));
}

TEST_F(conc, one_message_wakes_one_reader)
{
	pid_t readers[8];
	int i, done = 0, status;

	for (i = 0; i < 8; i++) {
		readers[i] = mbox_fork();
		ASSERT_LE(0, readers[i]);
		if (readers[i] == 0) {
			char buf[16];

			_exit(read(self->fd, buf, sizeof(buf)) == 1 ? 0 : 1);
		}
	}
	ASSERT_EQ(0, mbox_wait_readers(self->fd, 8));
	ASSERT_EQ(1, write(self->fd, "x", 1));
	/* Give any wrongly woken reader time to show up. */
	usleep(300000);
	for (i = 0; i < 8; i++) {
		pid_t p = waitpid(readers[i], &status, WNOHANG);

		if (p == readers[i]) {
			ASSERT_EQ(0, WEXITSTATUS(status));
			readers[i] = 0;
			done++;
		}
	}
	ASSERT_EQ(1, done);
	ASSERT_EQ(0, mbox_wait_readers(self->fd, 7));
	for (i = 0; i < 7; i++)
		ASSERT_EQ(1, write(self->fd, "y", 1));
	for (i = 0; i < 8; i++) {
		if (!readers[i])
			continue;
		ASSERT_EQ(readers[i], waitpid(readers[i], &status, 0));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	ASSERT_EQ(0, mbox_queued(self->fd));
}

TEST_F(conc, blocked_readers_are_served_in_arrival_order)
{
	int report[2], i, status;
	pid_t readers[4];

	ASSERT_EQ(0, pipe(report));
	for (i = 0; i < 4; i++) {
		readers[i] = mbox_fork();
		ASSERT_LE(0, readers[i]);
		if (readers[i] == 0) {
			char buf[16], id = '0' + i;

			if (read(self->fd, buf, sizeof(buf)) != 1)
				_exit(1);
			_exit(write(report[1], &id, 1) == 1 ? 0 : 1);
		}
		/* Let reader i block before reader i + 1 starts. */
		ASSERT_EQ(0, mbox_wait_readers(self->fd, i + 1));
	}
	for (i = 0; i < 4; i++) {
		char id;

		ASSERT_EQ(1, write(self->fd, "m", 1));
		ASSERT_EQ(1, read(report[0], &id, 1));
		ASSERT_EQ('0' + i, id);
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(readers[i], waitpid(readers[i], &status, 0));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
	close(report[0]);
	close(report[1]);
}

TEST_F(conc, killed_blocked_reader_does_not_swallow_a_message)
{
	pid_t victim, survivor;
	int status;

	victim = mbox_fork();
	ASSERT_LE(0, victim);
	if (victim == 0) {
		char buf[16];

		read(self->fd, buf, sizeof(buf));
		_exit(1);
	}
	ASSERT_EQ(0, mbox_wait_readers(self->fd, 1));
	survivor = mbox_fork();
	ASSERT_LE(0, survivor);
	if (survivor == 0) {
		char buf[16];

		_exit(read(self->fd, buf, sizeof(buf)) == 2 ? 0 : 1);
	}
	ASSERT_EQ(0, mbox_wait_readers(self->fd, 2));
	ASSERT_EQ(0, kill(victim, SIGKILL));
	ASSERT_EQ(victim, waitpid(victim, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(2, write(self->fd, "ok", 2));
	ASSERT_EQ(survivor, waitpid(survivor, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, mbox_queued(self->fd));
}

TEST_HARNESS_MAIN
