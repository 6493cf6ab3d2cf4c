// SPDX-License-Identifier: GPL-2.0
/*
 * mbox_bench: the mailbox side by side with the kernel's other local
 * message transports, in one run, interleaved so that drift (other VMs,
 * frequency changes, emulation hiccups) hits every mechanism alike.
 *
 * Mechanisms: mbox (/dev/mbox0 and /dev/mbox1), pipe, socketpair(AF_UNIX)
 * SOCK_SEQPACKET and SOCK_DGRAM, POSIX message queue, System V message
 * queue.  Each is configured to hold the same number of messages of the
 * size under test (see chan_open()).  Two more move BATCH messages per
 * system call where a scenario has several to move (1, 2, 3 and 5): mbox
 * through MBOX_IOC_SEND_BATCH/MBOX_IOC_RECV_BATCH ("mbox-b16"), and, for
 * a fair comparison, the SEQPACKET socket through sendmmsg()/recvmmsg()
 * ("seqpkt-m16").  Their figures are still per message.
 *
 * Scenarios:
 *  1  one thread sends one message then receives it: the per-message cost
 *  2  one writer streams to one reader on another CPU: messages/s, MB/s
 *  3  four writers stream to one reader: messages/s
 *  4  ping-pong between two CPUs: round-trip p50 and p99
 *  5  scenario 1 with 1 and with 10 000 messages already queued
 *  6  32 readers blocked, one message sent: how many readers wake
 *  7  a writer and a reader alternate on one CPU: each sends a message
 *     and waits for the other's answer (scenario 4 on one CPU), so every
 *     message includes a wake-up and a switch: the cost per message
 *
 * Every figure is the median of --reps repetitions (9 by default, short
 * ones, so the interleaving is fine-grained) with the minimum and maximum,
 * and its ratio to the pipe's median from the same repetitions; beside
 * it, the ratio between the best repetitions (on a loaded host noise only
 * adds cost, so the best of several is the steadiest estimate).  Run as root (mbox limits, socket buffers beyond
 * wmem_max, queue sizes); --tune raises the System V and POSIX queue
 * sysctls that a 64 KiB message needs (meant for a throwaway VM).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <mqueue.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cpuid.h>
#include <sys/ioctl.h>
#include <sys/msg.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/mbox.h>

enum mech {
	M_MBOX, M_MBOX_B16, M_PIPE, M_SEQPACKET, M_SEQPACKET_M16, M_DGRAM,
	M_POSIXMQ, M_SYSV, NR_MECH
};

static const char *const mech_name[NR_MECH] = {
	"mbox", "mbox-b16", "pipe", "seqpacket", "seqpkt-m16", "dgram",
	"posix-mq", "sysv-msg",
};

/* Messages per system call of the batched mechanisms. */
#define BATCH		16

static bool mech_batched(enum mech m)
{
	return m == M_MBOX_B16 || m == M_SEQPACKET_M16;
}

/* The transport under a batched mechanism: the same channel. */
static enum mech mech_base(enum mech m)
{
	return m == M_MBOX_B16 ? M_MBOX :
	       m == M_SEQPACKET_M16 ? M_SEQPACKET : m;
}

static int mech_batch(enum mech m)
{
	return mech_batched(m) ? BATCH : 1;
}

/* Ping-pongs and the herd move one message at a time: nothing to batch. */
static bool mech_in_scenario(enum mech m, int scenario)
{
	return !mech_batched(m) ||
	       (scenario != 4 && scenario != 6 && scenario != 7);
}

#define MAX_REPS	64
#define NR_SIZES	4
static const size_t sizes[NR_SIZES] = { 64, 1024, 4096, 65536 };

/* Options. */
static int opt_reps = 9;
static double opt_scale = 1.0;
static bool opt_smoke;
static bool opt_json;
static const char *opt_json_file;
static bool opt_tune;
static bool opt_icount;	/* the clock counts guest instructions */
static const char *opt_fresh;	/* a command run before each scenario and size */
static bool opt_jitter;		/* scenario 1 and 5: profile_jitter() per message */
static unsigned int opt_scenarios = 0xfe;	/* bits 1..7 */
static unsigned int opt_mechs = (1U << NR_MECH) - 1;
static unsigned int opt_sizes = (1U << NR_SIZES) - 1;
static int opt_depth = 10000;
static int nr_cpus;

static FILE *out;	/* the text report: stdout, or stderr with --json */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "mbox_bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	if (nr_cpus < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % nr_cpus, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void unpin(void)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	for (i = 0; i < nr_cpus; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* ---- channels: one mechanism configured for one message size ---- */

struct chan {
	enum mech mech;
	size_t size;
	int wfd, rfd;		/* mbox, pipe, sockets */
	mqd_t mq;
	int msqid;
};

/* A System V message: the type, then the payload. */
struct sysv_buf {
	long mtype;
	char mtext[];
};

/*
 * Per-thread buffers big enough for any size and any mechanism; the
 * batched ones also get BATCH receive buffers of the size under test and
 * their call's arrays, set up once (bufs_batch()) as a program would.
 */
struct bufs {
	struct sysv_buf *tx;
	struct sysv_buf *rx;
	char *rxs;
	struct mbox_batch_entry tx_e[BATCH], rx_e[BATCH];
	struct iovec tx_iov, rx_iov[BATCH];
	struct mmsghdr tx_mm[BATCH], rx_mm[BATCH];
};

static void bufs_init(struct bufs *b)
{
	size_t n = sizeof(struct sysv_buf) + sizes[NR_SIZES - 1];

	b->tx = malloc(n);
	b->rx = malloc(n);
	if (!b->tx || !b->rx)
		die("out of memory");
	memset(b->tx, 0x5a, n);
	memset(b->rx, 0, n);
	b->tx->mtype = 1;
	b->rxs = NULL;
}

/* The batch arrays for messages of @size; nothing for other mechanisms. */
static void bufs_batch(struct bufs *b, enum mech m, size_t size)
{
	int i;

	if (!mech_batched(m))
		return;
	b->rxs = malloc(BATCH * size);
	if (!b->rxs)
		die("out of memory");
	memset(b->rxs, 0, BATCH * size);
	b->tx_iov.iov_base = b->tx->mtext;
	b->tx_iov.iov_len = size;
	for (i = 0; i < BATCH; i++) {
		/* Every message sent from one buffer, each received into its own. */
		b->tx_e[i].buf = (uintptr_t)b->tx->mtext;
		b->tx_e[i].len = size;
		b->rx_e[i].buf = (uintptr_t)(b->rxs + i * size);
		b->rx_e[i].len = size;
		b->rx_iov[i].iov_base = b->rxs + i * size;
		b->rx_iov[i].iov_len = size;
		memset(&b->tx_mm[i], 0, sizeof(b->tx_mm[i]));
		b->tx_mm[i].msg_hdr.msg_iov = &b->tx_iov;
		b->tx_mm[i].msg_hdr.msg_iovlen = 1;
		memset(&b->rx_mm[i], 0, sizeof(b->rx_mm[i]));
		b->rx_mm[i].msg_hdr.msg_iov = &b->rx_iov[i];
		b->rx_mm[i].msg_hdr.msg_iovlen = 1;
	}
}

static void bufs_free(struct bufs *b)
{
	free(b->tx);
	free(b->rx);
	free(b->rxs);
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static long long read_number(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

/* Raise a sysctl to at least @min; say so. */
static void raise_sysctl(const char *path, long long min)
{
	long long cur = read_number(path);
	char val[32];

	if (cur < 0 || cur >= min)
		return;
	snprintf(val, sizeof(val), "%lld", min);
	if (write_file(path, val))
		fprintf(stderr, "mbox_bench: cannot raise %s to %lld: %s\n",
			path, min, strerror(errno));
	else
		fprintf(stderr, "mbox_bench: raised %s from %lld to %lld\n",
			path, cur, min);
}

static int mbox_setup(int fd, size_t size, size_t cap)
{
	struct mbox_flush fl = { 0 };
	struct mbox_limits lim = {
		.max_msg_size = size,
		.max_msgs = cap,
		.max_bytes = (uint64_t)cap * size,
		.max_urgent = 0,
	};

	if (ioctl(fd, MBOX_IOC_FLUSH, &fl))
		return -1;
	/* max_bytes >= max_msg_size always: lower the size first. */
	return ioctl(fd, MBOX_IOC_SET_LIMITS, &lim);
}

/* An empty batch is EINVAL where batches exist, ENOTTY (kept) if not. */
static bool mbox_has_batches(int fd)
{
	struct mbox_batch b = { .count = 0 };

	return ioctl(fd, MBOX_IOC_RECV_BATCH, &b) == 0 || errno != ENOTTY;
}

static int sock_bufs(int fd, size_t bytes)
{
	int v = bytes > INT_MAX / 2 ? INT_MAX / 2 : (int)bytes;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)))
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)))
		return -1;
	return 0;
}

