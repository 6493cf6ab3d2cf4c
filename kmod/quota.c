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
 * A charge takes effect at every level or at none, and is decided under
 * the user's module-level entry's @charge_lock, which also guards that
 * user's counts at both levels: so a charge never overshoots, and one
 * that fits is never refused because another was tried meanwhile.  The
 * set's spinlock guards only its table of users.  An entry lives while
 * anything charged to it does (a message, a mailbox, an open file that
 * cached it), by its reference count.  No lock here nests in another.
 */
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
	/* Of a module-level entry: this user's counts at every level. */
	spinlock_t charge_lock;
	u32 mailboxes;
	u64 bytes;
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

void kmbox_quota_user_hold(struct mbox_quota_user *u)
{
	refcount_inc(&u->refs);
}

void kmbox_quota_user_put(struct mbox_quota_user *u)
{
	struct mbox_quota *q = u->quota;
	struct mbox_quota_user *parent;

	/* refcount_dec_and_lock(), spelt out so that sparse can follow it. */
	if (refcount_dec_not_one(&u->refs))
		return;
	spin_lock(&q->lock);
	if (!refcount_dec_and_test(&u->refs)) {
		spin_unlock(&q->lock);
		return;
	}
	hash_del(&u->node);
	spin_unlock(&q->lock);
	WARN_ON_ONCE(u->mailboxes || u->bytes);
	parent = u->parent;
	kfree(u);
	if (parent)
		kmbox_quota_user_put(parent);
}

kuid_t kmbox_quota_user_uid(const struct mbox_quota_user *u)
{
	return u->uid;
}

static struct mbox_quota_user *mbox_quota_top(struct mbox_quota_user *u)
{
	while (u->parent)
		u = u->parent;
	return u;
}

/*
 * Charge @mailboxes and @bytes to @u and to its entry in every set
 * above: 0, or -EDQUOT and nothing charged.
 */
int kmbox_quota_charge(struct mbox_quota_user *u, u32 mailboxes, u64 bytes)
{
	struct mbox_quota_user *top = mbox_quota_top(u);
	struct mbox_quota_user *p;
	int ret = 0;

	spin_lock(&top->charge_lock);
	for (p = u; p; p = p->parent) {
		if ((u64)p->mailboxes + mailboxes >
		    READ_ONCE(p->quota->max_mailboxes) ||
		    p->bytes + bytes > READ_ONCE(p->quota->max_bytes)) {
			ret = -EDQUOT;
			goto out;
		}
	}
	for (p = u; p; p = p->parent) {
		p->mailboxes += mailboxes;
		p->bytes += bytes;
	}
out:
	spin_unlock(&top->charge_lock);
	return ret;
}

void kmbox_quota_uncharge(struct mbox_quota_user *u, u32 mailboxes, u64 bytes)
{
	struct mbox_quota_user *top = mbox_quota_top(u);

	spin_lock(&top->charge_lock);
	for (; u; u = u->parent) {
		WARN_ON_ONCE(u->mailboxes < mailboxes || u->bytes < bytes);
		u->mailboxes -= mailboxes;
		u->bytes -= bytes;
	}
	spin_unlock(&top->charge_lock);
}
