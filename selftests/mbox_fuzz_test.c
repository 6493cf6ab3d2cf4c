// SPDX-License-Identifier: GPL-2.0
/*
 * A fuzzer of the mailbox's system call surface.  From a printed seed,
 * FUZZ_THREADS threads issue random sequences of: open with every
 * combination of access mode and flags; read, readv, write, writev with
 * buffers that are NULL, unaligned, read-only, wild, or end at a PROT_NONE
 * page; poll; FIONREAD; every mbox ioctl with random and boundary field
 * values (0, 1, max, max+1, huge, negative as unsigned); random ioctl
 * numbers around the magic 0xBC, of every direction and size; dup, close
 * (of descriptors other threads are using at that very moment), fcntl,
 * lseek, mmap; fork with the descriptors shared (the child runs random
 * operations and is killed by an alarm if it blocks); and reads of the
 * sysfs attributes.  The module parameters are all read-only (0444): the
 * fuzzer checks that and that opening them for writing is EACCES.  A kicker
 * thread interrupts blocked calls with a signal.
 *
 * The kernel side (splats, KASAN, lockdep, kmemleak) is judged by the VM
 * harness.  The fuzzer itself fails on an errno an operation may not
 * return, a read or write returning more than asked, or a mailbox that is
 * not sane at the end: with every descriptor closed and the limits
 * restored, each mailbox must carry a message end to end with a correct
 * header, and its counters must balance (enqueued = dequeued + flushed +
 * queued, nothing in flight, nobody waiting, sysfs = GET_INFO).
 *
 * MBOX_FUZZ_SECONDS (default 60 on the debug kernel, where kmemleak is
 * present, 15 elsewhere) and MBOX_FUZZ_SEED.  The seed fixes each thread's
 * choices; thread timing still varies from run to run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

#define FUZZ_THREADS	4
#define NSLOTS		12
#define BIG		(256 * 1024)
#define PAGE		4096

static int slots[NSLOTS];
static int nr_mbox;
static volatile int stop;
static uint64_t seed;
static uint64_t ops_total, ops_err, forks, closes_racing, batches_done;
static pthread_t threads[FUZZ_THREADS];

/* Memory the buffers are carved from. */
static unsigned char *big;	/* BIG bytes, read-write */
static unsigned char *ro;	/* one read-only page */
static unsigned char *edge;	/* a read-write page followed by PROT_NONE */

static int failed;
static char failure[512];

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rn(struct rng *r, uint32_t n)
{
	return n ? next(r) % n : 0;
}

static void fuzz_fail(const char *what, long ret, int err)
{
	if (__atomic_exchange_n(&failed, 1, __ATOMIC_SEQ_CST))
		return;
	snprintf(failure, sizeof(failure), "%s returned %ld, errno %d (%s)",
		 what, ret, err, strerror(err));
	stop = 1;
}

/* The child wrote its own failure to stderr before exiting. */
static void child_failed(pid_t pid, int status)
{
	if (__atomic_exchange_n(&failed, 1, __ATOMIC_SEQ_CST))
		return;
	snprintf(failure, sizeof(failure),
		 "forked child %d exited with status %d (its failure is printed above)",
		 (int)pid, status);
	stop = 1;
}

/* Fail unless @ret is a success or @err is in @ok (0-terminated). */
static void expect(const char *what, long ret, int err, const int *ok)
{
	__atomic_fetch_add(&ops_total, 1, __ATOMIC_RELAXED);
	if (ret >= 0)
		return;
	__atomic_fetch_add(&ops_err, 1, __ATOMIC_RELAXED);
	for (; *ok; ok++)
		if (*ok == err)
			return;
	fuzz_fail(what, ret, err);
}

/*
 * What each call may fail with.  EBADF/EINVAL: the descriptor was closed
 * under us or is not for this direction; ENOMEM: failslab in the debug
 * lane; EINTR: the kicker's signal.
 */
static const int io_errs[] = { EAGAIN, EINTR, EMSGSIZE, EFAULT, EBADF,
			       EINVAL, ENOMEM, 0 };
