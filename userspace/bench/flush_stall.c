// SPDX-License-Identifier: GPL-2.0
/*
 * flush_stall: does a selective flush of a huge mailbox stall the other
 * users of that mailbox?  (Issue 15, item 5.)
 *
 * The mailbox is set to hold --msgs messages (default and most:
 * MBOX_MAX_MSGS_LIMIT, 1 Mi) of --size bytes and filled half by a file
 * opened as root (O_RDWR) and half by a write-only file opened with the
 * effective uid --uid (65534): a MBOX_FLUSH_MINE through the latter
 * selects its half, and must walk the whole queue to find it.
 *
 * A reader thread, pinned to CPU 1, works on its own O_RDWR file of the
 * same mailbox, non-blocking, without pause: it reads one message, writes
 * it back, reads the next... (--op rw, the default; a write that finds
 * the mailbox full is retried as the next call), or calls MBOX_IOC_GET_INFO
 * (--op info).  Every one of those calls takes the mailbox's lock, and
 * each is timed with clock_gettime(CLOCK_MONOTONIC).  The reader is paced:
 * call k is due at start + k * --period-us (default 100 us), and its
 * latency is counted from when it was due, not from when it could start,
 * so a stall counts for every call it held up (no coordinated omission);
 * a back-to-back reader (--period-us 0) would count a stall once, as
 * one long call among a million short ones.  The call's own duration
 * is reported too ("call").
 *
 * The main thread, pinned to CPU 0, first leaves the reader alone for
 * --idle-ms (the "idle" figures), then runs the flush loop --iters times:
 * MBOX_IOC_FLUSH(MBOX_FLUSH_MINE) through the write-only file, then
 * refill with its messages (MBOX_IOC_SEND_BATCH) until the mailbox is
 * full again.  The reader's calls made during the loop are the "loop"
 * figures; those whose span (from due time to return) overlapped a
 * flush ioctl are also the "flush" figures.  Each class: sample count,
 * p50, p99, max, in ns.
 *
 * Needs root (CAP_SYS_ADMIN for the limits; the second opener is made by
 * switching the effective uid with SECBIT_NO_SETUID_FIXUP, so the open
 * keeps root's capabilities but the file gets the other uid).  Meant for
 * the throwaway VM: it empties the mailbox and restores its limits at the
 * end.  See flush-stall-ab.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/securebits.h>
#include <linux/mbox.h>

#define OP_RW	0
#define OP_INFO	1

static const char *dev = "/dev/mbox0";
static unsigned int nmsgs = MBOX_MAX_MSGS_LIMIT;
static unsigned int msg_size = 8;
static unsigned int iters = 8;
static unsigned int idle_ms = 2000;
static unsigned int other_uid = 65534;
static unsigned int period_us = 100;
static int op = OP_RW;
static int json;
static const char *json_file;

/* Shared between the threads. */
static atomic_int phase;		/* 0 idle, 1 loop, 2 stop */
static atomic_int reader_ready;
static uint64_t loop_start;		/* set before phase becomes 1 */

struct samples {
	uint64_t *v;
	size_t n, cap;
};

/* Every call of the reader: when it was due, started and returned. */
struct call {
	uint64_t due, t0, t1;
};
static struct call *calls;
static size_t ncalls, calls_cap;

/* idle, loop (all), flush (overlapping a flush ioctl); and call times */
static struct samples cls[3], cls_call[3];
static const char *const cls_name[3] = { "idle", "loop", "flush" };
static unsigned long long reader_errors, reader_full;

