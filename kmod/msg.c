// SPDX-License-Identifier: GPL-2.0
/*
 * mbox: message objects, and the sender identity the kernel stamps on them.
 */
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/user_namespace.h>

#include "mbox_internal.h"

/*
 * Messages are charged to the writer's memory cgroup: a writer that fills
 * mailboxes pays for them.  A payload that fits a page with the header is
 * stored inline; a larger one gets an allocation of its own, of exactly its
 * size, so a 4 KiB payload takes 4 KiB and not an 8 KiB slab object, and a
 * 64 KiB one 16 pages and not 32 (every byte allocated is also zeroed on
 * kernels with init_on_alloc, Debian's default).  kvmalloc() lets large
 * payloads fall back to vmalloc instead of failing on fragmented memory.
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
#define MBOX_MSG_INLINE_MAX	(PAGE_SIZE - sizeof(struct mbox_msg))

struct mbox_msg *kmbox_msg_alloc(size_t size, bool nonblock)
{
	gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_NOWARN;
	bool inline_data = size <= MBOX_MSG_INLINE_MAX;
	struct mbox_msg *msg;

	if (nonblock)
		gfp |= __GFP_NORETRY;
	msg = kmalloc(inline_data ? struct_size(msg, inline_data, size) :
		      sizeof(*msg), gfp);
	if (!msg)
		return NULL;
	memset(msg, 0, sizeof(*msg));
	if (inline_data) {
		msg->data = msg->inline_data;
	} else {
		/* kvfree() frees either. */
		msg->data = nonblock ? kmalloc(size, gfp) : kvmalloc(size, gfp);
		if (!msg->data) {
			kfree(msg);
			return NULL;
		}
	}
	INIT_LIST_HEAD(&msg->node);
	msg->size = size;
	msg->room = size;
	return msg;
}

static void mbox_msg_release(struct mbox_msg *msg)
{
	if (msg->data != msg->inline_data)
		kvfree(msg->data);
	kfree(msg);
}

/*
 * A consumed message whose payload room is at most this may be kept as
 * the mailbox's spare: 4 KiB messages are reused, larger ones are not.
 * The spare stays charged to the memory cgroup of the writer that
 * allocated it, as a pipe's cached page does.
 */
#define MBOX_SPARE_MAX_ROOM	PAGE_SIZE

/* A message for @size bytes: @mb's spare if it fits well, else a new one. */
struct mbox_msg *kmbox_msg_get(struct mbox *mb, size_t size, bool nonblock)
{
	struct mbox_msg *msg = xchg(&mb->spare, NULL);
	char *data;
	u32 room;

	if (!msg)
		return kmbox_msg_alloc(size, nonblock);
	/* Too small, or so big that a small message would waste it. */
	if (msg->room < size || msg->room / 4 > size) {
		if (cmpxchg(&mb->spare, NULL, msg))
			mbox_msg_release(msg);
		return kmbox_msg_alloc(size, nonblock);
	}
	room = msg->room;
	data = msg->data;
	memset(msg, 0, sizeof(*msg));
	INIT_LIST_HEAD(&msg->node);
	msg->size = size;
	msg->room = room;
	msg->data = data;
	return msg;
}

static void mbox_msg_put_pids(struct mbox_msg *msg)
{
	put_pid(msg->tgid);
	put_pid(msg->tid);
	msg->tgid = NULL;
	msg->tid = NULL;
}

void kmbox_msg_free(struct mbox_msg *msg)
{
	mbox_msg_put_pids(msg);
	mbox_msg_release(msg);
}

/* Free @msg, or keep it as @mb's spare if there is none and it is small. */
void kmbox_msg_recycle(struct mbox *mb, struct mbox_msg *msg)
{
	mbox_msg_put_pids(msg);
	if (msg->room <= MBOX_SPARE_MAX_ROOM && !READ_ONCE(mb->spare) &&
	    !cmpxchg(&mb->spare, NULL, msg))
		return;
	mbox_msg_release(msg);
}

void kmbox_msg_free_list(struct list_head *list)
{
	struct mbox_msg *msg, *tmp;

	list_for_each_entry_safe(msg, tmp, list, node) {
		list_del(&msg->node);
		kmbox_msg_free(msg);
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
	msg->tgid = get_pid(task_tgid(current));
	msg->tid = get_pid(task_pid(current));
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
