// SPDX-License-Identifier: GPL-2.0
/*
 * mbox: the queue core.  Everything here works on one struct mbox under its
 * spinlock and never sleeps, allocates or touches user memory while holding
 * it: messages are allocated and filled before kmbox_enqueue(), and
 * kmbox_take() detaches a message so the caller copies it out unlocked and
 * then either consumes it or puts it back with kmbox_requeue().
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/timekeeping.h>

#include "mbox_internal.h"

void kmbox_init(struct mbox *mb, unsigned int index,
		const struct mbox_limits *limits)
{
	spin_lock_init(&mb->lock);
	INIT_LIST_HEAD(&mb->queue);
	INIT_LIST_HEAD(&mb->urgent);
	INIT_LIST_HEAD(&mb->copying);
	mutex_init(&mb->flush_lock);
	mb->flushing = NULL;
	init_waitqueue_head(&mb->rd_wait);
	init_waitqueue_head(&mb->poll_wait);
	INIT_LIST_HEAD(&mb->writers);
	mb->nr_writers_waiting = 0;
	atomic_set(&mb->readers_waiting, 0);
	mb->max_msg_size = limits->max_msg_size;
	mb->max_msgs = limits->max_msgs;
	mb->max_bytes = limits->max_bytes;
	mb->max_urgent = limits->max_urgent;
	mb->max_urgent_bytes = limits->max_urgent_bytes;
	mb->next_seq = 1;
	kmbox_msg_cache_init(mb);
	mb->index = index;
}

/* Only once no file can reach @mb any more (unload; a named one: evict). */
void kmbox_destroy(struct mbox *mb)
{
	kmbox_msg_free_list(mb, &mb->urgent);
	kmbox_msg_free_list(mb, &mb->queue);
	kmbox_msg_cache_destroy(mb);
	mutex_destroy(&mb->flush_lock);
}

/* Check a complete set of limits; 0 = valid, else -EINVAL. */
int kmbox_limits_valid(const struct mbox_limits *l)
{
	if (l->max_msg_size < 1 || l->max_msg_size > MBOX_MAX_MSG_SIZE_LIMIT)
		return -EINVAL;
	if (l->max_msgs < 1 || l->max_msgs > MBOX_MAX_MSGS_LIMIT)
		return -EINVAL;
	/* A message of max_msg_size must always fit an empty mailbox. */
	if (l->max_bytes < l->max_msg_size ||
	    l->max_bytes > MBOX_MAX_BYTES_LIMIT)
		return -EINVAL;
	if (l->max_urgent < 1 || l->max_urgent > MBOX_MAX_URGENT_LIMIT)
		return -EINVAL;
	/*
	 * Not tied to max_msg_size: a caller built before this limit
	 * existed can still raise max_msg_size (an empty reserve takes any
	 * one urgent message, see mbox_urgent_fits_locked()).
	 */
	if (l->max_urgent_bytes < 1 ||
	    l->max_urgent_bytes > MBOX_MAX_BYTES_LIMIT)
		return -EINVAL;
	return 0;
}

/*
 * Whether a normal message of @size bytes fits given what is charged.  An
 * empty mailbox takes any message up to max_msg_size even if the limits
 * were lowered below it meanwhile, so no writer can wait forever.
 */
static bool mbox_fits(u32 nr_msgs, u64 nr_bytes, u32 max_msgs, u64 max_bytes,
		      size_t size)
{
	if (!nr_msgs)
		return true;
	return nr_msgs < max_msgs && nr_bytes + size <= max_bytes;
}

static bool mbox_fits_locked(struct mbox *mb, size_t size)
{
	lockdep_assert_held(&mb->lock);
	return mbox_fits(mb->nr_msgs, mb->nr_bytes, mb->max_msgs, mb->max_bytes,
			 size);
}

static void mbox_wake_poll(struct mbox *mb, __poll_t events)
{
	if (wq_has_sleeper(&mb->poll_wait))
		wake_up_interruptible_sync_poll(&mb->poll_wait, events);
}

/*
 * A message became readable: one blocked reader and every poller.  One
 * full barrier (wq_has_sleeper()'s) orders the change before both checks,
 * so the common case of nobody waiting costs one barrier, not two.
 */
static void mbox_wake_readers(struct mbox *mb, __poll_t events)
{
	/* Pairs with set_current_state() in prepare_to_wait*(). */
	smp_mb();
	/* Ordered by the smp_mb() above, as in wq_has_sleeper(). */
	if (waitqueue_active(&mb->rd_wait))
		wake_up_interruptible_sync(&mb->rd_wait);
	/* Ordered by the smp_mb() above. */
	if (waitqueue_active(&mb->poll_wait))
		wake_up_interruptible_sync_poll(&mb->poll_wait, events);
}

/* Account @msg as readable; the caller has put it on its list. */
static void mbox_ready_locked(struct mbox *mb, struct mbox_msg *msg)
{
	if (msg->flags & MBOX_MSG_URGENT) {
		WRITE_ONCE(mb->nr_urgent_ready, mb->nr_urgent_ready + 1);
		mb->urgent_ready_bytes += msg->size;
	} else {
		WRITE_ONCE(mb->nr_ready, mb->nr_ready + 1);
		mb->ready_bytes += msg->size;
	}
}

/* Take @msg off its list; it stays charged against the limits. */
static void mbox_unlink_locked(struct mbox *mb, struct mbox_msg *msg)
{
	list_del_init(&msg->node);
	if (msg->flags & MBOX_MSG_URGENT) {
		WRITE_ONCE(mb->nr_urgent_ready, mb->nr_urgent_ready - 1);
		mb->urgent_ready_bytes -= msg->size;
	} else {
		WRITE_ONCE(mb->nr_ready, mb->nr_ready - 1);
		mb->ready_bytes -= msg->size;
	}
}