static const int ioctl_errs[] = { ENOTTY, EINVAL, EFAULT, EBADF, E2BIG,
				  ENOMSG, ENOENT, EAGAIN, EMSGSIZE, EPERM,
				  ENOMEM, EINTR, 0 };
static const int open_errs[] = { ENOENT, ENOTDIR, EINVAL, ENOMEM, ENXIO,
				 EMFILE, EEXIST, EISDIR, 0 };
static const int misc_errs[] = { EBADF, EINVAL, ESPIPE, ENODEV, EINTR,
				 ENOMEM, EFAULT, EACCES, 0 };
/*
 * A slot's number may have been closed and reused by another thread's
 * sysfs open (or been one when a child forked): SEEK_DATA/SEEK_HOLE past
 * the end of a sysfs file is ENXIO.  Our own llseek is ESPIPE.
 */
static const int lseek_errs[] = { EBADF, EINVAL, ESPIPE, ENXIO, 0 };

/* A buffer of at least @len bytes, or a hostile one. */
static void *pick_buf(struct rng *r, size_t *len)
{
	switch (rn(r, 10)) {
	case 0:
		return NULL;
	case 1:
		return (void *)(uintptr_t)(1 + rn(r, 4096));
	case 2:	/* kernel address, non-canonical, or -1 */
		return (void *)(uintptr_t)((uint64_t[]){
			0xffff888000000000ull, 0x8000000000000000ull,
			UINT64_MAX - rn(r, 64) }[rn(r, 3)]);
	case 3:
		if (*len > PAGE)
			*len = rn(r, PAGE + 1);
		return ro + (PAGE - *len) * rn(r, 2);
	case 4:	/* ends at (or runs into) the PROT_NONE page */
		if (*len > PAGE + 64)
			*len = rn(r, PAGE + 64);
		return edge + PAGE - (*len > 32 ? *len - rn(r, 32) : *len);
	default:
		if (*len > BIG - 8)
			*len = BIG - 8;
		return big + rn(r, 8);	/* unaligned as often as not */
	}
}

static size_t pick_len(struct rng *r)
{
	static const size_t lens[] = {
		0, 1, 2, 71, 72, 73, 4095, 4096, 65535, 65536, 65537,
		0x400000, 0x400001, SIZE_MAX, (size_t)INT32_MAX + 1,
	};

	if (rn(r, 3))
		return rn(r, 2) ? rn(r, 128) : rn(r, 70000);
	return lens[rn(r, sizeof(lens) / sizeof(lens[0]))];
}

static uint64_t pick_u64(struct rng *r, uint64_t max)
{
	switch (rn(r, 9)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return max;
	case 3: return max + 1;
	case 4: return max - 1;
	case 5: return UINT64_MAX;
	case 6: return (uint32_t)-1 - rn(r, 2);
	case 7: return 0x80000000u;
	default: return rn(r, 2) ? rn(r, 64) : next(r);
	}
}

static int pick_fd(struct rng *r)
{
	int fd = __atomic_load_n(&slots[rn(r, NSLOTS)], __ATOMIC_RELAXED);

	/* Now and then a descriptor that is not (or no longer) ours. */
	if (!rn(r, 50))
		return (int[]){ -1, 1023, INT32_MAX }[rn(r, 3)];
	return fd;
}

static void op_open(struct rng *r)
{
	static const int extra[] = {
		O_NONBLOCK, O_CLOEXEC, O_APPEND, O_TRUNC, O_NOCTTY, O_SYNC,
		O_DIRECT, O_CREAT, O_NOATIME, O_DIRECTORY, O_PATH, O_EXCL,
		O_LARGEFILE, O_DSYNC,
	};
	char path[32];
	int flags = rn(r, 4), i, fd, old;	/* 3 = O_ACCMODE, invalid */

	for (i = 0; i < (int)(sizeof(extra) / sizeof(extra[0])); i++)
		if (!rn(r, i < 2 ? 2 : 12))
			flags |= extra[i];
	if (!rn(r, 10))
		flags = next(r) & ~O_TMPFILE;
	flags &= ~O_TMPFILE;
	i = rn(r, nr_mbox + 1);
	/* One past the last mailbox: ENOENT, never a file created there. */
	if (i == nr_mbox)
		flags &= ~O_CREAT;
	snprintf(path, sizeof(path), "/dev/mbox%d", i);
	fd = open(path, flags, 0600);
	expect("open", fd, errno, open_errs);
	if (fd < 0)
		return;
	old = __atomic_exchange_n(&slots[rn(r, NSLOTS)], fd, __ATOMIC_SEQ_CST);
	if (old >= 0)
		close(old);
}

