// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the mbox queue core in isolation: no device, no file, no
 * user memory; just struct mbox and its messages.  Built as mbox_kunit.ko
 * against a kernel with CONFIG_KUNIT; the queue core is compiled into this
 * module from the same sources as mbox.ko.
 */
#include <kunit/test.h>

#include "../msg.c"
#include "../queue.c"
#include "../quota.c"

static const struct mbox_limits test_limits = {
	.max_msg_size = 100,
	.max_msgs = 4,
	.max_bytes = 250,
	.max_urgent = 2,
	.max_urgent_bytes = 200,
};

static struct mbox *new_mbox_with(struct kunit *test, unsigned int index,
				  const struct mbox_limits *limits)
{
	struct mbox *mb = kunit_kzalloc(test, sizeof(*mb), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, mb);
	kmbox_init(mb, index, limits);
	return mb;
}

static struct mbox *new_mbox(struct kunit *test)
{
	return new_mbox_with(test, 7, &test_limits);
}

/* A message of @size bytes, its first byte @tag, from opener @uid. */
static struct mbox_msg *new_msg(struct kunit *test, size_t size, u8 tag,
				uid_t uid)
{
	struct mbox_msg *msg = kmbox_msg_alloc(size, false);

	KUNIT_ASSERT_NOT_NULL(test, msg);
	memset(msg->data, tag, size);
	msg->uid = KUIDT_INIT(uid);
	msg->opener_uid = KUIDT_INIT(uid);
	return msg;
}

static void enqueue(struct kunit *test, struct mbox *mb, size_t size, u8 tag,
		    uid_t uid)
{
	KUNIT_ASSERT_EQ(test, 0,
			kmbox_enqueue(mb, new_msg(test, size, tag, uid), true));
}

/* Take and consume the next message; returns its tag byte. */
static u8 dequeue(struct kunit *test, struct mbox *mb)
{
	struct mbox_msg *msg = kmbox_take(mb, 1000, 0, true, NULL);
	u8 tag;

	KUNIT_ASSERT_FALSE(test, IS_ERR(msg));
	tag = msg->data[0];
	kmbox_consume(mb, msg);
	return tag;
}

static void fifo_and_seq(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_msg *msg;

	enqueue(test, mb, 10, 'a', 0);
	enqueue(test, mb, 20, 'b', 0);
	enqueue(test, mb, 30, 'c', 0);
	KUNIT_EXPECT_EQ(test, mb->next_seq, 4ULL);
	msg = kmbox_take(mb, 1000, 0, true, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(msg));
	KUNIT_EXPECT_EQ(test, msg->seq, 1ULL);
	KUNIT_EXPECT_EQ(test, msg->delivery_count, 1U);
	kmbox_consume(mb, msg);
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'b');
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'c');
	KUNIT_EXPECT_EQ(test, mb->total_enqueued, 3ULL);
	KUNIT_EXPECT_EQ(test, mb->total_dequeued, 3ULL);
	KUNIT_EXPECT_TRUE(test, IS_ERR(kmbox_take(mb, 1000, 0, true, NULL)));
	kmbox_destroy(mb);
}

static void limits_accounting(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_msg *msg;

	/* 250 bytes: 100 + 100 fit, another 100 does not, 50 does. */
	enqueue(test, mb, 100, 'a', 0);
	enqueue(test, mb, 100, 'b', 0);
	msg = new_msg(test, 100, 'c', 0);
	KUNIT_EXPECT_EQ(test, kmbox_enqueue(mb, msg, true), -EAGAIN);
	kmbox_msg_free(msg);
	enqueue(test, mb, 50, 'd', 0);
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 3U);
	KUNIT_EXPECT_EQ(test, mb->nr_bytes, 250ULL);
	/* 4 messages at most. */
	kmbox_consume(mb, kmbox_take(mb, 1000, 0, true, NULL));
	enqueue(test, mb, 1, 'e', 0);
	enqueue(test, mb, 1, 'f', 0);
	msg = new_msg(test, 1, 'g', 0);
	KUNIT_EXPECT_EQ(test, kmbox_enqueue(mb, msg, true), -EAGAIN);
	kmbox_msg_free(msg);
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 4U);
	KUNIT_EXPECT_EQ(test, mb->nr_bytes, 152ULL);
	kmbox_destroy(mb);
}

