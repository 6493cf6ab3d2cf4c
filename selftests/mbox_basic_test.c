// SPDX-License-Identifier: GPL-2.0
/*
 * One write, one message; one read, one message; header mode, peek,
 * FIONREAD, limits, blocking, signals, persistence and the ioctl rules.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

FIXTURE(mbox) {
	int fd;
	long long max_msg_size;
};

FIXTURE_SETUP(mbox)
{
	self->fd = mbox_open_reset(0, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/mbox0: %s", strerror(errno));
	self->max_msg_size = mbox_param("max_msg_size");
	ASSERT_LT(0, self->max_msg_size);
}

FIXTURE_TEARDOWN(mbox)
{
	close(self->fd);
}

/* An address no process maps, hidden from the compiler's checks. */
static volatile uintptr_t bad_address = 8;
#define BAD_PTR ((void *)bad_address)

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

TEST_F(mbox, one_write_one_message)
{
	char buf[256];

	ASSERT_EQ(5, write(self->fd, "hello", 5));
	ASSERT_EQ(3, write(self->fd, "abc", 3));
	ASSERT_EQ(2, mbox_queued(self->fd));
	/* A large buffer still gets exactly one message: never merged. */
	ASSERT_EQ(5, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(3, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "abc", 3));
	ASSERT_EQ(0, mbox_queued(self->fd));
}

TEST_F(mbox, fifo_order)
{
	char buf[16];
	int i;

	for (i = 0; i < 100; i++)
		ASSERT_EQ(sizeof(i), write(self->fd, &i, sizeof(i)));
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(sizeof(i), read(self->fd, buf, sizeof(buf)));
		ASSERT_EQ(i, *(int *)buf);
	}
}

TEST_F(mbox, zero_length_write_enqueues_nothing)
{
	char buf[8];

	ASSERT_EQ(0, write(self->fd, "", 0));
	ASSERT_EQ(0, mbox_queued(self->fd));
	nonblock(self->fd);
	ASSERT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
}

TEST_F(mbox, writev_is_one_message_readv_gets_it_whole)
{
	struct iovec out[3] = {
		{ "one,", 4 }, { "two,", 4 }, { "three", 5 },
	};
	char a[6], b[64];
	struct iovec in[2] = { { a, sizeof(a) }, { b, sizeof(b) } };

	ASSERT_EQ(13, writev(self->fd, out, 3));
	ASSERT_EQ(1, mbox_queued(self->fd));
	ASSERT_EQ(13, readv(self->fd, in, 2));
	ASSERT_EQ(0, memcmp(a, "one,tw", 6));
	ASSERT_EQ(0, memcmp(b, "o,three", 7));
}

TEST_F(mbox, write_larger_than_max_msg_size_is_emsgsize)
{
	size_t max = self->max_msg_size;
	char *big = calloc(1, max + 1);

	ASSERT_NE(NULL, big);
	ASSERT_EQ(-1, write(self->fd, big, max + 1));
	ASSERT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, mbox_queued(self->fd));
	/* Exactly max_msg_size is fine. */
	ASSERT_EQ(max, write(self->fd, big, max));
	ASSERT_EQ(1, mbox_queued(self->fd));
	free(big);
}

TEST_F(mbox, read_buffer_too_small_keeps_the_message)
{
	char buf[16];
	int n = -1;

	ASSERT_EQ(10, write(self->fd, "0123456789", 10));
	ASSERT_EQ(-1, read(self->fd, buf, 9));
	ASSERT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &n));
	ASSERT_EQ(10, n);
	ASSERT_EQ(1, mbox_queued(self->fd));
	/* Even a zero-length read never looks like end-of-file. */
	ASSERT_EQ(-1, read(self->fd, buf, 0));
	ASSERT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(10, read(self->fd, buf, 10));
	ASSERT_EQ(0, memcmp(buf, "0123456789", 10));
}

TEST_F(mbox, read_fault_keeps_the_message)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map, buf[32];

	ASSERT_EQ(20, write(self->fd, "abcdefghijklmnopqrst", 20));
	ASSERT_EQ(-1, read(self->fd, BAD_PTR, 20));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(1, mbox_queued(self->fd));

	/* A buffer whose tail runs into a PROT_NONE page: a partial copy. */
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mprotect(map + page, page, PROT_NONE));
	ASSERT_EQ(-1, read(self->fd, map + page - 10, 20));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(1, mbox_queued(self->fd));
	munmap(map, 2 * page);

	ASSERT_EQ(20, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "abcdefghijklmnopqrst", 20));
}