static void op_close(struct rng *r)
{
	int old = __atomic_exchange_n(&slots[rn(r, NSLOTS)], -1,
				      __ATOMIC_SEQ_CST);

	if (old >= 0) {
		close(old);
		__atomic_fetch_add(&closes_racing, 1, __ATOMIC_RELAXED);
	}
}

static void op_dup(struct rng *r)
{
	int fd = pick_fd(r), nfd, old;

	nfd = fcntl(fd, rn(r, 2) ? F_DUPFD : F_DUPFD_CLOEXEC, 0);
	expect("dup", nfd, errno, misc_errs);
	if (nfd < 0)
		return;
	old = __atomic_exchange_n(&slots[rn(r, NSLOTS)], nfd, __ATOMIC_SEQ_CST);
	if (old >= 0)
		close(old);
}

static void op_read(struct rng *r)
{
	size_t len = pick_len(r), asked;
	void *p = pick_buf(r, &len);
	ssize_t n;

	asked = len;
	n = read(pick_fd(r), p, len);
	expect("read", n, errno, io_errs);
	if (n > (ssize_t)asked)
		fuzz_fail("read returned more than asked", n, 0);
}

static void op_write(struct rng *r)
{
	size_t len = pick_len(r);
	void *p = rn(r, 4) ? pick_buf(r, &len) : ro;
	ssize_t n;

	if (p == ro && len > PAGE)
		len = PAGE;
	n = write(pick_fd(r), p, len);
	expect("write", n, errno, io_errs);
	if (n >= 0 && n != (ssize_t)len)
		fuzz_fail("write was partial", n, 0);
}

static void op_rwv(struct rng *r, bool wr)
{
	struct iovec iov[8];
	int cnt = rn(r, 9), i;
	size_t total = 0;
	ssize_t n;

	if (!rn(r, 20))
		cnt = (int[]){ -1, 1025, 1024, INT32_MAX }[rn(r, 4)];
	for (i = 0; i < 8; i++) {
		size_t len = rn(r, 3) ? rn(r, 200) : pick_len(r);

		iov[i].iov_base = pick_buf(r, &len);
		iov[i].iov_len = len;
		if (i < cnt)
			total += len;
	}
	n = wr ? writev(pick_fd(r), cnt > 8 ? NULL : iov, cnt) :
		 readv(pick_fd(r), cnt > 8 ? NULL : iov, cnt);
	expect(wr ? "writev" : "readv", n, errno, io_errs);
	if (n > 0 && (size_t)n > total)
		fuzz_fail("readv/writev returned more than asked", n, 0);
	if (wr && n >= 0 && (size_t)n != total)
		fuzz_fail("writev was partial", n, 0);
}

static void op_poll(struct rng *r)
{
	struct pollfd pfd[3];
	int i, n = 1 + rn(r, 3), ret;

	for (i = 0; i < n; i++) {
		pfd[i].fd = pick_fd(r);
		pfd[i].events = next(r);
	}
	ret = poll(pfd, n, rn(r, 3) ? 0 : rn(r, 20));
	expect("poll", ret, errno, misc_errs);
	for (i = 0; ret > 0 && i < n; i++)
		if (pfd[i].revents & ~(pfd[i].events | POLLERR | POLLHUP |
				       POLLNVAL))
			fuzz_fail("poll reported an event not asked for",
				  pfd[i].revents, 0);
}

/* The first published structure size of each command number. */
static const unsigned int cmds[] = {
	MBOX_IOC_GET_INFO, MBOX_IOC_SET_LIMITS, MBOX_IOC_PEEK,
	MBOX_IOC_SET_MODE, MBOX_IOC_GET_MODE, MBOX_IOC_FLUSH,
	MBOX_IOC_SEND_URGENT, MBOX_IOC_ACK, MBOX_IOC_NACK, FIONREAD,
	MBOX_IOC_SEND_BATCH, MBOX_IOC_RECV_BATCH,
};

