// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile use of named mailboxes: create, open, write, read, rm and
 * close racing on a few names, and a lazy umount under blocked readers
 * and writers.  Each case mounts its own instance in a mount namespace
 * of its own (the harness forks each case), so nothing outlives it.
 *
 * create_rm_open_write_read_race: THREADS threads do random operations on
 * CHURN names that come and go and on KEEPERS names that are never
 * removed.  Every message is unique, (writer thread, counter), and
 * carries the inode number of the mailbox it was written to and a fill
 * derived from both, so a read checks that it came out of the mailbox it
 * went into, intact.  Each operation accepts an exact set of errors;
 * anything else fails with the operation, the name and the errno.  At
 * the end, exactly:
 *  - no message is read twice, and no message is read whose write failed;
 *  - on each keeper, every message written is read during the run or
 *    drained at the end, and the kernel's counters agree (enqueued =
 *    written, dequeued = read + drained, nothing queued);
 *  - a reader gets each writer's messages to a keeper in the order they
 *    were written (the queue is FIFO and each thread writes in order).
 * Messages written to a removed mailbox die with it; they are only checked
 * when read.
 *
 * MBOX_NAMED_STRESS_SECONDS (default 10) bounds the run;
 * MBOX_NAMED_STRESS_SEED fixes the random choices (printed, so a failure
 * can be replayed).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "mbox_fs.h"

#define THREADS		4
#define CHURN		8
#define KEEPERS		2
#define NAMES		(CHURN + KEEPERS)
#define SLOTS		4		/* open files per thread */
#define MAXSEQ		(1u << 21)	/* messages per writer thread */
#define MSG_MAX		200
#define MAGIC		0x6e6d7374u

/* Per message state, one byte: written (and where), read. */
#define ST_OK		0x01		/* write() returned its length */
#define ST_SEEN		0x02		/* read() returned it */
#define ST_KEEPER	0x04		/* written to a keeper ... */
#define ST_KSHIFT	4		/* ... whose index is in the high bits */

struct tag {
	uint32_t magic;
	uint32_t thread;
	uint32_t seq;
	uint32_t len;
	uint64_t ino;
};

struct race {
	const char *dir;
	uint64_t seed;
	long long end_ms;
	int stop;
	uint8_t *st[THREADS];		/* [seq] of each writer */
	uint32_t next[THREADS];		/* counters used by each writer */
	uint64_t keeper_ino[KEEPERS];
	uint64_t keeper_reads[KEEPERS];
	uint64_t ops[8], writes, reads, eagain, enoent, eexist;
	pthread_mutex_t lock;
	char err[256];
};

enum { OP_CREATE, OP_OPEN, OP_WRITE, OP_READ, OP_RM, OP_CLOSE, OP_NR };

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *name_of(int i, char *buf, size_t len)
{
	if (i < CHURN)
		snprintf(buf, len, "churn%d", i);
	else
		snprintf(buf, len, "keep%d", i - CHURN);
	return buf;
}

