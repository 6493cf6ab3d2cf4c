// SPDX-License-Identifier: GPL-2.0
/*
 * mbox: message objects, their payloads, and the sender identity the
 * kernel stamps on them.
 */
#include <linux/cache.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/math.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uio.h>
#include <linux/user_namespace.h>

#include "mbox_internal.h"

/*
 * Messages are charged to the writer's memory cgroup: a writer that fills
 * mailboxes pays for them.
 *
 * A payload of up to a page is a fragment of a page that the mailbox
 * carves payloads from, as a pipe keeps writes in pages, and it is copied
 * with copy_page_from_iter() and copy_page_to_iter(), which check the
 * copy against the page's bounds.  A payload in a slab object would go
 * through hardened usercopy's lookup of its slab object on every copy,
 * both ways; a pipe does not pay that, and neither does a mailbox now.
 * Fragments start on a cache line (a reader and the next writer do not
 * share one).  Each holds a reference to its page's struct mbox_frag,
 * and the page goes with the last one: freed, or kept as the mailbox's
 * one spare page.  A page is charged to the cgroup of the writer that
 * allocated it, and stays while messages of other writers use it, as a
 * pipe's page does.
 *
 * One message left on a page keeps the whole page: messages removed out
 * of order (acknowledged, flushed by sender) or failed writes can leave
 * one small message on each.  So the pages a mailbox holds fragments on,
 * carves or keeps spare are bounded by its byte limit, a page over it
 * (mbox_frag_pages_max()); past that, payloads get allocations of their
 * own, which cost a lookup per copy but no more memory than their size,
 * and max_bytes bounds those too: at most twice max_bytes and a page of
 * payload memory per mailbox.  A named mailbox's pages are also charged
 * to its creator's page quota (quota.c), so the pages all of one user's
 * mailboxes hold are bounded whatever their max_bytes; past it, payloads
 * get allocations of their own.  Its writers cannot make that quota
 * refuse anything but pages: they are charged for their messages.
 *
 * A larger payload gets an allocation of its own, of exactly its size, so
 * a 64 KiB one takes 16 pages and not 32 (every byte allocated is also
 * zeroed on kernels with init_on_alloc, Debian's default).  kvmalloc()
 * lets it fall back to vmalloc instead of failing on fragmented memory.
 *
 * The size is the user's: a failure is the caller's ENOMEM, never a
 * kernel warning (__GFP_NOWARN).  A non-blocking write (O_NONBLOCK,
 * IOCB_NOWAIT) does not enter full reclaim: __GFP_NORETRY makes one light
 * attempt, no retries and no OOM killer, and a large payload is taken
 * only physically contiguous that way, without kvmalloc()'s vmalloc
 * fallback (which does not support __GFP_NORETRY and reclaims fully).
 * That light attempt may still sleep in direct reclaim, so IOCB_NOWAIT
 * is not strictly honoured here: GFP_NOWAIT would be, but its failures
 * (no reclaim at all) are ENOMEM, which io_uring does not retry from its
 * worker as it does EAGAIN, so a write that a blocking call would
 * complete would fail; a short reclaim is the lesser cost.
 */
static gfp_t mbox_gfp(bool nonblock)
{
	gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_NOWARN;

	return nonblock ? gfp | __GFP_NORETRY : gfp;
}

/* A payload of its own (kvfree() frees either). */
static char *mbox_payload_alloc(size_t size, bool nonblock)
{
	gfp_t gfp = mbox_gfp(nonblock);

	return nonblock ? kmalloc(size, gfp) : kvmalloc(size, gfp);
}

/*
 * A page that payloads are carved from.  @refs counts the fragments out
 * and, while the mailbox carves the page, the mailbox's bias: one
 * reference for each fragment it can still give out and one of its own,
 * so giving one out costs no atomic operation (page_frag_alloc()'s
 * scheme).  The count is ours, not the page's: other kernel paths may
 * take a passing reference to any page (speculative lookups, pfn
 * walkers), so the page's own count cannot say when the mailbox is done
 * with it.  The mailbox holds the page's one reference from allocation
 * to free.  Order-0 pages, unlike page_frag_alloc()'s 32 KiB ones: a
 * message left on a page keeps no more than a page.  Every payload has at
 * least one byte (an empty write queues nothing), so a page gives out at
 * most PAGE_SIZE / MBOX_FRAG_ALIGN fragments and the bias never runs out
 * before the page does.
 *
 * Only the mailbox's own copies touch the pages: copy_page_to_iter()
 * into a pipe would hand the pipe references to them (push_page()), so
 * the mailbox has no splice_read, and must not get one that does not
 * copy.
 */