/* Bytes of batch entries per thread: every accepted count and size fit. */
#define BATCH_ROOM	65536

/*
 * A batch whose entries all lie in this thread's own array (the kernel
 * writes each entry's result: it must never land on memory we use), each
 * pointing at a buffer of any kind; now and then a tail byte of a larger
 * entry set, or a hostile entries pointer.
 */
static __thread unsigned char ents[BATCH_ROOM] __attribute__((aligned(8)));
/* The last batch fill_batch() built with valid entries in ents, or NULL. */
static __thread const struct mbox_batch *built;

static void fill_batch(struct rng *r, struct mbox_batch *b)
{
	uint32_t es, n, i;
	size_t len;

	built = NULL;

	es = rn(r, 4) ? sizeof(struct mbox_batch_entry) :
	     rn(r, 2) ? 8 * (2 + rn(r, 511)) : pick_u64(r, 4097);
	n = rn(r, 3) ? 1 + rn(r, 8) : pick_u64(r, MBOX_BATCH_MAX + 1);
	if (es >= sizeof(struct mbox_batch_entry) && es <= 4096 &&
	    n <= MBOX_BATCH_MAX && (uint64_t)n * es > BATCH_ROOM)
		n = BATCH_ROOM / es;
	b->count = n;
	b->entry_size = es;
	b->flags = rn(r, 10) ? 0 : pick_u64(r, 1);
	b->reserved = rn(r, 10) ? 0 : 1;
	b->entries = (uintptr_t)ents;
	if (es < sizeof(struct mbox_batch_entry) || es > 4096 || es % 8 ||
	    n > MBOX_BATCH_MAX)
		return;		/* refused before any entry is read */
	memset(ents, 0, (size_t)n * es);
	for (i = 0; i < n; i++) {
		struct mbox_batch_entry *e = (void *)(ents + (size_t)i * es);

		len = rn(r, 3) ? rn(r, 300) : pick_len(r);
		/* Mostly good buffers, so that batches get past entry 0. */
		if (rn(r, 4) && len < BIG - 8)
			e->buf = (uintptr_t)(big + rn(r, 8));
		else
			e->buf = (uintptr_t)pick_buf(r, &len);
		e->len = rn(r, 8) ? len : pick_u64(r, 65536);
	}
	if (es > sizeof(struct mbox_batch_entry) && !rn(r, 4))
		ents[(size_t)rn(r, n) * es + es - 1] = 1;
	if (!rn(r, 12)) {
		len = 16;
		b->entries = (uintptr_t)pick_buf(r, &len);
		return;
	}
	built = b;
}

/*
 * A batch that returned @ret: at most count entries done, each send
 * result the entry's length, each receive result within its buffer.
 */
static void check_batch(unsigned int cmd, long ret)
{
	const struct mbox_batch *b = built;
	uint32_t i;

	built = NULL;
	if (!b || ret < 0)
		return;
	__atomic_fetch_add(&batches_done, 1, __ATOMIC_RELAXED);
	if (ret == 0 || ret > b->count) {
		fuzz_fail("batch count", ret, 0);
		return;
	}
	for (i = 0; i < ret; i++) {
		const struct mbox_batch_entry *e =
			(const void *)(ents + (size_t)i * b->entry_size);

		if (_IOC_NR(cmd) == _IOC_NR(MBOX_IOC_SEND_BATCH) ?
		    e->result != e->len : e->result > e->len) {
			fuzz_fail("batch entry result", e->result, 0);
			return;
		}
	}
}