/* The first failure wins; every thread then stops. */
static void race_fail(struct race *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!r->err[0]) {
		va_start(ap, fmt);
		vsnprintf(r->err, sizeof(r->err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->lock);
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
}

static uint8_t fill_byte(uint32_t thread, uint32_t seq, uint64_t ino, size_t i)
{
	return (uint8_t)(thread * 131 + seq * 7 + ino * 13 + i);
}

static size_t make_msg(char *buf, uint32_t thread, uint32_t seq, uint64_t ino)
{
	struct tag t = { MAGIC, thread, seq, 0, ino };
	size_t i, len = sizeof(t) + (thread * 31 + seq) % (MSG_MAX - sizeof(t));

	t.len = len;
	memcpy(buf, &t, sizeof(t));
	for (i = sizeof(t); i < len; i++)
		buf[i] = fill_byte(thread, seq, ino, i);
	return len;
}

/*
 * Check a message read from the mailbox with inode @ino and mark it seen:
 * 0, or -1 after race_fail().  @last: per writer, the last counter this
 * reader took from this keeper (NULL for a churned name).
 */
static int check_msg(struct race *r, const char *buf, ssize_t n, uint64_t ino,
		     const char *name, uint32_t *last)
{
	struct tag t;
	uint8_t old;
	ssize_t i;

	if (n < (ssize_t)sizeof(t)) {
		race_fail(r, "%s: short message of %zd bytes", name, n);
		return -1;
	}
	memcpy(&t, buf, sizeof(t));
	if (t.magic != MAGIC || t.thread >= THREADS || t.len != n ||
	    t.ino != ino || t.seq >= __atomic_load_n(&r->next[t.thread],
						     __ATOMIC_ACQUIRE)) {
		race_fail(r, "%s (ino %llu): bad tag magic %x thread %u seq %u len %u/%zd ino %llu",
			  name, (unsigned long long)ino, t.magic, t.thread,
			  t.seq, t.len, n, (unsigned long long)t.ino);
		return -1;
	}
	for (i = sizeof(t); i < n; i++) {
		if ((uint8_t)buf[i] != fill_byte(t.thread, t.seq, ino, i)) {
			race_fail(r, "%s: message %u/%u corrupt at byte %zd",
				  name, t.thread, t.seq, i);
			return -1;
		}
	}
	old = __atomic_fetch_or(&r->st[t.thread][t.seq], ST_SEEN,
				__ATOMIC_RELAXED);
	if (old & ST_SEEN) {
		race_fail(r, "%s: message %u/%u read twice", name, t.thread, t.seq);
		return -1;
	}
	if (last) {
		if (last[t.thread] != UINT32_MAX && t.seq <= last[t.thread]) {
			race_fail(r, "%s: message %u/%u after %u/%u", name,
				  t.thread, t.seq, t.thread, last[t.thread]);
			return -1;
		}
		last[t.thread] = t.seq;
	}
	return 0;
}

struct slot {
	int fd;
	int name;
	uint64_t ino;
};

struct worker {
	struct race *r;
	int id;
};

static void *race_worker(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	struct slot slot[SLOTS];
	uint32_t last[KEEPERS][THREADS];
	uint64_t rs = r->seed ^ (0x1000193ull * (w->id + 1));
	char buf[4096], name[32];
	int i, op, err, fd;
	struct stat st;
	ssize_t n;

	memset(last, 0xff, sizeof(last));
	for (i = 0; i < SLOTS; i++)
		slot[i].fd = -1;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if (mbox_now_ms() >= r->end_ms)
			break;
		op = splitmix(&rs) % OP_NR;
		i = splitmix(&rs) % NAMES;
		name_of(i, name, sizeof(name));
		__atomic_fetch_add(&r->ops[op], 1, __ATOMIC_RELAXED);
		switch (op) {
		case OP_CREATE:
			if (!create_in(r->dir, name, 0600)) {
				/* A keeper exists from the start to the end. */
				if (i >= CHURN)
					race_fail(r, "create %s: made a second one", name);
				break;
			}
			if (errno != EEXIST)
				race_fail(r, "create %s: %s", name, strerror(errno));
			else
				__atomic_fetch_add(&r->eexist, 1, __ATOMIC_RELAXED);
			break;
		case OP_RM:
			if (i >= CHURN)
				break;
			if (!unlink_in(r->dir, name))
				break;
			if (errno != ENOENT)
				race_fail(r, "rm %s: %s", name, strerror(errno));
			else
				__atomic_fetch_add(&r->enoent, 1, __ATOMIC_RELAXED);
			break;
		case OP_OPEN: {
			int s = splitmix(&rs) % SLOTS;

			if (slot[s].fd >= 0)
				close(slot[s].fd);
			slot[s].fd = -1;
			fd = open_in(r->dir, name, O_RDWR | O_NONBLOCK);
			if (fd < 0) {
				if (errno != ENOENT || i >= CHURN)
					race_fail(r, "open %s: %s", name, strerror(errno));
				else
					__atomic_fetch_add(&r->enoent, 1, __ATOMIC_RELAXED);
				break;
			}
			if (fstat(fd, &st)) {
				race_fail(r, "fstat %s: %s", name, strerror(errno));
				close(fd);
				break;
			}
			/* The keepers' names never change mailbox. */
			if (i >= CHURN && st.st_ino != r->keeper_ino[i - CHURN]) {
				race_fail(r, "open %s: ino %llu, created as %llu", name,
					  (unsigned long long)st.st_ino,
					  (unsigned long long)r->keeper_ino[i - CHURN]);
				close(fd);
				break;
			}
			slot[s] = (struct slot){ fd, i, st.st_ino };
			break;
		}
		case OP_WRITE: {
			struct slot *sl = &slot[splitmix(&rs) % SLOTS];
			uint32_t seq = r->next[w->id];
			size_t len;

			if (sl->fd < 0)
				break;
			if (seq >= MAXSEQ)
				break;
			/* Published first: a reader may see it before write() returns. */
			__atomic_store_n(&r->next[w->id], seq + 1, __ATOMIC_RELEASE);
			len = make_msg(buf, w->id, seq, sl->ino);
			n = write(sl->fd, buf, len);
			err = errno;
			if (n == (ssize_t)len) {
				uint8_t s = ST_OK;

				if (sl->name >= CHURN)
					s |= ST_KEEPER | (sl->name - CHURN) << ST_KSHIFT;
				__atomic_fetch_or(&r->st[w->id][seq], s, __ATOMIC_RELAXED);
				__atomic_fetch_add(&r->writes, 1, __ATOMIC_RELAXED);
			} else if (n < 0 && err == EAGAIN) {
				__atomic_fetch_add(&r->eagain, 1, __ATOMIC_RELAXED);
			} else {
				race_fail(r, "write %s (ino %llu) %zu bytes: %zd, %s",
					  name_of(sl->name, name, sizeof(name)),
					  (unsigned long long)sl->ino, len, n,
					  strerror(err));
			}
			break;
		}
		case OP_READ: {
			struct slot *sl = &slot[splitmix(&rs) % SLOTS];
			int k;

			if (sl->fd < 0)
				break;
			k = sl->name - CHURN;
			name_of(sl->name, name, sizeof(name));
			n = read(sl->fd, buf, sizeof(buf));
			if (n < 0) {
				if (errno != EAGAIN)
					race_fail(r, "read %s: %s", name, strerror(errno));
				else
					__atomic_fetch_add(&r->eagain, 1, __ATOMIC_RELAXED);
				break;
			}
			if (check_msg(r, buf, n, sl->ino, name, k >= 0 ? last[k] : NULL))
				break;
			__atomic_fetch_add(&r->reads, 1, __ATOMIC_RELAXED);
			if (k >= 0)
				__atomic_fetch_add(&r->keeper_reads[k], 1, __ATOMIC_RELAXED);
			break;
		}
		case OP_CLOSE: {
			struct slot *sl = &slot[splitmix(&rs) % SLOTS];

			if (sl->fd >= 0 && close(sl->fd))
				race_fail(r, "close: %s", strerror(errno));
			sl->fd = -1;
			break;
		}
		}
	}
	for (i = 0; i < SLOTS; i++)
		if (slot[i].fd >= 0)
			close(slot[i].fd);
	return NULL;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

static long long module_refs(void)
{
	return mbox_read_sysfs("/sys/module/mbox/refcnt");
}

static long long instances(void)
{
	return mbox_read_sysfs("/sys/class/mbox/instances");
}

FIXTURE(named) {
	char dir[64];
};

FIXTURE_SETUP(named)
{
	strcpy(self->dir, "/tmp/mbox-named-stress.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
}

FIXTURE_TEARDOWN(named)
{
	umount2(self->dir, MNT_DETACH);
	rmdir(self->dir);
}

TEST_F(named, create_rm_open_write_read_race)
{
	uint64_t seconds = env_u64("MBOX_NAMED_STRESS_SECONDS", 10);
	uint64_t enq[KEEPERS] = { 0 }, drained[KEEPERS] = { 0 };
	struct worker w[THREADS];
	pthread_t tid[THREADS];
	struct mbox_info info;
	char buf[4096], name[32];
	struct race *r;
	struct stat st;
	long long t0;
	uint32_t t, s;
	int i, k, fd;
	ssize_t n;

	r = calloc(1, sizeof(*r));
	ASSERT_NE(NULL, r);
	pthread_mutex_init(&r->lock, NULL);
	r->dir = self->dir;
	r->seed = env_u64("MBOX_NAMED_STRESS_SEED", (uint64_t)time(NULL) ^ getpid());
	printf("# seed %llu (MBOX_NAMED_STRESS_SEED), %llu s (MBOX_NAMED_STRESS_SECONDS)\n",
	       (unsigned long long)r->seed, (unsigned long long)seconds);
	for (t = 0; t < THREADS; t++) {
		r->st[t] = calloc(MAXSEQ, 1);
		ASSERT_NE(NULL, r->st[t]);
	}

	ASSERT_EQ(0, fs_mount(self->dir, NULL));
	for (k = 0; k < KEEPERS; k++) {
		name_of(CHURN + k, name, sizeof(name));
		ASSERT_EQ(0, create_in(self->dir, name, 0600));
		ASSERT_EQ(0, stat_in(self->dir, name, &st));
		r->keeper_ino[k] = st.st_ino;
	}

	t0 = mbox_now_ms();
	r->end_ms = t0 + seconds * 1000;
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ r, i };
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, race_worker, &w[i]));
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(tid[i], NULL);
	if (r->err[0])
		TH_LOG("seed %llu: %s", (unsigned long long)r->seed, r->err);
	ASSERT_EQ(0, r->err[0]);

	/* Drain the keepers: what is left must be exactly what was not read. */
	for (k = 0; k < KEEPERS; k++) {
		uint32_t last[THREADS];

		memset(last, 0xff, sizeof(last));
		name_of(CHURN + k, name, sizeof(name));
		fd = open_in(self->dir, name, O_RDWR | O_NONBLOCK);
		ASSERT_LE(0, fd);
		while ((n = read(fd, buf, sizeof(buf))) >= 0) {
			/* No order check: the run's readers took some in between. */
			ASSERT_EQ(0, check_msg(r, buf, n, r->keeper_ino[k], name, NULL)) {
				TH_LOG("seed %llu: %s", (unsigned long long)r->seed, r->err);
			}
			drained[k]++;
		}
		ASSERT_EQ(EAGAIN, errno);
		ASSERT_EQ(0, mbox_info(fd, &info));
		ASSERT_EQ(0, info.msgs_queued);
		ASSERT_EQ(0, info.urgent_queued);
		ASSERT_EQ(r->keeper_reads[k] + drained[k], info.total_dequeued);
		ASSERT_EQ(0, info.flushed_msgs);
		enq[k] = info.total_enqueued;
		ASSERT_EQ(0, close(fd));
	}

	/*
	 * Every message read was written (its write returned its length), and
	 * every message written to a keeper was read exactly once.
	 */
	for (t = 0; t < THREADS; t++) {
		uint64_t written[KEEPERS] = { 0 };

		for (s = 0; s < r->next[t]; s++) {
			uint8_t v = r->st[t][s];

			if ((v & ST_SEEN) && !(v & ST_OK))
				TH_LOG("message %u/%u read, but its write failed", t, s);
			ASSERT_FALSE((v & ST_SEEN) && !(v & ST_OK));
			if (!(v & ST_KEEPER))
				continue;
			written[v >> ST_KSHIFT]++;
			if (!(v & ST_SEEN))
				TH_LOG("message %u/%u to keep%d lost", t, s, v >> ST_KSHIFT);
			ASSERT_TRUE(v & ST_SEEN);
		}
		for (k = 0; k < KEEPERS; k++)
			enq[k] -= written[k];
	}
	/* The kernel enqueued on each keeper exactly the writes that returned. */
	for (k = 0; k < KEEPERS; k++)
		ASSERT_EQ(0, enq[k]);

	printf("# %lld ms: %llu writes, %llu reads (%llu drained), %llu EAGAIN, %llu ENOENT, %llu EEXIST; ops create %llu open %llu write %llu read %llu rm %llu close %llu\n",
	       mbox_now_ms() - t0, (unsigned long long)r->writes,
	       (unsigned long long)r->reads,
	       (unsigned long long)(drained[0] + drained[1]),
	       (unsigned long long)r->eagain, (unsigned long long)r->enoent,
	       (unsigned long long)r->eexist,
	       (unsigned long long)r->ops[OP_CREATE],
	       (unsigned long long)r->ops[OP_OPEN],
	       (unsigned long long)r->ops[OP_WRITE],
	       (unsigned long long)r->ops[OP_READ],
	       (unsigned long long)r->ops[OP_RM],
	       (unsigned long long)r->ops[OP_CLOSE]);
	/* A run that wrote nothing to a keeper proved nothing. */
	ASSERT_LT(0, r->keeper_reads[0] + drained[0]);
	ASSERT_LT(0, r->keeper_reads[1] + drained[1]);
	ASSERT_EQ(0, umount(self->dir));
}