TEST_F(mbox, write_fault_enqueues_nothing)
{
	ASSERT_EQ(-1, write(self->fd, BAD_PTR, 20));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mbox_queued(self->fd));
}

TEST_F(mbox, fionread_reports_next_read_size)
{
	int n = -1;

	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &n));
	ASSERT_EQ(0, n);
	ASSERT_EQ(7, write(self->fd, "1234567", 7));
	ASSERT_EQ(2, write(self->fd, "89", 2));
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &n));
	ASSERT_EQ(7, n);
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &n));
	ASSERT_EQ(7 + sizeof(struct mbox_msg_header), n);
}

TEST_F(mbox, header_mode_stamps_the_sender)
{
	struct mbox_msg_header hdr;
	struct timespec now;
	char buf[64];
	long long t;

	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	ASSERT_EQ(5, write(self->fd, "hello", 5));
	ASSERT_EQ(0, clock_gettime(CLOCK_REALTIME, &now));
	t = now.tv_sec * 1000000000LL + now.tv_nsec;

	ASSERT_EQ(sizeof(hdr) + 5, mbox_recv_hdr(self->fd, &hdr, buf, 64));
	ASSERT_EQ(sizeof(hdr), hdr.hdr_size);
	ASSERT_EQ(0, hdr.flags);
	ASSERT_EQ(5, hdr.size);
	ASSERT_EQ(getpid(), hdr.pid);
	ASSERT_EQ(syscall(SYS_gettid), hdr.tid);
	ASSERT_EQ(geteuid(), hdr.uid);
	ASSERT_EQ(getegid(), hdr.gid);
	ASSERT_EQ(geteuid(), hdr.opener_uid);
	ASSERT_EQ(getegid(), hdr.opener_gid);
	ASSERT_EQ(1, hdr.delivery_count);
	ASSERT_LT(0, hdr.seq);
	ASSERT_GE(t, (long long)hdr.time_ns);
	ASSERT_LT(t - 10000000000LL, (long long)hdr.time_ns);
	ASSERT_EQ(0, hdr.reserved[0]);
	ASSERT_EQ(0, hdr.reserved[1]);
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
}

TEST_F(mbox, header_mode_counts_the_header_in_the_size_check)
{
	char buf[sizeof(struct mbox_msg_header) + 8];

	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	ASSERT_EQ(8, write(self->fd, "12345678", 8));
	ASSERT_EQ(-1, read(self->fd, buf, sizeof(buf) - 1));
	ASSERT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(sizeof(buf), read(self->fd, buf, sizeof(buf)));
}

TEST_F(mbox, an_exited_writer_reads_as_pid_0)
{
	struct mbox_msg_header hdr;
	char buf[8];
	int status;
	pid_t pid;

	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(write(self->fd, "bye", 3) == 3 ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* Its number may be reused by now: never report it. */
	ASSERT_EQ(sizeof(hdr) + 3, mbox_recv_hdr(self->fd, &hdr, buf, 8));
	ASSERT_EQ(0, hdr.pid);
	ASSERT_EQ(0, hdr.tid);
	ASSERT_EQ(0, hdr.uid);
}

TEST_F(mbox, seq_strictly_increases)
{
	struct mbox_msg_header hdr;
	struct mbox_info info;
	unsigned long long prev = 0;
	char buf[8];
	int i;

	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	for (i = 0; i < 10; i++)
		ASSERT_EQ(1, write(self->fd, "x", 1));
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(sizeof(hdr) + 1, mbox_recv_hdr(self->fd, &hdr, buf, 8));
		ASSERT_EQ(info.next_seq + i, hdr.seq);
		ASSERT_LT(prev, hdr.seq);
		prev = hdr.seq;
	}
}

