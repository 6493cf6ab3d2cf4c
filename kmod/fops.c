// SPDX-License-Identifier: GPL-2.0
/*
 * mbox: file operations of /dev/mboxN.
 */
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/fsnotify.h>
#include <asm/ioctls.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sched/xacct.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "mbox_internal.h"

/* An open of @mb, through /dev/mboxN or a named mailbox's inode. */
static int mbox_file_open(struct mbox *mb, struct inode *inode,
			  struct file *file)
{
	struct mbox_file *mf;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
	if (!mf)
		return -ENOMEM;
	/* Whom this file's writes are charged to (see mbox_charge()). */
	if (file->f_mode & FMODE_WRITE) {
		mf->wr_quota = kmbox_quota_user_get(mb->quota,
						    file->f_cred->euid,
						    GFP_KERNEL_ACCOUNT);
		if (IS_ERR(mf->wr_quota)) {
			int ret = PTR_ERR(mf->wr_quota);

			kfree(mf);
			return ret;
		}
	}
	mf->mb = mb;
	kmbox_leases_init(&mf->leases);
	file->private_data = mf;
	/* A mailbox has no file position; io_uring may use IOCB_NOWAIT. */
	stream_open(inode, file);
	file->f_mode |= FMODE_NOWAIT;
	return 0;
}

static int mbox_open(struct inode *inode, struct file *file)
{
	struct mbox *mb = kmbox_lookup(iminor(inode));

	if (!mb)
		return -ENXIO;
	return mbox_file_open(mb, inode, file);
}

/* The file holds the dentry, hence the inode, which frees @mb (fs.c). */
static int mbox_named_open(struct inode *inode, struct file *file)
{
	return mbox_file_open(inode->i_private, inode, file);
}

/*
 * Messages still leased to the file (a reader that closed, exited or was
 * killed before acknowledging them) go back to the head of the queue.
 */
static int mbox_release(struct inode *inode, struct file *file)
{
	struct mbox_file *mf = file->private_data;

	if (mf->leases.nr)
		kmbox_unlease(mf->mb, &mf->leases, U64_MAX, true);
	if (mf->wr_quota)
		kmbox_quota_user_put(mf->wr_quota);
	kfree(mf);
	return 0;
}

static bool mbox_nonblock(const struct kiocb *iocb)
{
	return (iocb->ki_filp->f_flags & O_NONBLOCK) ||
	       (iocb->ki_flags & IOCB_NOWAIT);
}

static size_t mbox_hdr_size(const struct mbox_file *mf)
{
	return READ_ONCE(mf->mode) & MBOX_MODE_HEADER ?
	       sizeof(struct mbox_msg_header) : 0;
}

/*
 * Header mode: @msg's header into @to.  Apart from mbox_read_one(), so
 * that a read without a header neither clears the header on its stack
 * (INIT_STACK_ALL_ZERO) nor sets up a stack-protector canary for it.
 */
static noinline bool mbox_copy_header(const struct mbox_msg *msg,
				      struct iov_iter *to)
{
	struct mbox_msg_header hdr;

	kmbox_msg_fill_header(msg, &hdr);
	return copy_to_iter(&hdr, sizeof(hdr), to) == sizeof(hdr);
}

/*
 * One message into @to, as read() gives it: by read_iter and by each
 * entry of MBOX_IOC_RECV_BATCH.
 */
static ssize_t mbox_read_one(struct mbox_file *mf, struct iov_iter *to,
			     bool nonblock)
{
	struct mbox *mb = mf->mb;
	size_t hdr_size = mbox_hdr_size(mf);
	struct mbox_leases *leases = NULL;
	struct mbox_msg *msg;
	ssize_t len;

	if (READ_ONCE(mf->mode) & MBOX_MODE_ACK)
		leases = &mf->leases;
	msg = kmbox_take(mb, iov_iter_count(to), hdr_size, nonblock, leases);
	if (IS_ERR(msg))
		return PTR_ERR(msg);

	/* No lock is held here: a fault can sleep, and puts the message back. */
	if (hdr_size && !mbox_copy_header(msg, to))
		goto fault;
	if (!kmbox_msg_copy_out(msg, to))
		goto fault;

	len = hdr_size + msg->size;
	if (leases)
		kmbox_lease(mb, msg, leases);
	else
		kmbox_consume(mb, msg);	/* frees or recycles msg */
	return len;

fault:
	kmbox_requeue(mb, msg, leases);
	return -EFAULT;
}