/* Release what @msg held against the limits. */
static void mbox_uncharge_locked(struct mbox *mb, struct mbox_msg *msg)
{
	if (msg->flags & MBOX_MSG_URGENT) {
		mb->nr_urgent--;
		mb->nr_urgent_bytes -= msg->size;
	} else {
		mb->nr_msgs--;
		mb->nr_bytes -= msg->size;
	}
}

/*
 * Stamp @msg's time.  Done just before taking the lock, not under it:
 * reading the clock can be slow (an HPET read is a device access) and
 * readers contend for the lock.  The time is thus not ordered with seq
 * across writers, as CLOCK_REALTIME is not ordered anyway.
 */
static void mbox_stamp_time(struct mbox_msg *msg)
{
	msg->time_ns = ktime_get_real_ns();
}

/* Give @msg its seq and make it readable at the tail. */
static void mbox_publish_locked(struct mbox *mb, struct mbox_msg *msg)
{
	lockdep_assert_held(&mb->lock);
	msg->seq = mb->next_seq++;
	list_add_tail(&msg->node, msg->flags & MBOX_MSG_URGENT ?
		      &mb->urgent : &mb->queue);
	mbox_ready_locked(mb, msg);
	mb->total_enqueued++;
}

/*
 * Blocked writers.  A writer whose message does not fit, or that finds
 * other writers already waiting, lines up on mb->writers with its message
 * and sleeps.  Whoever frees room (a read, an ack, a flush, new limits, a
 * waiting writer giving up) calls mbox_serve_writers_locked() in the same
 * hold of the lock: it enqueues the waiting writers' messages for them, in
 * arrival order, as long as the first one fits, and wakes them with their
 * message already queued (ipc/mqueue.c's pipelined send).  So room freed
 * for a writer is never lost to another (a woken writer has nothing left
 * to retry), and no writer passes one that waits: a large message is not
 * starved by a stream of small ones.  The price is head-of-line blocking:
 * a small message waits behind a large one that does not fit yet.
 *
 * @queued is set under the lock, and the waiter only looks at it under
 * the lock; the waker copies @task, with a reference, into a struct
 * mbox_wakeups on its own stack and wakes it after unlocking (as
 * ipc/mqueue.c's wake_q, which 6.1 does not export), so it never touches
 * an entry (on the waiter's stack) that its owner may have left, and the
 * wake-ups are not done under the lock.  A waiter that saw @queued (a
 * signal woke it) may be gone by then: the reference keeps its task, and
 * the late wake-up of a task sleeping elsewhere is a spurious one, which
 * every kernel wait tolerates.
 */
struct mbox_writer {
	struct list_head node;		/* on mb->writers */
	struct task_struct *task;
	struct mbox_msg *msg;
	bool queued;
};

/* Charge @msg against the limits and publish it (it fits). */
static void mbox_charge_publish_locked(struct mbox *mb, struct mbox_msg *msg)
{
	mb->nr_msgs++;
	mb->nr_bytes += msg->size;
	mbox_publish_locked(mb, msg);
}

/*
 * The writers one hold of the lock served, to wake once it is dropped:
 * at most MBOX_WAKE_BATCH, so the lock is held for a bounded time; @more
 * when more might fit (mbox_wake_writers() serves them next).
 *
 * Declared __uninitialized: a kernel built with INIT_STACK_ALL_ZERO
 * (Debian's) would otherwise clear its 144 bytes at every call.  Nothing
 * reads it before mbox_serve_writers_locked() sets @n and @more: each
 * mbox_room_freed() with a batch follows a serve under the same
 * condition, and one without (NULL) wakes no writer.
 */
#define MBOX_WAKE_BATCH		16

struct mbox_wakeups {
	unsigned int n;
	bool more;
	struct task_struct *task[MBOX_WAKE_BATCH];
};

/*
 * Enqueue the messages of the waiting writers that fit now, first come
 * first served, stopping at the first that does not or after a batch.
 * Returns how many; their tasks, in @wk, are for mbox_wake_writers(),
 * which every caller calls after unlocking.
 */
static unsigned int mbox_serve_writers_locked(struct mbox *mb,
					      struct mbox_wakeups *wk)
{
	struct mbox_writer *w;
	u64 now = 0;

	lockdep_assert_held(&mb->lock);
	wk->n = 0;
	wk->more = false;
	while (!list_empty(&mb->writers)) {
		w = list_first_entry(&mb->writers, struct mbox_writer, node);
		if (!mbox_fits_locked(mb, w->msg->size))
			break;
		if (wk->n == MBOX_WAKE_BATCH) {
			wk->more = true;
			break;
		}
		/*
		 * Its time is when it is queued, as for a writer that did
		 * not wait; one clock read for the batch.
		 */
		if (!now)
			now = ktime_get_real_ns();
		w->msg->time_ns = now;
		mbox_charge_publish_locked(mb, w->msg);
		list_del_init(&w->node);
		mb->nr_writers_waiting--;
		get_task_struct(w->task);
		wk->task[wk->n++] = w->task;
		w->queued = true;
	}
	return wk->n;
}

/*
 * Unlocked: wake the writers mbox_serve_writers_locked() served, then
 * serve and wake the next batches while there are more.  Returns how many
 * it served beyond the first batch.
 */
static unsigned int mbox_wake_writers(struct mbox *mb, struct mbox_wakeups *wk)
{
	unsigned int served = 0, i;

	for (;;) {
		for (i = 0; i < wk->n; i++) {
			wake_up_process(wk->task[i]);
			put_task_struct(wk->task[i]);
		}
		if (!wk->more)
			return served;
		spin_lock(&mb->lock);
		served += mbox_serve_writers_locked(mb, wk);
		spin_unlock(&mb->lock);
	}
}

/* Whether a non-blocking write of @size would succeed now. */
static bool mbox_writable_locked(struct mbox *mb, size_t size)
{
	return list_empty(&mb->writers) && mbox_fits_locked(mb, size);
}