TEST_F(mbox, mode_belongs_to_the_open_file)
{
	struct mbox_mode mode = { .flags = 0xff };
	int other = open(MBOX_DEV(0), O_RDWR);

	ASSERT_LE(0, other);
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_GET_MODE, &mode));
	ASSERT_EQ(0, mode.flags);
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_GET_MODE, &mode));
	ASSERT_EQ(MBOX_MODE_HEADER, mode.flags);
	ASSERT_EQ(0, ioctl(other, MBOX_IOC_GET_MODE, &mode));
	ASSERT_EQ(0, mode.flags);
	close(other);

	mode.flags = 0x80;
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SET_MODE, &mode));
	ASSERT_EQ(EINVAL, errno);
	/* max_inflight means something only in ack mode. */
	mode.flags = 0;
	mode.max_inflight = 1;
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SET_MODE, &mode));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_GET_MODE, &mode));
	ASSERT_EQ(MBOX_MODE_HEADER, mode.flags);
}

TEST_F(mbox, peek_does_not_dequeue)
{
	struct mbox_msg_header hdr;
	int wo;

	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_PEEK, &hdr));
	ASSERT_EQ(ENOMSG, errno);
	ASSERT_EQ(4, write(self->fd, "peek", 4));
	memset(&hdr, 0xa5, sizeof(hdr));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_PEEK, &hdr));
	ASSERT_EQ(sizeof(hdr), hdr.hdr_size);
	ASSERT_EQ(4, hdr.size);
	ASSERT_EQ(getpid(), hdr.pid);
	ASSERT_EQ(1, hdr.delivery_count);
	ASSERT_EQ(0, hdr.reserved[0]);
	ASSERT_EQ(0, hdr.reserved[1]);
	ASSERT_EQ(1, mbox_queued(self->fd));

	wo = open(MBOX_DEV(0), O_WRONLY);
	ASSERT_LE(0, wo);
	ASSERT_EQ(-1, ioctl(wo, MBOX_IOC_PEEK, &hdr));
	ASSERT_EQ(EBADF, errno);
	close(wo);
}

TEST_F(mbox, access_mode_is_enforced)
{
	int ro = open(MBOX_DEV(0), O_RDONLY);
	int wo = open(MBOX_DEV(0), O_WRONLY);
	char buf[8];

	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	ASSERT_EQ(-1, write(ro, "x", 1));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(1, write(wo, "x", 1));
	ASSERT_EQ(-1, read(wo, buf, sizeof(buf)));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(1, read(ro, buf, sizeof(buf)));
	ASSERT_EQ(-1, lseek(ro, 0, SEEK_SET));
	ASSERT_EQ(ESPIPE, errno);
	close(ro);
	close(wo);
}

/*
 * FIONREAD, like MBOX_IOC_PEEK, tells about the next message: a file not
 * open for reading gets EBADF, so writers learn nothing about what others
 * sent (issue 15, item 5).
 */
TEST_F(mbox, fionread_needs_a_file_open_for_reading)
{
	int wo = open(MBOX_DEV(0), O_WRONLY);
	int n = -1;

	ASSERT_LE(0, wo);
	ASSERT_EQ(5, write(wo, "hello", 5));
	ASSERT_EQ(-1, ioctl(wo, FIONREAD, &n));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(-1, n);
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &n));
	ASSERT_EQ(5, n);
	close(wo);
}

TEST_F(mbox, nonblocking_read_on_empty_is_eagain)
{
	char buf[8];
	int fd = open(MBOX_DEV(0), O_RDONLY | O_NONBLOCK);

	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	close(fd);
}

TEST_F(mbox, nonblocking_write_on_full_is_eagain)
{
	char buf[100] = { 0 };

	/* Full by count. */
	ASSERT_EQ(0, mbox_set_limits(self->fd, 100, 2, 1000));
	nonblock(self->fd);
	ASSERT_EQ(1, write(self->fd, buf, 1));
	ASSERT_EQ(1, write(self->fd, buf, 1));
	ASSERT_EQ(-1, write(self->fd, buf, 1));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(2, mbox_queued(self->fd));

	/* Full by bytes: 100 + 100 fit in 250, a third 100 does not. */
	ASSERT_EQ(0, mbox_reset(self->fd));
	ASSERT_EQ(0, mbox_set_limits(self->fd, 100, 10, 250));
	ASSERT_EQ(100, write(self->fd, buf, 100));
	ASSERT_EQ(100, write(self->fd, buf, 100));
	ASSERT_EQ(-1, write(self->fd, buf, 100));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(50, write(self->fd, buf, 50));
	ASSERT_EQ(-1, write(self->fd, buf, 1));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(3, mbox_queued(self->fd));
}

