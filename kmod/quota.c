// SPDX-License-Identifier: GPL-2.0
/*
 * mbox: per-user quotas, as RLIMIT_MSGQUEUE is for POSIX message queues.
 *
 * A quota set holds, per user (kuid), the mailboxes that user created and
 * the bytes that user's messages hold, against two limits.  There are two
 * levels: the module's set, whose limits are the module parameters
 * user_mailboxes and user_bytes, covers every mailbox (the /dev/mboxN
 * ones and those of every instance), so that no user gets round it by
 * mounting more instances; each instance has a set of its own, limited by
 * its mount options user_max= and user_bytes=, whose entries are charged
 * to the same user's entry in the module's set as well.  A charge takes
 * effect at every level or at none.
 *
 * Counts are atomics changed by compare-and-exchange against the limit,
 * so a charge never overshoots and two racing charges that would both fit
 * both succeed; the set's spinlock guards only its table of users.  An
 * entry lives while anything charged to it does (a message, a mailbox,
 * an open file that cached it), by its reference count.
 */
#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>

#include "mbox_internal.h"

struct mbox_quota_user {
	struct hlist_node node;		/* in @quota->users, under its lock */
	struct mbox_quota *quota;
	struct mbox_quota_user *parent;	/* same user, the module's set */
	kuid_t uid;
	refcount_t refs;
	atomic_t mailboxes;
	atomic64_t bytes;
};

/* The module's set; its limits are the parameters (main.c). */
struct mbox_quota kmbox_module_quota = {
	.lock = __SPIN_LOCK_UNLOCKED(kmbox_module_quota.lock),
	.max_mailboxes = MBOX_USER_MAILBOXES_DEFAULT,
	.max_bytes = MBOX_USER_BYTES_DEFAULT,
};

void kmbox_quota_init(struct mbox_quota *q, struct mbox_quota *parent,
		      u32 max_mailboxes, u64 max_bytes)
{
	spin_lock_init(&q->lock);
	hash_init(q->users);
	q->parent = parent;
	q->max_mailboxes = max_mailboxes;
	q->max_bytes = max_bytes;
}

/* Every entry is gone once nothing charged to the set is left. */
void kmbox_quota_destroy(struct mbox_quota *q)
{
	WARN_ON_ONCE(!hash_empty(q->users));
}

static struct mbox_quota_user *mbox_quota_find_locked(struct mbox_quota *q,
						      kuid_t uid)
{
	struct mbox_quota_user *u;

	lockdep_assert_held(&q->lock);
	hash_for_each_possible(q->users, u, node, __kuid_val(uid)) {
		if (uid_eq(u->uid, uid) && refcount_inc_not_zero(&u->refs))
			return u;
	}
	return NULL;
}

/*
 * @uid's entry in @q, with a reference for the caller; made on first use
 * (with its parent's), so this may sleep.  ERR_PTR(-ENOMEM) on failure.
 */
struct mbox_quota_user *kmbox_quota_user_get(struct mbox_quota *q, kuid_t uid)
{
	struct mbox_quota_user *u, *found, *parent = NULL;

	spin_lock(&q->lock);
	u = mbox_quota_find_locked(q, uid);
	spin_unlock(&q->lock);
	if (u)
		return u;

	if (q->parent) {
		parent = kmbox_quota_user_get(q->parent, uid);
		if (IS_ERR(parent))
			return parent;
	}
	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	if (!u) {
		if (parent)
			kmbox_quota_user_put(parent);
		return ERR_PTR(-ENOMEM);
	}
	u->quota = q;
	u->parent = parent;
	u->uid = uid;
	refcount_set(&u->refs, 1);

	/* Allocated unlocked: another task may have added @uid meanwhile. */
	spin_lock(&q->lock);
	found = mbox_quota_find_locked(q, uid);
	if (!found)
		hash_add(q->users, &u->node, __kuid_val(uid));
	spin_unlock(&q->lock);
	if (found) {
		kfree(u);
		if (parent)
			kmbox_quota_user_put(parent);
		return found;
	}
	return u;
}

void kmbox_quota_user_hold(struct mbox_quota_user *u)
{
	refcount_inc(&u->refs);
}

void kmbox_quota_user_put(struct mbox_quota_user *u)
{
	struct mbox_quota_user *parent;

	if (!refcount_dec_and_lock(&u->refs, &u->quota->lock))
		return;
	hash_del(&u->node);
	spin_unlock(&u->quota->lock);
	WARN_ON_ONCE(atomic_read(&u->mailboxes) || atomic64_read(&u->bytes));
	parent = u->parent;
	kfree(u);
	if (parent)
		kmbox_quota_user_put(parent);
}

kuid_t kmbox_quota_user_uid(const struct mbox_quota_user *u)
{
	return u->uid;
}

static bool mbox_quota_add(struct mbox_quota_user *u, u32 mailboxes,
			   u64 bytes)
{
	const struct mbox_quota *q = u->quota;
	u32 max_mailboxes = READ_ONCE(q->max_mailboxes);
	u64 max_bytes = READ_ONCE(q->max_bytes);
	int m = atomic_read(&u->mailboxes);
	s64 b;

	if (mailboxes) {
		do {
			if ((u32)m + mailboxes > max_mailboxes)
				return false;
		} while (!atomic_try_cmpxchg(&u->mailboxes, &m, m + mailboxes));
	}
	if (bytes) {
		b = atomic64_read(&u->bytes);
		do {
			if ((u64)b + bytes > max_bytes) {
				if (mailboxes)
					atomic_sub(mailboxes, &u->mailboxes);
				return false;
			}
		} while (!atomic64_try_cmpxchg(&u->bytes, &b, b + bytes));
	}
	return true;
}

static void mbox_quota_sub(struct mbox_quota_user *u, u32 mailboxes,
			   u64 bytes)
{
	if (mailboxes)
		atomic_sub(mailboxes, &u->mailboxes);
	if (bytes)
		atomic64_sub(bytes, &u->bytes);
}

/*
 * Charge @mailboxes and @bytes to @u and to its entry in every set
 * above: 0, or -EDQUOT and nothing charged.
 */
int kmbox_quota_charge(struct mbox_quota_user *u, u32 mailboxes, u64 bytes)
{
	struct mbox_quota_user *p;

	for (p = u; p; p = p->parent) {
		if (!mbox_quota_add(p, mailboxes, bytes))
			goto undo;
	}
	return 0;

undo:
	for (; u != p; u = u->parent)
		mbox_quota_sub(u, mailboxes, bytes);
	return -EDQUOT;
}

void kmbox_quota_uncharge(struct mbox_quota_user *u, u32 mailboxes, u64 bytes)
{
	for (; u; u = u->parent)
		mbox_quota_sub(u, mailboxes, bytes);
}