/*
 * After room was freed and mbox_serve_writers_locked() enqueued @served
 * messages: wake their writers in @wk (and serve the next batches), a
 * reader for the messages, and the pollers.  @wk is NULL when no writer
 * was waiting.
 */
static void mbox_room_freed(struct mbox *mb, unsigned int served,
			    struct mbox_wakeups *wk)
{
	__poll_t events = EPOLLOUT | EPOLLWRNORM;

	if (wk)
		served += mbox_wake_writers(mb, wk);
	/* Pairs with set_current_state() in prepare_to_wait*(). */
	smp_mb();
	if (served) {
		events |= EPOLLIN | EPOLLRDNORM;
		/* Ordered by the smp_mb() above, as in wq_has_sleeper(). */
		if (waitqueue_active(&mb->rd_wait))
			wake_up_interruptible_sync(&mb->rd_wait);
	}
	/* Ordered by the smp_mb() above. */
	if (waitqueue_active(&mb->poll_wait))
		wake_up_interruptible_sync_poll(&mb->poll_wait, events);
}

/*
 * Apply @req (0 fields = unchanged) atomically: either every field changes
 * or, if the result is invalid, none.
 */
int kmbox_set_limits(struct mbox *mb, const struct mbox_limits *req)
{
	unsigned int served = 0;
	struct mbox_wakeups wk __uninitialized;
	struct mbox_limits l;
	int ret;

	spin_lock(&mb->lock);
	l.max_msg_size = req->max_msg_size ?: mb->max_msg_size;
	l.max_msgs = req->max_msgs ?: mb->max_msgs;
	l.max_bytes = req->max_bytes ?: mb->max_bytes;
	l.max_urgent = req->max_urgent ?: mb->max_urgent;
	l.reserved = 0;
	l.max_urgent_bytes = req->max_urgent_bytes ?: mb->max_urgent_bytes;
	ret = kmbox_limits_valid(&l);
	if (!ret) {
		/* Read by write() (msg.c: max_bytes) without the lock. */
		WRITE_ONCE(mb->max_msg_size, l.max_msg_size);
		mb->max_msgs = l.max_msgs;
		WRITE_ONCE(mb->max_bytes, l.max_bytes);
		mb->max_urgent = l.max_urgent;
		mb->max_urgent_bytes = l.max_urgent_bytes;
		served = mbox_serve_writers_locked(mb, &wk);
	}
	spin_unlock(&mb->lock);
	if (!ret)
		mbox_room_freed(mb, served, &wk);
	return ret;
}

void kmbox_get_info(struct mbox *mb, struct mbox_info *info)
{
	memset(info, 0, sizeof(*info));
	info->index = mb->index;
	info->readers_waiting = atomic_read(&mb->readers_waiting);
	spin_lock(&mb->lock);
	info->writers_waiting = mb->nr_writers_waiting;
	info->max_msg_size = mb->max_msg_size;
	info->max_msgs = mb->max_msgs;
	info->max_bytes = mb->max_bytes;
	info->max_urgent = mb->max_urgent;
	info->msgs_queued = mb->nr_msgs;
	info->bytes_queued = mb->nr_bytes;
	info->urgent_queued = mb->nr_urgent;
	info->max_urgent_bytes = mb->max_urgent_bytes;
	info->urgent_bytes_queued = mb->nr_urgent_bytes;
	info->inflight = mb->nr_inflight;
	info->total_enqueued = mb->total_enqueued;
	info->total_dequeued = mb->total_dequeued;
	info->next_seq = mb->next_seq;
	info->flushed_msgs = mb->flushed_msgs;
	info->flushed_bytes = mb->flushed_bytes;
	spin_unlock(&mb->lock);
}

/*
 * Called with the lock held, returns with it dropped: line up behind the
 * waiting writers and sleep until a reader queues @msg for us (0) or a
 * signal (-ERESTARTSYS, nothing queued).  Apart from kmbox_enqueue(), so
 * that its fast path carries neither @w nor the wake batch on its stack.
 */
static noinline int mbox_enqueue_wait_locked(struct mbox *mb,
					     struct mbox_msg *msg)
	__releases(&mb->lock)
{
	struct mbox_writer w = { .task = current, .msg = msg };
	struct mbox_wakeups wk __uninitialized;
	unsigned int served;
	bool head;

	lockdep_assert_held(&mb->lock);
	list_add_tail(&w.node, &mb->writers);
	mb->nr_writers_waiting++;
	for (;;) {
		/*
		 * The waker sets @queued under the lock and wakes us after
		 * dropping it; the state set here, before our unlock, cannot
		 * miss that wake-up.
		 */
		__set_current_state(TASK_INTERRUPTIBLE);
		spin_unlock(&mb->lock);
		schedule();
		spin_lock(&mb->lock);
		if (w.queued) {
			spin_unlock(&mb->lock);
			/* The waker woke the readers. */
			return 0;
		}
		if (signal_pending(current))
			break;
	}

	/*
	 * Interrupted, nothing queued.  If we were first in line, the
	 * writers behind us may fit: serve them, and tell the pollers, who
	 * could not write while we waited.
	 */
	head = mb->writers.next == &w.node;
	list_del(&w.node);
	mb->nr_writers_waiting--;
	served = head ? mbox_serve_writers_locked(mb, &wk) : 0;
	spin_unlock(&mb->lock);
	if (head)
		mbox_room_freed(mb, served, &wk);
	return -ERESTARTSYS;
}

/*
 * Enqueue a normal message, waiting for room unless @nonblock.  It goes in
 * at once only if it fits and no other writer waits; else a non-blocking
 * write is -EAGAIN, and a blocking one lines up behind the waiting writers
 * (see struct mbox_writer).  On success the mailbox owns @msg; on error
 * (-EAGAIN, -ERESTARTSYS) the caller still does, and nothing was queued.
 */