/* Fill @arg as command @cmd's structure, with boundary values. */
static void fill_arg(struct rng *r, unsigned int cmd, unsigned char *arg)
{
	size_t len;

	memset(arg, 0, 256);
	if (!rn(r, 8)) {
		for (len = 0; len < 256; len++)
			arg[len] = next(r);
		return;
	}
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(MBOX_IOC_SET_LIMITS): {
		struct mbox_limits *l = (void *)arg;

		/* Small limits often; restored at the end. */
		l->max_msg_size = rn(r, 3) ? rn(r, 5000) :
				  pick_u64(r, MBOX_MAX_MSG_SIZE_LIMIT);
		l->max_msgs = rn(r, 3) ? rn(r, 20) :
			      pick_u64(r, MBOX_MAX_MSGS_LIMIT);
		l->max_bytes = rn(r, 3) ? rn(r, 100000) :
			       pick_u64(r, MBOX_MAX_BYTES_LIMIT);
		l->max_urgent = rn(r, 3) ? rn(r, 4) :
				pick_u64(r, MBOX_MAX_URGENT_LIMIT);
		l->reserved = rn(r, 8) ? 0 : pick_u64(r, 1);
		break;
	}
	case _IOC_NR(MBOX_IOC_SET_MODE): {
		struct mbox_mode *m = (void *)arg;

		m->flags = rn(r, 4) ? rn(r, 4) : pick_u64(r, MBOX_MODE_ALL);
		m->max_inflight = rn(r, 2) ? rn(r, 4) :
				  pick_u64(r, MBOX_MAX_INFLIGHT_LIMIT);
		break;
	}
	case _IOC_NR(MBOX_IOC_FLUSH): {
		struct mbox_flush *f = (void *)arg;

		f->flags = rn(r, 4) ? rn(r, 4) : pick_u64(r, 3);
		f->up_to_seq = pick_u64(r, 1000);
		f->reserved = rn(r, 8) ? 0 : 1;
		f->flushed_msgs = rn(r, 8) ? 0 : pick_u64(r, 1);
		break;
	}
	case _IOC_NR(MBOX_IOC_SEND_URGENT): {
		struct mbox_urgent *u = (void *)arg;

		len = rn(r, 3) ? rn(r, 300) : pick_len(r);
		u->buf = (uintptr_t)pick_buf(r, &len);
		u->len = rn(r, 8) ? len : pick_u64(r, 65536);
		u->flags = rn(r, 3) ? 0 : pick_u64(r, 1);
		u->flush_flags = rn(r, 2) ? 0 : pick_u64(r, 3);
		u->up_to_seq = rn(r, 2) ? 0 : pick_u64(r, 1000);
		u->reserved = rn(r, 10) ? 0 : 1;
		u->seq = rn(r, 10) ? 0 : 1;
		break;
	}
	case _IOC_NR(MBOX_IOC_SEND_BATCH):
	case _IOC_NR(MBOX_IOC_RECV_BATCH):
		fill_batch(r, (void *)arg);
		break;
	case _IOC_NR(MBOX_IOC_ACK):
	case _IOC_NR(MBOX_IOC_NACK): {
		struct mbox_ack *a = (void *)arg;

		a->seq = rn(r, 2) ? rn(r, 2000) : pick_u64(r, UINT64_MAX);
		a->flags = rn(r, 4) ? rn(r, 2) : pick_u64(r, 1);
		a->reserved = rn(r, 10) ? 0 : 1;
		break;
	}
	}
}