static void empty_mailbox_takes_a_max_size_message(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_limits lower = { .max_msg_size = 10, .max_bytes = 10 };

	KUNIT_ASSERT_EQ(test, kmbox_set_limits(mb, &lower), 0);
	enqueue(test, mb, 100, 'a', 0);
	KUNIT_EXPECT_EQ(test, mb->nr_bytes, 100ULL);
	kmbox_destroy(mb);
}

static void limits_validation(struct kunit *test)
{
	struct mbox_limits l = test_limits;

	KUNIT_EXPECT_EQ(test, kmbox_limits_valid(&l), 0);
	l.max_bytes = l.max_msg_size - 1;
	KUNIT_EXPECT_EQ(test, kmbox_limits_valid(&l), -EINVAL);
	l = test_limits;
	l.max_msgs = 0;
	KUNIT_EXPECT_EQ(test, kmbox_limits_valid(&l), -EINVAL);
	l = test_limits;
	l.max_msg_size = MBOX_MAX_MSG_SIZE_LIMIT + 1;
	l.max_bytes = MBOX_MAX_BYTES_LIMIT;
	KUNIT_EXPECT_EQ(test, kmbox_limits_valid(&l), -EINVAL);
	l = test_limits;
	l.max_urgent = MBOX_MAX_URGENT_LIMIT + 1;
	KUNIT_EXPECT_EQ(test, kmbox_limits_valid(&l), -EINVAL);
	l.max_urgent = MBOX_MAX_URGENT_LIMIT;
	KUNIT_EXPECT_EQ(test, kmbox_limits_valid(&l), 0);
}

static void too_small_a_buffer_leaves_the_message(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);

	enqueue(test, mb, 50, 'a', 0);
	KUNIT_EXPECT_EQ(test, PTR_ERR(kmbox_take(mb, 49, 0, true, NULL)),
			(long)-EMSGSIZE);
	/* The header counts too. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(kmbox_take(mb, 50, 1, true, NULL)),
			(long)-EMSGSIZE);
	KUNIT_EXPECT_EQ(test, kmbox_next_size(mb), 50U);
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'a');
	kmbox_destroy(mb);
}

static void requeue_restores_seq_order(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_msg *first, *second;

	enqueue(test, mb, 1, 'a', 0);
	enqueue(test, mb, 1, 'b', 0);
	enqueue(test, mb, 1, 'c', 0);
	first = kmbox_take(mb, 10, 0, true, NULL);
	second = kmbox_take(mb, 10, 0, true, NULL);
	/* Detached messages stay charged. */
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 3U);
	KUNIT_EXPECT_EQ(test, mb->nr_ready, 1U);
	/* Put back in the wrong order: they still come out a, b, c. */
	kmbox_requeue(mb, second, NULL);
	kmbox_requeue(mb, first, NULL);
	KUNIT_EXPECT_EQ(test, first->delivery_count, 0U);
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'a');
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'b');
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'c');
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 0U);
	kmbox_destroy(mb);
}

static void flush_selectors(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_flush_sel sel = { 0 };
	struct mbox_flush res;

	enqueue(test, mb, 10, 'a', 1000);	/* seq 1 */
	enqueue(test, mb, 20, 'b', 2000);	/* seq 2 */
	enqueue(test, mb, 30, 'c', 1000);	/* seq 3 */
	enqueue(test, mb, 40, 'd', 2000);	/* seq 4 */

	sel.flags = MBOX_FLUSH_MINE | MBOX_FLUSH_UP_TO_SEQ;
	sel.opener_uid = KUIDT_INIT(1000);
	sel.up_to_seq = 2;
	kmbox_flush(mb, &sel, &res);
	KUNIT_EXPECT_EQ(test, res.flushed_msgs, 1ULL);
	KUNIT_EXPECT_EQ(test, res.flushed_bytes, 10ULL);

	sel.flags = MBOX_FLUSH_MINE;
	sel.opener_uid = KUIDT_INIT(2000);
	kmbox_flush(mb, &sel, &res);
	KUNIT_EXPECT_EQ(test, res.flushed_msgs, 2ULL);
	KUNIT_EXPECT_EQ(test, res.flushed_bytes, 60ULL);
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 1U);
	KUNIT_EXPECT_EQ(test, mb->nr_bytes, 30ULL);
	KUNIT_EXPECT_EQ(test, mb->flushed_msgs, 3ULL);
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'c');
	kmbox_destroy(mb);
}

