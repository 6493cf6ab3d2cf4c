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
 * mailboxes pays for them.  kvmalloc() lets large messages fall back to
 * vmalloc instead of failing on fragmented memory.
 */
struct mbox_msg *mbox_msg_alloc(size_t size)
{
	struct mbox_msg *msg;

	msg = kvmalloc(struct_size(msg, data, size), GFP_KERNEL_ACCOUNT);
	if (!msg)
		return NULL;
	memset(msg, 0, sizeof(*msg));
	INIT_LIST_HEAD(&msg->node);
	msg->size = size;
	msg->room = size;
	return msg;
}

/*
 * A consumed message of at most this many payload bytes may be kept as
 * the mailbox's spare: two pages' worth, so 4 KiB messages are reused too.
 * The spare stays charged to the memory cgroup of the writer that
 * allocated it, as a pipe's cached page does.
 */
#define MBOX_SPARE_MAX_ROOM	(2 * PAGE_SIZE - sizeof(struct mbox_msg))

/* A message for @size bytes: @mb's spare if it is big enough, else new. */
struct mbox_msg *mbox_msg_get(struct mbox *mb, size_t size)
{
	struct mbox_msg *msg = xchg(&mb->spare, NULL);
	u32 room;

	if (!msg)
		return mbox_msg_alloc(size);
	if (msg->room < size) {
		kvfree(msg);
		return mbox_msg_alloc(size);
	}
	room = msg->room;
	memset(msg, 0, sizeof(*msg));
	INIT_LIST_HEAD(&msg->node);
	msg->size = size;
	msg->room = room;
	return msg;
}

static void mbox_msg_put_pids(struct mbox_msg *msg)
{
	put_pid(msg->tgid);
	put_pid(msg->tid);
}

void mbox_msg_free(struct mbox_msg *msg)
{
	mbox_msg_put_pids(msg);
	kvfree(msg);
}

/* Free @msg, or keep it as @mb's spare if there is none and it is small. */
void mbox_msg_recycle(struct mbox *mb, struct mbox_msg *msg)
{
	mbox_msg_put_pids(msg);
	if (msg->room <= MBOX_SPARE_MAX_ROOM && !READ_ONCE(mb->spare) &&
	    !cmpxchg(&mb->spare, NULL, msg))
		return;
	kvfree(msg);
}

void mbox_msg_free_list(struct list_head *list)
{
	struct mbox_msg *msg, *tmp;

	list_for_each_entry_safe(msg, tmp, list, node) {
		list_del(&msg->node);
		mbox_msg_free(msg);
		cond_resched();
	}
}

/*
 * Record who is writing: the task's own effective ids and the ids the file
 * was opened with.  Both come from the kernel, never from the payload.  The
 * pids are kept as references and translated at read time, so each reader
 * sees them in its own pid namespace.
 */
void mbox_msg_stamp(struct mbox_msg *msg, const struct file *file)
{
	const struct cred *fcred = file->f_cred;

	/*
	 * A task's own pids change only through its own exec, so current
	 * can take its references without get_task_pid()'s RCU section.
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
void mbox_msg_fill_header(const struct mbox_msg *msg,
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