struct mbox_frag {
	struct page *page;
	atomic_t refs;
};

#define MBOX_FRAG_ALIGN		SMP_CACHE_BYTES
#define MBOX_FRAG_BIAS		(PAGE_SIZE / MBOX_FRAG_ALIGN + 1)

/* The byte limit's worth of pages, and one more: carved or spare. */
static unsigned long mbox_frag_pages_max(const struct mbox *mb)
{
	return DIV_ROUND_UP_ULL(READ_ONCE(mb->max_bytes), PAGE_SIZE) + 1;
}

/* A new page to carve, counted in @frag_pages: ours alone, one reference. */
static struct mbox_frag *mbox_frag_new(struct mbox *mb, gfp_t gfp)
{
	struct mbox_frag *frag;

	if ((unsigned int)atomic_inc_return(&mb->frag_pages) >
	    mbox_frag_pages_max(mb))
		goto out_uncount;
	if (mb->owner && !kmbox_quota_charge_page(mb->owner))
		goto out_uncount;
	frag = kmalloc(sizeof(*frag), gfp);
	if (!frag)
		goto out_unquota;
	frag->page = alloc_page(gfp);
	if (!frag->page)
		goto out_free;
	atomic_set(&frag->refs, 1);
	return frag;

out_free:
	kfree(frag);
out_unquota:
	if (mb->owner)
		kmbox_quota_uncharge_page(mb->owner);
out_uncount:
	atomic_dec(&mb->frag_pages);
	return NULL;
}

static void mbox_frag_release(struct mbox *mb, struct mbox_frag *frag)
{
	__free_page(frag->page);
	kfree(frag);
	if (mb->owner)
		kmbox_quota_uncharge_page(mb->owner);
	atomic_dec(&mb->frag_pages);
}

/*
 * Drop @nr references to @frag.  The last one (no fragment left, and the
 * mailbox carves another page) keeps the page as @mb's spare, so that a
 * queue moving through pages (one message kept queued, 4 KiB each) does
 * not allocate and zero a page per message; with a spare already, the
 * page is freed.  The other readers' copies came before their puts (full
 * barriers), so before the page is carved again.
 */
static void mbox_frag_drop(struct mbox *mb, struct mbox_frag *frag,
			   unsigned int nr)
{
	if (!atomic_sub_and_test(nr, &frag->refs))
		return;
	atomic_set(&frag->refs, 1);
	if (!READ_ONCE(mb->frag_spare) && !cmpxchg(&mb->frag_spare, NULL, frag))
		return;
	mbox_frag_release(mb, frag);
}

/*
 * The spare messages: each slot taken with xchg() and filled with
 * cmpxchg(), so that writers and readers share them without a lock.  The
 * first slots are tried first: one message at a time uses only the
 * first, a batch of 16 in flight all of them.
 */
static struct mbox_msg *mbox_spare_take(struct mbox *mb)
{
	struct mbox_msg *msg;
	unsigned int i;

	for (i = 0; i < MBOX_SPARES; i++) {
		if (!READ_ONCE(mb->spare[i]))
			continue;
		msg = xchg(&mb->spare[i], NULL);
		if (msg)
			return msg;
	}
	return NULL;
}

static void mbox_msg_put_pids(struct mbox_msg *msg)
{
	put_pid(msg->tgid);
	put_pid(msg->tid);
	msg->tgid = NULL;
	msg->tid = NULL;
}

/*
 * Only the first slot keeps its writer's pid references (see
 * kmbox_msg_recycle()): the one that one-at-a-time traffic cycles, so
 * that they go with the next write.  The others would keep an exited
 * writer's pid namespace until the next batch.
 */
