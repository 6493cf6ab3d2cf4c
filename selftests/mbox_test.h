/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the mbox selftests.  Every test starts from a known
 * state: the mailbox it uses is emptied and its limits reset to the module
 * defaults, so tests do not depend on their order.
 */
#ifndef MBOX_TEST_H
#define MBOX_TEST_H

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/mbox.h>

#include "mbox_harness.h"

#define MBOX_DEV(n)	"/dev/mbox" #n

/* Read an unsigned number from a sysfs file; -1 when unreadable. */
static inline long long mbox_read_sysfs(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

static inline long long mbox_param(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/mbox/parameters/%s", name);
	return mbox_read_sysfs(path);
}

/* Put the mailbox behind @fd back to an empty state with default limits. */
static inline int mbox_reset(int fd)
{
	struct mbox_flush fl = { 0 };
	struct mbox_limits lim = {
		.max_msg_size = mbox_param("max_msg_size"),
		.max_msgs = mbox_param("max_msgs"),
		.max_bytes = mbox_param("max_bytes"),
		.max_urgent = mbox_param("max_urgent"),
		.max_urgent_bytes = mbox_param("max_urgent_bytes"),
	};

	if (ioctl(fd, MBOX_IOC_SET_LIMITS, &lim))
		return -1;
	return ioctl(fd, MBOX_IOC_FLUSH, &fl);
}

/* Open /dev/mbox<index> and reset it; -1 on error. */
static inline int mbox_open_reset(int index, int flags)
{
	char path[32];
	int fd, rfd;

	snprintf(path, sizeof(path), "/dev/mbox%d", index);
	rfd = open(path, O_RDWR);
	if (rfd < 0)
		return -1;
	if (mbox_reset(rfd)) {
		close(rfd);
		return -1;
	}
	close(rfd);
	fd = open(path, flags);
	return fd;
}

static inline int mbox_info(int fd, struct mbox_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(fd, MBOX_IOC_GET_INFO, info);
}

static inline int mbox_set_header_mode(int fd, int on)
{
	struct mbox_mode mode = { .flags = on ? MBOX_MODE_HEADER : 0 };

	return ioctl(fd, MBOX_IOC_SET_MODE, &mode);
}

static inline int mbox_set_limits(int fd, uint32_t msg_size, uint32_t msgs,
				  uint64_t bytes)
{
	struct mbox_limits lim = {
		.max_msg_size = msg_size,
		.max_msgs = msgs,
		.max_bytes = bytes,
	};

	return ioctl(fd, MBOX_IOC_SET_LIMITS, &lim);
}

/* Read one message in header mode into @hdr and @buf; returns read()'s. */
static inline ssize_t mbox_recv_hdr(int fd, struct mbox_msg_header *hdr,
				    void *buf, size_t len)
{
	char tmp[sizeof(*hdr) + 65536];
	ssize_t n;

	if (len > sizeof(tmp) - sizeof(*hdr))
		len = sizeof(tmp) - sizeof(*hdr);
	n = read(fd, tmp, sizeof(*hdr) + len);
	if (n < 0)
		return n;
	memcpy(hdr, tmp, sizeof(*hdr));
	memcpy(buf, tmp + sizeof(*hdr), n - sizeof(*hdr));
	return n;
}

/* Number of messages queued, from the info ioctl; -1 on error. */
static inline long long mbox_queued(int fd)
{
	struct mbox_info info;

	if (mbox_info(fd, &info))
		return -1;
	return info.msgs_queued;
}

/*
 * fork() for tests: the child dies with its parent, so a failed assertion
 * never leaves a blocked writer behind to disturb the next test.
 */
static inline pid_t mbox_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(99);
	}
	return pid;
}

/*
 * Wait for child @pid to say it is ready (one byte on @ready_fd), then
 * kill -9 it and reap it: 0 when it died of the signal.
 */