static void die(const char *what)
{
	fprintf(stderr, "flush_stall: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void push(struct samples *s, uint64_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1 << 16;
		uint64_t *p = realloc(s->v, cap * sizeof(*p));

		if (!p)
			die("realloc");
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

static int open_mbox(int flags)
{
	int fd = open(dev, flags | O_CLOEXEC);

	if (fd < 0)
		die(dev);
	return fd;
}

static void *reader(void *arg)
{
	int fd = *(int *)arg;
	char buf[4096];
	size_t held = 0;

	pin(1);
	atomic_store(&reader_ready, 1);
	uint64_t due = now_ns();

	for (;;) {
		uint64_t t0, t1;
		ssize_t r;

		if (atomic_load(&phase) == 2)
			break;
		if (period_us) {
			due += period_us * 1000ULL;
			while ((t0 = now_ns()) < due)
				;
		} else {
			due = t0 = now_ns();
		}
		if (op == OP_INFO) {
			struct mbox_info info;

			r = ioctl(fd, MBOX_IOC_GET_INFO, &info);
		} else if (held) {
			r = write(fd, buf, held);
		} else {
			r = read(fd, buf, sizeof(buf));
		}
		t1 = now_ns();
		if (op == OP_RW) {
			if (held && r >= 0)
				held = 0;
			else if (!held && r > 0)
				held = (size_t)r;
		}
		if (r < 0) {
			if (errno == EAGAIN)
				reader_full++;
			else
				reader_errors++;
		}
		if (ncalls == calls_cap) {
			size_t cap = calls_cap ? 2 * calls_cap : 1 << 16;
			struct call *p = realloc(calls, cap * sizeof(*p));

			if (!p)
				die("realloc");
			calls = p;
			calls_cap = cap;
		}
		calls[ncalls++] = (struct call){ due, t0, t1 };
	}
	/* Give back what the reader holds, if there is room. */
	if (held && write(fd, buf, held) < 0)
		reader_full++;
	return NULL;
}

/* Write with @fd until the mailbox is full; returns messages written. */
static unsigned long long fill(int fd, unsigned long long most)
{
	static struct mbox_batch_entry e[MBOX_BATCH_MAX];
	static char payload[MBOX_BATCH_MAX][64];
	unsigned long long done = 0;

	for (unsigned int i = 0; i < MBOX_BATCH_MAX; i++) {
		e[i].buf = (uintptr_t)payload[i];
		e[i].len = msg_size;
	}
	while (done < most) {
		unsigned long long want = most - done;
		struct mbox_batch b = {
			.entries = (uintptr_t)e,
			.count = want < MBOX_BATCH_MAX ? (__u32)want : MBOX_BATCH_MAX,
			.entry_size = sizeof(e[0]),
		};
		int r = ioctl(fd, MBOX_IOC_SEND_BATCH, &b);

		if (r < 0) {
			if (errno == EAGAIN)
				break;
			die("MBOX_IOC_SEND_BATCH");
		}
		done += (unsigned int)r;
	}
	return done;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted @s. */
static uint64_t pct(const struct samples *s, double p)
{
	size_t k;

	if (!s->n)
		return 0;
	k = (size_t)(p / 100.0 * (double)s->n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > s->n)
		k = s->n;
	return s->v[k - 1];
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flush_stall [options]\n"
		"  -d DEV         the mailbox (default /dev/mbox0)\n"
		"  --msgs N       messages the mailbox holds (default and most: %u)\n"
		"  --size B       payload bytes of each message (default 8, 1..64)\n"
		"  --iters N      flush + refill rounds (default 8)\n"
		"  --idle-ms MS   the reader alone first, for MS ms (default 2000)\n"
		"  --op rw|info   the reader's calls: read one message then write it\n"
		"                 back (default), or MBOX_IOC_GET_INFO\n"
		"  --uid U        effective uid of the flushing opener (default 65534)\n"
		"  --period-us P  the reader's calls are due every P us, latency counted\n"
		"                 from the due time (default 100; 0: back to back)\n"
		"  --json         print JSON instead of text\n"
		"  --json-file F  also write the JSON to F\n",
		MBOX_MAX_MSGS_LIMIT);
}

static unsigned int num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || !*s || v > UINT_MAX) {
		fprintf(stderr, "flush_stall: bad number '%s'\n", s);
		exit(2);
	}
	return (unsigned int)v;
}

static void print_json(FILE *f, const char *kernel, double fill_s,
		       const uint64_t *flush_ns, const unsigned long long *flushed,
		       const uint64_t *refill_ns)
{
	fprintf(f, "{\"kernel\": \"%s\", \"msgs\": %u, \"size\": %u, \"iters\": %u, "
		"\"op\": \"%s\", \"period_us\": %u, \"idle_ms\": %u, \"fill_s\": %.3f,\n",
		kernel, nmsgs, msg_size, iters, op == OP_RW ? "rw" : "info",
		period_us, idle_ms, fill_s);
	fprintf(f, " \"flush_ns\": [");
	for (unsigned int i = 0; i < iters; i++)
		fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)flush_ns[i]);
	fprintf(f, "],\n \"flushed_msgs\": [");
	for (unsigned int i = 0; i < iters; i++)
		fprintf(f, "%s%llu", i ? ", " : "", flushed[i]);
	fprintf(f, "],\n \"refill_ns\": [");
	for (unsigned int i = 0; i < iters; i++)
		fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)refill_ns[i]);
	fprintf(f, "],\n \"reader_eagain\": %llu, \"reader_errors\": %llu,\n",
		reader_full, reader_errors);
	fprintf(f, " \"reader\": {");
	for (int c = 0; c < 3; c++)
		fprintf(f, "%s\n  \"%s\": {\"samples\": %zu, \"p50_ns\": %llu, "
			"\"p99_ns\": %llu, \"max_ns\": %llu, \"call_p50_ns\": %llu, "
			"\"call_p99_ns\": %llu, \"call_max_ns\": %llu}",
			c ? "," : "", cls_name[c], cls[c].n,
			(unsigned long long)pct(&cls[c], 50),
			(unsigned long long)pct(&cls[c], 99),
			(unsigned long long)pct(&cls[c], 100),
			(unsigned long long)pct(&cls_call[c], 50),
			(unsigned long long)pct(&cls_call[c], 99),
			(unsigned long long)pct(&cls_call[c], 100));
	fprintf(f, "}}\n");
}