static ssize_t mbox_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	return mbox_read_one(iocb->ki_filp->private_data, to,
			     mbox_nonblock(iocb));
}

/*
 * Charge a message of @size bytes to its writer's quota before it is
 * allocated: the entry charged, to be stored in the message, or
 * ERR_PTR(-EDQUOT) and nothing charged.  The writer is the user who
 * opened the file (the header's opener_uid), as for MBOX_FLUSH_MINE,
 * which so takes back exactly what a user was charged; the entry is
 * looked up at open.  Never a wait: the bytes that would make room may
 * sit in mailboxes nobody reads.
 */
static struct mbox_quota_user *mbox_charge(struct mbox_file *mf, size_t size)
{
	struct mbox_quota_user *u = mf->wr_quota;
	int ret;

	ret = kmbox_quota_charge_bytes(u, (u64)size + MBOX_MSG_CHARGE);
	return ret ? ERR_PTR(ret) : u;
}

static void mbox_uncharge(struct mbox_quota_user *u, size_t size)
{
	kmbox_quota_uncharge_bytes(u, (u64)size + MBOX_MSG_CHARGE);
}

/*
 * One message from @from, as write() takes it: by write_iter and by each
 * entry of MBOX_IOC_SEND_BATCH.
 */
static ssize_t mbox_write_one(struct file *file, struct iov_iter *from,
			      bool nonblock)
{
	struct mbox_file *mf = file->private_data;
	struct mbox *mb = mf->mb;
	size_t len = iov_iter_count(from);
	struct mbox_quota_user *charged;
	struct mbox_msg *msg;
	int ret;

	if (!len)
		return 0;
	if (len > READ_ONCE(mb->max_msg_size))
		return -EMSGSIZE;
	charged = mbox_charge(mf, len);
	if (IS_ERR(charged))
		return PTR_ERR(charged);

	/* Allocate (or reuse the spare) and copy in before taking the lock. */
	msg = kmbox_msg_get(mb, len, nonblock);
	if (!msg) {
		mbox_uncharge(charged, len);
		return -ENOMEM;
	}
	/* From here the message's release uncharges it. */
	msg->charged = charged;
	if (!kmbox_msg_copy_in(msg, from)) {
		ret = -EFAULT;
		goto out_free;
	}
	kmbox_msg_stamp(msg, file);

	ret = kmbox_enqueue(mb, msg, nonblock);
	if (ret)
		goto out_free;
	if (READ_ONCE(mf->wr_want))
		WRITE_ONCE(mf->wr_want, 0);
	return len;

out_free:
	/* What poll's EPOLLOUT waits for (see kmbox_poll_mask()). */
	if (ret == -EAGAIN)
		WRITE_ONCE(mf->wr_want, len);
	kmbox_msg_recycle(mb, msg);
	return ret;
}

static ssize_t mbox_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	return mbox_write_one(iocb->ki_filp, from, mbox_nonblock(iocb));
}

static __poll_t mbox_poll(struct file *file, struct poll_table_struct *wait)
{
	struct mbox_file *mf = file->private_data;
	__poll_t mask;

	poll_wait(file, &mf->mb->poll_wait, wait);
	/*
	 * Order the wait queue insertion before the lockless reads of the
	 * mode and lease counts below; pairs with the smp_mb() in
	 * kmbox_mode_changed() (as sock_poll_wait() does for sockets).
	 */
	smp_mb();
	mask = kmbox_poll_mask(mf->mb, READ_ONCE(mf->wr_want));
	/*
	 * Report only the directions this file may use; a file at its ack
	 * mode lease limit cannot read until it acknowledges.
	 */
	if (!(file->f_mode & FMODE_READ) ||
	    ((READ_ONCE(mf->mode) & MBOX_MODE_ACK) &&
	     READ_ONCE(mf->leases.nr) >= READ_ONCE(mf->leases.max)))
		mask &= ~(EPOLLIN | EPOLLRDNORM | EPOLLPRI);
	if (!(file->f_mode & FMODE_WRITE))
		mask &= ~(EPOLLOUT | EPOLLWRNORM);
	return mask;
}