static bool mbox_spare_put(struct mbox *mb, struct mbox_msg *msg)
{
	unsigned int i;

	if (!READ_ONCE(mb->spare[0]) && !cmpxchg(&mb->spare[0], NULL, msg))
		return true;
	mbox_msg_put_pids(msg);
	for (i = 1; i < MBOX_SPARES; i++) {
		if (!READ_ONCE(mb->spare[i]) &&
		    !cmpxchg(&mb->spare[i], NULL, msg))
			return true;
	}
	return false;
}

void kmbox_msg_cache_init(struct mbox *mb)
{
	unsigned int i;

	spin_lock_init(&mb->frag_lock);
	mb->frag_cur = NULL;
	mb->frag_offset = 0;
	mb->frag_bias = 0;
	mb->frag_spare = NULL;
	atomic_set(&mb->frag_pages, 0);
	for (i = 0; i < MBOX_SPARES; i++)
		mb->spare[i] = NULL;
}

/*
 * @size bytes (at most a page) from the page being carved, or NULL when
 * it has no room left.  A page with no fragment left but ours is carved
 * again from its start: every reference but ours is gone, and only we
 * hand out new ones.  The control dependency on the count (with the
 * barrier after it) orders the last reader's copy, before its put, a
 * full barrier, before our writes to the page.
 */
static char *mbox_frag_carve_locked(struct mbox *mb, size_t size,
				    struct mbox_frag **fragp)
{
	struct mbox_frag *frag = mb->frag_cur;
	unsigned int offset = mb->frag_offset;

	lockdep_assert_held(&mb->frag_lock);
	if (!frag)
		return NULL;
	if (offset + size > PAGE_SIZE) {
		if ((unsigned int)atomic_read(&frag->refs) != mb->frag_bias)
			return NULL;
		smp_acquire__after_ctrl_dep();
		atomic_add(MBOX_FRAG_BIAS - mb->frag_bias, &frag->refs);
		mb->frag_bias = MBOX_FRAG_BIAS;
		offset = 0;
	}
	mb->frag_offset = offset + ALIGN(size, MBOX_FRAG_ALIGN);
	mb->frag_bias--;
	*fragp = frag;
	return page_address(frag->page) + offset;
}

/*
 * Carve from @frag (ours alone: one reference) from now on; the old page
 * goes with its last fragment.
 */
static void mbox_frag_install_locked(struct mbox *mb, struct mbox_frag *frag)
{
	lockdep_assert_held(&mb->frag_lock);
	if (mb->frag_cur)
		mbox_frag_drop(mb, mb->frag_cur, mb->frag_bias);
	atomic_add(MBOX_FRAG_BIAS - 1, &frag->refs);
	mb->frag_cur = frag;
	mb->frag_offset = 0;
	mb->frag_bias = MBOX_FRAG_BIAS;
}

/*
 * A fragment of @size bytes for a payload, its page in *@fragp, or NULL:
 * no memory, or the mailbox holds its share of pages already.  A new page
 * (the spare one, or an allocation) is taken only when the current one
 * is full and still in use; allocated without the lock, after which
 * another writer may have made room.
 */
static char *mbox_frag_alloc(struct mbox *mb, size_t size, gfp_t gfp,
			     struct mbox_frag **fragp)
{
	struct mbox_frag *frag = NULL;
	char *data;

	spin_lock(&mb->frag_lock);
	for (;;) {
		data = mbox_frag_carve_locked(mb, size, fragp);
		if (data)
			break;
		if (!frag)
			frag = xchg(&mb->frag_spare, NULL);
		if (frag) {
			mbox_frag_install_locked(mb, frag);
			frag = NULL;
			continue;
		}
		spin_unlock(&mb->frag_lock);
		frag = mbox_frag_new(mb, gfp);
		if (!frag)
			return NULL;
		spin_lock(&mb->frag_lock);
	}
	spin_unlock(&mb->frag_lock);
	if (frag)
		mbox_frag_drop(mb, frag, 1);
	return data;
}

