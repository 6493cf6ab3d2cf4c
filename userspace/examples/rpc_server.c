// SPDX-License-Identifier: GPL-2.0
/*
 * A request/response server on a mailbox, with libmbox.
 *
 *   rpc_server [REQUEST_DEV]        (default /dev/mbox0)
 *
 * Each request is one message "REPLY_DEV ID VERB [ARG...]"; the answer goes
 * to mailbox REPLY_DEV ("N" or "mboxN", nothing else) as one message
 * "ID ok RESULT" or "ID error WHY".
 * Verbs: upper TEXT, add N..., whoami, quit.
 *
 * The server never trusts what a request says about its sender: whoami
 * answers from the credentials the kernel stamped on the message, and quit
 * is obeyed only from the server's own uid, and only when the writer's
 * identity matches its file's opener (no MBOX_MSG_CRED_MISMATCH).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mbox.h"

static void reply(const char *dev, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A reply address must name a mailbox: "N" or "mboxN".  mbox_open() also
 * refuses what is not a mailbox, but a server should not even try a path
 * a client chose.
 */
static bool mailbox_name(const char *s)
{
	if (!strncmp(s, "mbox", 4))
		s += 4;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static void reply(const char *dev, const char *id, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	int fd, n;
	ssize_t ret;

	n = snprintf(msg, sizeof(msg), "%s ", id);
	va_start(ap, fmt);
	n += vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(msg))
		n = sizeof(msg) - 1;
	fd = mbox_open(dev, O_WRONLY);
	if (fd < 0) {
		fprintf(stderr, "rpc_server: reply to %s: %s\n", dev,
			strerror(-fd));
		return;
	}
	/* A client that stopped reading must not stall the server. */
	ret = mbox_send(fd, msg, n, 1000);
	if (ret < 0)
		fprintf(stderr, "rpc_server: reply to %s: %s\n", dev,
			strerror(-ret));
	close(fd);
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/mbox0";
	struct mbox_msg_header h;
	size_t cap = 4096;
	char *req = malloc(cap);
	int fd, served = 0;

	fd = mbox_open(dev, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "rpc_server: %s: %s%s\n", dev, strerror(-fd),
			fd == -ENOENT ? " (is the module loaded? try 'mbox load')" : "");
		return 1;
	}
	printf("rpc_server: serving %s\n", dev);
	fflush(stdout);
	for (;;) {
		char *save, *reply_dev, *id, *verb, *arg;
		/* Any size is taken off the queue, so none can block it. */
		ssize_t n = req ? mbox_recv_alloc(fd, &h, (void **)&req, &cap, -1) :
			    -ENOMEM;

		if (n >= 0 && (size_t)n == cap) {
			/* Room for the terminating NUL. */
			char *p = realloc(req, cap + 1);

			if (!p)
				continue;
			req = p;
			cap++;
		}
		if (n < 0) {
			fprintf(stderr, "rpc_server: %s: %s\n", dev,
				strerror(-n));
			return 1;
		}
		req[n] = '\0';
		reply_dev = strtok_r(req, " ", &save);
		id = strtok_r(NULL, " ", &save);
		verb = strtok_r(NULL, " ", &save);
		arg = strtok_r(NULL, "", &save);
		if (!reply_dev || !id || !verb || !mailbox_name(reply_dev)) {
			fprintf(stderr, "rpc_server: malformed request seq %llu from pid %d\n",
				(unsigned long long)h.seq, h.pid);
			continue;
		}
		served++;
		if (!strcmp(verb, "upper")) {
			char *p;

			for (p = arg; p && *p; p++)
				*p = toupper((unsigned char)*p);
			reply(reply_dev, id, "ok %s", arg ? arg : "");
		} else if (!strcmp(verb, "add")) {
			long long sum = 0;
			char *tok, *s2;

			for (tok = strtok_r(arg, " ", &s2); tok;
			     tok = strtok_r(NULL, " ", &s2))
				sum += atoll(tok);
			reply(reply_dev, id, "ok %lld", sum);
		} else if (!strcmp(verb, "whoami")) {
			reply(reply_dev, id, "ok uid %u gid %u pid %d%s", h.uid,
			      h.gid, h.pid,
			      h.flags & MBOX_MSG_CRED_MISMATCH ?
			      " (cred mismatch)" : "");
		} else if (!strcmp(verb, "quit")) {
			if (h.uid != geteuid() ||
			    (h.flags & MBOX_MSG_CRED_MISMATCH)) {
				reply(reply_dev, id, "error not allowed for uid %u",
				      h.uid);
				continue;
			}
			reply(reply_dev, id, "ok bye");
			break;
		} else {
			reply(reply_dev, id, "error unknown verb '%s'", verb);
		}
	}
	printf("rpc_server: served %d requests\n", served);
	free(req);
	close(fd);
	return 0;
}