int main(int argc, char **argv)
{
	struct mbox_info info0, info;
	struct mbox_limits lim;
	struct mbox_flush fl;
	struct utsname u;
	char kernel[256];
	pthread_t th;
	int fd_root, fd_other, fd_reader;
	unsigned long long a, b;
	uint64_t t0, *flush_ns, *flush_t0, *refill_ns;
	unsigned long long *flushed;
	double fill_s;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--json")) {
			json = 1;
			continue;
		}
		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!v) {
			usage(stderr);
			return 2;
		}
		i++;
		if (!strcmp(o, "-d"))
			dev = v;
		else if (!strcmp(o, "--msgs"))
			nmsgs = num(v);
		else if (!strcmp(o, "--size"))
			msg_size = num(v);
		else if (!strcmp(o, "--iters"))
			iters = num(v);
		else if (!strcmp(o, "--idle-ms"))
			idle_ms = num(v);
		else if (!strcmp(o, "--uid"))
			other_uid = num(v);
		else if (!strcmp(o, "--period-us"))
			period_us = num(v);
		else if (!strcmp(o, "--json-file"))
			json_file = v;
		else if (!strcmp(o, "--op") && !strcmp(v, "rw"))
			op = OP_RW;
		else if (!strcmp(o, "--op") && !strcmp(v, "info"))
			op = OP_INFO;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (!nmsgs || nmsgs > MBOX_MAX_MSGS_LIMIT || !msg_size || msg_size > 64 ||
	    !iters || !other_uid) {
		usage(stderr);
		return 2;
	}
	uname(&u);
	snprintf(kernel, sizeof(kernel), "%s %s", u.release, u.machine);

	/* Root's file, which also sets the limits and empties the mailbox. */
	fd_root = open_mbox(O_RDWR | O_NONBLOCK);
	if (ioctl(fd_root, MBOX_IOC_GET_INFO, &info0))
		die("MBOX_IOC_GET_INFO");
	memset(&fl, 0, sizeof(fl));
	if (ioctl(fd_root, MBOX_IOC_FLUSH, &fl))
		die("MBOX_IOC_FLUSH");
	memset(&lim, 0, sizeof(lim));
	lim.max_msgs = nmsgs;
	lim.max_bytes = (unsigned long long)nmsgs * msg_size;
	if (lim.max_bytes < info0.max_msg_size)
		lim.max_bytes = info0.max_msg_size;
	if (ioctl(fd_root, MBOX_IOC_SET_LIMITS, &lim))
		die("MBOX_IOC_SET_LIMITS");

	/* The other opener: euid other_uid, root's capabilities kept. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0))
		die("PR_SET_SECUREBITS");
	if (setresuid(-1, other_uid, -1))
		die("setresuid");
	fd_other = open_mbox(O_WRONLY | O_NONBLOCK);
	if (setresuid(-1, 0, -1))
		die("setresuid back");
	fd_reader = open_mbox(O_RDWR | O_NONBLOCK);

	/* Half each, interleaved a batch at a time. */
	pin(0);
	t0 = now_ns();
	a = b = 0;
	while (a + b < nmsgs) {
		unsigned long long n = nmsgs - a - b < MBOX_BATCH_MAX ?
			nmsgs - a - b : MBOX_BATCH_MAX;
		unsigned long long w = fill((a <= b) ? fd_root : fd_other, n);

		if (!w)
			break;
		if (a <= b)
			a += w;
		else
			b += w;
	}
	fill_s = (double)(now_ns() - t0) / 1e9;
	if (ioctl(fd_root, MBOX_IOC_GET_INFO, &info))
		die("MBOX_IOC_GET_INFO");
	if (!json)
		printf("flush_stall: %s, %s: %u messages of %u B (%llu root's, %llu uid %u's) "
		       "queued in %.1f s; reader: %s\n",
		       kernel, dev, info.msgs_queued, msg_size, a, b, other_uid,
		       fill_s, op == OP_RW ? "read + write back" : "MBOX_IOC_GET_INFO");

	flush_ns = calloc(iters, sizeof(*flush_ns));
	refill_ns = calloc(iters, sizeof(*refill_ns));
	flush_t0 = calloc(iters, sizeof(*flush_t0));
	flushed = calloc(iters, sizeof(*flushed));
	if (!flush_ns || !flush_t0 || !refill_ns || !flushed)
		die("calloc");

	if (pthread_create(&th, NULL, reader, &fd_reader))
		die("pthread_create");
	while (!atomic_load(&reader_ready))
		usleep(1000);
	usleep(idle_ms * 1000U);
	loop_start = now_ns();
	atomic_store(&phase, 1);
	for (unsigned int i = 0; i < iters; i++) {
		memset(&fl, 0, sizeof(fl));
		fl.flags = MBOX_FLUSH_MINE;
		t0 = now_ns();
		if (ioctl(fd_other, MBOX_IOC_FLUSH, &fl))
			die("MBOX_IOC_FLUSH(MBOX_FLUSH_MINE)");
		flush_t0[i] = t0;
		flush_ns[i] = now_ns() - t0;
		flushed[i] = fl.flushed_msgs;
		t0 = now_ns();
		fill(fd_other, nmsgs);
		refill_ns[i] = now_ns() - t0;
	}
	atomic_store(&phase, 2);
	pthread_join(th, NULL);

	/* Classify, the calls and the flushes both in time order. */
	for (size_t k = 0, i = 0; k < ncalls; k++) {
		const struct call *c = &calls[k];
		uint64_t lat = c->t1 - c->due, call = c->t1 - c->t0;

		/* Idle: over before the loop began (not merely due before). */
		if (c->t1 < loop_start) {
			push(&cls[0], lat);
			push(&cls_call[0], call);
			continue;
		}
		push(&cls[1], lat);
		push(&cls_call[1], call);
		while (i < iters && flush_t0[i] + flush_ns[i] < c->due)
			i++;
		if (i < iters && flush_t0[i] <= c->t1) {
			push(&cls[2], lat);
			push(&cls_call[2], call);
		}
	}
	for (int c = 0; c < 3; c++) {
		qsort(cls[c].v, cls[c].n, sizeof(uint64_t), cmp_u64);
		qsort(cls_call[c].v, cls_call[c].n, sizeof(uint64_t), cmp_u64);
	}
	if (json) {
		print_json(stdout, kernel, fill_s, flush_ns, flushed, refill_ns);
	} else {
		printf("  flush loop: %u x (MBOX_FLUSH_MINE, refill)\n", iters);
		for (unsigned int i = 0; i < iters; i++)
			printf("    %2u: flushed %llu messages in %.3f ms, refilled in %.3f ms\n",
			       i + 1, flushed[i], (double)flush_ns[i] / 1e6,
			       (double)refill_ns[i] / 1e6);
		printf("  reader's calls (CPU 1), one due every %u us; ns from due time (and the call alone):\n"
		       "    %-24s %9s %11s %11s %12s %9s %9s %12s\n", period_us, "", "samples", "p50", "p99",
		       "max", "call p50", "call p99", "call max");
		for (int c = 0; c < 3; c++)
			printf("    %-24s %9zu %11llu %11llu %12llu %9llu %9llu %12llu\n",
			       c == 0 ? "idle (no flush loop)" :
			       c == 1 ? "during the flush loop" :
			       "overlapping a flush",
			       cls[c].n, (unsigned long long)pct(&cls[c], 50),
			       (unsigned long long)pct(&cls[c], 99),
			       (unsigned long long)pct(&cls[c], 100),
			       (unsigned long long)pct(&cls_call[c], 50),
			       (unsigned long long)pct(&cls_call[c], 99),
			       (unsigned long long)pct(&cls_call[c], 100));
		printf("    (EAGAIN: %llu, other errors: %llu)\n", reader_full, reader_errors);
	}
	if (json_file) {
		FILE *f = fopen(json_file, "w");

		if (!f)
			die(json_file);
		print_json(f, kernel, fill_s, flush_ns, flushed, refill_ns);
		fclose(f);
	}

	/* Leave the mailbox empty, with its limits as they were. */
	memset(&fl, 0, sizeof(fl));
	if (ioctl(fd_root, MBOX_IOC_FLUSH, &fl))
		die("MBOX_IOC_FLUSH");
	memset(&lim, 0, sizeof(lim));
	lim.max_msg_size = info0.max_msg_size;
	lim.max_msgs = info0.max_msgs;
	lim.max_bytes = info0.max_bytes;
	lim.max_urgent = info0.max_urgent;
	if (ioctl(fd_root, MBOX_IOC_SET_LIMITS, &lim))
		die("MBOX_IOC_SET_LIMITS (restore)");
	close(fd_reader);
	close(fd_other);
	close(fd_root);
	return reader_errors ? 1 : 0;
}
