// SPDX-License-Identifier: GPL-2.0
/*
 * Out-of-band abort, end to end.  A client floods a server's mailbox with
 * slow requests, changes its mind, and in one ioctl flushes everything it
 * sent and sends an urgent "abort" that jumps the queue.  The server, which
 * polls for EPOLLPRI besides EPOLLIN, notices the abort before the next
 * request and reports how long that took.
 *
 *   oob_abort [/dev/mboxN]      (default /dev/mbox0; needs the module)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/mbox.h>

#define REQUESTS	500
#define WORK_US		2000	/* what one request costs the server */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void die(const char *what, const char *dev)
{
	fprintf(stderr, "oob_abort: %s: %s: %s%s\n", dev, what, strerror(errno),
		errno == ENOENT ? " (is the module loaded? try 'mbox load')" : "");
	exit(1);
}

/* Serve requests until the urgent abort arrives; returns requests served. */
static int serve(int fd, const char *dev)
{
	struct mbox_mode mode = { .flags = MBOX_MODE_HEADER };
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI };
	char buf[sizeof(struct mbox_msg_header) + 256];
	struct mbox_msg_header *hdr = (void *)buf;
	int served = 0;

	if (ioctl(fd, MBOX_IOC_SET_MODE, &mode))
		die("MBOX_IOC_SET_MODE", dev);
	for (;;) {
		ssize_t n;

		if (poll(&p, 1, -1) < 0)
			die("poll", dev);
		/* Urgent messages are read first, so one read() gets it. */
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			die("read", dev);
		if (hdr->flags & MBOX_MSG_URGENT) {
			printf("server: urgent '%.*s' from pid %d (uid %u) after %d requests, noticed %.3f ms after it was sent\n",
			       (int)hdr->size, buf + hdr->hdr_size, hdr->pid,
			       hdr->uid, served,
			       (now_ns() - hdr->time_ns) / 1e6);
			return served;
		}
		usleep(WORK_US);
		served++;
	}
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/mbox0";
	struct mbox_flush fl = { 0 };
	struct mbox_urgent u = { 0 };
	const char *why = "abort: user cancelled";
	int sfd, cfd, status, i;
	pid_t server;

	/* Line by line, so the server's report survives its _exit(). */
	setvbuf(stdout, NULL, _IOLBF, 0);
	sfd = open(dev, O_RDONLY);
	if (sfd < 0)
		die("open", dev);
	/* Start from an empty mailbox; we are its consumer. */
	if (ioctl(sfd, MBOX_IOC_FLUSH, &fl))
		die("MBOX_IOC_FLUSH", dev);

	server = fork();
	if (server < 0)
		die("fork", dev);
	if (server == 0)
		_exit(serve(sfd, dev) < REQUESTS ? 0 : 2);

	cfd = open(dev, O_WRONLY);
	if (cfd < 0)
		die("open", dev);
	for (i = 0; i < REQUESTS; i++) {
		char req[32];
		int len = snprintf(req, sizeof(req), "request %d", i);

		if (write(cfd, req, len) != len)
			die("write", dev);
	}
	printf("client: queued %d requests of %d us each\n", REQUESTS, WORK_US);
	usleep(50 * WORK_US);

	u.buf = (uintptr_t)why;
	u.len = strlen(why);
	u.flags = MBOX_URGENT_FLUSH;
	u.flush_flags = MBOX_FLUSH_MINE;
	if (ioctl(cfd, MBOX_IOC_SEND_URGENT, &u))
		die("MBOX_IOC_SEND_URGENT", dev);
	printf("client: flushed %llu pending requests (%llu bytes) and sent the abort as seq %llu\n",
	       (unsigned long long)u.flushed_msgs,
	       (unsigned long long)u.flushed_bytes,
	       (unsigned long long)u.seq);

	if (waitpid(server, &status, 0) != server || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "oob_abort: the server did not stop at the abort\n");
		return 1;
	}
	printf("done: nothing left queued: %s\n",
	       ioctl(sfd, MBOX_IOC_PEEK, &(struct mbox_msg_header){ 0 }) &&
	       errno == ENOMSG ? "yes" : "no");
	return 0;
}