/*
 * Size-versioned structures (see the uapi header): the caller's size comes
 * from the command; shorter than the first published version is ENOTTY.
 */
static int mbox_copy_in(void *kdata, size_t ksize, unsigned int cmd,
			unsigned long arg)
{
	return copy_struct_from_user(kdata, ksize, (void __user *)arg,
				     _IOC_SIZE(cmd));
}

static int mbox_copy_out(unsigned long arg, unsigned int cmd,
			 const void *kdata, size_t ksize)
{
	void __user *uarg = (void __user *)arg;
	size_t usize = _IOC_SIZE(cmd);

	if (copy_to_user(uarg, kdata, min(usize, ksize)))
		return -EFAULT;
	if (usize > ksize && clear_user(uarg + ksize, usize - ksize))
		return -EFAULT;
	return 0;
}

static int mbox_ioc_get_info(struct mbox *mb, unsigned int cmd,
			     unsigned long arg)
{
	struct mbox_info info;

	kmbox_get_info(mb, &info);
	return mbox_copy_out(arg, cmd, &info, sizeof(info));
}

/*
 * Who may change a mailbox's limits or flush other senders' messages
 * without reading it: for /dev/mboxN, an administrator; for a named
 * mailbox, also its owner (or who may act as owner, CAP_FOWNER), as for
 * chmod.  Quotas bound what an owner's raised limits let anyone hold.
 */
static bool mbox_may_admin(const struct file *file)
{
	/* Instances refuse idmapped mounts (fs.c): no mount idmap here. */
	if (file->f_op == &kmbox_named_fops &&
	    inode_owner_or_capable(&init_user_ns, file_inode(file)))
		return true;
	return capable(CAP_SYS_ADMIN);
}

static int mbox_ioc_set_limits(struct file *file, struct mbox *mb,
			       unsigned int cmd, unsigned long arg)
{
	struct mbox_limits limits;
	int ret;

	if (!mbox_may_admin(file))
		return -EPERM;
	ret = mbox_copy_in(&limits, sizeof(limits), cmd, arg);
	if (ret)
		return ret;
	if (limits.reserved)
		return -EINVAL;
	return kmbox_set_limits(mb, &limits);
}

static int mbox_ioc_peek(struct file *file, struct mbox *mb, unsigned int cmd,
			 unsigned long arg)
{
	struct mbox_msg_header hdr;
	int ret;

	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	ret = kmbox_peek(mb, &hdr);
	if (ret)
		return ret;
	return mbox_copy_out(arg, cmd, &hdr, sizeof(hdr));
}

static int mbox_ioc_set_mode(struct mbox_file *mf, unsigned int cmd,
			     unsigned long arg)
{
	struct mbox_mode mode;
	int ret;

	ret = mbox_copy_in(&mode, sizeof(mode), cmd, arg);
	if (ret)
		return ret;
	if (mode.flags & ~MBOX_MODE_ALL)
		return -EINVAL;
	if (mode.flags & MBOX_MODE_ACK) {
		if (mode.max_inflight > MBOX_MAX_INFLIGHT_LIMIT)
			return -EINVAL;
		WRITE_ONCE(mf->leases.max,
			   mode.max_inflight ?: MBOX_DEFAULT_INFLIGHT);
	} else if (mode.max_inflight) {
		return -EINVAL;
	}
	WRITE_ONCE(mf->mode, mode.flags);
	/* Pollers of a file that was at its lease limit may read now. */
	kmbox_mode_changed(mf->mb);
	return 0;
}

