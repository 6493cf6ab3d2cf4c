/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmbox: a small C library for the /dev/mboxN mailboxes.
 *
 * Conventions, for every function below:
 *  - Errors are returned as negative errno values (-ENOENT, -EAGAIN, ...);
 *    errno itself is left as the system calls set it.  Nothing is printed.
 *  - No global state: every call works on the file descriptor or the
 *    structures it is given, so the library is as thread-safe as the
 *    descriptors the caller shares between threads.
 *  - Timeouts are in milliseconds: -1 waits as the descriptor says (blocking
 *    unless it was opened with O_NONBLOCK), 0 never waits (-EAGAIN), a
 *    positive value waits at most that long (-ETIMEDOUT).  Timed waits
 *    are done with poll(), which a signal ends with -EINTR; with -1 a
 *    signal acts as on read() and write() (-EINTR, or a restart under
 *    SA_RESTART).
 *
 * The device contract (message sizes, limits, credentials, errors) is in
 * <linux/mbox.h> and mbox(4); this library adds no semantics of its own.
 */
#ifndef LIBMBOX_H
#define LIBMBOX_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/mbox.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, "MAJOR.MINOR.PATCH"; the soname follows MAJOR. */
const char *mbox_version(void);

/* Where bare names of named mailboxes live unless $MBOX_DIR says. */
#define MBOX_DEFAULT_DIR	"/dev/mbox"

/*
 * Open a mailbox.  @name is a path (anything containing a '/', used as
 * is), an index ("0": /dev/mbox0), a device name ("mbox0": /dev/mbox0),
 * or any other name NAME of a named mailbox: $MBOX_DIR/NAME, by default
 * /dev/mbox/NAME ($MBOX_DIR is ignored in set-uid programs).  So a named
 * mailbox called "3" or "mbox3" is reached by its path only.  @flags are
 * open(2)'s access mode and O_NONBLOCK; O_CLOEXEC is always added.  A file
 * opened for reading is switched to header mode (MBOX_MODE_HEADER), which
 * mbox_recv() needs.  Returns the descriptor or a negative errno (-ENOENT:
 * no such mailbox, is the module loaded or the instance mounted?;
 * -EACCES: the node's permissions; -ENOTTY: not a mailbox, and then
 * nothing was opened unless it is a character device, which is closed
 * again).
 */
int mbox_open(const char *name, int flags);

/* Resolve @name as mbox_open() does into @buf; -ENAMETOOLONG if too small. */
int mbox_path(const char *name, char *buf, size_t size);

/*
 * Named mailboxes (symbol version LIBMBOX_1.2), in an instance of the mbox
 * filesystem (mount -t mbox mbox /dev/mbox).  @path is "DIR/NAME", DIR
 * being the instance, or a bare NAME without '/': $MBOX_DIR/NAME, as for
 * mbox_open() but also when NAME is a number or "mboxN".
 *
 * mbox_create() makes one through DIR's mbox-control node
 * (MBOX_CTL_CREATE): permission bits @mode (0..0777, the umask applies),
 * group @group ((gid_t)-1: the caller's fsgid, or the root's group if the
 * root is set-gid), @limits (NULL, or a field 0: the module's default).
 * mbox_remove() unlinks one; open descriptors keep working until closed.
 * Both return 0 or a negative errno: -ENOTTY when DIR is not an mbox
 * instance (then nothing else is done) and, for mbox_remove(), when NAME
 * is not a mailbox; -ENOENT (no DIR, or no NAME to remove), -EEXIST,
 * -EINVAL (bad mode, limits or NAME: empty, "." or ".."), -ENAMETOOLONG
 * (NAME over MBOX_NAME_MAX bytes), -ENOSPC (the instance's max=), -EDQUOT
 * (a per-user quota of the instance), -EACCES (no write permission on
 * DIR), -EPERM (a group the caller is not in without CAP_CHOWN; removing
 * mbox-control, or another user's mailbox under the sticky root), -EROFS.
 */