int kmbox_enqueue(struct mbox *mb, struct mbox_msg *msg, bool nonblock)
{
	mbox_stamp_time(msg);
	spin_lock(&mb->lock);
	if (mbox_writable_locked(mb, msg->size)) {
		mbox_charge_publish_locked(mb, msg);
		spin_unlock(&mb->lock);
		mbox_wake_readers(mb, EPOLLIN | EPOLLRDNORM);
		return 0;
	}
	if (nonblock) {
		spin_unlock(&mb->lock);
		return -EAGAIN;
	}
	return mbox_enqueue_wait_locked(mb, msg);
}

static bool mbox_flush_selects(const struct mbox_flush_sel *sel,
			       const struct mbox_msg *msg)
{
	if ((sel->flags & MBOX_FLUSH_MINE) &&
	    !uid_eq(msg->opener_uid, sel->opener_uid))
		return false;
	if ((sel->flags & MBOX_FLUSH_UP_TO_SEQ) && msg->seq > sel->up_to_seq)
		return false;
	return true;
}

/*
 * A flush removes the selected messages that are queued when it starts
 * (seq <= @last).  Selective flushes walk the normal queue in chunks of
 * MBOX_FLUSH_CHUNK messages and drop the lock between chunks, so that a
 * FLUSH_MINE over a million messages (which a write-only file may do)
 * never holds the lock long; meanwhile @mb->flushing points here, and
 * kmbox_requeue() discards a selected message whose copy failed.  One
 * flush at a time per mailbox (@mb->flush_lock), so at most one cursor
 * is ever on the queue.
 */
struct mbox_flushing {
	const struct mbox_flush_sel *sel;
	u64 last;
	struct list_head doomed;
	struct mbox_flush *result;
};

#define MBOX_FLUSH_CHUNK	256

static bool mbox_flushing_selects(const struct mbox_flushing *f,
				  const struct mbox_msg *msg)
{
	return msg->seq <= f->last && mbox_flush_selects(f->sel, msg);
}

/*
 * The cursor a chunked flush leaves in the queue while it drops the lock:
 * a message-shaped entry of size 0 (no real message is empty), whose seq
 * keeps the queue in seq order for kmbox_requeue() and kmbox_unlease().
 */
static bool mbox_is_cursor(const struct mbox_msg *msg)
{
	return !msg->size;
}

static void mbox_flush_one_locked(struct mbox *mb, struct mbox_msg *msg,
				  struct mbox_flushing *f)
{
	mbox_unlink_locked(mb, msg);
	mbox_uncharge_locked(mb, msg);
	list_add_tail(&msg->node, &f->doomed);
	f->result->flushed_msgs++;
	f->result->flushed_bytes += msg->size;
	mb->flushed_msgs++;
	mb->flushed_bytes += msg->size;
}

/* The urgent list: at most MBOX_MAX_URGENT_LIMIT messages, in seq order. */
static void mbox_flush_urgent_locked(struct mbox *mb, struct mbox_flushing *f)
{
	struct mbox_msg *msg, *tmp;

	list_for_each_entry_safe(msg, tmp, &mb->urgent, node) {
		if (msg->seq > f->last)
			break;
		if (mbox_flush_selects(f->sel, msg))
			mbox_flush_one_locked(mb, msg, f);
	}
}

/*
 * The normal queue, in seq order: stop at the first message past the
 * bound.  Between chunks the lock is dropped, the writers the freed room
 * lets in are served, waiters are woken and the chunk's messages freed
 * (time outside the lock in which others take it: a virtualized guest's
 * spinlock, virt_spin_lock(), is not fair); the cursor marks the place.
 * Called and returns with the lock held.
 */
static void mbox_flush_queue_locked(struct mbox *mb, struct mbox_flushing *f)
	__must_hold(&mb->lock)
{
	struct mbox_msg cursor = { .size = 0 };
	struct mbox_msg *msg, *next;
	unsigned int n = 0, served;
	struct mbox_wakeups wk __uninitialized;
	LIST_HEAD(chunk);
	bool removed;

	msg = list_first_entry(&mb->queue, struct mbox_msg, node);
	while (&msg->node != &mb->queue && msg->seq <= f->last) {
		next = list_next_entry(msg, node);
		if (mbox_flush_selects(f->sel, msg))
			mbox_flush_one_locked(mb, msg, f);
		msg = next;
		if (++n % MBOX_FLUSH_CHUNK || &msg->node == &mb->queue)
			continue;
		/* Keep the queue in seq order around the cursor. */
		cursor.seq = msg->seq - 1;
		list_add_tail(&cursor.node, &msg->node);
		served = mbox_serve_writers_locked(mb, &wk);
		removed = !list_empty(&f->doomed);
		list_splice_init(&f->doomed, &chunk);
		spin_unlock(&mb->lock);
		/* A chunk that freed no room and served nobody wakes nobody. */
		if (removed || served)
			mbox_room_freed(mb, served, &wk);
		kmbox_msg_free_list(mb, &chunk);
		cond_resched();
		spin_lock(&mb->lock);
		msg = list_next_entry(&cursor, node);
		list_del(&cursor.node);
	}
}

/*
 * Messages being copied out to readers are on no queue: a flush cannot
 * remove them, and if the copy succeeds they were read before the flush.
 * But if the copy fails they must not come back (behind an urgent abort,
 * say): mark those the flush selects, and kmbox_requeue() discards them.
 * The list holds one message per read in progress.
 */
static void mbox_flush_copying_locked(struct mbox *mb, struct mbox_flushing *f)
{
	struct mbox_msg *msg;

	list_for_each_entry(msg, &mb->copying, node)
		if (mbox_flushing_selects(f, msg))
			msg->flushed = true;
}