static void flush_all_discards_a_message_in_transit_if_its_copy_fails(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_flush_sel sel = { 0 };
	struct mbox_flush res;
	struct mbox_msg *busy;

	enqueue(test, mb, 10, 'a', 0);
	enqueue(test, mb, 20, 'b', 0);
	enqueue(test, mb, 30, 'c', 0);
	busy = kmbox_take(mb, 100, 0, true, NULL);
	kmbox_flush(mb, &sel, &res);
	KUNIT_EXPECT_EQ(test, res.flushed_msgs, 2ULL);
	KUNIT_EXPECT_EQ(test, res.flushed_bytes, 50ULL);
	/* The message being copied out is still charged... */
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 1U);
	KUNIT_EXPECT_EQ(test, mb->nr_bytes, 10ULL);
	KUNIT_EXPECT_EQ(test, mb->ready_bytes, 0ULL);
	/*
	 * ...and if its copy fails it does not come back: the flush
	 * selected it, so it is discarded and counted as flushed.
	 */
	kmbox_requeue(mb, busy, NULL);
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 0U);
	KUNIT_EXPECT_EQ(test, mb->nr_bytes, 0ULL);
	KUNIT_EXPECT_EQ(test, mb->nr_ready, 0U);
	KUNIT_EXPECT_EQ(test, mb->flushed_msgs, 3ULL);
	KUNIT_EXPECT_EQ(test, mb->flushed_bytes, 60ULL);
	kmbox_destroy(mb);
}

static void urgent_first_and_reserved(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_flush res;
	struct mbox_msg *msg;
	u64 seq;

	enqueue(test, mb, 100, 'a', 0);
	enqueue(test, mb, 100, 'b', 0);
	/* The normal queue is full (200 + 100 > 250)... */
	msg = new_msg(test, 100, 'x', 0);
	KUNIT_EXPECT_EQ(test, kmbox_enqueue(mb, msg, true), -EAGAIN);
	kmbox_msg_free(msg);
	/* ...urgent messages have their own reserve of 2. */
	KUNIT_EXPECT_EQ(test, kmbox_enqueue_urgent(mb, new_msg(test, 5, 'U', 0),
						   NULL, &res, &seq), 0);
	KUNIT_EXPECT_EQ(test, seq, 3ULL);
	KUNIT_EXPECT_EQ(test, kmbox_enqueue_urgent(mb, new_msg(test, 5, 'V', 0),
						   NULL, &res, &seq), 0);
	msg = new_msg(test, 5, 'W', 0);
	KUNIT_EXPECT_EQ(test, kmbox_enqueue_urgent(mb, msg, NULL, &res, &seq),
			-EAGAIN);
	kmbox_msg_free(msg);
	KUNIT_EXPECT_EQ(test, mb->nr_urgent, 2U);
	KUNIT_EXPECT_TRUE(test, kmbox_poll_mask(mb, 0) & EPOLLPRI);
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'U');
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'V');
	KUNIT_EXPECT_FALSE(test, kmbox_poll_mask(mb, 0) & EPOLLPRI);
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'a');
	kmbox_destroy(mb);
}

static void flush_then_urgent_is_one_step(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_flush_sel sel = { .flags = MBOX_FLUSH_MINE,
				      .opener_uid = KUIDT_INIT(1000) };
	struct mbox_flush res;
	u64 seq;

	enqueue(test, mb, 10, 'a', 1000);
	enqueue(test, mb, 10, 'b', 2000);
	enqueue(test, mb, 10, 'c', 1000);
	KUNIT_EXPECT_EQ(test, kmbox_enqueue_urgent(mb, new_msg(test, 3, 'U', 1000),
						   &sel, &res, &seq), 0);
	KUNIT_EXPECT_EQ(test, res.flushed_msgs, 2ULL);
	KUNIT_EXPECT_EQ(test, res.flushed_bytes, 20ULL);
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'U');
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'b');
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 0U);
	kmbox_destroy(mb);
}