static int mbox_ioc_get_mode(struct mbox_file *mf, unsigned int cmd,
			     unsigned long arg)
{
	struct mbox_mode mode = { .flags = READ_ONCE(mf->mode) };

	if (mode.flags & MBOX_MODE_ACK)
		mode.max_inflight = READ_ONCE(mf->leases.max);
	return mbox_copy_out(arg, cmd, &mode, sizeof(mode));
}

/* MBOX_IOC_ACK and MBOX_IOC_NACK. */
static int mbox_ioc_ack(struct mbox_file *mf, unsigned int cmd,
			unsigned long arg, bool ack)
{
	struct mbox_ack req;
	bool up_to;
	int ret;

	ret = mbox_copy_in(&req, sizeof(req), cmd, arg);
	if (ret)
		return ret;
	if (req.reserved || (req.flags & ~MBOX_ACK_ALL_FLAGS))
		return -EINVAL;
	/* Leases outlive leaving ack mode; without either, it is a misuse. */
	if (!(READ_ONCE(mf->mode) & MBOX_MODE_ACK) && !READ_ONCE(mf->leases.nr))
		return -EINVAL;
	up_to = req.flags & MBOX_ACK_UP_TO;
	if (ack)
		return kmbox_ack(mf->mb, &mf->leases, req.seq, up_to);
	return kmbox_unlease(mf->mb, &mf->leases, req.seq, up_to);
}

/*
 * Build a flush selector for @file.  Removing other senders' messages is
 * the consumer's right (file open for reading) or an administrator's
 * (mbox_may_admin()).
 */
static int mbox_flush_sel_init(struct mbox_flush_sel *sel,
			       const struct file *file, u32 flags,
			       u64 up_to_seq)
{
	if (flags & ~MBOX_FLUSH_ALL_FLAGS)
		return -EINVAL;
	if (!(flags & MBOX_FLUSH_MINE) && !(file->f_mode & FMODE_READ) &&
	    !mbox_may_admin(file))
		return -EPERM;
	sel->flags = flags;
	sel->up_to_seq = up_to_seq;
	sel->opener_uid = file->f_cred->euid;
	sel->nonblock = file->f_flags & O_NONBLOCK;
	return 0;
}

static int mbox_ioc_flush(struct file *file, struct mbox *mb, unsigned int cmd,
			  unsigned long arg)
{
	struct mbox_flush req;
	struct mbox_flush_sel sel;
	int ret;

	ret = mbox_copy_in(&req, sizeof(req), cmd, arg);
	if (ret)
		return ret;
	if (req.reserved || req.flushed_msgs || req.flushed_bytes)
		return -EINVAL;
	ret = mbox_flush_sel_init(&sel, file, req.flags, req.up_to_seq);
	if (ret)
		return ret;
	/* Make sure the result can be reported before acting. */
	ret = mbox_copy_out(arg, cmd, &req, sizeof(req));
	if (ret)
		return ret;
	ret = kmbox_flush(mb, &sel, &req);
	if (ret)
		return ret;
	return mbox_copy_out(arg, cmd, &req, sizeof(req));
}