/*
 * Remove what @f->sel selects into @f->doomed (freed by the caller,
 * unlocked, so a flush of 100 000 messages does not hold the lock while
 * freeing them).  Called with @mb->flush_lock and the lock held; a
 * selective flush drops the lock between chunks (see above).
 */
static void mbox_flush_locked(struct mbox *mb, struct mbox_flushing *f)
{
	lockdep_assert_held(&mb->lock);
	lockdep_assert_held(&mb->flush_lock);
	f->result->flushed_msgs = 0;
	f->result->flushed_bytes = 0;
	f->last = mb->next_seq - 1;
	if (!f->sel->flags) {
		/* Everything: splice the lists whole, O(1). */
		f->result->flushed_msgs = mb->nr_urgent_ready + mb->nr_ready;
		f->result->flushed_bytes = mb->urgent_ready_bytes +
					   mb->ready_bytes;
		list_splice_tail_init(&mb->urgent, &f->doomed);
		list_splice_tail_init(&mb->queue, &f->doomed);
		/* What stays charged is being copied out to a reader. */
		mb->nr_urgent -= mb->nr_urgent_ready;
		mb->nr_urgent_bytes -= mb->urgent_ready_bytes;
		mb->nr_msgs -= mb->nr_ready;
		mb->nr_bytes -= mb->ready_bytes;
		WRITE_ONCE(mb->nr_urgent_ready, 0);
		WRITE_ONCE(mb->nr_ready, 0);
		mb->urgent_ready_bytes = 0;
		mb->ready_bytes = 0;
		mb->flushed_msgs += f->result->flushed_msgs;
		mb->flushed_bytes += f->result->flushed_bytes;
	} else {
		if (f->sel->flags & MBOX_FLUSH_UP_TO_SEQ)
			f->last = min(f->last, f->sel->up_to_seq);
		mbox_flush_urgent_locked(mb, f);
		mb->flushing = f;
		mbox_flush_queue_locked(mb, f);
		mb->flushing = NULL;
	}
	mbox_flush_copying_locked(mb, f);
}

static void mbox_flushing_init(struct mbox_flushing *f,
			       const struct mbox_flush_sel *sel,
			       struct mbox_flush *result)
{
	f->sel = sel;
	f->result = result;
	INIT_LIST_HEAD(&f->doomed);
}

/*
 * One flush at a time, and one may walk a million messages: waiting for
 * it is interruptible, and with @sel->nonblock it is -EAGAIN instead.
 */
static int mbox_flush_lock(struct mbox *mb, const struct mbox_flush_sel *sel)
{
	if (sel->nonblock)
		return mutex_trylock(&mb->flush_lock) ? 0 : -EAGAIN;
	if (mutex_lock_interruptible(&mb->flush_lock))
		return -ERESTARTSYS;
	return 0;
}

/* 0, or -EAGAIN / -ERESTARTSYS from mbox_flush_lock(): nothing flushed. */
int kmbox_flush(struct mbox *mb, const struct mbox_flush_sel *sel,
		struct mbox_flush *result)
{
	struct mbox_flushing f;
	unsigned int served = 0;
	struct mbox_wakeups wk __uninitialized;
	int ret;

	mbox_flushing_init(&f, sel, result);
	ret = mbox_flush_lock(mb, sel);
	if (ret)
		return ret;
	spin_lock(&mb->lock);
	mbox_flush_locked(mb, &f);
	if (result->flushed_msgs)
		served = mbox_serve_writers_locked(mb, &wk);
	spin_unlock(&mb->lock);
	mutex_unlock(&mb->flush_lock);
	if (result->flushed_msgs)
		mbox_room_freed(mb, served, &wk);
	kmbox_msg_free_list(mb, &f.doomed);
	return 0;
}

/*
 * Whether an urgent message of @size bytes fits the reserve once @sel (if
 * not NULL) has flushed what it selects of the urgent list: a walk of at
 * most MBOX_MAX_URGENT_LIMIT messages, in seq order.  Leased urgent
 * messages and those being copied out hold their place.  An empty reserve
 * takes any one message, so max_urgent_bytes below max_msg_size never
 * refuses every urgent message.
 */
static bool mbox_urgent_fits_locked(struct mbox *mb,
				    const struct mbox_flush_sel *sel,
				    size_t size)
{
	u32 n = mb->nr_urgent;
	u64 bytes = mb->nr_urgent_bytes;
	struct mbox_msg *msg;

	lockdep_assert_held(&mb->lock);
	if (sel) {
		list_for_each_entry(msg, &mb->urgent, node) {
			if ((sel->flags & MBOX_FLUSH_UP_TO_SEQ) &&
			    msg->seq > sel->up_to_seq)
				break;
			if (mbox_flush_selects(sel, msg)) {
				n--;
				bytes -= msg->size;
			}
		}
	}
	if (!n)
		return true;
	return n < mb->max_urgent && bytes + size <= mb->max_urgent_bytes;
}

/*
 * Enqueue an urgent message, after the flush @sel describes if @sel is not
 * NULL.  Never waits for room: the urgent reserve full is -EAGAIN, and
 * then nothing was flushed either.  With @sel it may wait for another
 * flush in progress (mbox_flush_lock(): -EAGAIN or -ERESTARTSYS, nothing
 * done).  The message's slot in the reserve
 * is taken first; a selective flush may drop the lock between chunks (a
 * reader may then read a selected message: its read came before the
 * urgent message), and the message is published in the same hold of the
 * lock as the flush's last chunk and the marking of the messages being
 * copied, so no read that starts after it can return a flushed message.
 * Its seq is returned in @seq: once the lock is dropped a reader may
 * already have consumed and freed @msg.
 */
int kmbox_enqueue_urgent(struct mbox *mb, struct mbox_msg *msg,
			 const struct mbox_flush_sel *sel,
			 struct mbox_flush *result, u64 *seq)
{
	struct mbox_flushing f;
	unsigned int served = 0;
	struct mbox_wakeups wk __uninitialized;
	int ret = -EAGAIN;