/* Free the spares and the page being carved, once no message is left. */
void kmbox_msg_cache_destroy(struct mbox *mb)
{
	struct mbox_frag *frag;
	struct mbox_msg *msg;

	while ((msg = mbox_spare_take(mb))) {
		mbox_msg_put_pids(msg);
		kfree(msg);
	}
	if (mb->frag_cur)
		mbox_frag_drop(mb, mb->frag_cur, mb->frag_bias);
	mb->frag_cur = NULL;
	frag = xchg(&mb->frag_spare, NULL);
	if (frag)
		mbox_frag_release(mb, frag);
	WARN_ON_ONCE(atomic_read(&mb->frag_pages));
}

/* Release @msg's payload, a fragment of one of @mb's pages or its own. */
static void mbox_msg_put_payload(struct mbox *mb, struct mbox_msg *msg)
{
	if (msg->frag)
		mbox_frag_drop(mb, msg->frag, 1);
	else
		kvfree(msg->data);
	msg->frag = NULL;
	msg->data = NULL;
}

/* A fresh message of @size bytes, without a payload yet. */
static void mbox_msg_reset(struct mbox_msg *msg, size_t size)
{
	/* The quota charge counts a message as MBOX_MSG_CHARGE bytes. */
	BUILD_BUG_ON(sizeof(*msg) > MBOX_MSG_CHARGE);
	INIT_LIST_HEAD(&msg->node);
	msg->size = size;
	msg->flags = 0;
	msg->delivery_count = 0;
	msg->flushed = false;
	msg->data = NULL;
	msg->frag = NULL;
	msg->charged = NULL;
}

/*
 * What @msg holds of its writer's quota goes with it; a spare holds none,
 * or it would keep an entry (and perhaps a whole instance's set) alive.
 */
static void mbox_msg_uncharge(struct mbox_msg *msg)
{
	struct mbox_quota_user *u = msg->charged;

	if (!u)
		return;
	msg->charged = NULL;
	/* Its bytes, not a reference of its own, kept @u (quota.c). */
	kmbox_quota_uncharge_bytes(u, (u64)msg->size + MBOX_MSG_CHARGE);
}

/*
 * A message for @size bytes with a payload of its own, for a message of
 * no mailbox (KUnit) and urgent ones, which do not take the spares.
 */
struct mbox_msg *kmbox_msg_alloc(size_t size, bool nonblock)
{
	struct mbox_msg *msg = kzalloc(sizeof(*msg), mbox_gfp(nonblock));

	if (!msg)
		return NULL;
	mbox_msg_reset(msg, size);
	msg->data = mbox_payload_alloc(size, nonblock);
	if (!msg->data) {
		kfree(msg);
		return NULL;
	}
	return msg;
}

/*
 * A message for @size bytes written to @mb: a spare message if there is
 * one, else a new one; the payload in a page fragment if it fits a page
 * and the mailbox may hold another page, else of its own.
 */
struct mbox_msg *kmbox_msg_get(struct mbox *mb, size_t size, bool nonblock)
{
	struct mbox_msg *msg = mbox_spare_take(mb);

	if (!msg) {
		msg = kzalloc(sizeof(*msg), mbox_gfp(nonblock));
		if (!msg)
			return NULL;
	}
	mbox_msg_reset(msg, size);
	if (size <= PAGE_SIZE)
		msg->data = mbox_frag_alloc(mb, size, mbox_gfp(nonblock),
					    &msg->frag);
	if (!msg->data)
		msg->data = mbox_payload_alloc(size, nonblock);
	if (!msg->data) {
		kmbox_msg_recycle(mb, msg);
		return NULL;
	}
	return msg;
}

/* Fill @msg's payload from @from; false if the copy came short. */
bool kmbox_msg_copy_in(struct mbox_msg *msg, struct iov_iter *from)
{
	size_t n;

	if (msg->frag)
		n = copy_page_from_iter(msg->frag->page,
					offset_in_page(msg->data), msg->size,
					from);
	else
		n = copy_from_iter(msg->data, msg->size, from);
	return n == msg->size;
}

/* Copy @msg's payload out to @to; false if the copy came short. */
bool kmbox_msg_copy_out(const struct mbox_msg *msg, struct iov_iter *to)
{
	size_t n;

	if (msg->frag)
		n = copy_page_to_iter(msg->frag->page,
				      offset_in_page(msg->data), msg->size, to);
	else
		n = copy_to_iter(msg->data, msg->size, to);
	return n == msg->size;
}