TEST_F(mbox, blocked_reader_gets_the_next_message)
{
	int status;
	pid_t pid;

	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char buf[16];

		if (read(self->fd, buf, sizeof(buf)) != 4 ||
		    memcmp(buf, "wake", 4))
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(0, mbox_wait_waiting(self->fd, 1, 0));
	ASSERT_EQ(4, write(self->fd, "wake", 4));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, mbox_queued(self->fd));
}

TEST_F(mbox, blocked_writer_proceeds_when_room_is_made)
{
	char buf[16];
	int status;
	pid_t pid;

	ASSERT_EQ(0, mbox_set_limits(self->fd, 16, 1, 16));
	ASSERT_EQ(5, write(self->fd, "first", 5));
	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(write(self->fd, "second", 6) == 6 ? 0 : 1);
	ASSERT_EQ(0, mbox_wait_waiting(self->fd, 0, 1));
	ASSERT_EQ(1, mbox_queued(self->fd));
	ASSERT_EQ(5, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(6, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "second", 6));
}

/*
 * Blocked writers are served in arrival order: a small writer that comes
 * after a big one waits behind it even when its own message would fit
 * (head-of-line blocking is the price of never starving the big one; see
 * mbox_fairness_test).
 */
TEST_F(mbox, writers_are_served_in_arrival_order)
{
	char buf[64] = { 0 };
	pid_t big, small;
	int status;

	/* 60 of 64 bytes used: a 40-byte writer waits. */
	ASSERT_EQ(0, mbox_set_limits(self->fd, 64, 10, 64));
	ASSERT_EQ(20, write(self->fd, buf, 20));
	ASSERT_EQ(20, write(self->fd, buf, 20));
	ASSERT_EQ(20, write(self->fd, buf, 20));
	big = mbox_fork();
	ASSERT_LE(0, big);
	if (big == 0) {
		memset(buf, 'B', sizeof(buf));
		_exit(write(self->fd, buf, 40) == 40 ? 0 : 1);
	}
	ASSERT_EQ(0, mbox_wait_waiting(self->fd, 0, 1));
	/* A 20-byte writer waits behind it. */
	small = mbox_fork();
	ASSERT_LE(0, small);
	if (small == 0) {
		memset(buf, 's', sizeof(buf));
		_exit(write(self->fd, buf, 20) == 20 ? 0 : 1);
	}
	ASSERT_EQ(0, mbox_wait_waiting(self->fd, 0, 2));
	/* 40 used: the small one would fit, but the big one is first. */
	ASSERT_EQ(20, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, mbox_wait_waiting(self->fd, 0, 2));
	ASSERT_EQ(2, mbox_queued(self->fd));
	/* 20 used: the big one goes in at once, the small one still waits. */
	ASSERT_EQ(20, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(2, mbox_queued(self->fd));
	ASSERT_EQ(big, waitpid(big, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, mbox_wait_waiting(self->fd, 0, 1));
	/* 40 used: now the small one. */
	ASSERT_EQ(20, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(small, waitpid(small, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(40, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ('B', buf[0]);
	ASSERT_EQ(20, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ('s', buf[0]);
	ASSERT_EQ(0, mbox_queued(self->fd));
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void arm_signal(int restart)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { .tv_usec = 200000 } };

	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

TEST_F(mbox, signal_interrupts_a_blocked_read)
{
	char buf[16];

	arm_signal(0);
	ASSERT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(EINTR, errno);
	/* Nothing was queued or lost, and the mailbox still works. */
	ASSERT_EQ(0, mbox_queued(self->fd));
	ASSERT_EQ(2, write(self->fd, "ok", 2));
	ASSERT_EQ(2, read(self->fd, buf, sizeof(buf)));
}

TEST_F(mbox, signal_interrupts_a_blocked_write)
{
	struct mbox_info info;
	char buf[16];

	ASSERT_EQ(0, mbox_set_limits(self->fd, 16, 1, 16));
	ASSERT_EQ(3, write(self->fd, "one", 3));
	arm_signal(0);
	ASSERT_EQ(-1, write(self->fd, "two", 3));
	ASSERT_EQ(EINTR, errno);
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(1, info.msgs_queued);
	ASSERT_EQ(3, info.bytes_queued);
	ASSERT_EQ(0, info.writers_waiting);
	ASSERT_EQ(3, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "one", 3));
	ASSERT_EQ(0, mbox_queued(self->fd));
}

TEST_F(mbox, sa_restart_restarts_a_blocked_read)
{
	char buf[16];
	pid_t pid;

	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Write well after the signal has interrupted the read. */
		usleep(600000);
		_exit(write(self->fd, "late", 4) == 4 ? 0 : 1);
	}
	arm_signal(1);
	ASSERT_EQ(4, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "late", 4));
	waitpid(pid, NULL, 0);
}

TEST_F(mbox, messages_outlive_their_writer_and_reader)
{
	char buf[16];
	int i, status, fd;
	pid_t pid;

	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int w = open(MBOX_DEV(0), O_WRONLY);

		for (i = 0; i < 3; i++)
			if (write(w, &i, sizeof(i)) != sizeof(i))
				_exit(1);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	close(self->fd);
	fd = open(MBOX_DEV(0), O_RDONLY);
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(sizeof(i), read(fd, buf, sizeof(buf)));
		ASSERT_EQ(i, *(int *)buf);
	}
	self->fd = fd;
}

TEST_F(mbox, killed_reader_leaves_the_rest_to_the_next_one)
{
	int sync[2], i;
	pid_t pid;

	for (i = 0; i < 100; i++)
		ASSERT_EQ(sizeof(i), write(self->fd, &i, sizeof(i)));
	ASSERT_EQ(0, pipe(sync));
	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int v;

		for (i = 0; i < 10; i++)
			if (read(self->fd, &v, sizeof(v)) != sizeof(v) || v != i)
				_exit(1);
		if (write(sync[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(0, mbox_kill_when_ready(pid, sync[0]));
	ASSERT_EQ(90, mbox_queued(self->fd));
	for (i = 10; i < 100; i++) {
		int v;

		ASSERT_EQ(sizeof(v), read(self->fd, &v, sizeof(v)));
		ASSERT_EQ(i, v);
	}
	close(sync[0]);
	close(sync[1]);
}

TEST_F(mbox, limits_are_validated_and_applied)
{
	char buf[129];
	struct mbox_limits lim;
	struct mbox_info info;

	ASSERT_EQ(0, mbox_set_limits(self->fd, 128, 5, 1000));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(128, info.max_msg_size);
	ASSERT_EQ(5, info.max_msgs);
	ASSERT_EQ(1000, info.max_bytes);
	ASSERT_EQ(mbox_param("max_urgent"), info.max_urgent);
	ASSERT_EQ(128, mbox_read_sysfs("/sys/class/mbox/mbox0/max_msg_size"));
	ASSERT_EQ(5, mbox_read_sysfs("/sys/class/mbox/mbox0/max_msgs"));
	ASSERT_EQ(1000, mbox_read_sysfs("/sys/class/mbox/mbox0/max_bytes"));

	/* 0 keeps a value. */
	ASSERT_EQ(0, mbox_set_limits(self->fd, 0, 7, 0));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(128, info.max_msg_size);
	ASSERT_EQ(7, info.max_msgs);

	/* max_bytes below max_msg_size, and out-of-range values: EINVAL. */
	ASSERT_EQ(-1, mbox_set_limits(self->fd, 2000, 0, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, mbox_set_limits(self->fd, MBOX_MAX_MSG_SIZE_LIMIT + 1,
				      0, MBOX_MAX_BYTES_LIMIT));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, mbox_set_limits(self->fd, 0, MBOX_MAX_MSGS_LIMIT + 1, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, mbox_set_limits(self->fd, 0, 0, MBOX_MAX_BYTES_LIMIT + 1));
	ASSERT_EQ(EINVAL, errno);
	memset(&lim, 0, sizeof(lim));
	lim.max_urgent = MBOX_MAX_URGENT_LIMIT + 1;
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SET_LIMITS, &lim));
	ASSERT_EQ(EINVAL, errno);
	memset(&lim, 0, sizeof(lim));
	lim.reserved = 1;
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_SET_LIMITS, &lim));
	ASSERT_EQ(EINVAL, errno);
	/* A rejected request changed nothing. */
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(128, info.max_msg_size);
	ASSERT_EQ(7, info.max_msgs);
	ASSERT_EQ(1000, info.max_bytes);

	/* The new max_msg_size applies to writes. */
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(-1, write(self->fd, buf, 129));
	ASSERT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(128, write(self->fd, buf, 128));
}

TEST_F(mbox, setting_limits_needs_cap_sys_admin)
{
	int status;
	pid_t pid;

	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Keep the open fd, drop every privilege. */
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		if (mbox_set_limits(self->fd, 100, 0, 0) != -1 || errno != EPERM)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(self->max_msg_size, mbox_read_sysfs("/sys/class/mbox/mbox0/max_msg_size"));
}

TEST_F(mbox, lowered_limits_lose_nothing)
{
	char buf[16];
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(sizeof(i), write(self->fd, &i, sizeof(i)));
	ASSERT_EQ(0, mbox_set_limits(self->fd, 0, 2, 0));
	nonblock(self->fd);
	ASSERT_EQ(-1, write(self->fd, &i, sizeof(i)));
	ASSERT_EQ(EAGAIN, errno);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(sizeof(i), read(self->fd, buf, sizeof(buf)));
		ASSERT_EQ(i, *(int *)buf);
	}
	/* An empty mailbox takes a max_msg_size message whatever happened. */
	ASSERT_EQ(0, mbox_set_limits(self->fd, 64, 1, 64));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(16, write(self->fd, buf, 16));
}

TEST_F(mbox, info_and_sysfs_count_what_happened)
{
	struct mbox_info before, after;
	char buf[16];

	ASSERT_EQ(0, mbox_info(self->fd, &before));
	ASSERT_EQ(0, before.index);
	ASSERT_EQ(0, before.msgs_queued);
	ASSERT_EQ(0, before.bytes_queued);
	ASSERT_EQ(3, write(self->fd, "abc", 3));
	ASSERT_EQ(4, write(self->fd, "defg", 4));
	ASSERT_EQ(3, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, mbox_info(self->fd, &after));
	ASSERT_EQ(1, after.msgs_queued);
	ASSERT_EQ(4, after.bytes_queued);
	ASSERT_EQ(before.total_enqueued + 2, after.total_enqueued);
	ASSERT_EQ(before.total_dequeued + 1, after.total_dequeued);
	ASSERT_EQ(before.next_seq + 2, after.next_seq);
	ASSERT_EQ(0, after.readers_waiting);
	ASSERT_EQ(0, after.writers_waiting);
	ASSERT_EQ(0, after.flags);
	ASSERT_EQ(0, after.inflight);
	ASSERT_EQ(1, mbox_read_sysfs("/sys/class/mbox/mbox0/msgs_queued"));
	ASSERT_EQ(4, mbox_read_sysfs("/sys/class/mbox/mbox0/bytes_queued"));
	ASSERT_EQ(after.total_enqueued,
		  mbox_read_sysfs("/sys/class/mbox/mbox0/total_enqueued"));
	ASSERT_EQ(after.total_dequeued,
		  mbox_read_sysfs("/sys/class/mbox/mbox0/total_dequeued"));
	ASSERT_EQ(after.next_seq,
		  mbox_read_sysfs("/sys/class/mbox/mbox0/next_seq"));
	/* sysfs is read-only. */
	ASSERT_EQ(-1, open("/sys/class/mbox/mbox0/max_msgs", O_WRONLY));
	ASSERT_EQ(EACCES, errno);
}

TEST_F(mbox, unknown_ioctls_are_enotty)
{
	struct mbox_info info;
	char big[sizeof(info) + 16];
	struct {
		struct mbox_limits lim;
		__u64 extra;
	} longer;

	ASSERT_EQ(-1, ioctl(self->fd, _IO(MBOX_IOC_MAGIC, 0x40)));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(self->fd, _IOR('x', 0x01, struct mbox_info), &info));
	ASSERT_EQ(ENOTTY, errno);
	/* Right number, wrong direction. */
	ASSERT_EQ(-1, ioctl(self->fd, _IOW(MBOX_IOC_MAGIC, 0x01, struct mbox_info), &info));
	ASSERT_EQ(ENOTTY, errno);
	/* Shorter than the first published structure. */
	ASSERT_EQ(-1, ioctl(self->fd, _IOR(MBOX_IOC_MAGIC, 0x01, __u64), &info));
	ASSERT_EQ(ENOTTY, errno);

	/* A longer structure from a newer caller: the tail is zeroed... */
	memset(big, 0xa5, sizeof(big));
	ASSERT_EQ(0, ioctl(self->fd, _IOC(_IOC_READ, MBOX_IOC_MAGIC, 0x01, sizeof(big)), big));
	for (size_t i = sizeof(info); i < sizeof(big); i++)
		ASSERT_EQ(0, big[i]);
	/* ...and accepted as input when its unknown fields are zero. */
	memset(&longer, 0, sizeof(longer));
	longer.lim.max_msgs = 9;
	ASSERT_EQ(0, ioctl(self->fd, _IOC(_IOC_WRITE, MBOX_IOC_MAGIC, 0x02, sizeof(longer)), &longer));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(9, info.max_msgs);
	longer.extra = 1;
	ASSERT_EQ(-1, ioctl(self->fd, _IOC(_IOC_WRITE, MBOX_IOC_MAGIC, 0x02, sizeof(longer)), &longer));
	ASSERT_EQ(E2BIG, errno);
	/* A bad pointer. */
	ASSERT_EQ(-1, ioctl(self->fd, MBOX_IOC_GET_INFO, BAD_PTR));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, ioctl(self->fd, FIONREAD, BAD_PTR));
	ASSERT_EQ(EFAULT, errno);
}