	mbox_flushing_init(&f, sel, result);
	if (sel) {
		ret = mbox_flush_lock(mb, sel);
		if (ret)
			return ret;
		ret = -EAGAIN;
	}
	mbox_stamp_time(msg);
	spin_lock(&mb->lock);
	/*
	 * All or nothing: without room for the message even after the
	 * flush (leased urgent messages hold theirs), flush nothing either.
	 */
	if (mbox_urgent_fits_locked(mb, sel, msg->size)) {
		msg->flags |= MBOX_MSG_URGENT;
		mb->nr_urgent++;
		mb->nr_urgent_bytes += msg->size;
		if (sel)
			mbox_flush_locked(mb, &f);
		mbox_publish_locked(mb, msg);
		*seq = msg->seq;
		/* Writers served after the urgent message: their seqs follow. */
		if (sel && result->flushed_msgs)
			served = mbox_serve_writers_locked(mb, &wk);
		ret = 0;
	}
	spin_unlock(&mb->lock);
	if (sel)
		mutex_unlock(&mb->flush_lock);

	if (!ret)
		mbox_wake_readers(mb, EPOLLIN | EPOLLRDNORM | EPOLLPRI);
	if (!ret && sel && result->flushed_msgs)
		mbox_room_freed(mb, served, &wk);
	kmbox_msg_free_list(mb, &f.doomed);
	return ret;
}

static struct mbox_msg *mbox_first_locked(struct mbox *mb)
{
	struct mbox_msg *msg;

	lockdep_assert_held(&mb->lock);
	if (mb->nr_urgent_ready)
		return list_first_entry(&mb->urgent, struct mbox_msg, node);
	if (!mb->nr_ready)
		return NULL;
	msg = list_first_entry(&mb->queue, struct mbox_msg, node);
	/* At most one flush cursor, and a real message follows it. */
	if (unlikely(mbox_is_cursor(msg)))
		msg = list_next_entry(msg, node);
	return msg;
}

static bool mbox_readable(struct mbox *mb)
{
	return READ_ONCE(mb->nr_ready) || READ_ONCE(mb->nr_urgent_ready);
}

/* Let the next blocked reader try what the current one leaves behind. */
static void mbox_pass_wakeup(struct mbox *mb)
{
	if (mbox_readable(mb) && wq_has_sleeper(&mb->rd_wait))
		wake_up_interruptible(&mb->rd_wait);
}

/*
 * Sleep until a message is readable, one reader woken per message.
 * Apart from kmbox_take(), so that a read that finds a message carries no
 * wait queue entry on its stack.
 */
static noinline int mbox_wait_readable(struct mbox *mb)
{
	return wait_event_interruptible_exclusive(mb->rd_wait,
						  mbox_readable(mb));
}

/*
 * Detach the next message for a reader with @room bytes of buffer, waiting
 * for one unless @nonblock; @hdr_size bytes of header go before the
 * payload.  The message stays charged until kmbox_consume(), kmbox_lease()
 * or kmbox_requeue().  With @leases (ack mode), the file's lease count is
 * reserved here, under the lock, so that concurrent readers of one file
 * never hold more than its maximum.  Errors: -EAGAIN (also when @leases is
 * full), -ERESTARTSYS, and -EMSGSIZE when the next message does not fit
 * in @room (it stays queued).
 */
struct mbox_msg *kmbox_take(struct mbox *mb, size_t room, size_t hdr_size,
			    bool nonblock, struct mbox_leases *leases)
{
	struct mbox_msg *msg;
	bool waited = false;
	int ret;

	for (;;) {
		spin_lock(&mb->lock);
		if (leases && leases->nr >= READ_ONCE(leases->max)) {
			spin_unlock(&mb->lock);
			ret = -EAGAIN;
			goto out;
		}
		msg = mbox_first_locked(mb);
		if (msg)
			break;
		spin_unlock(&mb->lock);
		if (nonblock) {
			ret = -EAGAIN;
			goto out;
		}
		if (!waited) {
			atomic_inc(&mb->readers_waiting);
			waited = true;
		}
		ret = mbox_wait_readable(mb);
		if (ret)
			goto out;
	}

	if (hdr_size + msg->size > room) {
		spin_unlock(&mb->lock);
		ret = -EMSGSIZE;
		goto out;
	}
	mbox_unlink_locked(mb, msg);
	list_add_tail(&msg->node, &mb->copying);
	msg->delivery_count++;
	if (leases)
		WRITE_ONCE(leases->nr, leases->nr + 1);
	spin_unlock(&mb->lock);
	ret = 0;
out:
	/*
	 * We may have been the one reader an exclusive wake-up picked; if we
	 * leave a message behind, wake the next one.  A reader that never
	 * slept took no wake-up from anyone and has none to pass on.
	 */
	if (waited) {
		atomic_dec(&mb->readers_waiting);
		mbox_pass_wakeup(mb);
	}
	return ret ? ERR_PTR(ret) : msg;
}

/*
 * Insert @msg into @list keeping seq order: it goes back where it was.
 * It was taken from the head, so the walk passes only messages older than
 * it that came back meanwhile (other failed copies, handed-back leases),
 * and stops at the first seq past it.
 */
static void mbox_insert_by_seq(struct list_head *list, struct mbox_msg *msg)
{
	struct mbox_msg *pos;

	list_for_each_entry(pos, list, node) {
		if (pos->seq > msg->seq) {
			list_add_tail(&msg->node, &pos->node);
			return;
		}
	}
	list_add_tail(&msg->node, list);
}

/* Make @msg readable again where its seq puts it: back at the head. */
static void mbox_return_locked(struct mbox *mb, struct mbox_msg *msg)
{
	lockdep_assert_held(&mb->lock);
	mbox_insert_by_seq(msg->flags & MBOX_MSG_URGENT ? &mb->urgent :
			   &mb->queue, msg);
	mbox_ready_locked(mb, msg);
}