/* A message of no mailbox: its payload is its own (kmbox_msg_alloc()). */
void kmbox_msg_free(struct mbox_msg *msg)
{
	if (WARN_ON_ONCE(msg->frag))
		return;
	mbox_msg_uncharge(msg);
	kvfree(msg->data);
	mbox_msg_put_pids(msg);
	kfree(msg);
}

/*
 * Free @msg, written to @mb, or keep it as one of @mb's spare messages.
 * The first spare keeps its writer's pid references, so that the next
 * message of the same writer takes none (kmbox_msg_stamp()): they keep
 * the struct pids, not the numbers, which are free once their tasks are
 * gone.  A spare stays charged to the memory cgroup of the writer that
 * allocated it, as a pipe's cached page does.
 */
void kmbox_msg_recycle(struct mbox *mb, struct mbox_msg *msg)
{
	mbox_msg_uncharge(msg);
	mbox_msg_put_payload(mb, msg);
	if (mbox_spare_put(mb, msg))
		return;
	kfree(msg);
}

void kmbox_msg_free_list(struct mbox *mb, struct list_head *list)
{
	struct mbox_msg *msg, *tmp;

	list_for_each_entry_safe(msg, tmp, list, node) {
		list_del(&msg->node);
		kmbox_msg_recycle(mb, msg);
		cond_resched();
	}
}

/*
 * Record who is writing: the task's own effective ids and the ids the file
 * was opened with.  Both come from the kernel, never from the payload.  The
 * pids are kept as references and translated at read time, so each reader
 * sees them in its own pid namespace.
 */
void kmbox_msg_stamp(struct mbox_msg *msg, const struct file *file)
{
	const struct cred *fcred = file->f_cred;
	/*
	 * A running task's pids do not change: its own exec changes them,
	 * and another thread's exec only once this one is a zombie
	 * (de_thread()).  So current takes its references without
	 * get_task_pid()'s RCU section.
	 */
	struct pid *tgid = task_tgid(current);
	struct pid *tid = task_pid(current);

	/* The spare message may hold them already, from our last write. */
	if (msg->tgid != tgid) {
		put_pid(msg->tgid);
		msg->tgid = get_pid(tgid);
	}
	if (msg->tid != tid) {
		put_pid(msg->tid);
		msg->tid = get_pid(tid);
	}
	msg->uid = current_euid();
	msg->gid = current_egid();
	msg->opener_uid = fcred->euid;
	msg->opener_gid = fcred->egid;
	if (!uid_eq(msg->uid, msg->opener_uid) ||
	    !gid_eq(msg->gid, msg->opener_gid))
		msg->flags |= MBOX_MSG_CRED_MISMATCH;
}

/* Fill @hdr as the current task (the reader) must see it. */
void kmbox_msg_fill_header(const struct mbox_msg *msg,
			   struct mbox_msg_header *hdr)
{
	struct user_namespace *ns = current_user_ns();
	struct pid_namespace *pid_ns = task_active_pid_ns(current);

	memset(hdr, 0, sizeof(*hdr));
	hdr->hdr_size = sizeof(*hdr);
	hdr->flags = msg->flags;
	hdr->seq = msg->seq;
	hdr->time_ns = msg->time_ns;
	hdr->size = msg->size;
	/*
	 * Once the writer is gone its number may name another process:
	 * report 0 then, as for a writer not visible here.
	 */
	if (msg->tgid && pid_has_task(msg->tgid, PIDTYPE_TGID))
		hdr->pid = pid_nr_ns(msg->tgid, pid_ns);
	if (msg->tid && pid_has_task(msg->tid, PIDTYPE_PID))
		hdr->tid = pid_nr_ns(msg->tid, pid_ns);
	hdr->uid = from_kuid_munged(ns, msg->uid);
	hdr->gid = from_kgid_munged(ns, msg->gid);
	hdr->opener_uid = from_kuid_munged(ns, msg->opener_uid);
	hdr->opener_gid = from_kgid_munged(ns, msg->opener_gid);
	hdr->delivery_count = msg->delivery_count;
}
