/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbox: internal interfaces between the queue core (queue.c), message
 * objects (msg.c), the file operations (fops.c), per-user quotas
 * (quota.c), the mbox filesystem (fs.c) and module setup (main.c).
 */
#ifndef _MBOX_INTERNAL_H
#define _MBOX_INTERNAL_H

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/mbox.h>

struct file;
struct iov_iter;
struct mbox_frag;
struct pid;
struct mbox_flushing;

/*
 * Per-user quotas (quota.c): the module's set, and one per instance of
 * the filesystem whose users are also charged to the module's.  The
 * limits change at run time (module parameters, remount): READ_ONCE.
 */
struct mbox_quota {
	spinlock_t lock;		/* @users */
	DECLARE_HASHTABLE(users, 6);
	struct mbox_quota *parent;
	u32 max_mailboxes;
	u64 max_bytes;
};

/* One user's entry in a set (quota.c); the writers' fast path reads it. */
struct mbox_quota_user {
	struct hlist_node node;		/* in @quota->users, under its lock */
	struct mbox_quota *quota;
	struct mbox_quota_user *parent;	/* same user, the module's set */
	kuid_t uid;
	refcount_t refs;
	/* Of a module-level entry: guards the user's instance-level counts. */
	spinlock_t charge_lock;
	atomic_t mailboxes;
	atomic64_t bytes;
	/*
	 * Of a module-level entry: pages that the user's named mailboxes
	 * carve payloads from, bounded by the same user_bytes (msg.c).
	 */
	atomic64_t page_bytes;
};

/*
 * What a queued message costs its writer's quota besides its payload:
 * its struct mbox_msg, allocated from kmalloc-128 (msg.c checks it fits).
 */
#define MBOX_MSG_CHARGE		128

/* The module's per-user quotas by default (parameters user_*). */
#define MBOX_USER_MAILBOXES_DEFAULT	1024U
#define MBOX_USER_BYTES_DEFAULT		(64ULL << 20)

/*
 * One message.  The sender's identity and the payload are fixed before it
 * is enqueued.  @time_ns is stamped just before the lock is taken by a
 * writer that goes in at once, or under the lock when a waiting writer's
 * message is queued for it (queue.c, mbox_serve_writers_locked()); @seq
 * is set at enqueue, and @node, @flags and @delivery_count change later,
 * all under the mailbox lock.
 *
 * The payload (msg.c) is either a fragment of a page, @frag, which the
 * message holds a reference to (payloads of up to a page), or an
 * allocation of its own (@frag is NULL); @data points at it either way.
 */
struct mbox_msg {
	struct list_head node;
	struct pid *tgid;		/* writer's thread group, for hdr.pid */
	struct pid *tid;		/* writer's thread, for hdr.tid */
	kuid_t uid;			/* writer's euid at write() */
	kgid_t gid;
	kuid_t opener_uid;		/* euid/egid of the writer's f_cred */
	kgid_t opener_gid;
	u64 seq;
	u64 time_ns;
	u32 size;
	u32 flags;			/* MBOX_MSG_* */
	u32 delivery_count;
	/*
	 * Selected by a flush while detached for copying out: discarded
	 * instead of put back if the copy fails.  Under the mailbox lock.
	 */
	bool flushed;
	char *data;
	struct mbox_frag *frag;
	/*
	 * Its file opener's quota entry, charged @size + MBOX_MSG_CHARGE bytes
	 * from write() until the message is freed or recycled (msg.c).
	 * NULL for a message never charged (KUnit) and for every spare.
	 */
	struct mbox_quota_user *charged;
};

/* Spare messages a mailbox keeps: a 16-entry batch's worth. */
#define MBOX_SPARES		16

/*
 * One mailbox.  @lock protects the lists, the counters and the limits; it
 * is a spinlock because nothing that sleeps, allocates or touches user
 * memory is ever done under it.
 */
struct mbox {
	spinlock_t lock;		/* see above */
	struct list_head queue;		/* normal messages, FIFO */
	struct list_head urgent;	/* urgent messages, FIFO, read first */
	/* Detached by kmbox_take(), being copied out to a reader. */
	struct list_head copying;
	/*
	 * One flush at a time (it may drop @lock between chunks); the one
	 * running, for kmbox_requeue() (queue.c), under @lock.
	 */
	struct mutex flush_lock;
	struct mbox_flushing *flushing;

	/* Limits (struct mbox_limits); write() reads max_msg_size unlocked. */
	u32 max_msg_size;
	u32 max_msgs;
	u64 max_bytes;
	u32 max_urgent;
	u64 max_urgent_bytes;