static void peek_and_header(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_msg_header hdr;

	KUNIT_EXPECT_EQ(test, kmbox_peek(mb, &hdr), -ENOMSG);
	enqueue(test, mb, 42, 'a', 0);
	KUNIT_EXPECT_EQ(test, kmbox_peek(mb, &hdr), 0);
	KUNIT_EXPECT_EQ(test, hdr.hdr_size, (u32)sizeof(hdr));
	KUNIT_EXPECT_EQ(test, hdr.size, 42U);
	KUNIT_EXPECT_EQ(test, hdr.seq, 1ULL);
	KUNIT_EXPECT_EQ(test, hdr.delivery_count, 1U);
	/* No task was recorded: no pid is visible. */
	KUNIT_EXPECT_EQ(test, hdr.pid, 0);
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 1U);
	kmbox_destroy(mb);
}

static void leases_ack_and_return_in_order(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_leases leases;
	struct mbox_msg *msg;
	int i;

	kmbox_leases_init(&leases);
	leases.max = 3;
	for (i = 0; i < 4; i++)
		enqueue(test, mb, 10, 'a' + i, 0);	/* seq 1..4 */
	for (i = 0; i < 3; i++) {
		msg = kmbox_take(mb, 100, 0, true, &leases);
		KUNIT_ASSERT_FALSE(test, IS_ERR(msg));
		kmbox_lease(mb, msg, &leases);
	}
	/* The file holds its maximum: no more until it acknowledges. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(kmbox_take(mb, 100, 0, true, &leases)),
			(long)-EAGAIN);
	KUNIT_EXPECT_EQ(test, mb->nr_inflight, 3U);
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 4U);
	KUNIT_EXPECT_EQ(test, kmbox_next_size(mb), 10U);	/* only 'd' ready */

	KUNIT_EXPECT_EQ(test, kmbox_ack(mb, &leases, 2, false), 0);
	KUNIT_EXPECT_EQ(test, kmbox_ack(mb, &leases, 2, false), -ENOENT);
	KUNIT_EXPECT_EQ(test, kmbox_ack(mb, &leases, 9, false), -ENOENT);
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 3U);
	KUNIT_EXPECT_EQ(test, leases.nr, 2U);

	/* Handed back: 'a' and 'c' return ahead of 'd', in seq order. */
	KUNIT_EXPECT_EQ(test, kmbox_unlease(mb, &leases, U64_MAX, true), 0);
	KUNIT_EXPECT_EQ(test, mb->nr_inflight, 0U);
	KUNIT_EXPECT_EQ(test, leases.nr, 0U);
	msg = kmbox_take(mb, 100, 0, true, NULL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(msg));
	KUNIT_EXPECT_EQ(test, msg->data[0], 'a');
	KUNIT_EXPECT_TRUE(test, msg->flags & MBOX_MSG_REDELIVERED);
	KUNIT_EXPECT_EQ(test, msg->delivery_count, 2U);
	kmbox_consume(mb, msg);
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'c');
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'd');
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 0U);
	kmbox_destroy(mb);
}

static void returned_leases_merge_in_seq_order(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_leases leases;
	int i;

	kmbox_leases_init(&leases);
	for (i = 0; i < 4; i++)
		enqueue(test, mb, 1, 'a' + i, 0);	/* seq 1..4 */
	for (i = 0; i < 3; i++)
		kmbox_lease(mb, kmbox_take(mb, 10, 0, true, &leases), &leases);
	/* b handed back and leased again: now the newest lease. */
	KUNIT_EXPECT_EQ(test, kmbox_unlease(mb, &leases, 2, false), 0);
	kmbox_lease(mb, kmbox_take(mb, 10, 0, true, &leases), &leases);
	/* Leases a, c, b go back ahead of d, in seq order. */
	KUNIT_EXPECT_EQ(test, kmbox_unlease(mb, &leases, U64_MAX, true), 0);
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'a');
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'b');
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'c');
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'd');
	kmbox_destroy(mb);
}