static __poll_t mbox_readable_events(const struct mbox_msg *msg)
{
	if (msg->flags & MBOX_MSG_URGENT)
		return EPOLLIN | EPOLLRDNORM | EPOLLPRI;
	return EPOLLIN | EPOLLRDNORM;
}

/*
 * Put back a message kmbox_take() detached but could not deliver (the copy
 * out faulted): it was not delivered, and it releases its lease slot.  A
 * message a flush selected meanwhile is discarded instead, counted as
 * flushed: it was due to be removed with the others.
 */
void kmbox_requeue(struct mbox *mb, struct mbox_msg *msg,
		   struct mbox_leases *leases)
{
	/* Once back on the queue, @msg may be read and freed at once. */
	__poll_t events = mbox_readable_events(msg);
	bool urgent = msg->flags & MBOX_MSG_URGENT;
	unsigned int served = 0;
	struct mbox_wakeups wk __uninitialized;
	bool flushed;

	spin_lock(&mb->lock);
	list_del_init(&msg->node);
	msg->delivery_count--;
	if (leases)
		WRITE_ONCE(leases->nr, leases->nr - 1);
	/* Marked by a finished flush, or selected by the one running. */
	flushed = msg->flushed ||
		  (mb->flushing && mbox_flushing_selects(mb->flushing, msg));
	if (flushed) {
		mbox_uncharge_locked(mb, msg);
		mb->flushed_msgs++;
		mb->flushed_bytes += msg->size;
		if (!urgent)
			served = mbox_serve_writers_locked(mb, &wk);
	} else {
		mbox_return_locked(mb, msg);
	}
	spin_unlock(&mb->lock);
	if (!flushed) {
		mbox_wake_readers(mb, events);
		return;
	}
	kmbox_msg_recycle(mb, msg);
	if (!urgent)
		mbox_room_freed(mb, served, &wk);
	/*
	 * In ack mode the copy held a lease slot, and poll hid EPOLLIN from
	 * a file at its limit meanwhile: with the slot back it may read the
	 * next message.  mbox_room_freed()'s EPOLLOUT key (urgent: none)
	 * would skip its EPOLLIN pollers; wake them as kmbox_ack() does.
	 */
	if (leases && !served && mbox_readable(mb))
		mbox_wake_poll(mb, EPOLLIN | EPOLLRDNORM);
}

void kmbox_leases_init(struct mbox_leases *leases)
{
	INIT_LIST_HEAD(&leases->msgs);
	WRITE_ONCE(leases->nr, 0);
	WRITE_ONCE(leases->max, MBOX_DEFAULT_INFLIGHT);
}

/*
 * A detached message was delivered to a reader in ack mode: it stays
 * charged, in flight, until acknowledged or handed back.  The file's
 * leases are kept in seq order, so that the walks of kmbox_ack() and
 * kmbox_unlease() stop at the first seq past what they look for.  Leases
 * come in seq order but for concurrent readers of one file (the insertion
 * walks back from the tail a step or two) and for a message handed back
 * and delivered again, older than every lease: that one goes first
 * without a walk over them all.
 */
void kmbox_lease(struct mbox *mb, struct mbox_msg *msg,
		 struct mbox_leases *leases)
{
	struct mbox_msg *pos;

	spin_lock(&mb->lock);
	list_del(&msg->node);
	pos = list_first_entry_or_null(&leases->msgs, struct mbox_msg, node);
	if (!pos || pos->seq > msg->seq) {
		list_add(&msg->node, &leases->msgs);
	} else {
		list_for_each_entry_reverse(pos, &leases->msgs, node)
			if (pos->seq < msg->seq)
				break;
		/* After @pos: the head's seq is lower, the walk stops there. */
		list_add(&msg->node, &pos->node);
	}
	/* Delivered: a flush during the copy no longer concerns it. */
	msg->flushed = false;
	mb->nr_inflight++;
	spin_unlock(&mb->lock);
}

static bool mbox_lease_selects(const struct mbox_msg *msg, u64 seq,
			       bool up_to)
{
	return up_to ? msg->seq <= seq : msg->seq == seq;
}

/*
 * Acknowledge the leased messages that @seq/@up_to select: they are gone.
 * -ENOENT when none matches.
 */
int kmbox_ack(struct mbox *mb, struct mbox_leases *leases, u64 seq,
	      bool up_to)
{
	struct mbox_msg *msg, *tmp;
	bool freed_normal = false;
	unsigned int served = 0;
	struct mbox_wakeups wk __uninitialized;
	LIST_HEAD(done);

	spin_lock(&mb->lock);
	list_for_each_entry_safe(msg, tmp, &leases->msgs, node) {
		/* In seq order: nothing further can match. */
		if (msg->seq > seq)
			break;
		if (!mbox_lease_selects(msg, seq, up_to))
			continue;
		list_move_tail(&msg->node, &done);
		WRITE_ONCE(leases->nr, leases->nr - 1);
		mb->nr_inflight--;
		mbox_uncharge_locked(mb, msg);
		mb->total_dequeued++;
		freed_normal |= !(msg->flags & MBOX_MSG_URGENT);
	}
	if (freed_normal)
		served = mbox_serve_writers_locked(mb, &wk);
	spin_unlock(&mb->lock);
	if (list_empty(&done))
		return -ENOENT;
	if (freed_normal)
		mbox_room_freed(mb, served, &wk);
	/* A file that was at its lease limit can read again. */
	if (mbox_readable(mb))
		mbox_wake_poll(mb, EPOLLIN | EPOLLRDNORM);
	kmbox_msg_free_list(mb, &done);
	return 0;
}

/*
 * A file's receive mode changed (MBOX_IOC_SET_MODE): a higher max_inflight
 * or leaving ack mode can make a file at its lease limit readable.
 */