static inline int mbox_kill_when_ready(pid_t pid, int ready_fd)
{
	int status;
	char c;

	if (read(ready_fd, &c, 1) != 1 || kill(pid, SIGKILL) ||
	    waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -1;
}

/*
 * Wait (polling the counters, at most MBOX_WAIT_MS scaled) until the
 * mailbox behind @fd reports exactly @readers blocked readers and @writers
 * blocked writers (-1: any number); 0 when seen, -1 otherwise.
 */
static inline int mbox_wait_waiting(int fd, int readers, int writers)
{
	struct mbox_info info;
	long long t0;

	for (t0 = mbox_now_ms(); !mbox_waited_too_long(t0); usleep(5000)) {
		if (mbox_info(fd, &info))
			return -1;
		if ((readers < 0 || info.readers_waiting == (unsigned int)readers) &&
		    (writers < 0 || info.writers_waiting == (unsigned int)writers))
			return 0;
	}
	return -1;
}

static inline int mbox_wait_writers(int fd, unsigned int n)
{
	return mbox_wait_waiting(fd, -1, n);
}

static inline int mbox_wait_readers(int fd, unsigned int n)
{
	return mbox_wait_waiting(fd, n, -1);
}

/* A read() on a thread of its own, e.g. parked on a userfaultfd page. */
struct parked_read {
	int fd;
	char *buf;
	ssize_t ret;
	int err;
};

static inline void *parked_reader(void *arg)
{
	struct parked_read *p = arg;

	p->ret = read(p->fd, p->buf, 4096);
	p->err = errno;
	return NULL;
}

/* Pin the calling thread (and what it forks later) to @cpu. */
static inline int mbox_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Make the calling thread SCHED_FIFO (@fifo) or SCHED_OTHER again: a
 * SCHED_FIFO task pinned to a CPU keeps the normal tasks pinned there from
 * running until it blocks, which orders a race without sleeping.
 */
static inline int mbox_set_fifo(int fifo)
{
	struct sched_param sp = { .sched_priority = fifo ? 1 : 0 };

	return sched_setscheduler(0, fifo ? SCHED_FIFO : SCHED_OTHER, &sp);
}

/*
 * userfaultfd: a page whose first touch parks the touching task (a
 * kernel copy to or from it included) until the test says what happens.
 * Returns the page, or NULL with errno (ENOSYS: no userfaultfd in this
 * kernel, the only reason a test may skip).
 */
static inline char *mbox_uffd_page(int *uffd)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	char *p;
	int err;

	*uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (*uffd < 0)
		return NULL;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		err = errno;
		close(*uffd);
		errno = err;
		return NULL;
	}
	reg.range.start = (uintptr_t)p;
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(*uffd, UFFDIO_API, &api) ||
	    ioctl(*uffd, UFFDIO_REGISTER, &reg)) {
		err = errno;
		munmap(p, 4096);
		close(*uffd);
		errno = err == ENOSYS ? EINVAL : err;
		return NULL;
	}
	return p;
}

/* Wait (at most MBOX_WAIT_MS, scaled) until a task is parked on @uffd's page: 0 if so. */
static inline int mbox_uffd_wait_fault(int uffd)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&pfd, 1, mbox_scaled_ms(MBOX_WAIT_MS)) != 1 ||
	    read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		return -1;
	return 0;
}

/* Let the parked task go on with @page filled with @fill: its copy works. */
static inline int mbox_uffd_resolve(int uffd, char *page, char fill)
{
	static char src[4096] __attribute__((aligned(4096)));
	struct uffdio_copy copy = {
		.dst = (uintptr_t)page,
		.src = (uintptr_t)src,
		.len = 4096,
	};

	memset(src, fill, sizeof(src));
	return ioctl(uffd, UFFDIO_COPY, &copy);
}

/*
 * Let the parked task go on with @page made read-only and still missing:
 * its copy into the page faults (EFAULT).
 */
static inline int mbox_uffd_fail(int uffd, char *page)
{
	struct uffdio_range range = { .start = (uintptr_t)page, .len = 4096 };

	if (mprotect(page, 4096, PROT_READ))
		return -1;
	return ioctl(uffd, UFFDIO_WAKE, &range);
}

#endif /* MBOX_TEST_H */