static int mbox_ioc_send_urgent(struct file *file, struct mbox *mb,
				unsigned int cmd, unsigned long arg)
{
	struct mbox_urgent req;
	struct mbox_flush_sel sel;
	struct mbox_flush result = { 0 };
	struct mbox_quota_user *charged;
	struct mbox_msg *msg;
	bool do_flush;
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	ret = mbox_copy_in(&req, sizeof(req), cmd, arg);
	if (ret)
		return ret;
	if (req.reserved || req.seq || req.flushed_msgs || req.flushed_bytes ||
	    (req.flags & ~MBOX_URGENT_ALL_FLAGS))
		return -EINVAL;
	do_flush = req.flags & MBOX_URGENT_FLUSH;
	if (!do_flush && (req.flush_flags || req.up_to_seq))
		return -EINVAL;
	if (do_flush) {
		ret = mbox_flush_sel_init(&sel, file, req.flush_flags,
					  req.up_to_seq);
		if (ret)
			return ret;
	}
	if (!req.len)
		return -EINVAL;
	if (req.len > READ_ONCE(mb->max_msg_size))
		return -EMSGSIZE;
	/* Make sure the result can be reported before acting. */
	ret = mbox_copy_out(arg, cmd, &req, sizeof(req));
	if (ret)
		return ret;

	charged = mbox_charge(file->private_data, req.len);
	if (IS_ERR(charged))
		return PTR_ERR(charged);
	msg = kmbox_msg_alloc(req.len, file->f_flags & O_NONBLOCK);
	if (!msg) {
		mbox_uncharge(charged, req.len);
		return -ENOMEM;
	}
	msg->charged = charged;
	if (copy_from_user(msg->data, u64_to_user_ptr(req.buf), req.len)) {
		ret = -EFAULT;
		goto out_free;
	}
	kmbox_msg_stamp(msg, file);

	ret = kmbox_enqueue_urgent(mb, msg, do_flush ? &sel : NULL, &result,
				   &req.seq);
	if (ret)
		goto out_free;
	/* msg may be gone already: a reader can have consumed it. */
	req.flushed_msgs = result.flushed_msgs;
	req.flushed_bytes = result.flushed_bytes;
	/*
	 * The message is queued and may be read already: it cannot be
	 * taken back if the result became unwritable meanwhile.
	 */
	return mbox_copy_out(arg, cmd, &req, sizeof(req));

out_free:
	kmbox_msg_free(msg);
	return ret;
}

/* Bounds the zero check of entries from a newer, larger ABI. */
#define MBOX_BATCH_ENTRY_SIZE_MAX	4096U

/*
 * One batch entry: read it, make sure its result can be reported, then
 * send or receive its message.  Returns the bytes moved or an error.
 */
static ssize_t mbox_batch_one(struct file *file, void __user *uent,
			      u32 entry_size, bool send, bool nonblock)
{
	struct mbox_batch_entry __user *ue = uent;
	struct mbox_batch_entry ent;
	struct iov_iter iter;
	struct iovec iov;
	ssize_t ret;

	/* It cuts at MAX_RW_COUNT: harmless only below the size limit. */
	BUILD_BUG_ON(MBOX_MAX_MSG_SIZE_LIMIT >= MAX_RW_COUNT);

	/*
	 * Today's size is a copy of a size known at build time, which
	 * hardened usercopy checks then and not on every entry.
	 */
	if (entry_size == sizeof(ent))
		ret = copy_from_user(&ent, uent, sizeof(ent)) ? -EFAULT : 0;
	else
		ret = copy_struct_from_user(&ent, sizeof(ent), uent,
					    entry_size);
	if (ret)
		return ret;
	if (put_user(0U, &ue->result))
		return -EFAULT;
	ret = import_single_range(send ? ITER_SOURCE : ITER_DEST,
				  u64_to_user_ptr(ent.buf), ent.len, &iov,
				  &iter);
	if (ret)
		return ret;
	if (send) {
		ret = mbox_write_one(file, &iter, nonblock);
		if (ret > 0)
			add_wchar(current, ret);
	} else {
		ret = mbox_read_one(file->private_data, &iter, nonblock);
		if (ret > 0)
			add_rchar(current, ret);
	}
	return ret;
}

/*
 * MBOX_IOC_SEND_BATCH and MBOX_IOC_RECV_BATCH: entry after entry, each
 * exactly a write() or a read(); only the first may wait.  No lock is held
 * across entries, so the user copies of each happen as in write()/read().
 * What the VFS does around a read() or write() is done once per call: the
 * LSM's permission check (one decision for this file and direction),
 * fsnotify and the syscall count; the byte counts per entry.
 */