void kmbox_mode_changed(struct mbox *mb)
{
	/*
	 * Order the caller's WRITE_ONCE()s of the mode and max_inflight
	 * before the reads below; pairs with the smp_mb() in mbox_poll()
	 * between its wait queue insertion and its reads of the mode.
	 */
	smp_mb();
	if (!mbox_readable(mb))
		return;
	/* Ordered by the smp_mb() above. */
	if (waitqueue_active(&mb->poll_wait))
		wake_up_interruptible_sync_poll(&mb->poll_wait,
						EPOLLIN | EPOLLRDNORM);
}

/*
 * Merge @src, sorted by seq (taken from a file's leases, which are kept in
 * seq order), into @dst, sorted by seq: one walk, so handing back
 * thousands of leases does not hold the lock for a quadratic time.
 */
static void mbox_merge_by_seq_locked(struct mbox *mb, struct list_head *dst,
				     struct list_head *src)
{
	struct list_head *pos = dst->next;
	struct mbox_msg *msg;

	while (!list_empty(src)) {
		msg = list_first_entry(src, struct mbox_msg, node);
		while (pos != dst &&
		       list_entry(pos, struct mbox_msg, node)->seq < msg->seq)
			pos = pos->next;
		list_move_tail(&msg->node, pos);
		mbox_ready_locked(mb, msg);
	}
}

/*
 * Hand leased messages back (a negative acknowledgment, or the file's
 * release): each returns to the head of its queue in seq order, flagged
 * redelivered.  -ENOENT when none matches.
 */
int kmbox_unlease(struct mbox *mb, struct mbox_leases *leases, u64 seq,
		  bool up_to)
{
	struct mbox_msg *msg, *tmp;
	LIST_HEAD(normal);
	LIST_HEAD(urgent);
	__poll_t events = 0;

	spin_lock(&mb->lock);
	list_for_each_entry_safe(msg, tmp, &leases->msgs, node) {
		/* In seq order: nothing further can match. */
		if (msg->seq > seq)
			break;
		if (!mbox_lease_selects(msg, seq, up_to))
			continue;
		WRITE_ONCE(leases->nr, leases->nr - 1);
		mb->nr_inflight--;
		msg->flags |= MBOX_MSG_REDELIVERED;
		events |= mbox_readable_events(msg);
		list_move_tail(&msg->node, msg->flags & MBOX_MSG_URGENT ?
			       &urgent : &normal);
	}
	mbox_merge_by_seq_locked(mb, &mb->urgent, &urgent);
	mbox_merge_by_seq_locked(mb, &mb->queue, &normal);
	spin_unlock(&mb->lock);
	if (!events)
		return -ENOENT;
	mbox_wake_readers(mb, events);
	return 0;
}

/*
 * kmbox_consume() of a normal message with writers waiting: called with
 * the lock held, returns with it dropped.  Apart, so that the common case
 * carries no wake batch on its stack.
 */
static noinline void mbox_consume_serve_locked(struct mbox *mb,
					       struct mbox_msg *msg)
	__releases(&mb->lock)
{
	struct mbox_wakeups wk __uninitialized;
	unsigned int served;

	lockdep_assert_held(&mb->lock);
	served = mbox_serve_writers_locked(mb, &wk);
	spin_unlock(&mb->lock);
	/* Spare the buffer first, so a writer we wake can take it. */
	kmbox_msg_recycle(mb, msg);
	mbox_room_freed(mb, served, &wk);
}

/* A detached message was delivered: uncharge and free it. */
void kmbox_consume(struct mbox *mb, struct mbox_msg *msg)
{
	bool urgent = msg->flags & MBOX_MSG_URGENT;

	spin_lock(&mb->lock);
	list_del_init(&msg->node);
	mbox_uncharge_locked(mb, msg);
	mb->total_dequeued++;
	if (!urgent && !list_empty(&mb->writers)) {
		mbox_consume_serve_locked(mb, msg);
		return;
	}
	spin_unlock(&mb->lock);
	kmbox_msg_recycle(mb, msg);
	/* No writer waits: the room is for the pollers. */
	if (!urgent)
		mbox_room_freed(mb, 0, NULL);
}

int kmbox_peek(struct mbox *mb, struct mbox_msg_header *hdr)
{
	struct mbox_msg *msg;

	spin_lock(&mb->lock);
	msg = mbox_first_locked(mb);
	if (msg) {
		kmbox_msg_fill_header(msg, hdr);
		/* What the next read() will say. */
		hdr->delivery_count++;
	}
	spin_unlock(&mb->lock);
	return msg ? 0 : -ENOMSG;
}

/* Payload size of the next message, 0 when none is readable. */
u32 kmbox_next_size(struct mbox *mb)
{
	struct mbox_msg *msg;
	u32 size;

	spin_lock(&mb->lock);
	msg = mbox_first_locked(mb);
	size = msg ? msg->size : 0;
	spin_unlock(&mb->lock);
	return size;
}

/*
 * Readable when a message is queued; writable when a write of @wr_want
 * bytes (at least 1) would not block: the size of the caller's last write
 * that got EAGAIN, so that "write until EAGAIN, wait for EPOLLOUT" wakes
 * exactly when the write would work (every path that frees room or lets
 * the writers' line go wakes the pollers with EPOLLOUT).
 */
__poll_t kmbox_poll_mask(struct mbox *mb, u32 wr_want)
{
	__poll_t mask = 0;

	spin_lock(&mb->lock);
	if (mb->nr_ready || mb->nr_urgent_ready)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (mb->nr_urgent_ready)
		mask |= EPOLLPRI;
	if (mbox_writable_locked(mb, max(wr_want, 1U)))
		mask |= EPOLLOUT | EPOLLWRNORM;
	spin_unlock(&mb->lock);
	return mask;
}
