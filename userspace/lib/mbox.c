// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmbox: the mailbox calls.  Thin wrappers over read/write/ioctl that
 * return negative errno values, plus timeouts done with poll().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>

#include "mbox.h"

/* A timed send retries at least this often (see mbox_send() in mbox.h). */
#define SEND_RETRY_MS	100

const char *mbox_version(void)
{
	return MBOX_VERSION;
}

static int is_index(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* "mbox" and digits: a fixed device's name, as in /dev/mbox3. */
static int is_device_name(const char *s)
{
	return !strncmp(s, "mbox", 4) && is_index(s + 4);
}

/*
 * The directory bare names live in.  secure_getenv(): a set-uid caller
 * must not be pointed at another instance by whoever runs it.
 */
static const char *named_dir(void)
{
	const char *dir = secure_getenv("MBOX_DIR");

	return dir && *dir ? dir : MBOX_DEFAULT_DIR;
}

int mbox_path(const char *name, char *buf, size_t size)
{
	int n;

	if (!name || !*name)
		return -EINVAL;
	if (strchr(name, '/'))
		n = snprintf(buf, size, "%s", name);
	else if (is_index(name))
		n = snprintf(buf, size, "/dev/mbox%s", name);
	else if (is_device_name(name))
		n = snprintf(buf, size, "/dev/%s", name);
	else
		n = snprintf(buf, size, "%s/%s", named_dir(), name);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * A named mailbox's @path ("DIR/NAME", or a bare NAME in named_dir()):
 * its instance's root opened O_PATH into *@dirfd, after checking that it
 * is one (-ENOTTY, nothing else done), and where NAME starts into *@name.
 * -EINVAL for an empty path or NAME.
 */
static int open_instance(const char *path, char *buf, size_t size,
			 int *dirfd, const char **name)
{
	struct statfs sf;
	char *slash;
	int n, fd;

	if (!path || !*path)
		return -EINVAL;
	if (strchr(path, '/'))
		n = snprintf(buf, size, "%s", path);
	else
		n = snprintf(buf, size, "%s/%s", named_dir(), path);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	slash = strrchr(buf, '/');
	if (!slash[1])
		return -EINVAL;
	*name = slash + 1;
	/* "/NAME": the directory is "/". */
	if (slash == buf)
		fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	else {
		*slash = '\0';
		fd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	/* Checked on the descriptor that is then used: no race with a mount. */
	if (fstatfs(fd, &sf)) {
		n = -errno;
		close(fd);
		return n;
	}
	if (sf.f_type != MBOX_FS_MAGIC) {
		close(fd);
		return -ENOTTY;
	}
	*dirfd = fd;
	return 0;
}

int mbox_create(const char *path, unsigned int mode, gid_t group,
		const struct mbox_limits *limits)
{
	struct mbox_create req = { .mode = mode };
	char buf[PATH_MAX];
	const char *name;
	int dirfd, ctl, ret;

	ret = open_instance(path, buf, sizeof(buf), &dirfd, &name);
	if (ret)
		return ret;
	/* The kernel would say the same of a name without a NUL in the array. */
	if (strlen(name) > MBOX_NAME_MAX) {
		close(dirfd);
		return -ENAMETOOLONG;
	}
	strcpy(req.name, name);
	if (group != (gid_t)-1) {
		req.flags |= MBOX_CREATE_GID;
		req.gid = group;
	}
	if (limits) {
		req.max_msg_size = limits->max_msg_size;
		req.max_msgs = limits->max_msgs;
		req.max_bytes = limits->max_bytes;
		req.max_urgent = limits->max_urgent;
		req.max_urgent_bytes = limits->max_urgent_bytes;
	}
	ctl = openat(dirfd, MBOX_CONTROL_NAME, O_RDWR | O_CLOEXEC | O_NOCTTY);
	ret = ctl < 0 ? -errno : 0;
	close(dirfd);
	if (ret)
		return ret;
	if (ioctl(ctl, MBOX_CTL_CREATE, &req))
		ret = -errno;
	close(ctl);
	return ret;
}

int mbox_remove(const char *path)
{
	char buf[PATH_MAX];
	const char *name;
	struct stat st;
	int dirfd, ret;

	ret = open_instance(path, buf, sizeof(buf), &dirfd, &name);
	if (ret)
		return ret;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		ret = -errno;
	else if (!strcmp(name, MBOX_CONTROL_NAME))
		ret = -EPERM;
	else if (!S_ISCHR(st.st_mode))
		ret = -ENOTTY;
	else if (unlinkat(dirfd, name, 0))
		ret = -errno;
	close(dirfd);
	return ret;
}

int mbox_set_header_mode(int fd, int on)
{
	struct mbox_mode mode;

	if (ioctl(fd, MBOX_IOC_GET_MODE, &mode))
		return -errno;
	if (on)
		mode.flags |= MBOX_MODE_HEADER;
	else
		mode.flags &= ~MBOX_MODE_HEADER;
	/* max_inflight must be 0 unless in ack mode. */
	if (!(mode.flags & MBOX_MODE_ACK))
		mode.max_inflight = 0;
	if (ioctl(fd, MBOX_IOC_SET_MODE, &mode))
		return -errno;
	return 0;
}

int mbox_open(const char *name, int flags)
{
	struct mbox_mode mode;
	char path[PATH_MAX];
	struct stat st;
	int fd, ret;

	if (flags & ~(O_ACCMODE | O_NONBLOCK | O_CLOEXEC))
		return -EINVAL;
	ret = mbox_path(name, path, sizeof(path));
	if (ret)
		return ret;
	/*
	 * Never open what cannot be a mailbox: a name may come from someone
	 * else (a request's reply address), and opening a FIFO or a regular
	 * file for writing on their say-so is a confused deputy.
	 */
	if (stat(path, &st))
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENOTTY;
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* Readers get header mode; writers only prove it is a mailbox. */
	if ((flags & O_ACCMODE) != O_WRONLY)
		ret = mbox_set_header_mode(fd, 1);
	else
		ret = mbox_get_mode(fd, &mode);
	if (ret) {
		/* Not a mailbox (ENOTTY), or gone: say so, leak nothing. */
		close(fd);
		return ret;
	}
	return fd;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait for @events until @deadline (CLOCK_MONOTONIC ms), at most @slice_ms
 * at a time (-1: no slice).  0 when ready or the slice ended, -ETIMEDOUT
 * at the deadline, -EINTR or another negative errno from poll().
 */
static int wait_fd(int fd, short events, int64_t deadline, int slice_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left = deadline - now_ms();
	int ret;

	if (left <= 0)
		return -ETIMEDOUT;
	if (slice_ms >= 0 && left > slice_ms)
		left = slice_ms;
	ret = poll(&p, 1, (int)left);
	if (ret < 0)
		return -errno;
	if (ret == 1 && (p.revents & (POLLERR | POLLNVAL)))
		return p.revents & POLLNVAL ? -EBADF : -EIO;
	return 0;
}

ssize_t mbox_sendv(int fd, const struct iovec *iov, int iovcnt,
		   int timeout_ms)
{
	int64_t deadline;
	ssize_t n;
	int ret;

	if (timeout_ms < 0) {
		n = writev(fd, iov, iovcnt);
		return n < 0 ? -errno : n;
	}
	deadline = now_ms() + timeout_ms;
	for (;;) {
		/* RWF_NOWAIT: never block, even on a blocking descriptor. */
		n = pwritev2(fd, iov, iovcnt, -1, RWF_NOWAIT);
		if (n >= 0)
			return n;
		if (errno != EAGAIN)
			return -errno;
		if (!timeout_ms)
			return -EAGAIN;
		ret = wait_fd(fd, POLLOUT, deadline, SEND_RETRY_MS);
		if (ret == -ETIMEDOUT) {
			/* One last try, so the full timeout was really given. */
			n = pwritev2(fd, iov, iovcnt, -1, RWF_NOWAIT);
			if (n >= 0)
				return n;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (ret)
			return ret;
	}
}

ssize_t mbox_send(int fd, const void *buf, size_t len, int timeout_ms)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return mbox_sendv(fd, &iov, 1, timeout_ms);
}

/*
 * What a header-mode read of @n bytes returns says how long it is;
 * anything else (a file not in header mode) is refused rather than trusted.
 */
static int header_ok(const struct mbox_msg_header *hdr, size_t n)
{
	return n >= sizeof(*hdr) && hdr->hdr_size >= sizeof(*hdr) &&
	       hdr->hdr_size <= n && n - hdr->hdr_size == hdr->size;
}

/* One header-mode read of at most @size payload bytes, waiting as told. */
static ssize_t recv_once(int fd, struct mbox_msg_header *hdr, void *buf,
			 size_t size, int timeout_ms)
{
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(*hdr) },
		{ .iov_base = buf, .iov_len = size },
	};
	int64_t deadline = 0;
	ssize_t n;
	int ret;

	if (timeout_ms > 0)
		deadline = now_ms() + timeout_ms;
	for (;;) {
		if (timeout_ms < 0)
			n = readv(fd, iov, 2);
		else
			n = preadv2(fd, iov, 2, -1, RWF_NOWAIT);
		if (n >= 0)
			break;
		if (errno != EAGAIN || timeout_ms < 0)
			return -errno;
		if (!timeout_ms)
			return -EAGAIN;
		/* POLLIN is exact for readers: no slice needed. */
		ret = wait_fd(fd, POLLIN, deadline, -1);
		if (ret)
			return ret;
	}
	if (!header_ok(hdr, n))
		return -EPROTO;
	n -= hdr->hdr_size;
	/*
	 * A newer kernel's longer header spilled into @buf: its fields are
	 * unknown to us, so drop them and move the payload into place.
	 */
	if (hdr->hdr_size > sizeof(*hdr)) {
		size_t extra = hdr->hdr_size - sizeof(*hdr);

		memmove(buf, (char *)buf + extra, n);
	}
	return n;
}

ssize_t mbox_recv(int fd, struct mbox_msg_header *hdr, void *buf,
		  size_t size, int timeout_ms)
{
	struct mbox_msg_header local;

	return recv_once(fd, hdr ? hdr : &local, buf, size, timeout_ms);
}

/* Batches up to this size keep their entries on the stack. */
#define BATCH_STACK	64

static int batch_ioctl(int fd, unsigned long cmd,
		       struct mbox_batch_entry *e, unsigned int count)
{
	struct mbox_batch b = {
		.entries = (uintptr_t)e,
		.count = count,
		.entry_size = sizeof(*e),
	};
	int n = ioctl(fd, cmd, &b);

	return n < 0 ? -errno : n;
}

/*
 * Entries for @count buffers, on @stack when they fit, else from malloc()
 * (NULL when that fails).  No buffer comes near 4 GiB: a larger one is
 * as good as UINT32_MAX.
 */
static struct mbox_batch_entry *batch_entries(struct mbox_batch_entry *stack,
					      const struct iovec *iov,
					      unsigned int count)
{
	struct mbox_batch_entry *e = stack;
	unsigned int i;

	if (count > BATCH_STACK) {
		e = malloc(count * sizeof(*e));
		if (!e)
			return NULL;
	}
	for (i = 0; i < count; i++) {
		e[i].buf = (uintptr_t)iov[i].iov_base;
		e[i].len = iov[i].iov_len > UINT32_MAX ? UINT32_MAX :
			   iov[i].iov_len;
		e[i].result = 0;
	}
	return e;
}

int mbox_send_batch(int fd, const struct iovec *msgs, unsigned int count)
{
	struct mbox_batch_entry stack[BATCH_STACK], *e;
	unsigned int i;
	int ret;

	if (count > MBOX_BATCH_MAX)
		count = MBOX_BATCH_MAX;
	/*
	 * A length an entry cannot carry ends the batch before it, so that
	 * the next call, starting there, reports it.
	 */
	for (i = 0; i < count; i++)
		if (msgs[i].iov_len > UINT32_MAX)
			break;
	if (count && !i)
		return -EMSGSIZE;
	count = i;
	e = batch_entries(stack, msgs, count);
	if (!e)
		return -ENOMEM;
	ret = batch_ioctl(fd, MBOX_IOC_SEND_BATCH, e, count);
	if (e != stack)
		free(e);
	return ret;
}

int mbox_recv_batch(int fd, struct mbox_msg_header *hdrs,
		    const struct iovec *bufs, size_t *lens,
		    unsigned int count)
{
	struct mbox_batch_entry stack[BATCH_STACK], *e;
	struct mbox_msg_header h;
	unsigned int i;
	int ret;

	if (count > MBOX_BATCH_MAX)
		count = MBOX_BATCH_MAX;
	e = batch_entries(stack, bufs, count);
	if (!e)
		return -ENOMEM;
	ret = batch_ioctl(fd, MBOX_IOC_RECV_BATCH, e, count);
	for (i = 0; ret > 0 && i < (unsigned int)ret; i++) {
		char *buf = bufs[i].iov_base;

		/* The buffer need not be aligned for the structure. */
		if (e[i].result >= sizeof(h))
			memcpy(&h, buf, sizeof(h));
		if (!header_ok(&h, e[i].result)) {
			ret = -EPROTO;
			break;
		}
		/* The payload follows the header, however long that is. */
		memmove(buf, buf + h.hdr_size, h.size);
		lens[i] = h.size;
		if (hdrs)
			hdrs[i] = h;
	}
	if (e != stack)
		free(e);
	return ret;
}

ssize_t mbox_pending(int fd)
{
	int n;

	if (ioctl(fd, FIONREAD, &n))
		return -errno;
	return n;
}

ssize_t mbox_recv_alloc(int fd, struct mbox_msg_header *hdr, void **bufp,
			size_t *sizep, int timeout_ms)
{
	struct mbox_msg_header local;
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	int wait = timeout_ms;
	ssize_t n, need;

	if (!hdr)
		hdr = &local;
	for (;;) {
		n = recv_once(fd, hdr, *bufp, *sizep, wait);
		if (n != -EMSGSIZE)
			return n;
		/*
		 * Grow to what the next message needs and retry: an urgent
		 * message may have jumped ahead meanwhile, so loop.
		 */
		need = mbox_pending(fd);
		if (need < 0)
			return need;
		if ((size_t)need > *sizep) {
			void *p = realloc(*bufp, need);

			if (!p)
				return -ENOMEM;
			*bufp = p;
			*sizep = need;
		}
		/* need == 0: another reader took it; wait for the next. */
		if (timeout_ms > 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			wait = (int)left;
		}
	}
}

int mbox_peek(int fd, struct mbox_msg_header *hdr)
{
	return ioctl(fd, MBOX_IOC_PEEK, hdr) ? -errno : 0;
}

int mbox_flush(int fd, unsigned int flags, __u64 up_to_seq,
	       struct mbox_flush *result)
{
	struct mbox_flush f = { .flags = flags, .up_to_seq = up_to_seq };

	if (ioctl(fd, MBOX_IOC_FLUSH, &f))
		return -errno;
	if (result)
		*result = f;
	return 0;
}

int mbox_send_urgent(int fd, const void *buf, size_t len,
		     struct mbox_urgent *opt)
{
	struct mbox_urgent u = { 0 };

	if (opt)
		u = *opt;
	if (len > UINT32_MAX)
		return -EMSGSIZE;
	u.buf = (uintptr_t)buf;
	u.len = len;
	if (ioctl(fd, MBOX_IOC_SEND_URGENT, &u))
		return -errno;
	if (opt)
		*opt = u;
	return 0;
}

int mbox_info(int fd, struct mbox_info *info)
{
	return ioctl(fd, MBOX_IOC_GET_INFO, info) ? -errno : 0;
}

int mbox_set_limits(int fd, const struct mbox_limits *limits)
{
	return ioctl(fd, MBOX_IOC_SET_LIMITS, limits) ? -errno : 0;
}

int mbox_get_mode(int fd, struct mbox_mode *mode)
{
	return ioctl(fd, MBOX_IOC_GET_MODE, mode) ? -errno : 0;
}

int mbox_set_mode(int fd, const struct mbox_mode *mode)
{
	return ioctl(fd, MBOX_IOC_SET_MODE, mode) ? -errno : 0;
}

static int ack_ioctl(int fd, unsigned long cmd, __u64 seq, unsigned int flags)
{
	struct mbox_ack a = { .seq = seq, .flags = flags };

	return ioctl(fd, cmd, &a) ? -errno : 0;
}

int mbox_ack(int fd, __u64 seq, unsigned int flags)
{
	return ack_ioctl(fd, MBOX_IOC_ACK, seq, flags);
}

int mbox_nack(int fd, __u64 seq, unsigned int flags)
{
	return ack_ioctl(fd, MBOX_IOC_NACK, seq, flags);
}

int mbox_format_flags(unsigned int flags, char *buf, size_t size)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ MBOX_MSG_CRED_MISMATCH, "cred_mismatch" },
		{ MBOX_MSG_URGENT, "urgent" },
		{ MBOX_MSG_REDELIVERED, "redelivered" },
	};
	size_t len = 0, i;
	int n;

	if (size)
		buf[0] = '\0';
	if (!flags)
		return snprintf(buf, size, "-");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		flags &= ~names[i].bit;
		n = snprintf(buf + (len < size ? len : size),
			     len < size ? size - len : 0, "%s%s",
			     len ? "," : "", names[i].name);
		len += n;
	}
	/* Bits from a newer kernel still show up. */
	if (flags) {
		n = snprintf(buf + (len < size ? len : size),
			     len < size ? size - len : 0, "%s0x%x",
			     len ? "," : "", flags);
		len += n;
	}
	return (int)len;
}

int mbox_format_header(const struct mbox_msg_header *h, char *buf,
		       size_t size)
{
	char flags[96];
	struct tm tm;
	time_t secs = (time_t)(h->time_ns / 1000000000ULL);
	char when[32] = "?";

	if (gmtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	mbox_format_flags(h->flags, flags, sizeof(flags));
	return snprintf(buf, size,
			"seq=%llu time=%s.%09lluZ pid=%d tid=%d uid=%u gid=%u opener_uid=%u opener_gid=%u flags=%s delivery=%u size=%u",
			(unsigned long long)h->seq, when,
			(unsigned long long)(h->time_ns % 1000000000ULL),
			h->pid, h->tid, h->uid, h->gid, h->opener_uid,
			h->opener_gid, flags, h->delivery_count, h->size);
}

int mbox_fprint_header(FILE *f, const struct mbox_msg_header *hdr)
{
	char line[512];
	int n = mbox_format_header(hdr, line, sizeof(line));

	if (fprintf(f, "%s\n", line) < 0)
		return -EIO;
	return n;
}