static long mbox_ioc_batch(struct file *file, unsigned int cmd,
			   unsigned long arg, bool send)
{
	bool nonblock = file->f_flags & O_NONBLOCK;
	struct mbox_batch req;
	void __user *uent;
	ssize_t ret = 0;
	u32 done;

	if (!(file->f_mode & (send ? FMODE_WRITE : FMODE_READ)))
		return -EBADF;
	ret = mbox_copy_in(&req, sizeof(req), cmd, arg);
	if (ret)
		return ret;
	if (req.flags || req.reserved || !req.count ||
	    req.count > MBOX_BATCH_MAX ||
	    req.entry_size < MBOX_BATCH_ENTRY_SIZE_VER0 ||
	    !IS_ALIGNED(req.entry_size, 8))
		return -EINVAL;
	if (req.entry_size > MBOX_BATCH_ENTRY_SIZE_MAX)
		return -E2BIG;
	ret = rw_verify_area(send ? WRITE : READ, file, NULL, 0);
	if (ret)
		return ret;

	uent = u64_to_user_ptr(req.entries);
	for (done = 0; done < req.count; done++) {
		if (done) {
			/* Progress made: a signal ends the call, not waits. */
			if (signal_pending(current))
				break;
			cond_resched();
		}
		ret = mbox_batch_one(file, uent, req.entry_size, send,
				     nonblock || done);
		if (ret < 0)
			break;
		/*
		 * Checked writable above; if another thread unmapped it
		 * since, the message has still moved and is counted.
		 */
		if (put_user((u32)ret,
			     &((struct mbox_batch_entry __user *)uent)->result)) {
			done++;
			break;
		}
		uent += req.entry_size;
	}
	if (send) {
		if (done)
			fsnotify_modify(file);
		inc_syscw(current);
	} else {
		if (done)
			fsnotify_access(file);
		inc_syscr(current);
	}
	if (done)
		return done;
	return ret;
}

/* Like MBOX_IOC_PEEK, it tells about the next message: readers only. */
static int mbox_ioc_fionread(struct file *file, unsigned long arg)
{
	struct mbox_file *mf = file->private_data;
	u32 size;
	int n;

	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	size = kmbox_next_size(mf->mb);
	n = size ? size + mbox_hdr_size(mf) : 0;
	return put_user(n, (int __user *)arg);
}

/*
 * The first published size of each structure: smaller callers are ENOTTY.
 * Not sizeof(), which grows with the structure and would lock out the
 * binaries built against an older header.
 */
static size_t mbox_ioc_min_size(unsigned int nr)
{
	/* The fields of the first version never move. */
	BUILD_BUG_ON(MBOX_INFO_SIZE_VER0 !=
		     offsetofend(struct mbox_info, flushed_bytes));
	BUILD_BUG_ON(MBOX_LIMITS_SIZE_VER0 !=
		     offsetofend(struct mbox_limits, reserved));
	BUILD_BUG_ON(MBOX_MSG_HEADER_SIZE_VER0 !=
		     offsetofend(struct mbox_msg_header, reserved));
	BUILD_BUG_ON(MBOX_MODE_SIZE_VER0 !=
		     offsetofend(struct mbox_mode, max_inflight));
	BUILD_BUG_ON(MBOX_FLUSH_SIZE_VER0 !=
		     offsetofend(struct mbox_flush, flushed_bytes));
	BUILD_BUG_ON(MBOX_URGENT_SIZE_VER0 !=
		     offsetofend(struct mbox_urgent, flushed_bytes));
	BUILD_BUG_ON(MBOX_ACK_SIZE_VER0 !=
		     offsetofend(struct mbox_ack, reserved));
	BUILD_BUG_ON(MBOX_BATCH_SIZE_VER0 !=
		     offsetofend(struct mbox_batch, reserved));
	BUILD_BUG_ON(MBOX_BATCH_ENTRY_SIZE_VER0 !=
		     offsetofend(struct mbox_batch_entry, result));

	switch (nr) {
	case _IOC_NR(MBOX_IOC_GET_INFO):
		return MBOX_INFO_SIZE_VER0;
	case _IOC_NR(MBOX_IOC_SET_LIMITS):
		return MBOX_LIMITS_SIZE_VER0;
	case _IOC_NR(MBOX_IOC_PEEK):
		return MBOX_MSG_HEADER_SIZE_VER0;
	case _IOC_NR(MBOX_IOC_SET_MODE):
	case _IOC_NR(MBOX_IOC_GET_MODE):
		return MBOX_MODE_SIZE_VER0;
	case _IOC_NR(MBOX_IOC_FLUSH):
		return MBOX_FLUSH_SIZE_VER0;
	case _IOC_NR(MBOX_IOC_SEND_URGENT):
		return MBOX_URGENT_SIZE_VER0;
	case _IOC_NR(MBOX_IOC_ACK):
	case _IOC_NR(MBOX_IOC_NACK):
		return MBOX_ACK_SIZE_VER0;
	case _IOC_NR(MBOX_IOC_SEND_BATCH):
	case _IOC_NR(MBOX_IOC_RECV_BATCH):
		return MBOX_BATCH_SIZE_VER0;
	}
	return 0;
}