	/*
	 * Charged against the limits: queued messages plus those being
	 * copied out to a reader, so a failed copy can always put its
	 * message back.
	 */
	u32 nr_msgs;
	u64 nr_bytes;
	u32 nr_urgent;
	u64 nr_urgent_bytes;
	/*
	 * Messages on the two lists, i.e. readable right now, and bytes.
	 * The counts are written with WRITE_ONCE: poll and the readers'
	 * wait condition read them without the lock.
	 */
	u32 nr_ready;
	u32 nr_urgent_ready;
	/* Leased to readers in ack mode: charged, on no list of ours. */
	u32 nr_inflight;
	u64 ready_bytes;
	u64 urgent_ready_bytes;

	u64 next_seq;
	u64 total_enqueued;
	u64 total_dequeued;
	u64 flushed_msgs;
	u64 flushed_bytes;

	/*
	 * Consumed messages kept for the next writes, so a mailbox in
	 * steady use neither allocates nor frees a message (as a pipe keeps
	 * a page), also with a batch of MBOX_SPARES in flight.  Each slot
	 * taken and filled with xchg()/cmpxchg(), not under @lock (msg.c).
	 */
	struct mbox_msg *spare[MBOX_SPARES];

	/*
	 * Payloads of up to a page are carved from @frag_cur (msg.c):
	 * @frag_offset is its first free byte, @frag_bias the references to
	 * it we hold for the fragments still to give out.  All three under
	 * @frag_lock (a spinlock: nothing under it sleeps or allocates),
	 * which nests in no other lock.  @frag_spare is a page whose
	 * fragments are all freed, kept for the next page to carve (as a
	 * pipe keeps its tmp_page); taken and filled as @spare's slots.
	 * @frag_pages counts the pages that hold fragments, are being carved
	 * or are spare, which msg.c bounds.
	 */
	spinlock_t frag_lock;
	struct mbox_frag *frag_cur;
	unsigned int frag_offset;
	unsigned int frag_bias;
	struct mbox_frag *frag_spare;
	atomic_t frag_pages;

	/*
	 * Blocked readers wait exclusively on @rd_wait (one message wakes one
	 * reader); poll and epoll wait on @poll_wait, woken with the event
	 * mask as key.  Blocked writers line up on @writers (struct
	 * mbox_writer in queue.c), in arrival order, under @lock: whoever
	 * frees room enqueues their messages for them (see queue.c).
	 */
	wait_queue_head_t rd_wait;
	wait_queue_head_t poll_wait;
	struct list_head writers;
	u32 nr_writers_waiting;		/* on @writers */
	atomic_t readers_waiting;

	unsigned int index;
	/* The quota set writes are charged to; NULL: none (KUnit). */
	struct mbox_quota *quota;
	/* A named mailbox's creator, charged one mailbox until the evict. */
	struct mbox_quota_user *owner;
	/*
	 * Allocated and released by the kernel, not embedded: their release
	 * may come after the module is gone (main.c, "Lifetimes").
	 */
	struct cdev *cdev;
	struct device *dev;
};

/*
 * Messages leased to one open file in ack mode, in seq order.
 * Protected by the mailbox lock.  @nr also counts messages being copied
 * out to this file, so concurrent readers cannot exceed @max.
 */
struct mbox_leases {
	struct list_head msgs;
	u32 nr;				/* WRITE_ONCE: poll reads it unlocked */
	u32 max;			/* written with WRITE_ONCE */
};

/* Per open file description. */
struct mbox_file {
	struct mbox *mb;
	u32 mode;			/* MBOX_MODE_*, read with READ_ONCE */
	/*
	 * Size of this file's last write that failed with EAGAIN, 0 once a
	 * write succeeds: poll's EPOLLOUT means a write of that size (or of
	 * 1 byte) would not block.  READ_ONCE/WRITE_ONCE, no lock.
	 */
	u32 wr_want;
	/*
	 * Of a file open for writing: the quota entry of its opener's euid,
	 * which its messages are charged to (fops.c); set at open, released
	 * at close.
	 */
	struct mbox_quota_user *wr_quota;
	struct mbox_leases leases;
};

/* Module-wide defaults, validated at load (main.c). */
extern unsigned int kmbox_default_max_msg_size;
extern unsigned int kmbox_default_max_msgs;
extern unsigned long kmbox_default_max_bytes;
extern unsigned int kmbox_default_max_urgent;
extern unsigned long kmbox_default_max_urgent_bytes;

/* quota.c */
extern struct mbox_quota kmbox_module_quota;
void kmbox_quota_init(struct mbox_quota *q, struct mbox_quota *parent,
		      u32 max_mailboxes, u64 max_bytes);
void kmbox_quota_destroy(struct mbox_quota *q);
struct mbox_quota_user *kmbox_quota_user_get(struct mbox_quota *q, kuid_t uid,
					     gfp_t gfp);
void kmbox_quota_user_release(struct mbox_quota_user *u);
int kmbox_quota_charge(struct mbox_quota_user *u, u32 mailboxes, u64 bytes);
void kmbox_quota_uncharge(struct mbox_quota_user *u, u32 mailboxes, u64 bytes);
bool kmbox_quota_charge_page(struct mbox_quota_user *owner);
void kmbox_quota_uncharge_page(struct mbox_quota_user *owner);