static void urgent_flush_is_all_or_nothing(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_flush_sel sel = { .flags = MBOX_FLUSH_UP_TO_SEQ,
				      .up_to_seq = 1 };
	struct mbox_flush res = { 0 };
	struct mbox_msg *msg;
	u64 seq;

	enqueue(test, mb, 10, 'a', 0);				/* seq 1 */
	KUNIT_ASSERT_EQ(test, kmbox_enqueue_urgent(mb, new_msg(test, 1, 'U', 0),
						   NULL, &res, &seq), 0);
	KUNIT_ASSERT_EQ(test, kmbox_enqueue_urgent(mb, new_msg(test, 1, 'V', 0),
						   NULL, &res, &seq), 0);
	/* The reserve (2) is full and the flush would not free it. */
	msg = new_msg(test, 1, 'W', 0);
	KUNIT_EXPECT_EQ(test, kmbox_enqueue_urgent(mb, msg, &sel, &res, &seq),
			-EAGAIN);
	kmbox_msg_free(msg);
	KUNIT_EXPECT_EQ(test, res.flushed_msgs, 0ULL);
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 1U);
	/* A selector that frees an urgent slot lets it through. */
	sel.up_to_seq = 2;
	KUNIT_EXPECT_EQ(test, kmbox_enqueue_urgent(mb, new_msg(test, 1, 'W', 0),
						   &sel, &res, &seq), 0);
	KUNIT_EXPECT_EQ(test, res.flushed_msgs, 2ULL);
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'V');
	KUNIT_EXPECT_EQ(test, dequeue(test, mb), 'W');
	kmbox_destroy(mb);
}

static void flush_spares_leased_messages(struct kunit *test)
{
	struct mbox *mb = new_mbox(test);
	struct mbox_flush_sel sel = { 0 };
	struct mbox_leases leases;
	struct mbox_flush res;

	kmbox_leases_init(&leases);
	enqueue(test, mb, 10, 'a', 0);
	enqueue(test, mb, 20, 'b', 0);
	kmbox_lease(mb, kmbox_take(mb, 100, 0, true, &leases), &leases);
	kmbox_flush(mb, &sel, &res);
	KUNIT_EXPECT_EQ(test, res.flushed_msgs, 1ULL);
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 1U);
	KUNIT_EXPECT_EQ(test, mb->nr_bytes, 10ULL);
	KUNIT_EXPECT_EQ(test, kmbox_ack(mb, &leases, 1, true), 0);
	KUNIT_EXPECT_EQ(test, mb->nr_msgs, 0U);
	KUNIT_EXPECT_EQ(test, mb->nr_bytes, 0ULL);
	kmbox_destroy(mb);
}

/* Limits under which each mailbox may hold three pages of fragments. */
static const struct mbox_limits frag_limits = {
	.max_msg_size = PAGE_SIZE,
	.max_msgs = PAGE_SIZE / MBOX_FRAG_ALIGN + 1,
	.max_bytes = 2 * PAGE_SIZE,
	.max_urgent = 2,
	.max_urgent_bytes = 2 * PAGE_SIZE,
};

static struct mbox *new_frag_mbox(struct kunit *test)
{
	return new_mbox_with(test, 8, &frag_limits);
}

static struct mbox_msg *get_msg(struct kunit *test, struct mbox *mb,
				size_t size)
{
	struct mbox_msg *msg = kmbox_msg_get(mb, size, false);

	KUNIT_ASSERT_NOT_NULL(test, msg);
	KUNIT_ASSERT_NOT_NULL(test, msg->data);
	return msg;
}

/*
 * Small payloads are carved one cache line apart from one page, and once
 * every fragment is back the same page is carved again from its start.
 */