static void op_ioctl(struct rng *r)
{
	/* Room for the largest _IOC_SIZE (16383) the kernel may clear. */
	static __thread unsigned char argbuf[PAGE * 5]
		__attribute__((aligned(64)));
	unsigned int cmd = cmds[rn(r, sizeof(cmds) / sizeof(cmds[0]))];
	unsigned char *arg = argbuf + rn(r, 8);
	void *p = arg;
	long ret;

	switch (rn(r, 6)) {
	case 0: {	/* a size other than the first published one */
		unsigned int sizes[] = { 0, 1, _IOC_SIZE(cmd) - 1,
			_IOC_SIZE(cmd) + 8, _IOC_SIZE(cmd) + 128,
			(1 << _IOC_SIZEBITS) - 1 };

		cmd = _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd),
			   sizes[rn(r, 6)]);
		break;
	}
	case 1: {	/* any number around the magic, any direction */
		unsigned int types[] = { MBOX_IOC_MAGIC, MBOX_IOC_MAGIC - 1,
					 MBOX_IOC_MAGIC + 1, 'T' };

		cmd = _IOC(rn(r, 4), types[rn(r, 4)],
			   rn(r, 2) ? rn(r, 12) : rn(r, 256),
			   rn(r, 2) ? rn(r, 128) : rn(r, 1 << _IOC_SIZEBITS));
		break;
	}
	case 2:
		cmd = next(r);
		break;
	}
	fill_arg(r, cmd, arg);
	if (!rn(r, 6)) {
		size_t len = _IOC_SIZE(cmd);

		p = pick_buf(r, &len);
	}
	ret = ioctl(pick_fd(r), cmd, p);
	/* Other types reach the VFS's generic ioctls: any error will do. */
	if (_IOC_TYPE(cmd) == MBOX_IOC_MAGIC || cmd == FIONREAD)
		expect("ioctl", ret, errno, ioctl_errs);
	else
		__atomic_fetch_add(&ops_total, 1, __ATOMIC_RELAXED);
	if (p == arg && _IOC_TYPE(cmd) == MBOX_IOC_MAGIC &&
	    (_IOC_NR(cmd) == _IOC_NR(MBOX_IOC_SEND_BATCH) ||
	     _IOC_NR(cmd) == _IOC_NR(MBOX_IOC_RECV_BATCH)))
		check_batch(cmd, ret);
	built = NULL;
}

static void op_misc(struct rng *r)
{
	int fd = pick_fd(r), ret, n;
	void *m;

	switch (rn(r, 6)) {
	case 0:
		ret = lseek(fd, next(r), rn(r, 5));
		expect("lseek", ret, errno, lseek_errs);
		break;
	case 1:
		m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
		expect("mmap", m == MAP_FAILED ? -1 : 0, errno, misc_errs);
		if (m != MAP_FAILED)
			munmap(m, PAGE);
		break;
	case 2:
		n = fcntl(fd, F_GETFL);
		if (n >= 0)
			fcntl(fd, F_SETFL, n ^ O_NONBLOCK);
		expect("fcntl", n, errno, misc_errs);
		break;
	case 3:
		ret = ioctl(fd, FIONREAD, &n);
		expect("FIONREAD", ret, errno, ioctl_errs);
		if (!ret && n < 0)
			fuzz_fail("FIONREAD negative", n, 0);
		break;
	case 4: {
		struct stat st;

		ret = fstat(fd, &st);
		expect("fstat", ret, errno, misc_errs);
		break;
	}
	default: {
		/* sysfs, read while everything else runs */
		static const char *const attrs[] = {
			"msgs_queued", "bytes_queued", "inflight",
			"total_enqueued", "next_seq", "max_msg_size",
		};
		char path[96], buf[64];
		int sfd;

		snprintf(path, sizeof(path), "/sys/class/mbox/mbox%u/%s",
			 rn(r, nr_mbox), attrs[rn(r, 6)]);
		sfd = open(path, O_RDONLY);
		expect("sysfs open", sfd, errno, misc_errs);
		if (sfd >= 0) {
			expect("sysfs read", read(sfd, buf, sizeof(buf)),
			       errno, misc_errs);
			close(sfd);
		}
	}
	}
}

static void one_op(struct rng *r, bool child);

/* A child sharing every descriptor: random operations, then exit or die. */
static void op_fork(struct rng *r)
{
	pid_t pid = fork();
	int i;

	if (pid < 0)
		return;
	if (pid) {
		__atomic_fetch_add(&forks, 1, __ATOMIC_RELAXED);
		return;
	}
	alarm(1);	/* blocked too long: SIGALRM kills it */
	for (i = rn(r, 30); i > 0 && !stop; i--)
		one_op(r, true);
	if (failed) {
		/* No stdio after fork() in a threaded process. */
		if (write(2, failure, strlen(failure)) < 0 ||
		    write(2, "\n", 1) < 0)
			_exit(2);
		_exit(1);
	}
	if (rn(r, 2))
		raise(SIGKILL);
	_exit(0);
}