static inline void kmbox_quota_user_put(struct mbox_quota_user *u)
{
	if (refcount_dec_and_test(&u->refs))
		kmbox_quota_user_release(u);
}

/*
 * A message's bytes, as kmbox_quota_charge() and kmbox_quota_uncharge()
 * do it, inline for an entry of the module's set (every write to
 * /dev/mboxN): one compare-and-exchange each way.
 */
static inline int kmbox_quota_charge_bytes(struct mbox_quota_user *u,
					   u64 bytes)
{
	s64 b;

	if (u->parent)
		return kmbox_quota_charge(u, 0, bytes);
	b = atomic64_read(&u->bytes);
	do {
		if ((u64)b + bytes > READ_ONCE(u->quota->max_bytes))
			return -EDQUOT;
	} while (!atomic64_try_cmpxchg(&u->bytes, &b, b + bytes));
	/* The bytes' reference; the caller holds one meanwhile. */
	if (!b)
		refcount_inc(&u->refs);
	return 0;
}

static inline void kmbox_quota_uncharge_bytes(struct mbox_quota_user *u,
					      u64 bytes)
{
	if (u->parent)
		kmbox_quota_uncharge(u, 0, bytes);
	else if (atomic64_sub_and_test(bytes, &u->bytes))
		kmbox_quota_user_put(u);
}

/* msg.c */
struct mbox_msg *kmbox_msg_alloc(size_t size, bool nonblock);
struct mbox_msg *kmbox_msg_get(struct mbox *mb, size_t size, bool nonblock);
bool kmbox_msg_copy_in(struct mbox_msg *msg, struct iov_iter *from);
bool kmbox_msg_copy_out(const struct mbox_msg *msg, struct iov_iter *to);
void kmbox_msg_free(struct mbox_msg *msg);
void kmbox_msg_recycle(struct mbox *mb, struct mbox_msg *msg);
void kmbox_msg_cache_init(struct mbox *mb);
void kmbox_msg_cache_destroy(struct mbox *mb);
void kmbox_msg_stamp(struct mbox_msg *msg, const struct file *file);
void kmbox_msg_fill_header(const struct mbox_msg *msg,
			   struct mbox_msg_header *hdr);
void kmbox_msg_free_list(struct mbox *mb, struct list_head *list);

/* queue.c */
void kmbox_init(struct mbox *mb, unsigned int index,
		const struct mbox_limits *limits);
void kmbox_destroy(struct mbox *mb);
int kmbox_limits_valid(const struct mbox_limits *limits);
int kmbox_set_limits(struct mbox *mb, const struct mbox_limits *limits);
void kmbox_get_info(struct mbox *mb, struct mbox_info *info);

int kmbox_enqueue(struct mbox *mb, struct mbox_msg *msg, bool nonblock);
struct mbox_flush_sel {
	u32 flags;			/* MBOX_FLUSH_* */
	u64 up_to_seq;
	kuid_t opener_uid;
	/* Another flush in progress is -EAGAIN, not a wait (O_NONBLOCK). */
	bool nonblock;
};

int kmbox_enqueue_urgent(struct mbox *mb, struct mbox_msg *msg,
			 const struct mbox_flush_sel *sel,
			struct mbox_flush *result, u64 *seq);
int kmbox_flush(struct mbox *mb, const struct mbox_flush_sel *sel,
		struct mbox_flush *result);

struct mbox_msg *kmbox_take(struct mbox *mb, size_t room, size_t hdr_size,
			    bool nonblock, struct mbox_leases *leases);
void kmbox_requeue(struct mbox *mb, struct mbox_msg *msg,
		   struct mbox_leases *leases);
void kmbox_consume(struct mbox *mb, struct mbox_msg *msg);
void kmbox_leases_init(struct mbox_leases *leases);
void kmbox_lease(struct mbox *mb, struct mbox_msg *msg,
		 struct mbox_leases *leases);
int kmbox_ack(struct mbox *mb, struct mbox_leases *leases, u64 seq,
	      bool up_to);
int kmbox_unlease(struct mbox *mb, struct mbox_leases *leases, u64 seq,
		  bool up_to);
void kmbox_mode_changed(struct mbox *mb);
int kmbox_peek(struct mbox *mb, struct mbox_msg_header *hdr);
u32 kmbox_next_size(struct mbox *mb);
__poll_t kmbox_poll_mask(struct mbox *mb, u32 wr_want);

/* main.c */
struct mbox *kmbox_lookup(unsigned int minor);

/* fops.c */
extern const struct file_operations kmbox_fops;
extern const struct file_operations kmbox_named_fops;

/* fs.c */
int kmbox_parse_bytes(const char *s, u64 *bytes);
int kmbox_fs_init(void);
void kmbox_fs_exit(void);
unsigned int kmbox_fs_instances(void);

#endif /* _MBOX_INTERNAL_H */
