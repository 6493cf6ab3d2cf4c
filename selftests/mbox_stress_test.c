// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency stress: writers, urgent senders, a flusher, plain readers
 * (writers and readers now and then use the batch ioctls),
 * ack-mode readers that acknowledge, hand back or die holding leases, and
 * churners that open, poll, lease, close, exit or get killed, all at once,
 * for a bounded time, on one mailbox and then on three.  Writers are killed
 * with SIGKILL at random, in the middle of a write or not.
 *
 * Every message is a deterministic function of (writer slot, counter):
 * its length (1 byte .. max_msg_size) and every byte.  From 16 bytes up it
 * starts with a stamp {slot, counter, length, checksum of the rest}; from 5
 * to 15 bytes with the slot and the counter; below 5 bytes with the slot and
 * the counter's low bytes.  A 3- or 4-byte message is the lowest unread
 * counter with those low bytes (unique in practice); 1- and 2-byte messages
 * cannot be told apart and are matched to counters by number at the end,
 * definite ones first (messages that cannot be told apart are
 * interchangeable for the count, and their order is not checked).
 *
 * The invariant, checked exactly at the end:
 *  - every message read (by a plain reader, acknowledged by an ack reader,
 *    or drained at the end) is intact and was written, and no message is
 *    read twice;
 *  - a writer records "attempting counter c" (or counters c..c+n-1, a
 *    batch) in shared memory before its write and "done" after; a message
 *    whose writer was killed between the two is "uncertain": it was
 *    enqueued once or not at all;
 *  - with D the definite messages, F the sum of what the flush ioctls
 *    reported, R the messages read or drained: the definite messages not
 *    read are exactly the flushed ones plus x flushed uncertain ones, with
 *    0 <= x <= the uncertain messages not read; and the kernel's own
 *    counters agree: enqueued = D + uncertain read + x, dequeued = R,
 *    flushed = F;
 *  - order: for each reader and each writer, the messages it reads without
 *    MBOX_MSG_REDELIVERED come in increasing counter order, and their seqs
 *    strictly increase per class (normal, urgent).  Redelivered messages
 *    (handed back by a NACK or by the death of a lease holder) and urgent
 *    ones legitimately overtake; writer ids are per class, so urgent
 *    senders are their own writers;
 *  - REDELIVERED is set exactly when delivery_count > 1; URGENT exactly on
 *    urgent senders' messages; hdr.size is the payload read.
 * Processes that can lose the accounting if killed between a syscall and
 * recording its result (plain readers, the flusher, an ack reader between
 * ACK and recording) are never killed at random; ack readers die only
 * while holding unacknowledged leases, which go back to the queue.
 *
 * MBOX_STRESS_SECONDS (default 50, split between the two cases) bounds the
 * run; MBOX_STRESS_SEED fixes the random choices.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

#define MAXC		(1u << 17)	/* counters per writer slot */
#define NSLOTS		12
#define NONE		UINT32_MAX
#define MAX_PROCS	40
#define TINY		5		/* below: no room for the counter */
#define BATCH		4		/* most messages in one batch call */

enum kind { WRITER, URGENT, FLUSHER, READER, ACKER, CHURNER };

struct slot {
	uint32_t next;		/* next counter to write */
	uint32_t inflight;	/* counter being written, or NONE */
	uint32_t inflight_n;	/* messages from it being written (a batch) */
	int kind;
};

struct shared {
	int stop;
	uint32_t max_size;
	int nmbox;
	struct slot slot[NSLOTS];
	/* Ack readers paused while holding leases, ready to be killed. */
	int killable[MAX_PROCS];
	uint64_t ops, written, urgent_sent, urgent_eagain, write_eagain;
	uint64_t plain_reads, acked, nacked, lease_deaths, drained;
	uint64_t flushes, flushed_msgs, churns, eintr;
	uint64_t batches_sent, batches_read;
	uint64_t corrupt, dup, out_of_order, bad_hdr, errors;
	char err[256];
	uint32_t tiny[NSLOTS][257];
	uint8_t seen[NSLOTS][MAXC];
	uint8_t uncertain[NSLOTS][MAXC];
};

static struct shared *sh;
static int mbox_idx[3] = { 1, 2, 3 };

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	return n ? splitmix(&rnd_state) % n : 0;
}

static void fail(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (__atomic_fetch_add(&sh->errors, 1, __ATOMIC_SEQ_CST) == 0)
		memcpy(sh->err, buf, sizeof(buf));
}