static void one_op(struct rng *r, bool child)
{
	switch (rn(r, 20)) {
	case 0: case 1:
		op_open(r);
		break;
	case 2:
		op_close(r);
		break;
	case 3:
		op_dup(r);
		break;
	case 4: case 5: case 6:
		op_read(r);
		break;
	case 7: case 8: case 9:
		op_write(r);
		break;
	case 10:
		op_rwv(r, false);
		break;
	case 11:
		op_rwv(r, true);
		break;
	case 12:
		op_poll(r);
		break;
	case 13: case 14: case 15: case 16:
		op_ioctl(r);
		break;
	case 17: case 18:
		op_misc(r);
		break;
	default:
		if (!child && !rn(r, 4))
			op_fork(r);
		else
			op_ioctl(r);
	}
}

static void *fuzz_thread(void *arg)
{
	struct rng r = { seed + (uintptr_t)arg * 0x1000193ull };

	while (!stop)
		one_op(&r, false);
	return NULL;
}

static void on_signal(int sig)
{
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Keep memory bounded: flush a mailbox holding more than 64 MiB. */
static void bound_memory(void)
{
	struct mbox_flush fl = { 0 };
	struct mbox_info info;
	char path[32];
	int i, fd;

	for (i = 0; i < nr_mbox; i++) {
		snprintf(path, sizeof(path), "/dev/mbox%d", i);
		fd = open(path, O_RDWR | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (!mbox_info(fd, &info) && info.bytes_queued > (64 << 20))
			ioctl(fd, MBOX_IOC_FLUSH, &fl);
		close(fd);
	}
}

static int fuzz_seconds(void)
{
	const char *env = getenv("MBOX_FUZZ_SECONDS");

	if (env)
		return atoi(env);
	return access("/sys/kernel/debug/kmemleak", F_OK) ? 15 : 60;
}

/*
 * Module parameters: only the two quotas may be written (by root, each
 * value checked, see mbox_quota_test); the limits and the number of
 * mailboxes are read unlocked and must not change.
 */
static int check_params(struct __test_metadata *_metadata)
{
	const char *dir = "/sys/module/mbox/parameters";
	struct dirent *de;
	char path[320];
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		struct stat st;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!strcmp(de->d_name, "user_bytes") ||
		    !strcmp(de->d_name, "user_mailboxes")) {
			if (stat(path, &st) || (st.st_mode & 0777) != 0644) {
				closedir(d);
				return -1;
			}
			n++;
			continue;
		}
		if (stat(path, &st) || (st.st_mode & 0222)) {
			TH_LOG("%s is writable (mode %o)", path,
			       st.st_mode & 0777);
			closedir(d);
			return -1;
		}
		fd = open(path, O_WRONLY);
		if (fd >= 0 || errno != EACCES) {
			TH_LOG("opening %s for writing: %d, %s", path, fd,
			       strerror(errno));
			closedir(d);
			return -1;
		}
		n++;
	}
	closedir(d);
	return n;
}

static void sane_mailbox(struct __test_metadata *_metadata, int index)
{
	char path[64], sys[96], buf[256];
	struct mbox_msg_header h;
	struct mbox_info info;
	long long v;
	int fd;

	snprintf(path, sizeof(path), "/dev/mbox%d", index);
	fd = open(path, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mbox_reset(fd));
	ASSERT_EQ(0, mbox_info(fd, &info));
	TH_LOG("mbox%d: enqueued %llu, dequeued %llu, flushed %llu, next seq %llu",
	       index, (unsigned long long)info.total_enqueued,
	       (unsigned long long)info.total_dequeued,
	       (unsigned long long)info.flushed_msgs,
	       (unsigned long long)info.next_seq);
	ASSERT_EQ(0, info.msgs_queued);
	ASSERT_EQ(0, info.bytes_queued);
	ASSERT_EQ(0, info.urgent_queued);
	ASSERT_EQ(0, info.inflight);
	ASSERT_EQ(0, info.readers_waiting);
	ASSERT_EQ(0, info.writers_waiting);
	ASSERT_EQ(info.total_enqueued,
		  info.total_dequeued + info.flushed_msgs);
	ASSERT_EQ(info.total_enqueued + 1, info.next_seq);
	ASSERT_EQ(mbox_param("max_msg_size"), info.max_msg_size);
	snprintf(sys, sizeof(sys), "/sys/class/mbox/mbox%d/total_enqueued",
		 index);
	v = mbox_read_sysfs(sys);
	ASSERT_EQ((long long)info.total_enqueued, v);

	ASSERT_EQ(0, mbox_set_header_mode(fd, 1));
	ASSERT_EQ(4, write(fd, "sane", 4));
	ASSERT_EQ(sizeof(h) + 4, mbox_recv_hdr(fd, &h, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "sane", 4));
	ASSERT_EQ(info.next_seq, h.seq);
	ASSERT_EQ(getpid(), h.pid);
	ASSERT_EQ(4, h.size);
	ASSERT_EQ(1, h.delivery_count);
	ASSERT_EQ(0, h.flags);
	ASSERT_EQ(0, mbox_info(fd, &info));
	ASSERT_EQ(info.total_enqueued, info.total_dequeued + info.flushed_msgs);
	close(fd);
}

