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
 * to the same user's entry in the module's set as well.
 *
 * A charge takes effect at every level or at none, never overshoots, and
 * is never refused for a charge another call made and then took back
 * within the quota code.  (A write is charged from its start, so while
 * one write of a user fails for another reason, EAGAIN say, a concurrent
 * one near the limit may see its charge and get EDQUOT.)
 * The module-level count is one compare-and-exchange, which is all a
 * write to /dev/mboxN pays; a charge to an instance's entry is decided
 * under the user's module-level entry's @charge_lock, which guards the
 * user's instance-level counts: checked there first, then the
 * module-level exchange, then the instance-level add, so nothing is ever
 * taken back.  The set's spinlock guards only its table of users.  No
 * lock here nests in another.
 *
 * An entry lives by its reference count: one for each mailbox its user
 * created, each open file that cached it, each caller between
 * kmbox_quota_user_get() and kmbox_quota_user_put(), and one for all its
 * bytes while it has any, taken by the charge that makes them nonzero
 * and dropped by the uncharge that makes them zero.  So a message needs
 * no reference of its own: its bytes keep the entry it was charged to.
 * The caller of a charge holds a reference, so the count cannot reach
 * zero while the bytes' reference is taken.
 */
#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>

#include "mbox_internal.h"

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
 * (with its parent's) with @gfp, so this may sleep.  ERR_PTR(-ENOMEM) on
 * failure.
 */
struct mbox_quota_user *kmbox_quota_user_get(struct mbox_quota *q, kuid_t uid,
					     gfp_t gfp)
{
	struct mbox_quota_user *u, *found, *parent = NULL;

	spin_lock(&q->lock);
	u = mbox_quota_find_locked(q, uid);
	spin_unlock(&q->lock);
	if (u)
		return u;

	if (q->parent) {
		parent = kmbox_quota_user_get(q->parent, uid, gfp);
		if (IS_ERR(parent))
			return parent;
	}
	u = kzalloc(sizeof(*u), gfp);
	if (!u) {
		if (parent)
			kmbox_quota_user_put(parent);
		return ERR_PTR(-ENOMEM);
	}
	u->quota = q;
	u->parent = parent;
	u->uid = uid;
	refcount_set(&u->refs, 1);
	spin_lock_init(&u->charge_lock);

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

/*
 * The last reference is gone (kmbox_quota_user_put()): unhash and free.
 * A lookup meanwhile skips the entry (refcount_inc_not_zero() fails) and
 * adds another for the same user, which is right: this one has nothing
 * charged, and nobody can charge it any more.
 */
void kmbox_quota_user_release(struct mbox_quota_user *u)
{
	struct mbox_quota *q = u->quota;
	struct mbox_quota_user *parent = u->parent;

	WARN_ON_ONCE(atomic_read(&u->mailboxes) || atomic64_read(&u->bytes) ||
		     atomic64_read(&u->page_bytes));
	spin_lock(&q->lock);
	hash_del(&u->node);
	spin_unlock(&q->lock);
	kfree(u);
	if (parent)
		kmbox_quota_user_put(parent);
}

/* Add to @u's counts unless that passes its set's limits. */
static bool mbox_quota_add(struct mbox_quota_user *u, u32 mailboxes,
			   u64 bytes)
{
	const struct mbox_quota *q = u->quota;
	int m = atomic_read(&u->mailboxes);
	s64 b = atomic64_read(&u->bytes);

	/* Both at once only at create, which charges no bytes. */
	if (mailboxes) {
		do {
			if ((u64)m + mailboxes > READ_ONCE(q->max_mailboxes))
				return false;
		} while (!atomic_try_cmpxchg(&u->mailboxes, &m, m + mailboxes));
	}
	if (bytes) {
		do {
			if ((u64)b + bytes > READ_ONCE(q->max_bytes))
				goto undo;
		} while (!atomic64_try_cmpxchg(&u->bytes, &b, b + bytes));
		/* The bytes' reference; the caller holds one meanwhile. */
		if (!b)
			refcount_inc(&u->refs);
	}
	return true;

undo:
	if (mailboxes)
		atomic_sub(mailboxes, &u->mailboxes);
	return false;
}

/* Take from @u's counts: true if the bytes' reference must be put. */
static bool mbox_quota_sub(struct mbox_quota_user *u, u32 mailboxes,
			   u64 bytes)
{
	if (mailboxes)
		atomic_sub(mailboxes, &u->mailboxes);
	return bytes && !atomic64_sub_return(bytes, &u->bytes);
}

/*
 * Charge @mailboxes and @bytes to @u and, for an instance's entry, to the
 * same user's module-level entry: 0, or -EDQUOT and nothing charged.  The
 * caller holds a reference to @u.
 */
int kmbox_quota_charge(struct mbox_quota_user *u, u32 mailboxes, u64 bytes)
{
	struct mbox_quota_user *top = u->parent;
	const struct mbox_quota *q = u->quota;
	int ret = -EDQUOT;

	if (!top)
		return mbox_quota_add(u, mailboxes, bytes) ? 0 : -EDQUOT;

	/*
	 * Only two levels: an instance's set is under the module's.  Only
	 * what is charged is checked: a user over a limit that a remount
	 * lowered may still do what charges the other count.
	 */
	spin_lock(&top->charge_lock);
	if ((!mailboxes || (u64)atomic_read(&u->mailboxes) + mailboxes <=
			   READ_ONCE(q->max_mailboxes)) &&
	    (!bytes || (u64)atomic64_read(&u->bytes) + bytes <=
		       READ_ONCE(q->max_bytes)) &&
	    mbox_quota_add(top, mailboxes, bytes)) {
		if (mailboxes)
			atomic_add(mailboxes, &u->mailboxes);
		if (bytes && !atomic64_fetch_add(bytes, &u->bytes))
			refcount_inc(&u->refs);
		ret = 0;
	}
	spin_unlock(&top->charge_lock);
	return ret;
}

/*
 * Give back what kmbox_quota_charge() took.  The last bytes of an entry
 * drop its bytes' reference, which may free it: nothing may use @u after
 * this unless the caller holds a reference of its own.
 */
void kmbox_quota_uncharge(struct mbox_quota_user *u, u32 mailboxes, u64 bytes)
{
	struct mbox_quota_user *top = u->parent;
	bool put;

	if (!top) {
		if (mbox_quota_sub(u, mailboxes, bytes))
			kmbox_quota_user_put(u);
		return;
	}
	spin_lock(&top->charge_lock);
	put = mbox_quota_sub(u, mailboxes, bytes);
	spin_unlock(&top->charge_lock);
	/* @u holds @top: put @top's bytes first, then @u (and with it @top). */
	if (mbox_quota_sub(top, mailboxes, bytes))
		kmbox_quota_user_put(top);
	if (put)
		kmbox_quota_user_put(u);
}

/*
 * A page a named mailbox carves payloads from, charged to its creator
 * (@owner, an instance's entry) at the module level, apart from the bytes
 * of messages: another user's messages left on those pages cannot make
 * the creator's own writes fail, only make its mailboxes allocate
 * payloads one by one.  False: over the quota, nothing charged.
 */
bool kmbox_quota_charge_page(struct mbox_quota_user *owner)
{
	struct mbox_quota_user *top = owner->parent ?: owner;
	s64 b = atomic64_read(&top->page_bytes);

	do {
		if ((u64)b + PAGE_SIZE > READ_ONCE(top->quota->max_bytes))
			return false;
	} while (!atomic64_try_cmpxchg(&top->page_bytes, &b, b + PAGE_SIZE));
	return true;
}

/* The mailbox holds a reference to @owner, and so to its parent. */
void kmbox_quota_uncharge_page(struct mbox_quota_user *owner)
{
	struct mbox_quota_user *top = owner->parent ?: owner;

	atomic64_sub(PAGE_SIZE, &top->page_bytes);
}