static void count(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* Length of message @c of slot @s: 1 .. max_size, mostly small. */
static uint32_t msg_len(uint32_t s, uint32_t c)
{
	uint64_t st = ((uint64_t)s << 32 | c) ^ 0x5bd1e995u;
	uint32_t r = splitmix(&st) % 1024, max = sh->max_size, bits, len;

	if (r < 4)
		return r + 1;		/* 1..4 bytes */
	if (r == 4)
		return max;
	bits = 3 + splitmix(&st) % 14;	/* 8 B .. 64 KiB, log-uniform */
	len = (1u << bits) + splitmix(&st) % (1u << bits);
	len = len < TINY ? TINY : len;
	return len > max ? max : len;
}

static uint32_t fnv(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

struct stamp {
	uint32_t slot;
	uint32_t counter;
	uint32_t len;
	uint32_t sum;
};

/* Build message @c of slot @s into @buf; returns its length. */
static uint32_t make_msg(unsigned char *buf, uint32_t s, uint32_t c)
{
	uint32_t len = msg_len(s, c), i;
	uint64_t st = (uint64_t)c << 32 | s;
	struct stamp stamp;

	for (i = 0; i < len; i += 8) {
		uint64_t v = splitmix(&st);

		memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
	}
	if (len >= sizeof(stamp)) {
		stamp.slot = s;
		stamp.counter = c;
		stamp.len = len;
		stamp.sum = fnv(buf + sizeof(stamp), len - sizeof(stamp));
		memcpy(buf, &stamp, sizeof(stamp));
	} else {
		buf[0] = s;
		for (i = 1; i < len && i < 5; i++)
			buf[i] = c >> (8 * (i - 1));
	}
	return len;
}

/* How many messages of slot @s a write in flight may have queued. */
static uint32_t in_flight_max(uint32_t s)
{
	return sh->slot[s].kind == WRITER ? BATCH : 1;
}

static bool claim(uint32_t s, uint32_t c)
{
	uint8_t zero = 0;

	return __atomic_compare_exchange_n(&sh->seen[s][c], &zero, 1, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/*
 * Check that @p is an intact message of some writer; find its slot and,
 * from 5 bytes up, its counter (else NONE: its order is not checked).
 */
static bool identify(const unsigned char *p, uint32_t n, uint32_t *sp,
		     uint32_t *cp)
{
	static unsigned char expect[(4 << 20) + 16];
	uint32_t s = p[0], c = NONE, i, limit;
	struct stamp st;

	if (n >= sizeof(st)) {
		memcpy(&st, p, sizeof(st));
		s = st.slot;
		c = st.counter;
	} else if (n >= TINY) {
		memcpy(&c, p + 1, 4);
	}
	*sp = s;
	*cp = c;
	if (s >= NSLOTS || n == 0)
		goto corrupt;
	if (n >= TINY) {
		if (c >= MAXC || make_msg(expect, s, c) != n ||
		    memcmp(expect, p, n))
			goto corrupt;
		return true;
	}
	/*
	 * Tiny: some counter of this slot must have exactly these bytes.  A
	 * write or batch in flight may have queued some before its writer
	 * recorded them in next.
	 */
	limit = __atomic_load_n(&sh->slot[s].next, __ATOMIC_SEQ_CST) +
		in_flight_max(s);
	for (i = 0; i < limit && i < MAXC; i++) {
		if (msg_len(s, i) == n && make_msg(expect, s, i) == n &&
		    !memcmp(expect, p, n))
			return true;
	}
corrupt:
	count(&sh->corrupt, 1);
	fail("corrupt message of %u bytes (slot %u counter %u)", n, s, c);
	return false;
}

/*
 * Record a message identified by identify() as read (once).  A message of
 * 3 or 4 bytes is the lowest unread counter with these low bytes; those of
 * 1 or 2 bytes cannot be told apart and are only counted, per slot and
 * (for 2 bytes) low byte, and matched to counters in resolve_tiny().
 */
static void claim_msg(const unsigned char *p, uint32_t n, uint32_t s,
		      uint32_t c)
{
	uint32_t i, limit, low;

	if (n >= TINY) {
		if (!claim(s, c)) {
			count(&sh->dup, 1);
			fail("slot %u counter %u read twice", s, c);
		}
		return;
	}
	if (n <= 2) {
		__atomic_fetch_add(&sh->tiny[s][n == 1 ? 256 : p[1]], 1,
				   __ATOMIC_RELAXED);
		return;
	}
	low = p[1] | p[2] << 8 | (n == 4 ? p[3] << 16 : 0);
	limit = __atomic_load_n(&sh->slot[s].next, __ATOMIC_SEQ_CST) +
		in_flight_max(s);
	for (i = low; i < limit && i < MAXC; i += n == 3 ? 1 << 16 : 1 << 24)
		if (msg_len(s, i) == n && claim(s, i))
			return;
	count(&sh->dup, 1);
	fail("message of %u bytes from slot %u matches no unread counter",
	     n, s);
}

/*
 * Match the counted 1- and 2-byte messages to counters: definite ones
 * first, then those whose writer was killed mid-write.
 */
static void resolve_tiny(void)
{
	uint32_t s, key, c, pass, n;

	for (s = 0; s < NSLOTS; s++) {
		for (key = 0; key <= 256; key++) {
			n = sh->tiny[s][key];
			for (pass = 0; pass < 2 && n; pass++) {
				for (c = 0; c < sh->slot[s].next && n; c++) {
					if (msg_len(s, c) != (key == 256 ? 1 : 2) ||
					    (key < 256 && (c & 0xff) != key) ||
					    sh->uncertain[s][c] != pass ||
					    sh->seen[s][c])
						continue;
					sh->seen[s][c] = 1;
					n--;
				}
			}
			if (n) {
				count(&sh->dup, n);
				fail("%u more tiny messages of slot %u (key %u) read than written",
				     n, s, key);
			}
		}
	}
}

/* Per-reader order state. */
struct order {
	int64_t last[NSLOTS];
	uint64_t last_seq[2];
};

static void order_init(struct order *o)
{
	memset(o, 0, sizeof(*o));
	memset(o->last, 0xff, sizeof(o->last));
}

/*
 * Check one message as read (header and order); returns whether it is
 * intact, with its slot and counter for claim_msg().
 */
static bool check_one(struct order *o, const struct mbox_msg_header *h,
		      const unsigned char *payload, uint32_t n, uint32_t *sp,
		      uint32_t *cp)
{
	bool redelivered = h->flags & MBOX_MSG_REDELIVERED;
	bool urgent = h->flags & MBOX_MSG_URGENT;
	uint32_t s, c;

	if (h->hdr_size != sizeof(*h) || h->size != n || !h->seq ||
	    !h->time_ns || h->uid || h->opener_uid ||
	    (h->flags & MBOX_MSG_CRED_MISMATCH) ||
	    redelivered != (h->delivery_count > 1) || !h->delivery_count ||
	    h->reserved[0] || h->reserved[1]) {
		count(&sh->bad_hdr, 1);
		fail("bad header: size %u/%u seq %llu flags %#x count %u",
		     h->size, n, (unsigned long long)h->seq, h->flags,
		     h->delivery_count);
		return false;
	}
	if (!identify(payload, n, &s, &c))
		return false;
	*sp = s;
	*cp = c;
	if (urgent != (sh->slot[s].kind != WRITER)) {
		count(&sh->bad_hdr, 1);
		fail("slot %u (kind %d) message with flags %#x", s,
		     sh->slot[s].kind, h->flags);
	}
	if (redelivered)
		return true;
	if (h->seq <= o->last_seq[urgent]) {
		count(&sh->out_of_order, 1);
		fail("seq %llu after %llu (urgent %d)",
		     (unsigned long long)h->seq,
		     (unsigned long long)o->last_seq[urgent], urgent);
	}
	o->last_seq[urgent] = h->seq;
	if (c == NONE)
		return true;
	if ((int64_t)c <= o->last[s]) {
		count(&sh->out_of_order, 1);
		fail("slot %u counter %u after %lld", s, c,
		     (long long)o->last[s]);
	}
	o->last[s] = c;
	return true;
}

/* A message read for good: check it and record it. */
static void consume_one(struct order *o, const unsigned char *buf, ssize_t n)
{
	const unsigned char *payload = buf + sizeof(struct mbox_msg_header);
	uint32_t len = n - sizeof(struct mbox_msg_header), s, c;

	if (check_one(o, (const void *)buf, payload, len, &s, &c))
		claim_msg(payload, len, s, c);
}

static int open_mbox(int m, int flags)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/mbox%d", mbox_idx[m]);
	return open(path, flags);
}

static void on_usr1(int sig)
{
}

static bool stopping(void)
{
	return __atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST);
}

/* Room for a header and a max_size payload. */
static size_t batch_stride(void)
{
	return sizeof(struct mbox_msg_header) + sh->max_size;
}

/* Room for BATCH of them, mapped once, touched as used. */
static unsigned char *batch_bufs(void)
{
	static unsigned char *bufs;

	if (!bufs) {
		bufs = mmap(NULL, (size_t)BATCH * batch_stride(), PROT_READ |
			    PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (bufs == MAP_FAILED)
			fail("mmap: %s", strerror(errno));
	}
	return bufs == MAP_FAILED ? NULL : bufs;
}

/*
 * Counters c, c+1, ... of slot @s in one MBOX_IOC_SEND_BATCH.  The batch
 * sends a prefix of its entries, so a kill during it leaves each of them
 * uncertain, and a short count means the rest are written again.
 */
static bool write_batch(int fd, uint32_t s, uint32_t c)
{
	struct mbox_batch_entry e[BATCH];
	struct mbox_batch b = {
		.entries = (uintptr_t)e,
		.entry_size = sizeof(e[0]),
	};
	unsigned char *bufs = batch_bufs();
	struct slot *sl = &sh->slot[s];
	uint32_t n = 1 + rnd(BATCH), i;
	long ret;

	if (!bufs)
		return false;
	for (i = 0; i < n; i++) {
		e[i].buf = (uintptr_t)(bufs + i * batch_stride());
		e[i].len = make_msg(bufs + i * batch_stride(), s, c + i);
	}
	b.count = n;
	sl->inflight_n = n;
	__atomic_store_n(&sl->inflight, c, __ATOMIC_SEQ_CST);
	ret = ioctl(fd, MBOX_IOC_SEND_BATCH, &b);
	count(&sh->ops, 1);
	if (ret > 0) {
		for (i = 0; i < ret; i++)
			if (e[i].result != e[i].len)
				fail("slot %u batch entry %u: result %u of %u",
				     s, i, e[i].result, e[i].len);
		__atomic_store_n(&sl->next, c + ret, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sl->inflight, NONE, __ATOMIC_SEQ_CST);
		count(&sh->written, ret);
		count(&sh->batches_sent, 1);
		return true;
	}
	__atomic_store_n(&sl->inflight, NONE, __ATOMIC_SEQ_CST);
	if (errno == EAGAIN) {
		count(&sh->write_eagain, 1);
		usleep(200);
	} else if (errno == EINTR) {
		count(&sh->eintr, 1);
	} else {
		fail("slot %u batch of %u: %ld, %s", s, n, ret, strerror(errno));
		return false;
	}
	return true;
}

/* A writer slot: normal writes (or urgent sends) until stopped or killed. */
static __attribute__((noreturn)) void writer(int s, bool urgent)
{
	static unsigned char buf[(4 << 20) + 16];
	struct slot *sl = &sh->slot[s];
	int fds[3], m, flags;

	flags = (rnd(2) ? O_WRONLY : O_RDWR) | (rnd(3) ? 0 : O_NONBLOCK);
	for (m = 0; m < sh->nmbox; m++)
		fds[m] = open_mbox(m, flags);
	while (!stopping()) {
		uint32_t c = sl->next, len;
		ssize_t ret;
		int fd;

		if (c + 1 >= MAXC) {
			usleep(10000);
			continue;
		}
		fd = fds[rnd(sh->nmbox)];
		if (!urgent && !rnd(4) && c + BATCH < MAXC) {
			if (!write_batch(fd, s, c))
				break;
			goto next;
		}
		len = make_msg(buf, s, c);
		sl->inflight_n = 1;
		__atomic_store_n(&sl->inflight, c, __ATOMIC_SEQ_CST);
		if (urgent) {
			struct mbox_urgent u = {
				.buf = (uintptr_t)buf, .len = len,
			};

			ret = ioctl(fd, MBOX_IOC_SEND_URGENT, &u) ? -1 : len;
		} else if (rnd(2)) {
			uint32_t cut = rnd(len + 1);
			struct iovec iov[3] = {
				{ buf, cut }, { NULL, 0 },
				{ buf + cut, len - cut },
			};

			ret = writev(fd, iov, 3);
		} else {
			ret = write(fd, buf, len);
		}
		count(&sh->ops, 1);
		if (ret == (ssize_t)len) {
			__atomic_store_n(&sl->next, c + 1, __ATOMIC_SEQ_CST);
			__atomic_store_n(&sl->inflight, NONE, __ATOMIC_SEQ_CST);
			count(urgent ? &sh->urgent_sent : &sh->written, 1);
		} else {
			__atomic_store_n(&sl->inflight, NONE, __ATOMIC_SEQ_CST);
			if (errno == EAGAIN) {
				count(urgent ? &sh->urgent_eagain :
				      &sh->write_eagain, 1);
				usleep(urgent ? 2000 : 200);
			} else if (errno == EINTR) {
				count(&sh->eintr, 1);
			} else {
				fail("slot %d write of %u: %zd, %s", s, len,
				     ret, strerror(errno));
				break;
			}
		}
next:
		if (!rnd(300)) {
			for (m = 0; m < sh->nmbox; m++) {
				close(fds[m]);
				fds[m] = open_mbox(m, flags);
			}
		}
		if (!rnd(2000))
			_exit(0);
	}
	_exit(0);
}

/* The flusher: every kind of flush, and urgent sends with a flush. */
static __attribute__((noreturn)) void flusher(int s)
{
	static unsigned char buf[(4 << 20) + 16];
	struct slot *sl = &sh->slot[s];
	int fds[3], m;

	for (m = 0; m < sh->nmbox; m++)
		fds[m] = open_mbox(m, O_RDWR);
	while (!stopping()) {
		struct mbox_info info;
		uint64_t up_to;
		uint32_t op = rnd(10);

		usleep(5000 + rnd(20000));
		m = rnd(sh->nmbox);
		if (mbox_info(fds[m], &info)) {
			fail("flusher GET_INFO: %s", strerror(errno));
			break;
		}
		up_to = info.next_seq - rnd(64);
		if (op < 7) {
			struct mbox_flush fl = { 0 };

			fl.flags = (uint32_t[]){ 0, MBOX_FLUSH_MINE,
				MBOX_FLUSH_UP_TO_SEQ,
				MBOX_FLUSH_UP_TO_SEQ | MBOX_FLUSH_MINE }[op % 4];
			if (op == 0 && rnd(4))
				fl.flags = MBOX_FLUSH_UP_TO_SEQ;
			fl.up_to_seq = fl.flags & MBOX_FLUSH_UP_TO_SEQ ? up_to : 0;
			if (ioctl(fds[m], MBOX_IOC_FLUSH, &fl)) {
				fail("FLUSH: %s", strerror(errno));
				break;
			}
			count(&sh->flushes, 1);
			count(&sh->flushed_msgs, fl.flushed_msgs);
		} else {
			uint32_t c = sl->next, len = make_msg(buf, s, c);
			struct mbox_urgent u = {
				.buf = (uintptr_t)buf, .len = len,
				.flags = MBOX_URGENT_FLUSH,
				.flush_flags = MBOX_FLUSH_UP_TO_SEQ,
				.up_to_seq = up_to,
			};

			if (c + 1 >= MAXC)
				continue;
			if (ioctl(fds[m], MBOX_IOC_SEND_URGENT, &u)) {
				if (errno == EAGAIN) {
					count(&sh->urgent_eagain, 1);
					continue;
				}
				fail("SEND_URGENT|FLUSH: %s", strerror(errno));
				break;
			}
			sl->next = c + 1;
			count(&sh->urgent_sent, 1);
			count(&sh->flushes, 1);
			count(&sh->flushed_msgs, u.flushed_msgs);
		}
		count(&sh->ops, 2);
	}
	_exit(0);
}

static void set_header_mode(int fd, uint32_t flags, uint32_t inflight)
{
	struct mbox_mode mode = { .flags = flags, .max_inflight = inflight };

	if (ioctl(fd, MBOX_IOC_SET_MODE, &mode))
		fail("SET_MODE: %s", strerror(errno));
}

/*
 * Read one message into @buf (header first): blocking after a poll,
 * non-blocking, or with readv.  Returns read()'s result.
 */
static ssize_t read_one(int fd, unsigned char *buf, size_t size)
{
	struct mbox_msg_header *h = (void *)buf;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	switch (rnd(3)) {
	case 0:
		if (poll(&pfd, 1, 100) <= 0)
			return -1;
		n = read(fd, buf, size);
		break;
	case 1: {
		struct iovec iov[2] = {
			{ buf, sizeof(*h) }, { buf + sizeof(*h), size - sizeof(*h) },
		};

		n = readv(fd, iov, 2);
		break;
	}
	default:
		n = read(fd, buf, size);
	}
	count(&sh->ops, 1);
	if (n >= 0 && n < (ssize_t)sizeof(*h)) {
		fail("read of %zd bytes in header mode", n);
		return -1;
	}
	return n;
}

/* Up to BATCH messages in one MBOX_IOC_RECV_BATCH, each consumed. */
static void read_batch(int fd, struct order *o)
{
	struct mbox_batch_entry e[BATCH];
	struct mbox_batch b = {
		.entries = (uintptr_t)e,
		.count = 1 + rnd(BATCH),
		.entry_size = sizeof(e[0]),
	};
	unsigned char *bufs = batch_bufs();
	size_t room = batch_stride();
	long ret, i;

	if (!bufs)
		return;
	for (i = 0; i < b.count; i++) {
		e[i].buf = (uintptr_t)(bufs + i * room);
		e[i].len = room;
	}
	ret = ioctl(fd, MBOX_IOC_RECV_BATCH, &b);
	count(&sh->ops, 1);
	if (ret < 0) {
		if (errno == EINTR)
			count(&sh->eintr, 1);
		else if (errno != EAGAIN)
			fail("batch read: %s", strerror(errno));
		return;
	}
	if (ret > b.count) {
		fail("batch read returned %ld of %u", ret, b.count);
		return;
	}
	for (i = 0; i < ret; i++) {
		if (e[i].result < sizeof(struct mbox_msg_header)) {
			fail("batch entry of %u bytes in header mode",
			     e[i].result);
			return;
		}
		consume_one(o, bufs + i * room, e[i].result);
		count(&sh->plain_reads, 1);
	}
	count(&sh->batches_read, 1);
}

static __attribute__((noreturn)) void reader(int m)
{
	static unsigned char buf[(4 << 20) + 256];
	size_t size = sizeof(struct mbox_msg_header) + sh->max_size;
	struct order o;
	int fd = open_mbox(m, (rnd(2) ? O_RDONLY : O_RDWR) |
			   (rnd(2) ? O_NONBLOCK : 0));

	order_init(&o);
	set_header_mode(fd, MBOX_MODE_HEADER, 0);
	while (!stopping()) {
		ssize_t n;

		if (!rnd(4)) {
			read_batch(fd, &o);
			continue;
		}
		n = read_one(fd, buf, size);

		if (n < 0) {
			if (errno == EINTR)
				count(&sh->eintr, 1);
			else if (errno != EAGAIN && errno != 0)
				fail("read: %s", strerror(errno));
			errno = 0;
			continue;
		}
		consume_one(&o, buf, n);
		count(&sh->plain_reads, 1);
		if (!rnd(3000))
			_exit(0);
	}
	_exit(0);
}

struct held {
	uint64_t seq;
	uint32_t len, s, c;
	bool ok;
	unsigned char *data;
};

static int ack_ioctl(int fd, unsigned long cmd, uint64_t seq, uint32_t flags)
{
	struct mbox_ack a = { .seq = seq, .flags = flags };

	count(&sh->ops, 1);
	return ioctl(fd, cmd, &a);
}

/*
 * An ack-mode reader: leases messages, then acknowledges them (one by one
 * or up to a seq), hands them back, or dies holding them.
 */
static __attribute__((noreturn)) void acker(int m, int proc)
{
	static unsigned char buf[(4 << 20) + 256];
	size_t size = sizeof(struct mbox_msg_header) + sh->max_size;
	uint32_t max = 1 + rnd(8), nheld = 0, i, k;
	struct held held[8];
	struct order o;
	int fd = open_mbox(m, O_RDWR | (rnd(2) ? O_NONBLOCK : 0));

	order_init(&o);
	set_header_mode(fd, MBOX_MODE_HEADER | MBOX_MODE_ACK, max);
	while (!stopping()) {
		uint32_t op = rnd(10);

		if (nheld && (nheld == max || op < 4)) {
			/* Acknowledge: one, or every lease up to one. */
			bool up_to = rnd(2);
			uint64_t seq = held[rnd(nheld)].seq;

			if (ack_ioctl(fd, MBOX_IOC_ACK, seq,
				      up_to ? MBOX_ACK_UP_TO : 0)) {
				fail("ACK %llu: %s", (unsigned long long)seq,
				     strerror(errno));
				break;
			}
			for (i = 0; i < nheld;) {
				if (up_to ? held[i].seq <= seq :
				    held[i].seq == seq) {
					if (held[i].ok)
						claim_msg(held[i].data,
							  held[i].len,
							  held[i].s, held[i].c);
					count(&sh->acked, 1);
					free(held[i].data);
					held[i] = held[--nheld];
					if (!up_to)
						break;
				} else {
					i++;
				}
			}
			continue;
		}
		if (nheld && op == 4) {
			k = rnd(nheld);
			if (ack_ioctl(fd, MBOX_IOC_NACK, held[k].seq, 0)) {
				fail("NACK: %s", strerror(errno));
				break;
			}
			count(&sh->nacked, 1);
			free(held[k].data);
			held[k] = held[--nheld];
			continue;
		}
		if (nheld && op == 5 && !rnd(40)) {
			/* Die holding leases: exit, kill -9 self, or wait. */
			count(&sh->lease_deaths, 1);
			switch (rnd(3)) {
			case 0:
				_exit(0);
			case 1:
				raise(SIGKILL);
				break;
			default:
				__atomic_store_n(&sh->killable[proc], 1,
						 __ATOMIC_SEQ_CST);
				while (!stopping())
					pause();
				_exit(0);
			}
		}
		{
			ssize_t n = read_one(fd, buf, size);
			struct held *h = &held[nheld];

			if (n < 0) {
				if (errno == EINTR)
					count(&sh->eintr, 1);
				else if (errno != EAGAIN && errno != 0)
					fail("ack read: %s", strerror(errno));
				errno = 0;
				continue;
			}
			/* Checked now, in read order; recorded once acked. */
			h->len = n - sizeof(struct mbox_msg_header);
			h->seq = ((struct mbox_msg_header *)buf)->seq;
			h->data = malloc(h->len + 1);
			memcpy(h->data, buf + sizeof(struct mbox_msg_header),
			       h->len);
			h->ok = check_one(&o, (void *)buf, h->data, h->len,
					  &h->s, &h->c);
			nheld++;
		}
	}
	_exit(0);
}

/* Opens, looks, leases without acknowledging, closes; killed at random. */
static __attribute__((noreturn)) void churner(void)
{
	static unsigned char buf[(4 << 20) + 256];
	static const int acc[] = { O_RDONLY, O_WRONLY, O_RDWR };

	while (!stopping()) {
		int fd = open_mbox(rnd(sh->nmbox), acc[rnd(3)] |
				   (rnd(2) ? O_NONBLOCK : 0));
		struct mbox_msg_header h;
		struct mbox_info info;
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
		int n;

		count(&sh->churns, 1);
		if (fd < 0) {
			fail("churner open: %s", strerror(errno));
			break;
		}
		ioctl(fd, FIONREAD, &n);
		ioctl(fd, MBOX_IOC_PEEK, &h);
		mbox_info(fd, &info);
		poll(&pfd, 1, 0);
		count(&sh->ops, 5);
		if (rnd(2)) {
			struct mbox_mode mode = { .flags = MBOX_MODE_ACK };

			/* Only a file in ack mode may read: it never consumes. */
			if (!ioctl(fd, MBOX_IOC_SET_MODE, &mode) &&
			    read(fd, buf, sizeof(buf)) > 0 && rnd(2)) {
				struct mbox_ack a = { .flags = MBOX_ACK_UP_TO,
						      .seq = UINT64_MAX };

				ioctl(fd, MBOX_IOC_NACK, &a);
			}
			count(&sh->ops, 3);
		}
		if (!rnd(20))
			_exit(0);
		usleep(rnd(2000));
		close(fd);
	}
	_exit(0);
}

struct proc {
	pid_t pid;
	int kind;
	int arg;	/* slot or mailbox */
};

static struct proc procs[MAX_PROCS];
static int nprocs;

static void spawn(int i)
{
	struct proc *p = &procs[i];
	pid_t pid;

	sh->killable[i] = 0;
	rnd(1);
	pid = mbox_fork();
	if (pid) {
		p->pid = pid;
		return;
	}
	rnd_state ^= (uint64_t)getpid() << 20;
	switch (p->kind) {
	case WRITER:
		writer(p->arg, false);
	case URGENT:
		writer(p->arg, true);
	case FLUSHER:
		flusher(p->arg);
	case READER:
		reader(p->arg);
	case ACKER:
		acker(p->arg, i);
	default:
		churner();
	}
	_exit(0);
}

/* A writer slot whose process is gone: settle its in-flight message. */
static void settle(int i)
{
	struct proc *p = &procs[i];
	struct slot *sl;

	if (p->kind != WRITER && p->kind != URGENT && p->kind != FLUSHER)
		return;
	sl = &sh->slot[p->arg];
	if (sl->inflight != NONE) {
		/* A batch is done in order: some prefix of it went in. */
		if (sl->inflight == sl->next) {
			uint32_t i;

			for (i = 0; i < sl->inflight_n; i++)
				sh->uncertain[p->arg][sl->next++] = 1;
		}
		sl->inflight = NONE;
	}
}

static void add(int kind, int arg)
{
	procs[nprocs].kind = kind;
	procs[nprocs].arg = arg;
	if (kind == WRITER || kind == URGENT || kind == FLUSHER) {
		sh->slot[arg].kind = kind;
		sh->slot[arg].inflight = NONE;
	}
	spawn(nprocs++);
}

/* Reap what exited and respawn it; @respawn false once stopping. */
static int reap(bool respawn)
{
	int i, status, alive = 0;

	for (i = 0; i < nprocs; i++) {
		if (!procs[i].pid)
			continue;
		if (waitpid(procs[i].pid, &status, WNOHANG) != procs[i].pid) {
			alive++;
			continue;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status))
			fail("process %d (kind %d) exited %d", i,
			     procs[i].kind, WEXITSTATUS(status));
		procs[i].pid = 0;
		settle(i);
		if (respawn)
			spawn(i);
	}
	return alive;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct kcount {
	uint64_t enq, deq, flushed;
};

static void kernel_counts(int *fds, int n, struct kcount *k)
{
	struct mbox_info info;
	int m;

	memset(k, 0, sizeof(*k));
	for (m = 0; m < n; m++) {
		mbox_info(fds[m], &info);
		k->enq += info.total_enqueued;
		k->deq += info.total_dequeued;
		k->flushed += info.flushed_msgs;
	}
}

static int stress_seconds(void)
{
	const char *env = getenv("MBOX_STRESS_SECONDS");

	return env ? atoi(env) : 50;
}

FIXTURE(stress) {
	int fds[3];
};

FIXTURE_SETUP(stress)
{
	int m;

	/* /dev/mbox1..3 (nr_mailboxes is 4 unless changed at load). */
	ASSERT_LE(4, mbox_param("nr_mailboxes"));
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	for (m = 0; m < 3; m++) {
		self->fds[m] = mbox_open_reset(mbox_idx[m], O_RDWR | O_NONBLOCK);
		ASSERT_LE(0, self->fds[m]);
	}
	nprocs = 0;
}

FIXTURE_TEARDOWN(stress)
{
	int m;

	for (m = 0; m < 3; m++) {
		mbox_reset(self->fds[m]);
		close(self->fds[m]);
	}
	munmap(sh, sizeof(*sh));
}

static void run_stress(struct __test_metadata *_metadata, int *fds, int nmbox,
		       int writers, int urgents, int readers, int ackers,
		       int churners)
{
	const char *seed_env = getenv("MBOX_STRESS_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) :
			(uint64_t)time(NULL) ^ getpid();
	double seconds = stress_seconds() / 2.0, start, last_kill = 0;
	uint64_t d = 0, d_seen = 0, u = 0, u_seen = 0, x, read_total;
	struct kcount k0, k1;
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct mbox_info info;
	int i, m, s = 0, kills = 0;
	uint32_t c;

	rnd_state = seed;
	TH_LOG("seed %llu (MBOX_STRESS_SEED), %.0f s, %d mailbox(es), max_msg_size %lld",
	       (unsigned long long)seed, seconds, nmbox,
	       mbox_param("max_msg_size"));
	sh->max_size = mbox_param("max_msg_size");
	ASSERT_GE(4 << 20, sh->max_size);
	sh->nmbox = nmbox;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	kernel_counts(fds, nmbox, &k0);

	for (i = 0; i < writers; i++)
		add(WRITER, s++);
	for (i = 0; i < urgents; i++)
		add(URGENT, s++);
	add(FLUSHER, s++);
	ASSERT_GE(NSLOTS, s);
	for (i = 0; i < readers; i++)
		add(READER, i % nmbox);
	for (i = 0; i < ackers; i++)
		add(ACKER, i % nmbox);
	for (i = 0; i < churners; i++)
		add(CHURNER, 0);

	start = now();
	while (now() - start < seconds && !sh->errors) {
		usleep(5000);
		reap(true);
		if (now() - last_kill < 0.05)
			continue;
		last_kill = now();
		/* kill -9 a writer, a churner, or a paused lease holder. */
		i = rnd(nprocs);
		if (!procs[i].pid)
			continue;
		if (procs[i].kind == WRITER || procs[i].kind == URGENT ||
		    procs[i].kind == CHURNER ||
		    (procs[i].kind == ACKER && sh->killable[i])) {
			kill(procs[i].pid, SIGKILL);
			kills++;
		}
	}

	__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
	/* Interrupt blocked reads, writes and pauses until all are gone. */
	while (reap(false)) {
		for (i = 0; i < nprocs; i++)
			if (procs[i].pid)
				kill(procs[i].pid, SIGUSR1);
		usleep(20000);
	}

	/* Drain what is left; nothing may be leased any more. */
	{
		static unsigned char buf[(4 << 20) + 256];
		struct order o;

		for (m = 0; m < nmbox; m++) {
			ssize_t n;

			order_init(&o);
			ASSERT_EQ(0, mbox_set_header_mode(fds[m], 1));
			while ((n = read(fds[m], buf, sizeof(buf))) > 0) {
				consume_one(&o, buf, n);
				sh->drained++;
			}
			ASSERT_EQ(EAGAIN, errno);
			ASSERT_EQ(0, mbox_info(fds[m], &info));
			EXPECT_EQ(0, info.msgs_queued);
			EXPECT_EQ(0, info.urgent_queued);
			EXPECT_EQ(0, info.bytes_queued);
			EXPECT_EQ(0, info.inflight);
			EXPECT_EQ(0, info.readers_waiting);
			EXPECT_EQ(0, info.writers_waiting);
		}
	}
	kernel_counts(fds, nmbox, &k1);
	resolve_tiny();

	for (s = 0; s < NSLOTS; s++) {
		for (c = 0; c < sh->slot[s].next && c < MAXC; c++) {
			if (sh->uncertain[s][c]) {
				u++;
				u_seen += sh->seen[s][c];
			} else {
				d++;
				d_seen += sh->seen[s][c];
			}
		}
		/* Nothing is seen beyond what was attempted. */
		for (; c < MAXC; c++)
			if (sh->seen[s][c])
				fail("slot %d counter %u read, never written",
				     s, c);
	}
	read_total = sh->plain_reads + sh->acked + sh->drained;
	x = sh->flushed_msgs - (d - d_seen);

	TH_LOG("%.1f s, %llu operations, %d kill -9, %llu churner opens, %llu EINTR, %llu batch sends, %llu batch receives",
	       now() - start, (unsigned long long)sh->ops, kills,
	       (unsigned long long)sh->churns, (unsigned long long)sh->eintr,
	       (unsigned long long)sh->batches_sent,
	       (unsigned long long)sh->batches_read);
	TH_LOG("written %llu messages for sure, %llu normal + %llu urgent as counted by the writers (%llu uncertain: writer killed mid-write, %llu of them read), EAGAIN %llu write / %llu urgent",
	       (unsigned long long)d, (unsigned long long)sh->written,
	       (unsigned long long)sh->urgent_sent, (unsigned long long)u,
	       (unsigned long long)u_seen,
	       (unsigned long long)sh->write_eagain,
	       (unsigned long long)sh->urgent_eagain);
	TH_LOG("read %llu (plain %llu, acked %llu, drained at the end %llu), nacked %llu, lease holders died %llu",
	       (unsigned long long)read_total,
	       (unsigned long long)sh->plain_reads,
	       (unsigned long long)sh->acked, (unsigned long long)sh->drained,
	       (unsigned long long)sh->nacked,
	       (unsigned long long)sh->lease_deaths);
	TH_LOG("flushed %llu in %llu flushes (%llu uncertain among them); kernel: enqueued %llu, dequeued %llu, flushed %llu",
	       (unsigned long long)sh->flushed_msgs,
	       (unsigned long long)sh->flushes, (unsigned long long)x,
	       (unsigned long long)(k1.enq - k0.enq),
	       (unsigned long long)(k1.deq - k0.deq),
	       (unsigned long long)(k1.flushed - k0.flushed));
	TH_LOG("corrupt %llu, duplicated %llu, out of order %llu, bad headers %llu",
	       (unsigned long long)sh->corrupt, (unsigned long long)sh->dup,
	       (unsigned long long)sh->out_of_order,
	       (unsigned long long)sh->bad_hdr);
	if (sh->errors)
		TH_LOG("%llu errors, the first: %s (seed %llu)",
		       (unsigned long long)sh->errors, sh->err,
		       (unsigned long long)seed);
	ASSERT_EQ(0, sh->errors);
	ASSERT_EQ(d_seen + u_seen, read_total);
	/* Unread definite messages were flushed; x uncertain ones too. */
	ASSERT_LE(d - d_seen, sh->flushed_msgs);
	ASSERT_LE(x, u - u_seen);
	ASSERT_EQ(k1.enq - k0.enq, d + u_seen + x);
	ASSERT_EQ(k1.deq - k0.deq, read_total);
	ASSERT_EQ(k1.flushed - k0.flushed, sh->flushed_msgs);
	ASSERT_LT(0, read_total);
}

/* One mailbox: 4 writers, 1 urgent sender, the flusher, 2+2 readers. */
TEST_F_TIMEOUT(stress, one_mailbox, 900)
{
	run_stress(_metadata, self->fds, 1, 4, 1, 2, 2, 2);
}

/* Three mailboxes, the middle one small, so writers block often. */
TEST_F_TIMEOUT(stress, three_mailboxes, 900)
{
	ASSERT_EQ(0, mbox_set_limits(self->fds[1], 0, 16,
				     2 * mbox_param("max_msg_size")));
	run_stress(_metadata, self->fds, 3, 6, 2, 3, 3, 3);
}

TEST_HARNESS_MAIN