FIXTURE(fuzz) {
	int unused;
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, random_syscalls, 900)
{
	const char *env = getenv("MBOX_FUZZ_SEED");
	struct sigaction sa = { .sa_handler = on_signal };
	int seconds = fuzz_seconds(), i, nparams, status;
	double start, last_bound = 0;

	seed = env ? strtoull(env, NULL, 0) :
	       ((uint64_t)time(NULL) << 16) ^ getpid();
	nr_mbox = mbox_param("nr_mailboxes");
	ASSERT_LT(0, nr_mbox);
	TH_LOG("seed %llu (MBOX_FUZZ_SEED=%llu MBOX_FUZZ_SECONDS=%d to repeat), %d threads, %d mailboxes",
	       (unsigned long long)seed, (unsigned long long)seed, seconds,
	       FUZZ_THREADS, nr_mbox);

	nparams = check_params(_metadata);
	ASSERT_LT(0, nparams);
	TH_LOG("module parameters: %d, only user_bytes and user_mailboxes writable (0644); the others 0444, open for writing EACCES even for root",
	       nparams);

	big = mmap(NULL, BIG + 3 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, big);
	memset(big, 'x', BIG + 3 * PAGE);
	ro = big + BIG;
	edge = ro + PAGE;
	ASSERT_EQ(0, mprotect(ro, PAGE, PROT_READ));
	ASSERT_EQ(0, mprotect(edge + PAGE, PAGE, PROT_NONE));
	for (i = 0; i < NSLOTS; i++)
		slots[i] = -1;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < FUZZ_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, fuzz_thread,
					    (void *)(uintptr_t)i));
	start = now();
	while (!stop && now() - start < seconds) {
		usleep(20000);
		/* Interrupt blocked calls; reap forked children. */
		for (i = 0; i < FUZZ_THREADS; i++)
			pthread_kill(threads[i], SIGUSR1);
		while ((i = waitpid(-1, &status, WNOHANG)) > 0)
			if (WIFEXITED(status) && WEXITSTATUS(status))
				child_failed(i, WEXITSTATUS(status));
		if (now() - last_bound > 0.2) {
			bound_memory();
			last_bound = now();
		}
	}
	stop = 1;
	for (i = 0; i < FUZZ_THREADS; i++) {
		while (pthread_tryjoin_np(threads[i], NULL)) {
			pthread_kill(threads[i], SIGUSR1);
			usleep(10000);
		}
	}
	while (waitpid(-1, &status, 0) > 0)
		;
	for (i = 0; i < NSLOTS; i++)
		if (slots[i] >= 0)
			close(slots[i]);

	TH_LOG("%.1f s: %llu operations (%llu failed as expected), %llu forks, %llu closes (racing the other threads' calls), %llu batches done",
	       now() - start, (unsigned long long)ops_total,
	       (unsigned long long)ops_err, (unsigned long long)forks,
	       (unsigned long long)closes_racing,
	       (unsigned long long)batches_done);
	if (failed)
		TH_LOG("FAILED with seed %llu: %s", (unsigned long long)seed,
		       failure);
	ASSERT_EQ(0, failed);
	/* Every mailbox: limits restored, a message end to end, counters. */
	for (i = 0; i < nr_mbox; i++)
		sane_mailbox(_metadata, i);
}

TEST_HARNESS_MAIN