int mbox_create(const char *path, unsigned int mode, gid_t group,
		const struct mbox_limits *limits);
int mbox_remove(const char *path);

/* Header mode on or off, for descriptors not opened with mbox_open(). */
int mbox_set_header_mode(int fd, int on);

/*
 * Send one message of @len bytes (mbox_sendv: the concatenation of @iov).
 * Returns the bytes sent, all of them, or a negative errno: -EMSGSIZE
 * (larger than max_msg_size), -EAGAIN or -ETIMEDOUT (the mailbox stayed
 * full), -EINTR, -EDQUOT (the caller's queued messages hold a per-user
 * quota: returned at once, whatever the timeout, since only reading or
 * flushing them, MBOX_FLUSH_MINE, frees it).  Whatever the error, nothing
 * was queued.  A timed send
 * waits until a message of max_msg_size would fit (what poll() reports)
 * and retries at least every 100 ms, so a smaller message is never kept
 * waiting much longer than it must.
 */
ssize_t mbox_send(int fd, const void *buf, size_t len, int timeout_ms);
ssize_t mbox_sendv(int fd, const struct iovec *iov, int iovcnt,
		   int timeout_ms);

/*
 * Receive one message: its header into @hdr (may be NULL) and its payload
 * into @buf.  Returns the payload length or a negative errno: -EMSGSIZE
 * when @size is too small (the message stays queued; hdr->size is not
 * known then, use mbox_recv_alloc() or mbox_pending()), -EAGAIN,
 * -ETIMEDOUT, -EINTR, -EFAULT.  The file must be in header mode: on a file
 * that is not, the message is consumed and -EPROTO returned.
 */
ssize_t mbox_recv(int fd, struct mbox_msg_header *hdr, void *buf,
		  size_t size, int timeout_ms);

/*
 * Like mbox_recv(), but sizes the buffer itself: *@bufp (NULL or from
 * malloc) is grown with realloc() to fit the payload and *@sizep updated.
 * The caller frees *@bufp.  On error *@bufp stays valid.
 */
ssize_t mbox_recv_alloc(int fd, struct mbox_msg_header *hdr, void **bufp,
			size_t *sizep, int timeout_ms);

/*
 * Several messages in one system call (MBOX_IOC_SEND_BATCH and
 * MBOX_IOC_RECV_BATCH).  Each message is exactly what one mbox_send() or
 * mbox_recv() would have sent or received: stamped, sequenced, dequeued on
 * its own.  At most MBOX_BATCH_MAX messages go per call: a larger @count
 * is capped, and the return value says how many were done.  Only the
 * first message may wait, and it waits as the descriptor says (blocking
 * unless O_NONBLOCK; there is no timeout: for one, poll() first on an
 * O_NONBLOCK descriptor); the call stops early at a later message that
 * would wait or fail, or at a signal.
 * Both return how many messages were done (>= 1), or the first one's
 * error, as mbox_send() or mbox_recv() gives it (-EAGAIN, -EMSGSIZE,
 * -EINTR, -EFAULT, -EBADF, -EDQUOT; -EINVAL for a @count of 0; -ENOTTY from a
 * kernel without batches); the error that stopped a later message comes
 * back from the next call, which starts with it.  Nothing is lost: what
 * was not done is still unsent, or still queued.
 *
 * mbox_send_batch() sends @msgs[i] as one message each (a message longer
 * than 4 GiB - 1 is -EMSGSIZE without asking the kernel).
 *
 * mbox_recv_batch() receives message i into @bufs[i]: its payload at the
 * start of the buffer, its length into @lens[i], its header into @hdrs[i]
 * (@hdrs may be NULL).  The kernel delivers header and payload together,
 * so each buffer needs room for both: bufs[i].iov_len bytes take a payload
 * of up to iov_len - sizeof(struct mbox_msg_header); a message that does
 * not fit is -EMSGSIZE and stays queued.  The file must be in header mode,
 * as for mbox_recv(): else the messages are consumed and -EPROTO returned.
 * Batches of more than 64 messages take a temporary array from malloc():
 * -ENOMEM.
 */