static void fragments_share_a_page_and_reuse_it(struct kunit *test)
{
	const unsigned int n = PAGE_SIZE / MBOX_FRAG_ALIGN;
	struct mbox *mb = new_frag_mbox(test);
	struct mbox_msg **msgs;
	struct mbox_msg *msg;
	struct mbox_frag *frag;
	unsigned int i;

	msgs = kunit_kcalloc(test, n, sizeof(*msgs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, msgs);
	for (i = 0; i < n; i++) {
		msgs[i] = get_msg(test, mb, 1);
		KUNIT_EXPECT_PTR_EQ(test, msgs[i]->frag, msgs[0]->frag);
		KUNIT_EXPECT_EQ(test, offset_in_page(msgs[i]->data),
				i * MBOX_FRAG_ALIGN);
	}
	frag = msgs[0]->frag;
	KUNIT_EXPECT_NOT_NULL(test, frag);
	KUNIT_EXPECT_EQ(test, atomic_read(&mb->frag_pages), 1);
	for (i = 0; i < n; i++)
		kmbox_msg_recycle(mb, msgs[i]);

	msg = get_msg(test, mb, 1);
	KUNIT_EXPECT_PTR_EQ(test, msg->frag, frag);
	KUNIT_EXPECT_EQ(test, offset_in_page(msg->data), 0UL);
	KUNIT_EXPECT_EQ(test, atomic_read(&mb->frag_pages), 1);
	kmbox_msg_recycle(mb, msg);
	kmbox_destroy(mb);
	KUNIT_EXPECT_EQ(test, atomic_read(&mb->frag_pages), 0);
}

/*
 * A message left on a page keeps the page: the pages holding fragments
 * (and the spare one) stop at the byte limit's worth and one, after which
 * payloads are allocations of their own.  A page whose last fragment goes
 * becomes the spare, carved next; with a spare already, it is freed.
 */
static void pages_holding_fragments_are_bounded(struct kunit *test)
{
	struct mbox *mb = new_frag_mbox(test);
	struct mbox_msg *msgs[3], *own, *again;
	struct mbox_frag *first;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(msgs); i++) {
		msgs[i] = get_msg(test, mb, PAGE_SIZE);
		KUNIT_EXPECT_NOT_NULL(test, msgs[i]->frag);
	}
	KUNIT_EXPECT_PTR_NE(test, msgs[0]->frag, msgs[1]->frag);
	KUNIT_EXPECT_PTR_NE(test, msgs[1]->frag, msgs[2]->frag);
	KUNIT_EXPECT_EQ(test, atomic_read(&mb->frag_pages), 3);

	own = get_msg(test, mb, 1);
	KUNIT_EXPECT_NULL(test, own->frag);
	KUNIT_EXPECT_EQ(test, atomic_read(&mb->frag_pages), 3);

	first = msgs[0]->frag;
	kmbox_msg_recycle(mb, msgs[0]);
	KUNIT_EXPECT_PTR_EQ(test, mb->frag_spare, first);
	KUNIT_EXPECT_EQ(test, atomic_read(&first->refs), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&mb->frag_pages), 3);
	again = get_msg(test, mb, 1);
	KUNIT_EXPECT_PTR_EQ(test, again->frag, first);
	KUNIT_EXPECT_NULL(test, mb->frag_spare);
	KUNIT_EXPECT_EQ(test, atomic_read(&mb->frag_pages), 3);

	/* msgs[1]'s page becomes the spare; msgs[2]'s, with one, is freed. */
	kmbox_msg_recycle(mb, msgs[1]);
	kmbox_msg_recycle(mb, msgs[2]);
	KUNIT_EXPECT_EQ(test, atomic_read(&mb->frag_pages), 2);
	kmbox_msg_recycle(mb, own);
	kmbox_msg_recycle(mb, again);
	kmbox_destroy(mb);
	KUNIT_EXPECT_EQ(test, atomic_read(&mb->frag_pages), 0);
}

/*
 * A named mailbox's pages are charged to its creator at the module level:
 * with room for two, the third payload of a page gets its own allocation,
 * and every page given back uncharges.
 */