/*
 * Open @m for messages of @size bytes, able to hold @cap of them, on
 * @slot (0 or 1: two independent channels for the ping-pong).
 *  - mbox: MBOX_IOC_SET_LIMITS max_msg_size=size, max_msgs=cap,
 *    max_bytes=cap*size; emptied first.
 *  - pipe: F_SETPIPE_SZ to cap*size rounded up (at least one page).
 *  - sockets: SO_SNDBUF(FORCE)/SO_RCVBUF(FORCE) of cap*(size+1 KiB): each
 *    datagram is charged its skb's truesize, about size + 0.6-1 KiB.
 *  - POSIX mq: mq_maxmsg=cap, mq_msgsize=size (CAP_SYS_RESOURCE lifts
 *    fs.mqueue.msg_max/msgsize_max up to their hard limits; RLIMIT_MSGQUEUE
 *    is raised at start).
 *  - SysV: msg_qbytes=cap*size via IPC_SET (CAP_SYS_RESOURCE goes beyond
 *    kernel.msgmnb); kernel.msgmax must be >= size (--tune).
 */
static int chan_open(struct chan *c, enum mech m, size_t size, size_t cap,
		     int slot)
{
	int fds[2];
	char path[64];
	size_t bytes = cap * size;

	memset(c, 0, sizeof(*c));
	c->mech = m;
	c->size = size;
	c->wfd = c->rfd = -1;
	c->msqid = -1;
	c->mq = (mqd_t)-1;
	switch (mech_base(m)) {
	case M_MBOX:
		snprintf(path, sizeof(path), "/dev/mbox%d", slot);
		c->wfd = open(path, O_WRONLY);
		if (c->wfd < 0)
			return -1;
		c->rfd = open(path, O_RDONLY);
		if (c->rfd < 0)
			return -1;
		/* A kernel without batches: unavailable, not a dead run. */
		if (mech_batched(m) && !mbox_has_batches(c->rfd))
			return -1;
		return mbox_setup(c->rfd, size, cap);
	case M_PIPE:
		if (pipe(fds))
			return -1;
		c->rfd = fds[0];
		c->wfd = fds[1];
		if (bytes < 4096)
			bytes = 4096;
		if (bytes > 4096 && fcntl(c->wfd, F_SETPIPE_SZ, (int)bytes) < 0)
			return -1;
		return 0;
	case M_SEQPACKET:
	case M_DGRAM:
		if (socketpair(AF_UNIX, mech_base(m) == M_DGRAM ? SOCK_DGRAM :
			       SOCK_SEQPACKET, 0, fds))
			return -1;
		c->wfd = fds[0];
		c->rfd = fds[1];
		bytes = cap * (size + 1024);
		return sock_bufs(c->wfd, bytes) || sock_bufs(c->rfd, bytes) ?
		       -1 : 0;
	case M_POSIXMQ: {
		struct mq_attr attr = {
			.mq_maxmsg = cap, .mq_msgsize = size,
		};

		snprintf(path, sizeof(path), "/mbox_bench.%d.%d", getpid(),
			 slot);
		mq_unlink(path);
		c->mq = mq_open(path, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		if (c->mq == (mqd_t)-1)
			return -1;
		mq_unlink(path);
		return 0;
	}
	case M_SYSV: {
		struct msqid_ds ds;

		c->msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (c->msqid < 0)
			return -1;
		if (msgctl(c->msqid, IPC_STAT, &ds))
			return -1;
		ds.msg_qbytes = bytes;
		if (msgctl(c->msqid, IPC_SET, &ds))
			return -1;
		if (read_number("/proc/sys/kernel/msgmax") < (long long)size) {
			errno = EMSGSIZE;
			return -1;
		}
		return 0;
	}
	default:
		break;
	}
	errno = EINVAL;
	return -1;
}

static void chan_close(struct chan *c)
{
	if (mech_base(c->mech) == M_MBOX && c->rfd >= 0) {
		struct mbox_flush fl = { 0 };

		ioctl(c->rfd, MBOX_IOC_FLUSH, &fl);
	}
	if (c->wfd >= 0)
		close(c->wfd);
	if (c->rfd >= 0)
		close(c->rfd);
	if (c->mq != (mqd_t)-1)
		mq_close(c->mq);
	if (c->msqid >= 0)
		msgctl(c->msqid, IPC_RMID, NULL);
}

static void chan_send(struct chan *c, struct bufs *b)
{
	const char *p = b->tx->mtext;
	size_t len = c->size;
	ssize_t n;

	switch (c->mech) {
	case M_POSIXMQ:
		while (mq_send(c->mq, p, len, 0))
			if (errno != EINTR)
				die("mq_send: %s", strerror(errno));
		return;
	case M_SYSV:
		while (msgsnd(c->msqid, b->tx, len, 0))
			if (errno != EINTR)
				die("msgsnd: %s", strerror(errno));
		return;
	case M_PIPE:
		/* A byte stream: all of it, however the kernel splits it. */
		while (len) {
			n = write(c->wfd, p, len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				die("pipe write: %s", strerror(errno));
			p += n;
			len -= n;
		}
		return;
	default:
		for (;;) {
			n = write(c->wfd, p, len);
			if (n == (ssize_t)len)
				return;
			if (n < 0 && errno == EINTR)
				continue;
			die("%s write: %zd, %s", mech_name[c->mech], n,
			    strerror(errno));
		}
	}
}

static void chan_recv(struct chan *c, struct bufs *b)
{
	char *p = b->rx->mtext;
	size_t len = c->size;
	ssize_t n;

	switch (c->mech) {
	case M_POSIXMQ:
		for (;;) {
			n = mq_receive(c->mq, p, len, NULL);
			if (n == (ssize_t)len)
				return;
			if (n < 0 && errno == EINTR)
				continue;
			die("mq_receive: %zd, %s", n, strerror(errno));
		}
	case M_SYSV:
		for (;;) {
			n = msgrcv(c->msqid, b->rx, len, 0, 0);
			if (n == (ssize_t)len)
				return;
			if (n < 0 && errno == EINTR)
				continue;
			die("msgrcv: %zd, %s", n, strerror(errno));
		}
	case M_PIPE:
		/* The cheapest framing a pipe allows: fixed-size records. */
		while (len) {
			n = read(c->rfd, p, len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				die("pipe read: %s", strerror(errno));
			p += n;
			len -= n;
		}
		return;
	default:
		for (;;) {
			n = read(c->rfd, p, len);
			if (n == (ssize_t)len)
				return;
			if (n < 0 && errno == EINTR)
				continue;
			die("%s read: %zd, %s", mech_name[c->mech], n,
			    strerror(errno));
		}
	}
}

/*
 * @n (at most BATCH) messages: in as few calls as the mechanism allows,
 * one for the batched ones unless the call stops short (only its first
 * message may wait), one each for the others.
 */
static void chan_send_n(struct chan *c, struct bufs *b, int n)
{
	struct mbox_batch batch = { .entry_size = sizeof(b->tx_e[0]) };
	int done = 0, r;

	while (done < n) {
		switch (c->mech) {
		case M_MBOX_B16:
			batch.entries = (uintptr_t)(b->tx_e + done);
			batch.count = n - done;
			r = ioctl(c->wfd, MBOX_IOC_SEND_BATCH, &batch);
			break;
		case M_SEQPACKET_M16:
			r = sendmmsg(c->wfd, b->tx_mm + done, n - done, 0);
			break;
		default:
			chan_send(c, b);
			r = 1;
			break;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("%s send: %d, %s", mech_name[c->mech], r,
			    strerror(errno));
		done += r;
	}
}

static void chan_recv_n(struct chan *c, struct bufs *b, int n)
{
	struct mbox_batch batch = { .entry_size = sizeof(b->rx_e[0]) };
	int done = 0, r, i;

	while (done < n) {
		switch (c->mech) {
		case M_MBOX_B16:
			batch.entries = (uintptr_t)(b->rx_e + done);
			batch.count = n - done;
			r = ioctl(c->rfd, MBOX_IOC_RECV_BATCH, &batch);
			for (i = 0; i < r; i++)
				if (b->rx_e[done + i].result != c->size)
					die("mbox-b16: %u bytes received",
					    b->rx_e[done + i].result);
			break;
		case M_SEQPACKET_M16:
			/* Wait for the first, take what is there after it. */
			r = recvmmsg(c->rfd, b->rx_mm + done, n - done,
				     MSG_WAITFORONE, NULL);
			for (i = 0; i < r; i++)
				if (b->rx_mm[done + i].msg_len != c->size)
					die("seqpkt-m16: %u bytes received",
					    b->rx_mm[done + i].msg_len);
			break;
		default:
			chan_recv(c, b);
			r = 1;
			break;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("%s recv: %d, %s", mech_name[c->mech], r,
			    strerror(errno));
		done += r;
	}
}

/* @count messages in calls of up to the mechanism's batch each. */
static void chan_send_all(struct chan *c, struct bufs *b, size_t count)
{
	size_t batch = mech_batch(c->mech);

	for (; count > batch; count -= batch)
		chan_send_n(c, b, batch);
	chan_send_n(c, b, count);
}

static void chan_recv_all(struct chan *c, struct bufs *b, size_t count)
{
	size_t batch = mech_batch(c->mech);

	for (; count > batch; count -= batch)
		chan_recv_n(c, b, batch);
	chan_recv_n(c, b, count);
}

/* ---- results ---- */

enum metric { NS_PER_MSG, MSGS_PER_S, RTT_P50_NS, RTT_P99_NS, WAKEUPS };

static const char *const metric_name[] = {
	"ns_per_msg", "msgs_per_s", "rtt_p50_ns", "rtt_p99_ns", "wakeups",
};

struct cell {
	int scenario;
	enum metric metric;
	size_t size;
	int depth;
	double v[NR_MECH][MAX_REPS];
	int n[NR_MECH];
	char err[NR_MECH][80];
};

#define MAX_CELLS	64
static struct cell cells[MAX_CELLS];
static int nr_cells;

static struct cell *cell_new(int scenario, enum metric metric, size_t size,
			     int depth)
{
	struct cell *c;

	if (nr_cells == MAX_CELLS)
		die("too many cells");
	c = &cells[nr_cells++];
	memset(c, 0, sizeof(*c));
	c->scenario = scenario;
	c->metric = metric;
	c->size = size;
	c->depth = depth;
	return c;
}

static struct cell *cell_find(int scenario, enum metric metric, size_t size,
			      int depth)
{
	int i;

	for (i = 0; i < nr_cells; i++)
		if (cells[i].scenario == scenario &&
		    cells[i].metric == metric && cells[i].size == size &&
		    cells[i].depth == depth)
			return &cells[i];
	return NULL;
}

static void cell_add(struct cell *c, enum mech m, double v)
{
	if (c->n[m] < MAX_REPS)
		c->v[m][c->n[m]++] = v;
}

static void cell_fail(struct cell *c, enum mech m, const char *what)
{
	if (!c->err[m][0])
		snprintf(c->err[m], sizeof(c->err[m]), "%s: %s", what,
			 strerror(errno));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stat3 {
	double med, min, max;
	bool ok;
};

static struct stat3 cell_stat(const struct cell *c, enum mech m)
{
	struct stat3 s = { 0 };
	double v[MAX_REPS];
	int n = c->n[m];

	if (!n || c->err[m][0])
		return s;
	memcpy(v, c->v[m], n * sizeof(double));
	qsort(v, n, sizeof(double), cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.ok = true;
	return s;
}

/*
 * @a over @b, 0 (no ratio) unless both are finite and @b is not 0: a
 * stream timed by a clock that did not advance has an infinite rate, and
 * a cost of 0 ns is below the clock's resolution, neither a measure.
 */
static double ratio_of(double a, double b)
{
	if (!isfinite(a) || !isfinite(b) || b == 0)
		return 0;
	return a / b;
}

/* Ratio of @m's median to the pipe's; 0 when either is missing. */
static double cell_ratio(const struct cell *c, enum mech m)
{
	struct stat3 a = cell_stat(c, m), p = cell_stat(c, M_PIPE);

	if (!a.ok || !p.ok)
		return 0;
	return ratio_of(a.med, p.med);
}

/*
 * The same ratio between best repetitions (the fastest: least cost, most
 * messages/s).  On a loaded host noise only ever adds cost, so the best
 * of several repetitions is the steadiest estimate of the cost itself.
 */
static double cell_best_ratio(const struct cell *c, enum mech m)
{
	struct stat3 a = cell_stat(c, m), p = cell_stat(c, M_PIPE);

	if (!a.ok || !p.ok)
		return 0;
	if (c->metric == MSGS_PER_S)
		return ratio_of(a.max, p.max);
	return ratio_of(a.min, p.min);
}

/* ---- scenario bodies: one repetition of one mechanism ---- */

static size_t scaled(size_t n, size_t size)
{
	double v = n * opt_scale;

	if (size > 4096)
		v /= 4;
	if (opt_smoke)
		v /= 500;
	return v < 20 ? 20 : (size_t)v;
}

/* Messages each mechanism can hold in the streaming scenarios. */
static size_t stream_cap(size_t size)
{
	size_t cap = (1 << 20) / size;

	return cap < 16 ? 16 : cap > 1024 ? 1024 : cap;
}

/*
 * Under a profiler that samples every N instructions, a loop of exactly
 * the same instructions every time can lock onto N (the samples fall on
 * a few places only); a random number of spins per message, in a
 * function of its own that the profile then leaves out, breaks the
 * phase.  Only with --jitter.
 */
static __attribute__((noinline)) void profile_jitter(void)
{
	static uint32_t x = 2463534242u;
	uint32_t n;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	for (n = x & 1023; n; n--)
		__asm__ volatile("" ::: "memory");
}

/*
 * 1 and 5: send one message and receive it, @iters times, @depth queued;
 * a batched mechanism sends BATCH then receives them, @iters in all.
 */
static int run_sendrecv(struct cell *cell, enum mech m, size_t size,
			int depth, size_t iters)
{
	size_t batch = mech_batch(m), i, n;
	struct chan c;
	struct bufs b;
	uint64_t t0;
	int d;

	bufs_init(&b);
	bufs_batch(&b, m, size);
	if (chan_open(&c, m, size, depth + batch + 1, 0)) {
		cell_fail(cell, m, "setup");
		chan_close(&c);
		bufs_free(&b);
		return -1;
	}
	for (d = 0; d < depth; d++)
		chan_send(&c, &b);
	for (i = 0; i < iters / 10 + 1; i += n) {	/* warm up */
		n = batch;
		chan_send_n(&c, &b, n);
		chan_recv_n(&c, &b, n);
		if (opt_jitter)
			profile_jitter();
	}
	t0 = now_ns();
	for (i = 0; i < iters; i += n) {
		n = iters - i < batch ? iters - i : batch;
		chan_send_n(&c, &b, n);
		chan_recv_n(&c, &b, n);
		if (opt_jitter)
			profile_jitter();
	}
	cell_add(cell, m, (double)(now_ns() - t0) / iters);
	chan_close(&c);
	bufs_free(&b);
	return 0;
}

struct stream {
	struct chan *c;
	size_t count;
	int cpu;
	pthread_barrier_t *start;
};

static void *stream_writer(void *arg)
{
	struct stream *s = arg;
	struct bufs b;

	bufs_init(&b);
	bufs_batch(&b, s->c->mech, s->c->size);
	if (s->cpu >= 0)
		pin_cpu(s->cpu);
	pthread_barrier_wait(s->start);
	chan_send_all(s->c, &b, s->count);
	bufs_free(&b);
	return NULL;
}

/* 2 and 3: @writers threads send @count messages in all to one reader. */
static int run_stream(struct cell *cell, enum mech m, size_t size,
		      int writers, size_t count)
{
	struct stream ws[4];
	pthread_t tid[4];
	pthread_barrier_t start;
	struct chan c;
	struct bufs b;
	uint64_t t0;
	int w;

	bufs_init(&b);
	bufs_batch(&b, m, size);
	if (chan_open(&c, m, size, stream_cap(size), 0)) {
		cell_fail(cell, m, "setup");
		chan_close(&c);
		bufs_free(&b);
		return -1;
	}
	count -= count % writers;
	pthread_barrier_init(&start, NULL, writers + 1);
	for (w = 0; w < writers; w++) {
		ws[w].c = &c;
		ws[w].count = count / writers;
		/* One writer: it and the reader on CPUs of their own. */
		ws[w].cpu = writers == 1 ? 1 : -1;
		ws[w].start = &start;
		if (pthread_create(&tid[w], NULL, stream_writer, &ws[w]))
			die("pthread_create");
	}
	if (writers == 1)
		pin_cpu(0);
	pthread_barrier_wait(&start);
	t0 = now_ns();
	chan_recv_all(&c, &b, count);
	/* Infinite when the clock did not advance: reported as such. */
	cell_add(cell, m, count * 1e9 / (double)(now_ns() - t0));
	for (w = 0; w < writers; w++)
		pthread_join(tid[w], NULL);
	unpin();
	pthread_barrier_destroy(&start);
	chan_close(&c);
	bufs_free(&b);
	return 0;
}

struct ponger {
	struct chan *ping, *pong;
	size_t count;
	int cpu;
};

static void *pong_thread(void *arg)
{
	struct ponger *p = arg;
	struct bufs b;
	size_t i;

	bufs_init(&b);
	pin_cpu(p->cpu);
	for (i = 0; i < p->count; i++) {
		chan_recv(p->ping, &b);
		chan_send(p->pong, &b);
	}
	bufs_free(&b);
	return NULL;
}

/* 4: round trips between two CPUs; adds p50 to @cell and p99 to @c99. */
static int run_pingpong(struct cell *cell, struct cell *c99, enum mech m,
			size_t size, size_t count)
{
	struct chan ping, pong;
	struct ponger p;
	pthread_t tid;
	struct bufs b;
	size_t warm = count / 10 + 1, i;
	double *rtt;
	uint64_t t;
	int e1, e2;

	e1 = chan_open(&ping, m, size, 4, 0);
	e2 = chan_open(&pong, m, size, 4, 1);
	if (e1 || e2) {
		cell_fail(cell, m, "setup");
		cell_fail(c99, m, "setup");
		chan_close(&ping);
		chan_close(&pong);
		return -1;
	}
	rtt = calloc(count, sizeof(*rtt));
	if (!rtt)
		die("out of memory");
	bufs_init(&b);
	p.ping = &ping;
	p.pong = &pong;
	p.count = warm + count;
	p.cpu = 1;
	if (pthread_create(&tid, NULL, pong_thread, &p))
		die("pthread_create");
	pin_cpu(0);
	for (i = 0; i < warm + count; i++) {
		t = now_ns();
		chan_send(&ping, &b);
		chan_recv(&pong, &b);
		if (i >= warm)
			rtt[i - warm] = now_ns() - t;
	}
	pthread_join(tid, NULL);
	unpin();
	qsort(rtt, count, sizeof(*rtt), cmp_double);
	cell_add(cell, m, rtt[count / 2]);
	cell_add(c99, m, rtt[(count * 99) / 100]);
	free(rtt);
	bufs_free(&b);
	chan_close(&ping);
	chan_close(&pong);
	return 0;
}

/*
 * 7: @count round trips with both ends on CPU 0, timed as a whole: per
 * message, half a round trip (a send, a wake-up, a switch, a receive).
 */
static int run_alternate(struct cell *cell, enum mech m, size_t size,
			 size_t count)
{
	struct chan ping, pong;
	struct ponger p;
	pthread_t tid;
	struct bufs b;
	size_t warm = count / 10 + 1, i;
	uint64_t t0 = 0;
	int e1, e2;

	e1 = chan_open(&ping, m, size, 4, 0);
	e2 = chan_open(&pong, m, size, 4, 1);
	if (e1 || e2) {
		cell_fail(cell, m, "setup");
		chan_close(&ping);
		chan_close(&pong);
		return -1;
	}
	bufs_init(&b);
	p.ping = &ping;
	p.pong = &pong;
	p.count = warm + count;
	p.cpu = 0;
	pin_cpu(0);
	if (pthread_create(&tid, NULL, pong_thread, &p))
		die("pthread_create");
	for (i = 0; i < warm + count; i++) {
		if (i == warm)
			t0 = now_ns();
		chan_send(&ping, &b);
		chan_recv(&pong, &b);
	}
	cell_add(cell, m, (double)(now_ns() - t0) / (2 * count));
	pthread_join(tid, NULL);
	unpin();
	bufs_free(&b);
	chan_close(&ping);
	chan_close(&pong);
	return 0;
}

/* 6: how many of 32 blocked readers one message wakes. */
#define HERD	32

struct herd {
	struct chan *c;
	pid_t tid[HERD];
	atomic_int ready;
	atomic_int returned;
	atomic_bool got[HERD];
	int next;
	pthread_mutex_t lock;
};

struct herd_arg {
	struct herd *h;
	int idx;
};

static void *herd_reader(void *arg)
{
	struct herd_arg *a = arg;
	struct herd *h = a->h;
	struct bufs b;

	bufs_init(&b);
	h->tid[a->idx] = syscall(SYS_gettid);
	atomic_fetch_add(&h->ready, 1);
	chan_recv(h->c, &b);
	atomic_store(&h->got[a->idx], true);
	atomic_fetch_add(&h->returned, 1);
	bufs_free(&b);
	return NULL;
}

/* A thread's scheduler state letter and voluntary context switches. */
static int task_state(pid_t tid, char *state, long long *nvcsw)
{
	char path[96], buf[2048], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\nState:");
	if (!p)
		return -1;
	p += strlen("\nState:");
	while (*p == ' ' || *p == '\t')
		p++;
	*state = *p;
	p = strstr(buf, "voluntary_ctxt_switches:");
	if (!p)
		return -1;
	*nvcsw = strtoll(p + strlen("voluntary_ctxt_switches:"), NULL, 10);
	return 0;
}

/*
 * Wait until every reader that has not returned sleeps, with the same
 * switch count on three checks 10 ms apart; fill @nvcsw.  -1 on timeout.
 */
static int herd_settle(struct herd *h, long long *nvcsw)
{
	long long prev[HERD];
	int stable = 0, tries, i;

	for (tries = 0; tries < 500 && stable < 3; tries++) {
		bool all = true;

		sleep_ms(10);
		for (i = 0; i < HERD; i++) {
			char st;

			if (atomic_load(&h->got[i]))
				continue;
			if (task_state(h->tid[i], &st, &nvcsw[i]) ||
			    st != 'S')
				all = false;
		}
		if (all && stable && !memcmp(prev, nvcsw, sizeof(prev)))
			stable++;
		else
			stable = all;
		memcpy(prev, nvcsw, sizeof(prev));
	}
	return stable >= 3 ? 0 : -1;
}

static int run_herd(struct cell *cell, enum mech m)
{
	struct herd h;
	struct herd_arg args[HERD];
	pthread_t tid[HERD];
	long long before[HERD], after[HERD];
	struct chan c;
	struct bufs b;
	int i, woken = 0, ret = 0;

	bufs_init(&b);
	if (chan_open(&c, m, 64, HERD + 2, 0)) {
		cell_fail(cell, m, "setup");
		chan_close(&c);
		bufs_free(&b);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.c = &c;
	for (i = 0; i < HERD; i++) {
		args[i].h = &h;
		args[i].idx = i;
		if (pthread_create(&tid[i], NULL, herd_reader, &args[i]))
			die("pthread_create");
	}
	while (atomic_load(&h.ready) < HERD)
		sleep_ms(1);
	if (herd_settle(&h, before)) {
		errno = ETIMEDOUT;
		cell_fail(cell, m, "readers never all blocked");
		ret = -1;
	} else {
		chan_send(&c, &b);
		for (i = 0; i < 5000 && !atomic_load(&h.returned); i++)
			sleep_ms(1);
		if (herd_settle(&h, after)) {
			errno = ETIMEDOUT;
			cell_fail(cell, m, "readers never settled");
			ret = -1;
		}
		for (i = 0; i < HERD; i++)
			woken += atomic_load(&h.got[i]) ||
				 after[i] != before[i];
		if (!ret)
			cell_add(cell, m, woken);
	}
	/* Release everyone still blocked. */
	for (i = atomic_load(&h.returned); i < HERD; i++)
		chan_send(&c, &b);
	for (i = 0; i < HERD; i++)
		pthread_join(tid[i], NULL);
	chan_close(&c);
	bufs_free(&b);
	return ret;
}

/* ---- driving the scenarios ---- */

static bool want_mech(enum mech m)
{
	return opt_mechs & (1U << m);
}

/* @m is measured in @scenario (asked for, and meaningful there). */
static bool runs_in(enum mech m, int scenario)
{
	return want_mech(m) && mech_in_scenario(m, scenario);
}

static void progress(const char *what)
{
	if (!opt_smoke)
		fprintf(stderr, "mbox_bench: %s\n", what);
}

static void scenario_sendrecv(size_t size)
{
	struct cell *cell = cell_new(1, NS_PER_MSG, size, 0);
	size_t iters = scaled(10000, size);
	int r, m;

	for (r = 0; r < opt_reps; r++)
		for (m = 0; m < NR_MECH; m++)
			if (runs_in(m, 1) && !cell->err[m][0])
				run_sendrecv(cell, m, size, 0, iters);
}

/* Both depths in each repetition, back to back, so drift hits both. */
static void scenario_depth(size_t size)
{
	struct cell *c1 = cell_new(5, NS_PER_MSG, size, 1);
	struct cell *cn = cell_new(5, NS_PER_MSG, size, opt_depth);
	size_t iters = scaled(4000, size);
	int r, m;

	for (r = 0; r < opt_reps; r++)
		for (m = 0; m < NR_MECH; m++) {
			if (!runs_in(m, 5) || c1->err[m][0] || cn->err[m][0])
				continue;
			run_sendrecv(c1, m, size, 1, iters);
			run_sendrecv(cn, m, size, opt_depth, iters);
		}
}

static void scenario_stream(int scenario, size_t size)
{
	struct cell *cell = cell_new(scenario, MSGS_PER_S, size, 0);
	size_t count = scaled(10000, size);
	int r, m;

	for (r = 0; r < opt_reps; r++)
		for (m = 0; m < NR_MECH; m++)
			if (runs_in(m, scenario) && !cell->err[m][0])
				run_stream(cell, m, size,
					   scenario == 2 ? 1 : 4, count);
}

static void scenario_pingpong(size_t size)
{
	struct cell *c50 = cell_new(4, RTT_P50_NS, size, 0);
	struct cell *c99 = cell_new(4, RTT_P99_NS, size, 0);
	size_t count = scaled(1000, size);
	int r, m;

	for (r = 0; r < opt_reps; r++)
		for (m = 0; m < NR_MECH; m++)
			if (runs_in(m, 4) && !c50->err[m][0])
				run_pingpong(c50, c99, m, size, count);
}

static void scenario_alternate(size_t size)
{
	struct cell *cell = cell_new(7, NS_PER_MSG, size, 0);
	size_t count = scaled(2000, size);
	int r, m;

	for (r = 0; r < opt_reps; r++)
		for (m = 0; m < NR_MECH; m++)
			if (runs_in(m, 7) && !cell->err[m][0])
				run_alternate(cell, m, size, count);
}

static void scenario_herd(void)
{
	struct cell *cell = cell_new(6, WAKEUPS, 64, HERD);
	int r, m;

	for (r = 0; r < opt_reps; r++)
		for (m = 0; m < NR_MECH; m++)
			if (runs_in(m, 6) && !cell->err[m][0])
				run_herd(cell, m);
}

static void run_all(void)
{
	char what[96];
	int s, i;

	for (s = 1; s <= 7; s++) {
		if (!(opt_scenarios & (1U << s)))
			continue;
		if (s == 6) {
			progress("scenario 6");
			scenario_herd();
			continue;
		}
		for (i = 0; i < NR_SIZES; i++) {
			size_t size = sizes[i];

			if (!(opt_sizes & (1U << i)))
				continue;
			/* Depth: 64 B and 4 KiB (10 000 x 64 KiB is 640 MB). */
			if (s == 5 && size != 64 && size != 4096)
				continue;
			snprintf(what, sizeof(what), "scenario %d, %zu B", s,
				 size);
			progress(what);
			/*
			 * A mailbox keeps a consumed message as its spare, and
			 * whether the next size can reuse it depends on what
			 * ran before; the other mechanisms start afresh.
			 */
			if (opt_fresh && system(opt_fresh))
				die("--fresh '%s' failed", opt_fresh);
			switch (s) {
			case 1:
				scenario_sendrecv(size);
				break;
			case 2:
			case 3:
				scenario_stream(s, size);
				break;
			case 4:
				scenario_pingpong(size);
				break;
			case 5:
				scenario_depth(size);
				break;
			case 7:
				scenario_alternate(size);
				break;
			}
		}
	}
}

/* ---- reporting ---- */

static const char *const scenario_title[] = {
	NULL,
	"1. one thread sends then receives (no sleeping): cost per message, lower is better",
	"2. streaming, 1 writer -> 1 reader on two CPUs: messages/s, higher is better",
	"3. streaming, 4 writers -> 1 reader: messages/s, higher is better",
	"4. ping-pong between two CPUs: round trip, lower is better",
	"5. cost per message against queue depth (scenario 1 with messages already queued)",
	"6. one message, 32 readers blocked: readers woken (must be 1)",
	"7. writer and reader alternating on one CPU (ping-pong): cost per message, wake-up and switch included",
};

/*
 * An infinite rate or a zero time: the clock did not advance during the
 * repetition (a coarse clock, a tiny smoke run), so there is no figure.
 */
static bool below_resolution(enum metric metric, double v)
{
	return !isfinite(v) || (metric != MSGS_PER_S && metric != WAKEUPS &&
				v == 0);
}

static void fmt_value(char *buf, size_t n, enum metric metric, double v)
{
	if (below_resolution(metric, v)) {
		snprintf(buf, n, "below clock resolution");
		return;
	}
	switch (metric) {
	case MSGS_PER_S:
		snprintf(buf, n, "%.0f", v);
		break;
	case WAKEUPS:
		snprintf(buf, n, "%.0f", v);
		break;
	default:
		if (opt_icount) {
			snprintf(buf, n, "%.0f insns", v);
			break;
		}
		if (v >= 1e6)
			snprintf(buf, n, "%.2f ms", v / 1e6);
		else
			snprintf(buf, n, "%.2f us", v / 1e3);
		break;
	}
}

static void print_cell(const struct cell *c)
{
	char a[32], b[32], d[32];
	int m;

	if (c->metric == WAKEUPS)
		fprintf(out, "  %d readers, %zu B message\n", c->depth,
			c->size);
	else if (c->scenario == 5)
		fprintf(out, "  %zu B, %d message%s queued\n", c->size,
			c->depth, c->depth == 1 ? "" : "s");
	else if (c->scenario == 4)
		fprintf(out, "  %zu B, %s\n", c->size,
			c->metric == RTT_P50_NS ? "p50" : "p99");
	else
		fprintf(out, "  %zu B\n", c->size);
	for (m = 0; m < NR_MECH; m++) {
		struct stat3 s = cell_stat(c, m);
		double ratio = cell_ratio(c, m);

		if (!runs_in(m, c->scenario))
			continue;
		if (!s.ok) {
			fprintf(out, "    %-10s  unavailable (%s)\n", mech_name[m],
				c->err[m][0] ? c->err[m] : "no data");
			continue;
		}
		if (below_resolution(c->metric, s.med)) {
			fprintf(out, "    %-10s  below clock resolution (median of %d reps)\n",
				mech_name[m], c->n[m]);
			continue;
		}
		fmt_value(a, sizeof(a), c->metric, s.med);
		fmt_value(b, sizeof(b), c->metric, s.min);
		fmt_value(d, sizeof(d), c->metric, s.max);
		fprintf(out, "    %-10s %12s  [%s - %s]", mech_name[m], a, b,
			d);
		if (c->metric == MSGS_PER_S && isfinite(s.med))
			fprintf(out, "  %8.1f MB/s", s.med * c->size / 1e6);
		if (ratio > 0 && c->metric != WAKEUPS)
			fprintf(out, "  %5.2fx pipe (best-of %.2fx)", ratio,
				cell_best_ratio(c, m));
		fprintf(out, "\n");
	}
}

/* Depth cost: median at depth N over median at depth 1, per mechanism. */
static double depth_ratio(size_t size, enum mech m, bool best)
{
	struct cell *d1 = cell_find(5, NS_PER_MSG, size, 1);
	struct cell *dn = cell_find(5, NS_PER_MSG, size, opt_depth);
	struct stat3 a, b;

	if (!d1 || !dn)
		return 0;
	a = cell_stat(d1, m);
	b = cell_stat(dn, m);
	if (!a.ok || !b.ok)
		return 0;
	if (best)
		return ratio_of(b.min, a.min);
	return ratio_of(b.med, a.med);
}

/* The summary: every mechanism's ratio to the pipe, per cell. */
static void print_matrix(bool best)
{
	int i, m;

	fprintf(out, "\nRatios to the pipe (%s; < 1 is cheaper for costs, > 1 is faster for messages/s)\n",
		best ? "best repetitions: least cost, most messages/s" :
		"medians");
	fprintf(out, "  %-26s", "scenario, size");
	for (m = 0; m < NR_MECH; m++)
		if (want_mech(m))
			fprintf(out, " %10s", mech_name[m]);
	fprintf(out, "\n");
	for (i = 0; i < nr_cells; i++) {
		const struct cell *c = &cells[i];
		char label[40];

		if (c->metric == WAKEUPS)
			continue;
		snprintf(label, sizeof(label), "%d %s %zu B%s", c->scenario,
			 c->metric == MSGS_PER_S ? "msgs/s" :
			 c->metric == RTT_P50_NS ? "p50" :
			 c->metric == RTT_P99_NS ? "p99" : "cost",
			 c->size, c->scenario == 5 ?
			 (c->depth == 1 ? " d=1" : " deep") : "");
		fprintf(out, "  %-26s", label);
		for (m = 0; m < NR_MECH; m++) {
			double r = best ? cell_best_ratio(c, m) :
				   cell_ratio(c, m);

			if (!want_mech(m))
				continue;
			if (r > 0)
				fprintf(out, " %9.2fx", r);
			else
				fprintf(out, " %10s", "-");
		}
		fprintf(out, "\n");
	}
	if (opt_scenarios & (1U << 5)) {
		for (i = 0; i < NR_SIZES; i++) {
			if (!cell_find(5, NS_PER_MSG, sizes[i], 1))
				continue;
			fprintf(out, "  5 deep/d=1 %-15zu", sizes[i]);
			for (m = 0; m < NR_MECH; m++) {
				double r = depth_ratio(sizes[i], m, best);

				if (!want_mech(m))
					continue;
				if (r > 0)
					fprintf(out, " %9.2fx", r);
				else
					fprintf(out, " %10s", "-");
			}
			fprintf(out, "  (depth %d over depth 1)\n", opt_depth);
		}
	}
}

/* ---- goals ---- */

struct goal {
	char text[160];
	char detail[200];
	int met;	/* 1 met, 0 missed, -1 not measured */
};

#define MAX_GOALS	32
static struct goal goals[MAX_GOALS];
static int nr_goals;

static struct goal *goal_new(const char *fmt, ...)
{
	struct goal *g = &goals[nr_goals++];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->text, sizeof(g->text), fmt, ap);
	va_end(ap);
	g->met = -1;
	return g;
}

/* mbox's median over @other's in @c, 0 when either is missing. */
static double vs(const struct cell *c, enum mech other)
{
	struct stat3 a, b;

	if (!c)
		return 0;
	a = cell_stat(c, M_MBOX);
	b = cell_stat(c, other);
	return a.ok && b.ok ? ratio_of(a.med, b.med) : 0;
}

/* mbox's best repetition over @other's, 0 when either is missing. */
static double vs_best(const struct cell *c, enum mech other)
{
	struct stat3 a, b;

	if (!c)
		return 0;
	a = cell_stat(c, M_MBOX);
	b = cell_stat(c, other);
	if (!a.ok || !b.ok)
		return 0;
	if (c->metric == MSGS_PER_S)
		return ratio_of(a.max, b.max);
	return ratio_of(a.min, b.min);
}

/* Judged on the medians; the best-of ratio is shown beside it. */
static void goal_ratio(struct goal *g, double r, double best, double limit,
		       bool at_most)
{
	if (r <= 0)
		return;
	g->met = at_most ? r <= limit : r >= limit;
	snprintf(g->detail, sizeof(g->detail), "%.2fx (best-of %.2fx)", r,
		 best);
}

static void evaluate_goals(void)
{
	static const size_t gsizes[] = { 64, 4096 };
	static const enum mech rivals[] = { M_POSIXMQ, M_SYSV, M_SEQPACKET };
	struct goal *g;
	unsigned int i, j;
	int m;

	for (i = 0; i < 2; i++) {
		struct cell *c = cell_find(1, NS_PER_MSG, gsizes[i], 0);

		g = goal_new("scenario 1, %zu B: mbox cost <= 1.0x pipe",
			     gsizes[i]);
		goal_ratio(g, vs(c, M_PIPE), vs_best(c, M_PIPE), 1.0, true);
		for (j = 0; j < 3; j++) {
			g = goal_new("scenario 1, %zu B: mbox cost <= 0.6x %s",
				     gsizes[i], mech_name[rivals[j]]);
			goal_ratio(g, vs(c, rivals[j]), vs_best(c, rivals[j]),
				   0.6, true);
		}
	}
	g = goal_new("scenario 1, 65536 B: mbox cheaper than seqpacket");
	{
		struct cell *c = cell_find(1, NS_PER_MSG, 65536, 0);
		double r = vs(c, M_SEQPACKET);

		if (r > 0) {
			g->met = r < 1.0;
			snprintf(g->detail, sizeof(g->detail),
				 "%.2fx (best-of %.2fx)", r,
				 vs_best(c, M_SEQPACKET));
		}
	}
	for (m = 2; m <= 3; m++)
		for (i = 0; i < 2; i++) {
			struct cell *c = cell_find(m, MSGS_PER_S, gsizes[i], 0);

			g = goal_new("scenario %d, %zu B: mbox msgs/s >= pipe", m,
				     gsizes[i]);
			goal_ratio(g, vs(c, M_PIPE), vs_best(c, M_PIPE), 1.0,
				   false);
		}
	for (i = 0; i < 2; i++) {
		g = goal_new("scenario 5, %zu B: mbox cost at depth %d <= 1.1x depth 1",
			     gsizes[i], opt_depth);
		goal_ratio(g, depth_ratio(gsizes[i], M_MBOX, false),
			   depth_ratio(gsizes[i], M_MBOX, true), 1.1, true);
	}
	g = goal_new("scenario 6: one message wakes exactly one mbox reader");
	{
		struct cell *c = cell_find(6, WAKEUPS, 64, HERD);
		struct stat3 s = c ? cell_stat(c, M_MBOX) : (struct stat3){ 0 };

		if (s.ok) {
			g->met = s.min == 1 && s.max == 1;
			snprintf(g->detail, sizeof(g->detail),
				 "woken %.0f-%.0f in %d reps", s.min, s.max,
				 c->n[M_MBOX]);
		}
	}
}

/* @a's median in @ca over @b's in @cb, both times; 0 when either is missing. */
static double med_ratio(const struct cell *ca, enum mech a,
			const struct cell *cb, enum mech b, double *va,
			double *vb)
{
	struct stat3 x, y;

	if (!ca || !cb)
		return 0;
	x = cell_stat(ca, a);
	y = cell_stat(cb, b);
	if (!x.ok || !y.ok)
		return 0;
	*va = x.med;
	*vb = y.med;
	return ratio_of(x.med, y.med);
}

/* One goal of issue 16 (icount): @a in @ca at most @limit times @b in @cb. */
static void goal_insns(const struct cell *ca, enum mech a,
		       const struct cell *cb, enum mech b, double limit,
		       const char *fmt, ...)
{
	struct goal *g = &goals[nr_goals++];
	double va = 0, vb = 0, r = med_ratio(ca, a, cb, b, &va, &vb);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->text, sizeof(g->text), fmt, ap);
	va_end(ap);
	g->met = -1;
	if (r <= 0)
		return;
	g->met = r <= limit;
	snprintf(g->detail, sizeof(g->detail), "%.3fx (%.0f / %.0f insns)",
		 r, va, vb);
}

/*
 * Issue 16's goals for the fast path, in instructions per message (the
 * medians of one icount run, side by side).
 */
static void evaluate_icount_goals(void)
{
	struct cell *s1_64 = cell_find(1, NS_PER_MSG, 64, 0);
	struct cell *s1_4k = cell_find(1, NS_PER_MSG, 4096, 0);
	struct cell *s1_64k = cell_find(1, NS_PER_MSG, 65536, 0);
	struct cell *s7_64 = cell_find(7, NS_PER_MSG, 64, 0);
	static const size_t dsizes[] = { 64, 4096 };
	unsigned int i;

	goal_insns(s1_64, M_MBOX, s1_64, M_PIPE, 0.90,
		   "scenario 1, 64 B: mbox <= 0.90x pipe");
	goal_insns(s1_64, M_MBOX, s1_64, M_SYSV, 0.90,
		   "scenario 1, 64 B: mbox <= 0.90x sysv-msg");
	goal_insns(s1_4k, M_MBOX, s1_4k, M_PIPE, 1.00,
		   "scenario 1, 4096 B: mbox <= 1.00x pipe");
	goal_insns(s1_64k, M_MBOX, s1_64k, M_SEQPACKET, 0.90,
		   "scenario 1, 65536 B: mbox <= 0.90x seqpacket");
	goal_insns(s1_64, M_MBOX_B16, s1_64, M_PIPE, 0.50,
		   "scenario 1, 64 B: mbox-b16 <= 0.50x pipe per message");
	goal_insns(s7_64, M_MBOX, s7_64, M_PIPE, 1.00,
		   "scenario 7 (one CPU, alternating), 64 B: mbox <= 1.00x pipe");
	for (i = 0; i < 2; i++)
		goal_insns(cell_find(5, NS_PER_MSG, dsizes[i], opt_depth),
			   M_MBOX, cell_find(5, NS_PER_MSG, dsizes[i], 1),
			   M_MBOX, 1.02,
			   "scenario 5, %zu B: mbox at depth %d <= 1.02x depth 1",
			   dsizes[i], opt_depth);
}

/*
 * Under icount the times are instructions: every single-CPU figure as a
 * count per message, mbox's ratios to the others, and how far apart the
 * repetitions landed (the measure of how exact the instrument is).
 */
static void print_icount_table(void)
{
	static const enum mech rivals[] = { M_PIPE, M_SYSV, M_POSIXMQ,
					    M_SEQPACKET };
	double spread = 0;
	const char *worst = "";
	char label[40], wlabel[64] = "";
	int i, m, j;

	fprintf(out, "\nInstructions per message (icount; median of %d reps)\n",
		opt_reps);
	fprintf(out, "  %-22s", "scenario, size");
	for (m = 0; m < NR_MECH; m++)
		if (want_mech(m))
			fprintf(out, " %10s", mech_name[m]);
	fprintf(out, "\n");
	for (i = 0; i < nr_cells; i++) {
		const struct cell *c = &cells[i];

		if (c->metric != NS_PER_MSG)
			continue;
		snprintf(label, sizeof(label), "%d %zu B%s", c->scenario,
			 c->size, c->scenario != 5 ? "" :
			 c->depth == 1 ? " d=1" : " deep");
		fprintf(out, "  %-22s", label);
		for (m = 0; m < NR_MECH; m++) {
			struct stat3 st = cell_stat(c, m);

			if (!want_mech(m))
				continue;
			if (!st.ok || !runs_in(m, c->scenario)) {
				fprintf(out, " %10s", "-");
				continue;
			}
			fprintf(out, " %10.0f", st.med);
			if (st.med > 0 && (st.max - st.min) / st.med > spread) {
				spread = (st.max - st.min) / st.med;
				worst = mech_name[m];
				snprintf(wlabel, sizeof(wlabel), "%s", label);
			}
		}
		fprintf(out, "\n");
	}

	fprintf(out, "\nmbox's instructions per message over the others' (< 1: mbox executes fewer)\n");
	fprintf(out, "  %-22s", "scenario, size");
	for (j = 0; j < 4; j++)
		fprintf(out, " %10s", mech_name[rivals[j]]);
	fprintf(out, " %16s\n", "mbox-b16/pipe");
	for (i = 0; i < nr_cells; i++) {
		const struct cell *c = &cells[i];
		double a, b, r;

		if (c->metric != NS_PER_MSG)
			continue;
		snprintf(label, sizeof(label), "%d %zu B%s", c->scenario,
			 c->size, c->scenario != 5 ? "" :
			 c->depth == 1 ? " d=1" : " deep");
		fprintf(out, "  %-22s", label);
		for (j = 0; j < 4; j++) {
			r = med_ratio(c, M_MBOX, c, rivals[j], &a, &b);
			if (r > 0)
				fprintf(out, " %9.3fx", r);
			else
				fprintf(out, " %10s", "-");
		}
		r = med_ratio(c, M_MBOX_B16, c, M_PIPE, &a, &b);
		if (r > 0)
			fprintf(out, " %15.3fx", r);
		else
			fprintf(out, " %16s", "-");
		fprintf(out, "\n");
	}
	for (i = 0; i < NR_SIZES; i++) {
		double a, b, r;

		r = med_ratio(cell_find(5, NS_PER_MSG, sizes[i], opt_depth),
			      M_MBOX, cell_find(5, NS_PER_MSG, sizes[i], 1),
			      M_MBOX, &a, &b);
		if (r > 0)
			fprintf(out, "  depth %d over depth 1, %zu B: mbox %.3fx (%.0f / %.0f insns)\n",
				opt_depth, sizes[i], r, a, b);
	}
	if (opt_reps > 1)
		fprintf(out, "  repetitions: the widest spread (max - min over the median) is %.2f%% (%s, %s)\n",
			100 * spread, wlabel, worst);
}

static void print_goals(void)
{
	int i;

	fprintf(out, "\nGoals\n");
	for (i = 0; i < nr_goals; i++)
		fprintf(out, "  %-9s %-60s %s\n",
			goals[i].met < 0 ? "n/a" : goals[i].met ? "met" :
			"MISSED", goals[i].text, goals[i].detail);
}

/* ---- environment ---- */

static char kernel[256];
static char accel[32];

static void detect_env(void)
{
	unsigned int a, b, c, d;
	struct utsname u;
	const char *env = getenv("MBOX_VM_ACCEL");
	char sig[13] = { 0 };

	uname(&u);
	snprintf(kernel, sizeof(kernel), "%s %s", u.release, u.version);
	nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (env && *env) {
		snprintf(accel, sizeof(accel), "%s", env);
		return;
	}
	__cpuid(1, a, b, c, d);
	if (!(c & (1U << 31))) {
		snprintf(accel, sizeof(accel), "bare metal");
		return;
	}
	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	if (!strncmp(sig, "KVMKVMKVM", 9))
		snprintf(accel, sizeof(accel), "KVM");
	else if (!strncmp(sig, "TCGTCGTCGTCG", 12))
		snprintf(accel, sizeof(accel), "TCG");
	else
		snprintf(accel, sizeof(accel), "hypervisor '%s'", sig);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* JSON has no inf or NaN: a figure that is not finite is null. */
static void json_num(FILE *f, const char *fmt, double v)
{
	if (isfinite(v))
		fprintf(f, fmt, v);
	else
		fputs("null", f);
}

static void print_json(FILE *f)
{
	int i, m, r;
	bool first = true;

	fprintf(f, "{\n  \"kernel\": ");
	json_str(f, kernel);
	fprintf(f, ",\n  \"cpus\": %d,\n  \"accel\": ", nr_cpus);
	json_str(f, accel);
	fprintf(f, ",\n  \"reps\": %d,\n  \"smoke\": %s,\n  \"depth\": %d,\n",
		opt_reps, opt_smoke ? "true" : "false", opt_depth);
	/* icount: every "ns" figure is a count of guest instructions. */
	fprintf(f, "  \"clock\": \"%s\",\n",
		opt_icount ? "instructions" : "ns");
	fprintf(f, "  \"results\": [");
	for (i = 0; i < nr_cells; i++) {
		const struct cell *c = &cells[i];

		for (m = 0; m < NR_MECH; m++) {
			struct stat3 s = cell_stat(c, m);

			if (!runs_in(m, c->scenario))
				continue;
			fprintf(f, "%s\n    {\"scenario\": %d, \"metric\": \"%s\", \"size\": %zu, \"depth\": %d, \"mech\": \"%s\"",
				first ? "" : ",", c->scenario,
				metric_name[c->metric], c->size, c->depth,
				mech_name[m]);
			first = false;
			if (!s.ok) {
				fprintf(f, ", \"error\": ");
				json_str(f, c->err[m][0] ? c->err[m] :
					 "no data");
				fprintf(f, "}");
				continue;
			}
			fprintf(f, ", \"median\": ");
			json_num(f, "%.1f", s.med);
			fprintf(f, ", \"min\": ");
			json_num(f, "%.1f", s.min);
			fprintf(f, ", \"max\": ");
			json_num(f, "%.1f", s.max);
			/* Ratios are finite (ratio_of()); 0 means none. */
			fprintf(f, ", \"ratio_to_pipe\": %.4f, \"best_ratio_to_pipe\": %.4f, \"values\": [",
				cell_ratio(c, m), cell_best_ratio(c, m));
			for (r = 0; r < c->n[m]; r++) {
				fputs(r ? ", " : "", f);
				json_num(f, "%.1f", c->v[m][r]);
			}
			fprintf(f, "]}");
		}
	}
	fprintf(f, "\n  ],\n  \"goals\": [");
	for (i = 0; i < nr_goals; i++) {
		fprintf(f, "%s\n    {\"goal\": ", i ? "," : "");
		json_str(f, goals[i].text);
		fprintf(f, ", \"met\": %s, \"detail\": ",
			goals[i].met < 0 ? "null" : goals[i].met ? "true" :
			"false");
		json_str(f, goals[i].detail);
		fprintf(f, "}");
	}
	fprintf(f, "\n  ]\n}\n");
}

/* Put /dev/mbox0 and /dev/mbox1 back to empty with the module's limits. */
static void mbox_restore(void)
{
	static const char *const p = "/sys/module/mbox/parameters/";
	char path[128];
	struct mbox_limits lim = { 0 };
	struct mbox_flush fl = { 0 };
	int slot, fd;

	snprintf(path, sizeof(path), "%smax_msg_size", p);
	lim.max_msg_size = read_number(path);
	snprintf(path, sizeof(path), "%smax_msgs", p);
	lim.max_msgs = read_number(path);
	snprintf(path, sizeof(path), "%smax_bytes", p);
	lim.max_bytes = read_number(path);
	for (slot = 0; slot < 2; slot++) {
		snprintf(path, sizeof(path), "/dev/mbox%d", slot);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ioctl(fd, MBOX_IOC_FLUSH, &fl);
		ioctl(fd, MBOX_IOC_SET_LIMITS, &lim);
		close(fd);
	}
}

/* ---- main ---- */

static unsigned int parse_list(const char *arg, const char *const *names,
			       int nr, const char *what)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	unsigned int mask = 0;
	int i;

	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < nr; i++)
			if (!strcmp(tok, names[i]))
				break;
		if (i == nr)
			die("unknown %s '%s'", what, tok);
		mask |= 1U << i;
	}
	free(copy);
	return mask;
}

static void usage(void)
{
	printf("usage: mbox_bench [options]\n"
	       "  --reps N         repetitions per figure (default 9)\n"
	       "  --scale F        multiply message counts by F (default 1)\n"
	       "  --smoke          a few seconds: 1/500 of the counts (at least 20), depth 100\n"
	       "  --json           JSON on stdout (the text report goes to stderr)\n"
	       "  --json-file F    also write the JSON to F\n"
	       "  --tune           raise kernel.msgmax/msgmnb and fs.mqueue.* to fit 64 KiB\n"
	       "  --fresh CMD      run CMD (e.g. reload the module) before each scenario\n"
	       "                   and size, so no mailbox state carries over\n"
	       "  --jitter         scenarios 1, 5: a random spin per message, so a profiler\n"
	       "                   sampling every N instructions does not lock onto the loop\n"
	       "  --icount         the clock counts instructions (QEMU -icount shift=0, one\n"
	       "                   CPU): times are instructions, the goals are issue 16's\n"
	       "  -s LIST          scenarios, e.g. 1,2,6 (default all)\n"
	       "  -m LIST          mechanisms: mbox,mbox-b16,pipe,seqpacket,seqpkt-m16,\n"
	       "                   dgram,posix-mq,sysv-msg (-b16, -m16: %d messages per\n"
	       "                   call, scenarios 1, 2, 3 and 5 only)\n"
	       "  -z LIST          sizes: 64,1024,4096,65536\n"
	       "  --depth N        queue depth of scenario 5 (default 10000)\n"
	       "Needs root and the mbox module (/dev/mbox0 and /dev/mbox1).\n",
	       BATCH);
}

int main(int argc, char **argv)
{
	static const char *const size_names[] = { "64", "1024", "4096",
						  "65536" };
	static const char *const scen_names[] = { "0", "1", "2", "3", "4",
						  "5", "6", "7" };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	bool depth_set = false;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--reps") && v) {
			opt_reps = atoi(v);
			i++;
		} else if (!strcmp(a, "--scale") && v) {
			opt_scale = atof(v);
			i++;
		} else if (!strcmp(a, "--smoke")) {
			opt_smoke = true;
		} else if (!strcmp(a, "--json")) {
			opt_json = true;
		} else if (!strcmp(a, "--json-file") && v) {
			opt_json_file = v;
			i++;
		} else if (!strcmp(a, "--tune")) {
			opt_tune = true;
		} else if (!strcmp(a, "--icount")) {
			opt_icount = true;
		} else if (!strcmp(a, "--jitter")) {
			opt_jitter = true;
		} else if (!strcmp(a, "--fresh") && v) {
			opt_fresh = v;
			i++;
		} else if (!strcmp(a, "-s") && v) {
			opt_scenarios = parse_list(v, scen_names, 8,
						   "scenario");
			i++;
		} else if (!strcmp(a, "-m") && v) {
			opt_mechs = parse_list(v, mech_name, NR_MECH,
					       "mechanism");
			i++;
		} else if (!strcmp(a, "-z") && v) {
			opt_sizes = parse_list(v, size_names, NR_SIZES, "size");
			i++;
		} else if (!strcmp(a, "--depth") && v) {
			opt_depth = atoi(v);
			depth_set = true;
			i++;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage();
			return 0;
		} else {
			usage();
			return 2;
		}
	}
	if (opt_reps < 1 || opt_reps > MAX_REPS || opt_scale <= 0 ||
	    opt_depth < 2 || opt_depth > 100000)
		die("bad --reps, --scale or --depth");
	if (opt_smoke && !depth_set)
		opt_depth = 100;
	out = opt_json ? stderr : stdout;
	setvbuf(stdout, NULL, _IOLBF, 0);

	detect_env();
	/* POSIX queues are charged to RLIMIT_MSGQUEUE, root or not. */
	setrlimit(RLIMIT_MSGQUEUE, &rl);
	if (opt_tune) {
		raise_sysctl("/proc/sys/kernel/msgmax", 65536);
		raise_sysctl("/proc/sys/kernel/msgmnb", 1 << 20);
		raise_sysctl("/proc/sys/fs/mqueue/msgsize_max", 65536);
		raise_sysctl("/proc/sys/fs/mqueue/msg_max", 65536);
	}

	fprintf(out, "mbox_bench: kernel %s\n", kernel);
	fprintf(out, "mbox_bench: %d CPUs, %s; median of %d reps [min - max]%s\n",
		nr_cpus, accel, opt_reps,
		opt_smoke ? "; SMOKE RUN: figures mean nothing" : "");
	if (opt_icount)
		fprintf(out, "mbox_bench: icount: the guest clock advances 1 ns per instruction, so every time is a count of guest instructions (user and kernel, interrupts included), independent of the host's load\n");
	else if (!strcmp(accel, "TCG"))
		fprintf(out, "mbox_bench: under TCG absolute times are emulated; only the ratios mean something\n");

	run_all();
	if (want_mech(M_MBOX))
		mbox_restore();
	if (opt_icount)
		evaluate_icount_goals();
	else
		evaluate_goals();

	for (i = 0; i < nr_cells; i++) {
		if (!i || cells[i].scenario != cells[i - 1].scenario)
			fprintf(out, "\n%s\n",
				scenario_title[cells[i].scenario]);
		print_cell(&cells[i]);
	}
	print_matrix(false);
	/* Under icount the best repetition tells nothing the median does not. */
	if (opt_icount)
		print_icount_table();
	else
		print_matrix(true);
	print_goals();

	if (opt_json)
		print_json(stdout);
	if (opt_json_file) {
		FILE *f = fopen(opt_json_file, "w");

		if (!f)
			die("%s: %s", opt_json_file, strerror(errno));
		print_json(f);
		fclose(f);
	}
	return 0;
}