/* Case 2: umount2(MNT_DETACH) under blocked readers and a blocked writer. */
#define BUSY		4	/* mailboxes; the first two removed */
#define READERS		3	/* blocked readers, on mailboxes 0..2 */
#define FULL		4	/* max_msgs of mailbox 3, where the writer blocks */

struct blocked_read {
	int fd;
	ssize_t n;
	int err;
	char buf[64];
};

static void *blocked_reader(void *arg)
{
	struct blocked_read *b = arg;

	b->n = read(b->fd, b->buf, sizeof(b->buf) - 1);
	b->err = errno;
	return NULL;
}

struct blocked_write {
	int fd;
	int done;	/* messages written */
	int err;
};

/* FULL + 1 blocking writes: the last one waits for room. */
static void *blocked_writer(void *arg)
{
	struct blocked_write *b = arg;
	char msg[16];
	int i, len;

	for (i = 0; i <= FULL; i++) {
		len = snprintf(msg, sizeof(msg), "fill%d", i);
		if (write(b->fd, msg, len) != len) {
			b->err = errno;
			return NULL;
		}
		b->done = i + 1;
	}
	return NULL;
}

TEST_F(named, umount_while_busy)
{
	long long refs0 = module_refs(), i0 = instances(), t0;
	struct blocked_read rd[READERS];
	struct blocked_write wr = { 0 };
	pthread_t rtid[READERS], wtid;
	int fd[BUSY], i, status, ready[2];
	char name[16], msg[32], buf[64];
	pid_t pid;
	ssize_t n;

	ASSERT_LE(0, refs0);
	ASSERT_LE(0, i0);
	ASSERT_EQ(0, fs_mount(self->dir, NULL));
	ASSERT_EQ(i0 + 1, instances());
	for (i = 0; i < BUSY; i++) {
		snprintf(name, sizeof(name), "busy%d", i);
		ASSERT_EQ(0, create_in(self->dir, name, 0600));
		fd[i] = open_in(self->dir, name, O_RDWR);
		ASSERT_LE(0, fd[i]);
		if (i < 2)
			ASSERT_EQ(0, unlink_in(self->dir, name));
	}
	ASSERT_EQ(0, mbox_set_limits(fd[BUSY - 1], 0, FULL, 0));

	for (i = 0; i < READERS; i++) {
		rd[i] = (struct blocked_read){ .fd = fd[i] };
		ASSERT_EQ(0, pthread_create(&rtid[i], NULL, blocked_reader, &rd[i]));
	}
	wr.fd = fd[BUSY - 1];
	ASSERT_EQ(0, pthread_create(&wtid, NULL, blocked_writer, &wr));
	for (i = 0; i < READERS; i++)
		ASSERT_EQ(0, mbox_wait_readers(fd[i], 1));
	ASSERT_EQ(0, mbox_wait_writers(fd[BUSY - 1], 1));

	/* A child holds the files too, and writes only after the umount. */
	ASSERT_EQ(0, pipe(ready));
	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char c;

		close(ready[1]);
		if (read(ready[0], &c, 1) != 1)
			_exit(100);
		for (i = 0; i < READERS; i++) {
			int len = snprintf(msg, sizeof(msg), "wake%d", i);

			if (write(fd[i], msg, len) != len)
				_exit(101 + i);
		}
		_exit(0);
	}
	close(ready[0]);

	ASSERT_EQ(0, umount2(self->dir, MNT_DETACH));
	ASSERT_FALSE(is_mbox(self->dir));
	ASSERT_EQ(-1, open_in(self->dir, "busy2", O_RDWR));
	ASSERT_EQ(ENOENT, errno);
	/* Detached, not gone: the blocked stay blocked, nothing was woken. */
	ASSERT_EQ(i0 + 1, instances());
	for (i = 0; i < READERS; i++)
		ASSERT_EQ(0, mbox_wait_readers(fd[i], 1));
	ASSERT_EQ(0, mbox_wait_writers(fd[BUSY - 1], 1));
	ASSERT_EQ(FULL, wr.done);

	/* The child's writes wake the readers with its messages. */
	ASSERT_EQ(1, write(ready[1], "g", 1));
	close(ready[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	for (i = 0; i < READERS; i++) {
		ASSERT_EQ(0, pthread_join(rtid[i], NULL));
		snprintf(msg, sizeof(msg), "wake%d", i);
		ASSERT_EQ(strlen(msg), rd[i].n) {
			TH_LOG("reader %d: %zd, %s", i, rd[i].n, strerror(rd[i].err));
		}
		rd[i].buf[rd[i].n] = '\0';
		ASSERT_STREQ(msg, rd[i].buf);
	}

	/* A read makes room: the blocked writer's message goes in, in order. */
	for (i = 0; i <= FULL; i++) {
		n = read(fd[BUSY - 1], buf, sizeof(buf) - 1);
		ASSERT_LT(0, n);
		buf[n] = '\0';
		snprintf(msg, sizeof(msg), "fill%d", i);
		ASSERT_STREQ(msg, buf);
		if (i == 0)
			ASSERT_EQ(0, pthread_join(wtid, NULL));
	}
	ASSERT_EQ(FULL + 1, wr.done);
	ASSERT_EQ(0, wr.err);

	/* Every mailbox, removed or only detached, still carries messages. */
	for (i = 0; i < BUSY; i++) {
		struct mbox_info info;

		n = snprintf(msg, sizeof(msg), "after%d", i);
		ASSERT_EQ(n, write(fd[i], msg, n));
		ASSERT_EQ(0, mbox_info(fd[i], &info));
		ASSERT_EQ(1, info.msgs_queued);
		ASSERT_EQ(n, read(fd[i], buf, sizeof(buf)));
		ASSERT_EQ(0, memcmp(msg, buf, n));
		ASSERT_EQ(i0 + 1, instances());
	}

	/* The last close frees the instance and its module reference. */
	for (i = 0; i < BUSY; i++)
		ASSERT_EQ(0, close(fd[i]));
	for (t0 = mbox_now_ms(); !mbox_waited_too_long(t0); usleep(5000))
		if (instances() == i0 && module_refs() == refs0)
			break;
	ASSERT_EQ(i0, instances());
	ASSERT_EQ(refs0, module_refs());
}

TEST_HARNESS_MAIN