static void a_creators_pages_are_charged(struct kunit *test)
{
	struct mbox_quota *top = kunit_kzalloc(test, sizeof(*top), GFP_KERNEL);
	struct mbox_quota *inst = kunit_kzalloc(test, sizeof(*inst), GFP_KERNEL);
	struct mbox *mb = new_frag_mbox(test);
	struct mbox_msg *msgs[3];
	struct mbox_quota_user *owner;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, top);
	KUNIT_ASSERT_NOT_NULL(test, inst);
	kmbox_quota_init(top, NULL, 10, 2 * PAGE_SIZE);
	/* The instance's own byte quota does not bound pages. */
	kmbox_quota_init(inst, top, 10, 1);
	owner = kmbox_quota_user_get(inst, KUIDT_INIT(1000), GFP_KERNEL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(owner));
	mb->owner = owner;

	for (i = 0; i < ARRAY_SIZE(msgs); i++)
		msgs[i] = get_msg(test, mb, PAGE_SIZE);
	KUNIT_EXPECT_NOT_NULL(test, msgs[0]->frag);
	KUNIT_EXPECT_NOT_NULL(test, msgs[1]->frag);
	KUNIT_EXPECT_NULL(test, msgs[2]->frag);
	KUNIT_EXPECT_EQ(test, atomic64_read(&owner->parent->page_bytes),
			2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, atomic64_read(&owner->page_bytes), 0);

	for (i = 0; i < ARRAY_SIZE(msgs); i++)
		kmbox_msg_recycle(mb, msgs[i]);
	kmbox_destroy(mb);
	KUNIT_EXPECT_EQ(test, atomic64_read(&owner->parent->page_bytes), 0);
	kmbox_quota_user_put(owner);
	kmbox_quota_destroy(inst);
	kmbox_quota_destroy(top);
	KUNIT_EXPECT_TRUE(test, hash_empty(top->users));
}

/*
 * One-at-a-time traffic cycles the first spare message, which keeps its
 * writer's pids for the next write; the other spares keep none.
 */
static void only_the_first_spare_keeps_pids(struct kunit *test)
{
	struct mbox *mb = new_frag_mbox(test);
	struct mbox_msg *a = get_msg(test, mb, 1);
	struct mbox_msg *b = get_msg(test, mb, 1);

	a->tgid = get_pid(task_tgid(current));
	a->tid = get_pid(task_pid(current));
	b->tgid = get_pid(task_tgid(current));
	b->tid = get_pid(task_pid(current));
	kmbox_msg_recycle(mb, a);
	kmbox_msg_recycle(mb, b);
	KUNIT_EXPECT_PTR_EQ(test, mb->spare[0], a);
	KUNIT_EXPECT_PTR_EQ(test, mb->spare[1], b);
	KUNIT_EXPECT_PTR_EQ(test, a->tgid, task_tgid(current));
	KUNIT_EXPECT_PTR_EQ(test, a->tid, task_pid(current));
	KUNIT_EXPECT_NULL(test, b->tgid);
	KUNIT_EXPECT_NULL(test, b->tid);
	kmbox_destroy(mb);
}

static struct kunit_case mbox_queue_cases[] = {
	KUNIT_CASE(fifo_and_seq),
	KUNIT_CASE(limits_accounting),
	KUNIT_CASE(empty_mailbox_takes_a_max_size_message),
	KUNIT_CASE(limits_validation),
	KUNIT_CASE(too_small_a_buffer_leaves_the_message),
	KUNIT_CASE(requeue_restores_seq_order),
	KUNIT_CASE(flush_selectors),
	KUNIT_CASE(flush_all_discards_a_message_in_transit_if_its_copy_fails),
	KUNIT_CASE(urgent_first_and_reserved),
	KUNIT_CASE(flush_then_urgent_is_one_step),
	KUNIT_CASE(peek_and_header),
	KUNIT_CASE(leases_ack_and_return_in_order),
	KUNIT_CASE(returned_leases_merge_in_seq_order),
	KUNIT_CASE(urgent_flush_is_all_or_nothing),
	KUNIT_CASE(flush_spares_leased_messages),
	KUNIT_CASE(fragments_share_a_page_and_reuse_it),
	KUNIT_CASE(pages_holding_fragments_are_bounded),
	KUNIT_CASE(only_the_first_spare_keeps_pids),
	KUNIT_CASE(a_creators_pages_are_charged),
	{}
};

static struct kunit_suite mbox_queue_suite = {
	.name = "mbox_queue",
	.test_cases = mbox_queue_cases,
};

kunit_test_suite(mbox_queue_suite);

MODULE_DESCRIPTION("KUnit tests of the mbox queue core");
MODULE_LICENSE("GPL");
