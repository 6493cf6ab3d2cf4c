/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mbox: kernel mailboxes on /dev/mboxN.
 *
 * Each /dev/mboxN is one mailbox, a queue of discrete messages:
 *
 *  - write()/writev() enqueues exactly one message holding every byte of
 *    the call, or nothing and an error.  A zero-length write returns 0 and
 *    enqueues nothing.  More than max_msg_size bytes: EMSGSIZE.
 *  - read()/readv() dequeues exactly one whole message, FIFO (urgent
 *    messages first).  A buffer too small for it: EMSGSIZE, and the message
 *    stays queued.  A fault while copying out: EFAULT, and the message stays
 *    queued.  Each message is read by exactly one reader.  A mailbox never
 *    returns end-of-file.
 *  - The kernel stamps every message at write() time with the sender's
 *    identity (see struct mbox_msg_header); user data cannot forge it.
 *  - Out of memory for a message: ENOMEM, nothing queued.  A non-blocking
 *    write (O_NONBLOCK, IOCB_NOWAIT) makes one light attempt to reclaim
 *    memory and no more (no retries, no OOM killer; a payload larger than
 *    a page must then be found physically contiguous), so it fails with
 *    ENOMEM sooner than a blocking one.
 *  - A full mailbox (max_msgs messages or max_bytes bytes queued) blocks
 *    writers; an empty one blocks readers; O_NONBLOCK (or IOCB_NOWAIT)
 *    turns both into EAGAIN.  A message of max_msg_size bytes always fits
 *    an empty mailbox.  A signal interrupts a wait with EINTR (or a
 *    restart under SA_RESTART) and nothing queued or lost.
 *  - Blocked writers are served in arrival order.  A write goes in at once
 *    only if its message fits and no writer is waiting; otherwise a
 *    blocking write waits behind the writers already waiting, and a
 *    non-blocking one gets EAGAIN, even if its own message would fit.
 *    Room freed by a read, an acknowledgment, a flush or new limits goes
 *    to the waiting writers at that moment: their messages are queued, in
 *    arrival order, for as long as the first one fits, before the call
 *    that freed the room returns and before any other writer can take
 *    it.  So no writer is starved (a message of max_msg_size goes in at
 *    the latest when the mailbox has drained), at the price that a small
 *    message waits behind a larger one that does not fit yet.  One
 *    exception: a waiting writer that a signal interrupts leaves the line
 *    and, if it writes again, joins it at the tail, also when the kernel
 *    restarts the write for it (SA_RESTART, SIGSTOP then SIGCONT, the
 *    freezer); a writer signalled over and over can thus be passed.
 *  - Per-user quotas (mboxfs(5)): a message is charged to the user who
 *    opened the file it is written through (the euid of the file's
 *    credentials: the header's opener_uid), its payload plus 128 bytes,
 *    from write() until it is freed (read, acknowledged in ack mode, or
 *    flushed), also while its writer waits for room and while a reader
 *    holds it leased; urgent messages too.  The module's parameter
 *    user_bytes bounds what one user's messages hold in all mailboxes
 *    together, an instance's user_bytes= what they hold in its
 *    mailboxes.  A write (a batch entry, an urgent send) that would pass
 *    either fails at once with EDQUOT, blocking or not, and nothing is
 *    queued: it never waits for the quota, which messages in mailboxes
 *    nobody reads may hold for good.  poll() does
 *    not report it (EPOLLOUT is about the mailbox's room), so EDQUOT is
 *    no reason to poll: the writer's own queued messages can be taken
 *    back with MBOX_FLUSH_MINE, which selects by the same uid.
 *  - Messages belong to the mailbox, not to an open file: they survive the
 *    exit of readers and writers and are freed with the mailbox: at module
 *    unload for /dev/mboxN, at the last close after rm or umount for a
 *    named one.
 *
 * Ioctl conventions
 *  - Magic 0xBC: free in Documentation/userspace-api/ioctl/ioctl-number.rst
 *    (0xB0-0xB8 and 0xC0 are taken, 0xB9-0xBF are not, in 6.1 and since).
 *  - Every structure is made of fixed-width fields, has no implicit padding
 *    and is laid out identically for 32- and 64-bit callers, so the same
 *    numbers work through compat_ioctl.  Pointers travel as __aligned_u64.
 *  - Structures grow by size, like clone3() and openat2(): the kernel takes
 *    the caller's size from _IOC_SIZE() of the command.  A caller built
 *    against an older, shorter structure keeps working (the kernel zero-fills
 *    what it does not pass in and truncates what it returns); a newer, longer
 *    structure works on an older kernel as long as the fields the kernel does
 *    not know are zero (else E2BIG).  One command number per operation thus
 *    lasts forever; a size below the first published one is ENOTTY.
 *  - Reserved fields and unknown flag bits must be zero: EINVAL.
 *  - MBOX_IOC_FLUSH and MBOX_IOC_SEND_URGENT write their result back to the
 *    argument.  They check that they can before acting, so EFAULT means
 *    nothing was done, unless another thread made the argument unwritable
 *    while the call ran: then the flush or send did take place.
 *  - An unknown command: ENOTTY.
 */
#ifndef _UAPI_LINUX_MBOX_H
#define _UAPI_LINUX_MBOX_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define MBOX_IOC_MAGIC 0xBC

/*
 * struct mbox_msg_header - what the kernel knows about one message.
 *
 * Returned in front of the payload by read() in header mode
 * (MBOX_MODE_HEADER) and alone by MBOX_IOC_PEEK.
 *
 * @hdr_size:   bytes of this header as the kernel wrote it; the payload
 *              starts right after it.  Read it first so that a longer
 *              header from a newer kernel is skipped correctly.
 * @flags:      MBOX_MSG_* below.
 * @seq:        per-mailbox sequence number, assigned at enqueue, strictly
 *              increasing from 1.
 * @time_ns:    CLOCK_REALTIME in nanoseconds at enqueue (read just before
 *              the message is queued, so not ordered with @seq between
 *              concurrent writers; CLOCK_REALTIME can also step back).
 * @size:       payload bytes.
 * @pid, @tid:  the writer's thread-group id and thread id, translated into
 *              the reader's pid namespace at read time; 0 when the writer is
 *              not visible there or has exited (its number may name another
 *              process by then).  Advisory: a writer can exit right after.
 * @uid, @gid:  the writing task's effective ids at write() time.
 * @opener_uid, @opener_gid: the effective ids of the credentials the
 *              writer's file was opened with.
 *              All four are translated into the reader's user namespace;
 *              unmapped ids read as the overflow id (65534).
 * @delivery_count: how many times the message was handed to a reader,
 *              this delivery included (1 unless it was redelivered).
 *
 * Which ids to trust: a file descriptor can be handed to another process
 * (fork, SCM_RIGHTS, a set-uid program inheriting it).  The opener ids say
 * who was allowed to open the mailbox; the uid/gid say who was running when
 * the bytes were written.  When they differ the kernel sets
 * MBOX_MSG_CRED_MISMATCH: a receiver must then not act on the message with
 * the authority of either identity alone, since a set-uid program may have
 * been tricked into writing attacker-chosen bytes to a descriptor it
 * inherited (the confused-deputy problem).
 */
struct mbox_msg_header {
	__u32 hdr_size;
	__u32 flags;
	__u64 seq;
	__u64 time_ns;
	__u32 size;
	__s32 pid;
	__s32 tid;
	__u32 uid;
	__u32 gid;
	__u32 opener_uid;
	__u32 opener_gid;
	__u32 delivery_count;
	__u64 reserved[2];
};

/* The writer's effective ids differed from its file's opener ids. */
#define MBOX_MSG_CRED_MISMATCH	0x1U
/* Sent with MBOX_IOC_SEND_URGENT: delivered before every normal message. */
#define MBOX_MSG_URGENT		0x2U
/* Handed to a reader before, which did not acknowledge it. */
#define MBOX_MSG_REDELIVERED	0x4U

/*
 * struct mbox_mode - per-open-file receive options (MBOX_IOC_SET_MODE,
 * MBOX_IOC_GET_MODE).  They belong to the open file description, so they
 * are shared by dup() and fork() and reset by a new open().
 *
 * @flags:        MBOX_MODE_* below.
 * @max_inflight: with MBOX_MODE_ACK, how many unacknowledged messages this
 *                file may hold, 1..MBOX_MAX_INFLIGHT_LIMIT; 0 on SET
 *                means MBOX_DEFAULT_INFLIGHT.  Must be 0 without ACK.
 */
struct mbox_mode {
	__u32 flags;
	__u32 max_inflight;
};

/* read() returns struct mbox_msg_header followed by the payload. */
#define MBOX_MODE_HEADER	0x1U
/*
 * Acknowledged delivery.  read() still returns one message, but only
 * leases it to this open file: it stays in the mailbox, in flight,
 * invisible to other readers, to FIONREAD and to MBOX_IOC_PEEK, and
 * counted against max_msgs/max_bytes (or the urgent reserve), until the
 * file acknowledges it (MBOX_IOC_ACK) and it is gone, or hands it back
 * (MBOX_IOC_NACK).  When the file is released with messages still leased
 * (close, exit, kill -9, crash) they go back to the head of the queue in
 * their original order, flagged MBOX_MSG_REDELIVERED, their
 * delivery_count telling how often they were handed out, and readers are
 * woken.  A file holding max_inflight leased messages gets EAGAIN from
 * read(), blocking or not: only acknowledging makes room.  A flush does
 * not remove leased messages (they are being processed; handed back, they
 * can be flushed).  Leaving ack mode keeps the leases already held.
 */
#define MBOX_MODE_ACK		0x2U
#define MBOX_MODE_ALL		(MBOX_MODE_HEADER | MBOX_MODE_ACK)

#define MBOX_DEFAULT_INFLIGHT	64U
#define MBOX_MAX_INFLIGHT_LIMIT	65536U

/*
 * struct mbox_ack - acknowledge (MBOX_IOC_ACK) or hand back
 * (MBOX_IOC_NACK) messages leased to this file.
 *
 * @seq:   the message; with MBOX_ACK_UP_TO, every leased message whose seq
 *         is <= @seq.
 * @flags: MBOX_ACK_UP_TO.
 * Errors: EINVAL when the file is not in ack mode and holds no lease, or a
 * reserved field or unknown flag is set; ENOENT when no message leased to
 * this file matches (an unknown seq, one already acknowledged, or one
 * leased to another file).
 */
struct mbox_ack {
	__u64 seq;
	__u32 flags;
	__u32 reserved;
};

#define MBOX_ACK_UP_TO		0x1U
#define MBOX_ACK_ALL_FLAGS	(MBOX_ACK_UP_TO)

/*
 * struct mbox_limits - one mailbox's limits (MBOX_IOC_SET_LIMITS; needs
 * CAP_SYS_ADMIN or, for a named mailbox, to own it or have CAP_FOWNER in
 * a user namespace where its owner is mapped, else EPERM).  A field left 0 keeps its current value.
 * The resulting limits must satisfy
 *   1 <= max_msg_size <= MBOX_MAX_MSG_SIZE_LIMIT,
 *   1 <= max_msgs <= MBOX_MAX_MSGS_LIMIT,
 *   max_msg_size <= max_bytes <= MBOX_MAX_BYTES_LIMIT,
 *   1 <= max_urgent <= MBOX_MAX_URGENT_LIMIT,
 *   1 <= max_urgent_bytes <= MBOX_MAX_BYTES_LIMIT,
 * else EINVAL and nothing changes.  Lowering a limit below what is queued
 * loses nothing: writers wait until readers drain the mailbox.
 *
 * @max_urgent_bytes bounds the payload bytes urgent messages hold, as
 * @max_bytes does for normal ones; an empty urgent reserve still takes one
 * message of up to @max_msg_size.  New in the second version of the
 * structure (32 bytes); a caller of the first (24) leaves it unchanged.
 */
struct mbox_limits {
	__u32 max_msg_size;
	__u32 max_msgs;
	__u64 max_bytes;
	__u32 max_urgent;
	__u32 reserved;
	__u64 max_urgent_bytes;
};

#define MBOX_MAX_MSG_SIZE_LIMIT	0x400000U
#define MBOX_MAX_MSGS_LIMIT	0x100000U
#define MBOX_MAX_BYTES_LIMIT	0x40000000ULL
#define MBOX_MAX_URGENT_LIMIT	1024U

/*
 * struct mbox_info - limits and counters of one mailbox (MBOX_IOC_GET_INFO);
 * the same values are under /sys/class/mbox/mboxN/.
 *
 * @index:            N of /dev/mboxN; a named mailbox's inode number.
 * @msgs_queued, @bytes_queued: normal messages and their payload bytes
 *                    held against max_msgs/max_bytes (a message being copied
 *                    out to a reader still counts until the copy succeeds).
 * @urgent_queued:    urgent messages held against max_urgent.
 * @urgent_bytes_queued: their payload bytes, held against
 *                    max_urgent_bytes.
 * @readers_waiting, @writers_waiting: tasks blocked in read() or write().
 * @inflight:         messages leased to readers in ack mode (included in
 *                    @msgs_queued or @urgent_queued).
 * @total_enqueued, @total_dequeued: messages ever enqueued and read.
 * @next_seq:         seq the next enqueued message will get.
 * @flushed_msgs, @flushed_bytes: messages and bytes ever removed by flush.
 */
struct mbox_info {
	__u32 index;
	__u32 flags;
	__u32 max_msg_size;
	__u32 max_msgs;
	__u64 max_bytes;
	__u32 max_urgent;
	__u32 msgs_queued;
	__u64 bytes_queued;
	__u32 urgent_queued;
	__u32 readers_waiting;
	__u32 writers_waiting;
	__u32 inflight;
	__u64 total_enqueued;
	__u64 total_dequeued;
	__u64 next_seq;
	__u64 flushed_msgs;
	__u64 flushed_bytes;
	/* Second version (112 bytes): a caller of the first gets 96. */
	__u64 max_urgent_bytes;
	__u64 urgent_bytes_queued;
};

/*
 * struct mbox_flush - remove queued messages (MBOX_IOC_FLUSH).
 *
 * @flags (in): selectors, combined with AND; none selects everything:
 *   MBOX_FLUSH_MINE       only messages whose opener_uid is the caller's
 *                         file's opener uid (a writer cancels its own);
 *   MBOX_FLUSH_UP_TO_SEQ  only messages with seq <= @up_to_seq.
 * Urgent and normal messages are both selected.  Without MBOX_FLUSH_MINE
 * the file must be open for reading, or the caller must have CAP_SYS_ADMIN
 * or, for a named mailbox, own it (or have CAP_FOWNER in a user namespace
 * where its owner is mapped), else EPERM.
 *
 * A flush removes the selected messages that are queued when it starts;
 * messages written while it runs are not removed.  A flush with selectors
 * walks the queue a few hundred messages at a time and lets readers and
 * writers in between (it never holds the mailbox long, however many
 * messages are queued): a reader may still read a selected message the
 * walk has not reached yet (that read comes before the flush), and a
 * writer may take the room the flush already freed.  Flushes of one
 * mailbox run one at a time: a flush that finds another in progress
 * waits for it (a signal ends that wait with EINTR, or a restart under
 * SA_RESTART), or on an O_NONBLOCK file fails with EAGAIN; either way
 * nothing was flushed.
 *
 * Messages not on the queue at that instant:
 *  - A message being copied out to a reader (its read() has dequeued it
 *    and not yet returned) is not removed and not in the result.  If the
 *    copy succeeds, the message was read before the flush (in ack mode:
 *    leased).  If the copy fails (EFAULT), the message is not put back:
 *    the flush selected it, so it is discarded then, and counted in the
 *    mailbox's flushed_msgs/flushed_bytes (struct mbox_info), not in this
 *    call's result.  So once the flush returns, no message it selects can
 *    be read except by a read() already copying it.
 *  - A message leased to a reader in ack mode is not touched: it is being
 *    processed.  Acknowledged it is gone; handed back (MBOX_IOC_NACK, or
 *    its file closed) it is queued again and a later flush can remove it
 *    (one handed back while a flush runs may or may not be removed).
 * @flushed_msgs, @flushed_bytes (out): what was removed.
 */
struct mbox_flush {
	__u32 flags;
	__u32 reserved;
	__u64 up_to_seq;
	__u64 flushed_msgs;
	__u64 flushed_bytes;
};

#define MBOX_FLUSH_MINE		0x1U
#define MBOX_FLUSH_UP_TO_SEQ	0x2U
#define MBOX_FLUSH_ALL_FLAGS	(MBOX_FLUSH_MINE | MBOX_FLUSH_UP_TO_SEQ)

/*
 * struct mbox_urgent - send one urgent message (MBOX_IOC_SEND_URGENT).
 *
 * The file must be open for writing (EBADF).  @buf/@len follow write()'s
 * size rules (len 0: EINVAL here, since an urgent message must say
 * something; len > max_msg_size: EMSGSIZE).  Urgent messages are delivered
 * before every normal message, FIFO among themselves, carry
 * MBOX_MSG_URGENT, and use their own reserve of max_urgent messages and
 * max_urgent_bytes bytes, not max_msgs/max_bytes: they get through when
 * the normal queue is full.  The reserve full: EAGAIN (an urgent send
 * never waits for room), and then the flush below does not happen either;
 * the writer's quota exceeded: EDQUOT, likewise.  With MBOX_URGENT_FLUSH
 * it may wait for another flush in progress, as MBOX_IOC_FLUSH does
 * (EINTR on a signal; EAGAIN on an O_NONBLOCK file; nothing sent or
 * flushed).
 *
 * With MBOX_URGENT_FLUSH in @flags, the flush described by @flush_flags and
 * @up_to_seq (as in struct mbox_flush, same permission rules) and the
 * enqueue happen atomically: no read() that starts after the urgent
 * message is queued can return a message the flush selects.  (The flush
 * itself may run in steps, see struct mbox_flush; the urgent message is
 * queued in the same step as the flush's last one.)  Only a
 * read() that had already dequeued one and was copying it out at that
 * instant can still return it; if its copy fails, the message is
 * discarded, not put back behind the urgent one (see struct mbox_flush).
 * Leased messages (ack mode) are not flushed, as in struct mbox_flush:
 * one handed back (MBOX_IOC_NACK, its file closed) while a flush with
 * selectors runs in steps is removed only if it lands after the place
 * the flush has reached; otherwise it is queued again, before the urgent
 * message's seq, and a reader can get it after the urgent message.
 *
 * @seq (out): the urgent message's seq.
 * @flushed_msgs, @flushed_bytes (out): what the flush removed.
 */
struct mbox_urgent {
	__aligned_u64 buf;
	__u32 len;
	__u32 flags;
	__u32 flush_flags;
	__u32 reserved;
	__u64 up_to_seq;
	__u64 seq;
	__u64 flushed_msgs;
	__u64 flushed_bytes;
};

#define MBOX_URGENT_FLUSH	0x1U
#define MBOX_URGENT_ALL_FLAGS	(MBOX_URGENT_FLUSH)

/*
 * struct mbox_batch_entry - one message of a batch (struct mbox_batch).
 *
 * @buf, @len (in): MBOX_IOC_SEND_BATCH: the payload, as write() takes it
 *         (0 bytes: nothing is sent and @result is 0; more than
 *         max_msg_size: EMSGSIZE); MBOX_IOC_RECV_BATCH: the buffer the
 *         message goes into, as read() fills it (the header first in
 *         header mode; too small: EMSGSIZE and the message stays).
 * @result (out): bytes sent, or bytes placed in @buf, for each entry the
 *         call reports done (unspecified for the others); ignored on
 *         input, so an array can be reused.
 */
struct mbox_batch_entry {
	__aligned_u64 buf;
	__u32 len;
	__u32 result;
};

/*
 * struct mbox_batch - several messages in one call (MBOX_IOC_SEND_BATCH,
 * MBOX_IOC_RECV_BATCH).  Each entry is one whole message with exactly the
 * semantics of one write() or read() on the same file: each sent message
 * is stamped on its own and gets its own seq; each received one is
 * dequeued (or leased, in ack mode) on its own.  A batch is not atomic:
 * other writers' and readers' messages may interleave with its entries.
 * Security modules check the file's permission once per call, as for one
 * write() or read().
 *
 * @entries:    user address of @count entries, @entry_size bytes apart.
 * @count:      1..MBOX_BATCH_MAX, else EINVAL.
 * @entry_size: sizeof(struct mbox_batch_entry) the caller was built with;
 *              smaller than the first published one or not a multiple of
 *              8: EINVAL; larger than 4096, or with nonzero bytes past
 *              what this kernel knows: E2BIG.
 * @flags, @reserved: must be 0 (EINVAL).
 *
 * The entries are done in order.  Only the first may wait (for room, for
 * a message), unless the file is O_NONBLOCK; the call stops at the first
 * later entry that would wait, that fails, or when a signal is pending.
 * It returns how many entries were done (>= 1), each with its @result
 * written (unless another thread unmapped the array meanwhile: then the
 * last one's may not be), or, when the first entry fails, that entry's
 * error as write() or read() would give it (EAGAIN, EMSGSIZE, EFAULT,
 * EINTR, ENOMEM, EDQUOT...).
 * The error that stopped a later entry is not reported: it recurs on the
 * next call, which starts with that entry.  Nothing is lost: an entry that
 * fails leaves its message unsent, or queued.
 * A file not open for writing (send) or reading (recv): EBADF.  An entry
 * or @result that cannot be read or written: EFAULT, checked before the
 * entry is acted on (unless another thread unmaps it meanwhile).
 */
struct mbox_batch {
	__aligned_u64 entries;
	__u32 count;
	__u32 entry_size;
	__u32 flags;
	__u32 reserved;
};

#define MBOX_BATCH_MAX		1024U

/*
 * The mbox filesystem (mount -t mbox NAME DIR): each mount is an instance
 * of named mailboxes, created through its node MBOX_CONTROL_NAME.
 */
#define MBOX_FS_MAGIC		0x6d626f78	/* "mbox" */
#define MBOX_NAME_MAX		255
#define MBOX_CONTROL_NAME	"mbox-control"

/*
 * struct mbox_create - make a named mailbox (MBOX_CTL_CREATE, on the
 * instance's MBOX_CONTROL_NAME node only).
 *
 * @flags:   MBOX_CREATE_*.
 * @mode:    permission bits (0..0777, else EINVAL); the umask applies.
 * @gid:     with MBOX_CREATE_GID, the group, in the caller's user
 *           namespace (EINVAL if unmapped in the instance's); one the
 *           caller is not in needs CAP_CHOWN (EPERM).  Else the
 *           caller's fsgid (the root's group if the root is set-gid).
 * @max_msg_size, @max_msgs, @max_bytes, @max_urgent, @max_urgent_bytes:
 *           the limits, as in struct mbox_limits; 0 takes the module's
 *           default.
 * @ino (out): the new mailbox's inode number.
 * @name:    1 to MBOX_NAME_MAX bytes, NUL-terminated within the array
 *           (else ENAMETOOLONG); empty, "." or ".." or with a '/':
 *           EINVAL.  Any other byte is allowed.
 * @reserved, @reserved2: 0.
 *
 * The owner is the caller's fsuid.  Creating needs write and search
 * permission on the instance's root (EACCES) and a writable mount of it
 * (a read-only one, a bind mount's too: EROFS); an existing name (the
 * control node's included) is EEXIST; then a caller who has created as
 * many mailboxes as the instance's user_max= or the module's
 * user_mailboxes allows (counting, like max=, removed ones still open:
 * each is charged to its creator until it is freed) gets EDQUOT, and an
 * instance holding max= mailboxes is ENOSPC.  On any error nothing is
 * created.  Like MBOX_IOC_FLUSH, @ino is checked writable
 * first: EFAULT means nothing was created, unless another thread
 * unmapped it meanwhile.
 */
struct mbox_create {
	__u32 flags;
	__u32 mode;
	__u32 gid;
	__u32 reserved;
	__u32 max_msg_size;
	__u32 max_msgs;
	__u64 max_bytes;
	__u32 max_urgent;
	__u32 reserved2;
	__u64 max_urgent_bytes;
	__u64 ino;
	char name[MBOX_NAME_MAX + 1];
};

#define MBOX_CREATE_GID		0x1U
#define MBOX_CREATE_ALL_FLAGS	(MBOX_CREATE_GID)

/*
 * The first published size of each structure: the smallest _IOC_SIZE() a
 * command accepts (one below is ENOTTY), whatever the structure's size now.
 */
#define MBOX_INFO_SIZE_VER0		96
#define MBOX_LIMITS_SIZE_VER0		24
#define MBOX_MSG_HEADER_SIZE_VER0	72
#define MBOX_MODE_SIZE_VER0		8
#define MBOX_FLUSH_SIZE_VER0		32
#define MBOX_URGENT_SIZE_VER0		56
#define MBOX_ACK_SIZE_VER0		16
#define MBOX_BATCH_SIZE_VER0		24
#define MBOX_BATCH_ENTRY_SIZE_VER0	16	/* struct mbox_batch_entry: @entry_size */
#define MBOX_CREATE_SIZE_VER0		312

/*
 * Commands.  Besides these, FIONREAD gives the number of bytes the next
 * read() needs (header included in header mode), 0 when empty; like
 * MBOX_IOC_PEEK it needs a file open for reading (EBADF), so that writers
 * learn nothing about others' messages.  poll()
 * reports EPOLLIN (EPOLLPRI with an urgent message queued) on a file open
 * for reading when a message is queued, except for a file in ack mode
 * holding max_inflight leases (MBOX_IOC_SET_MODE raising max_inflight or
 * leaving ack mode wakes the pollers).
 *
 * EPOLLOUT, on a file open for writing: no writer is blocked and a
 * message of N bytes fits, where N is the size of this open file's last
 * write() (or batch entry) that failed with EAGAIN, or 1 if a write has
 * succeeded since (or none failed).  So the loop "write until EAGAIN, then
 * wait for EPOLLOUT" never stalls: EPOLLOUT comes as soon as the write
 * that failed would succeed, and not before.  Like a datagram socket's,
 * it is a statement about one size: a writer that then writes a larger
 * message may get EAGAIN again (and then waits for that size), and
 * several threads sharing one open file description share N.  Messages
 * of max_msg_size or less always fit an empty mailbox.
 *
 * MBOX_IOC_PEEK: the next message's header without dequeuing it; ENOMSG
 * when the mailbox is empty.  Needs a file open for reading (EBADF).
 */
#define MBOX_IOC_GET_INFO	_IOR(MBOX_IOC_MAGIC, 0x01, struct mbox_info)
#define MBOX_IOC_SET_LIMITS	_IOW(MBOX_IOC_MAGIC, 0x02, struct mbox_limits)
#define MBOX_IOC_PEEK		_IOR(MBOX_IOC_MAGIC, 0x03, struct mbox_msg_header)
#define MBOX_IOC_SET_MODE	_IOW(MBOX_IOC_MAGIC, 0x04, struct mbox_mode)
#define MBOX_IOC_GET_MODE	_IOR(MBOX_IOC_MAGIC, 0x05, struct mbox_mode)
#define MBOX_IOC_FLUSH		_IOWR(MBOX_IOC_MAGIC, 0x06, struct mbox_flush)
#define MBOX_IOC_SEND_URGENT	_IOWR(MBOX_IOC_MAGIC, 0x07, struct mbox_urgent)
#define MBOX_IOC_ACK		_IOW(MBOX_IOC_MAGIC, 0x08, struct mbox_ack)
#define MBOX_IOC_NACK		_IOW(MBOX_IOC_MAGIC, 0x09, struct mbox_ack)
#define MBOX_IOC_SEND_BATCH	_IOW(MBOX_IOC_MAGIC, 0x0A, struct mbox_batch)
#define MBOX_IOC_RECV_BATCH	_IOW(MBOX_IOC_MAGIC, 0x0B, struct mbox_batch)

/* On an instance's control node only; a mailbox's are ENOTTY there. */
#define MBOX_CTL_CREATE		_IOWR(MBOX_IOC_MAGIC, 0x20, struct mbox_create)

#endif /* _UAPI_LINUX_MBOX_H */