/* Same number and direction as @base, any size from the first one up. */
static bool mbox_cmd_is(unsigned int cmd, unsigned int base)
{
	return _IOC_TYPE(cmd) == _IOC_TYPE(base) &&
	       _IOC_NR(cmd) == _IOC_NR(base) &&
	       _IOC_DIR(cmd) == _IOC_DIR(base) &&
	       _IOC_SIZE(cmd) >= mbox_ioc_min_size(_IOC_NR(base));
}

static long mbox_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mbox_file *mf = file->private_data;
	struct mbox *mb = mf->mb;

	if (cmd == FIONREAD)
		return mbox_ioc_fionread(file, arg);
	if (mbox_cmd_is(cmd, MBOX_IOC_GET_INFO))
		return mbox_ioc_get_info(mb, cmd, arg);
	if (mbox_cmd_is(cmd, MBOX_IOC_SET_LIMITS))
		return mbox_ioc_set_limits(file, mb, cmd, arg);
	if (mbox_cmd_is(cmd, MBOX_IOC_PEEK))
		return mbox_ioc_peek(file, mb, cmd, arg);
	if (mbox_cmd_is(cmd, MBOX_IOC_SET_MODE))
		return mbox_ioc_set_mode(mf, cmd, arg);
	if (mbox_cmd_is(cmd, MBOX_IOC_GET_MODE))
		return mbox_ioc_get_mode(mf, cmd, arg);
	if (mbox_cmd_is(cmd, MBOX_IOC_FLUSH))
		return mbox_ioc_flush(file, mb, cmd, arg);
	if (mbox_cmd_is(cmd, MBOX_IOC_SEND_URGENT))
		return mbox_ioc_send_urgent(file, mb, cmd, arg);
	if (mbox_cmd_is(cmd, MBOX_IOC_ACK))
		return mbox_ioc_ack(mf, cmd, arg, true);
	if (mbox_cmd_is(cmd, MBOX_IOC_NACK))
		return mbox_ioc_ack(mf, cmd, arg, false);
	if (mbox_cmd_is(cmd, MBOX_IOC_SEND_BATCH))
		return mbox_ioc_batch(file, cmd, arg, true);
	if (mbox_cmd_is(cmd, MBOX_IOC_RECV_BATCH))
		return mbox_ioc_batch(file, cmd, arg, false);
	return -ENOTTY;
}

const struct file_operations kmbox_fops = {
	.owner		= THIS_MODULE,
	.open		= mbox_open,
	.release	= mbox_release,
	.read_iter	= mbox_read_iter,
	.write_iter	= mbox_write_iter,
	.poll		= mbox_poll,
	.unlocked_ioctl	= mbox_ioctl,
	/* Every structure has the same layout for 32-bit callers. */
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};

/* A named mailbox's inode (fs.c): the same, but the mailbox is i_private. */
const struct file_operations kmbox_named_fops = {
	.owner		= THIS_MODULE,
	.open		= mbox_named_open,
	.release	= mbox_release,
	.read_iter	= mbox_read_iter,
	.write_iter	= mbox_write_iter,
	.poll		= mbox_poll,
	.unlocked_ioctl	= mbox_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};