/*
 * A binary built against the first published header passes the sizes it
 * was built with in the command number: those keep working however the
 * structures grow, and anything shorter is ENOTTY.  The sizes are written
 * out, not taken from the header, which may have grown since.
 */
TEST_F(mbox, first_published_sizes_still_work)
{
	static const struct {
		unsigned int dir, nr, size;
	} first[] = {
		{ _IOC_READ, 0x01, 96 },		/* GET_INFO */
		{ _IOC_WRITE, 0x02, 24 },		/* SET_LIMITS */
		{ _IOC_READ, 0x03, 72 },		/* PEEK */
		{ _IOC_WRITE, 0x04, 8 },		/* SET_MODE */
		{ _IOC_READ, 0x05, 8 },			/* GET_MODE */
		{ _IOC_READ | _IOC_WRITE, 0x06, 32 },	/* FLUSH */
		{ _IOC_READ | _IOC_WRITE, 0x07, 56 },	/* SEND_URGENT */
		{ _IOC_WRITE, 0x08, 16 },		/* ACK */
		{ _IOC_WRITE, 0x09, 16 },		/* NACK */
		{ _IOC_WRITE, 0x0A, 24 },		/* SEND_BATCH */
		{ _IOC_WRITE, 0x0B, 24 },		/* RECV_BATCH */
	};
	union {
		struct mbox_info info;
		struct mbox_limits lim;
		unsigned char b[128];
	} u;
	struct mbox_info info;
	unsigned int i;

	/* GET_INFO at 96 bytes fills exactly 96. */
	memset(&u, 0xa5, sizeof(u));
	ASSERT_EQ(0, ioctl(self->fd, _IOC(_IOC_READ, MBOX_IOC_MAGIC, 0x01, 96), &u));
	ASSERT_EQ(0, u.info.index);
	ASSERT_EQ(self->max_msg_size, u.info.max_msg_size);
	for (i = 96; i < sizeof(u); i++)
		ASSERT_EQ(0xa5, u.b[i]);

	/* SET_LIMITS at 24 bytes applies them. */
	memset(&u, 0, sizeof(u));
	u.lim.max_msgs = 7;
	ASSERT_EQ(0, ioctl(self->fd, _IOC(_IOC_WRITE, MBOX_IOC_MAGIC, 0x02, 24), &u));
	ASSERT_EQ(0, mbox_info(self->fd, &info));
	ASSERT_EQ(7, info.max_msgs);

	/* One field short of the first size: ENOTTY, for every command. */
	for (i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		memset(&u, 0, sizeof(u));
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, _IOC(first[i].dir, MBOX_IOC_MAGIC,
						   first[i].nr, first[i].size - 4), &u))
			TH_LOG("command 0x%02x at %u bytes", first[i].nr, first[i].size - 4);
		EXPECT_EQ(ENOTTY, errno)
			TH_LOG("command 0x%02x at %u bytes", first[i].nr, first[i].size - 4);
	}
}

TEST_HARNESS_MAIN