int mbox_send_batch(int fd, const struct iovec *msgs, unsigned int count);
int mbox_recv_batch(int fd, struct mbox_msg_header *hdrs,
		    const struct iovec *bufs, size_t *lens,
		    unsigned int count);

/* Bytes the next read() needs (FIONREAD), header included in header mode. */
ssize_t mbox_pending(int fd);

/* The next message's header without dequeuing it; -ENOMSG when empty. */
int mbox_peek(int fd, struct mbox_msg_header *hdr);

/*
 * Remove queued messages (MBOX_FLUSH_* in @flags, see struct mbox_flush);
 * what was removed goes to @result when not NULL.
 */
int mbox_flush(int fd, unsigned int flags, __u64 up_to_seq,
	       struct mbox_flush *result);

/*
 * Send an urgent message.  @opt (may be NULL) carries the flags,
 * flush_flags and up_to_seq to use (MBOX_URGENT_FLUSH for the atomic
 * flush-and-send) and gets the results back: seq, flushed_msgs,
 * flushed_bytes.  Its buf and len are set from @buf and @len.  -EAGAIN
 * when the urgent reserve (max_urgent, max_urgent_bytes) is full, -EDQUOT
 * over a per-user quota; either way nothing was sent or flushed.
 */
int mbox_send_urgent(int fd, const void *buf, size_t len,
		     struct mbox_urgent *opt);

int mbox_info(int fd, struct mbox_info *info);
int mbox_set_limits(int fd, const struct mbox_limits *limits);
int mbox_get_mode(int fd, struct mbox_mode *mode);
int mbox_set_mode(int fd, const struct mbox_mode *mode);

/* Acknowledge or hand back leased messages (MBOX_ACK_UP_TO in @flags). */
int mbox_ack(int fd, __u64 seq, unsigned int flags);
int mbox_nack(int fd, __u64 seq, unsigned int flags);

/*
 * Describe a header on one line ("seq=4 time=... pid=... flags=urgent ...")
 * like snprintf(): returns the length it needed, writes at most @size bytes.
 */
int mbox_format_header(const struct mbox_msg_header *hdr, char *buf,
		       size_t size);
/* The MBOX_MSG_* bits of @flags as "urgent,redelivered" ("-" for none). */
int mbox_format_flags(unsigned int flags, char *buf, size_t size);
int mbox_fprint_header(FILE *f, const struct mbox_msg_header *hdr);

/*
 * The module, through libkmod.
 *
 * mbox_module_load() inserts the module file @ko_path with @params
 * ("nr_mailboxes=8 max_msg_size=4096", may be NULL).
 * mbox_module_load_by_name() finds "mbox" in @module_dir (NULL:
 * /lib/modules/$(uname -r)) through its modules.dep, as modprobe does.
 * Both return -EEXIST when the module is loaded already, -EINVAL for a
 * parameter the module does not have (the kernel would ignore it) or a bad
 * value, -ENOENT when the module file is missing, -EPERM without
 * CAP_SYS_MODULE.
 * mbox_module_unload() refuses with -EBUSY while a mailbox is open, and
 * returns -ENOENT when the module is not loaded.
 */
int mbox_module_load(const char *ko_path, const char *params);
int mbox_module_load_by_name(const char *module_dir, const char *params);
int mbox_module_unload(void);

struct mbox_module_status {
	int loaded;		/* 1 when live, 0 when not loaded */
	int refcount;		/* open files and other users */
	char version[32];	/* MODULE_VERSION, "" if unknown */
	/* The parameters in effect (the defaults of new mailboxes). */
	unsigned int nr_mailboxes;
	unsigned int max_msg_size;
	unsigned int max_msgs;
	unsigned long long max_bytes;
	unsigned int max_urgent;
};

/* Fills @st; a module that is not loaded is not an error (loaded = 0). */
int mbox_module_status(struct mbox_module_status *st);

#ifdef __cplusplus
}
#endif

#endif /* LIBMBOX_H */
