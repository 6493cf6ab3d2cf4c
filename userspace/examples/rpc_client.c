// SPDX-License-Identifier: GPL-2.0
/*
 * The client of rpc_server: send one request, wait for its answer.
 *
 *   rpc_client REQUEST_DEV REPLY_DEV VERB [ARG...]
 *
 * REPLY_DEV is a mailbox this client reads alone.  Answers to earlier,
 * abandoned requests may still sit there: they carry another ID and are
 * skipped.  Exit status 0 for "ok", 1 for "error" or no answer in 10 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mbox.h"

int main(int argc, char **argv)
{
	char req[4096], ans[4096], id[32];
	struct mbox_msg_header h;
	int rq, rp, i, len;
	ssize_t n;

	if (argc < 4) {
		fprintf(stderr, "usage: rpc_client REQUEST_DEV REPLY_DEV VERB [ARG...]\n");
		return 2;
	}
	/* Unique enough among this machine's clients. */
	snprintf(id, sizeof(id), "%d.%ld", getpid(), (long)time(NULL));
	len = snprintf(req, sizeof(req), "%s %s", argv[2], id);
	for (i = 3; i < argc && len < (int)sizeof(req); i++)
		len += snprintf(req + len, sizeof(req) - len, " %s", argv[i]);
	if (len >= (int)sizeof(req)) {
		fprintf(stderr, "rpc_client: request longer than %zu bytes\n",
			sizeof(req) - 1);
		return 2;
	}

	rp = mbox_open(argv[2], O_RDONLY);
	rq = mbox_open(argv[1], O_WRONLY);
	if (rp < 0 || rq < 0) {
		fprintf(stderr, "rpc_client: %s: %s\n", rp < 0 ? argv[2] : argv[1],
			strerror(rp < 0 ? -rp : -rq));
		return 1;
	}
	n = mbox_send(rq, req, len, 10000);
	if (n < 0) {
		fprintf(stderr, "rpc_client: %s: %s\n", argv[1], strerror(-n));
		return 1;
	}
	for (;;) {
		n = mbox_recv(rp, &h, ans, sizeof(ans) - 1, 10000);
		if (n < 0) {
			fprintf(stderr, "rpc_client: %s: %s\n", argv[2],
				n == -ETIMEDOUT ? "no answer within 10 s" :
				strerror(-n));
			return 1;
		}
		ans[n] = '\0';
		if (!strncmp(ans, id, strlen(id)) && ans[strlen(id)] == ' ')
			break;
	}
	printf("%s (answered by pid %d)\n", ans + strlen(id) + 1, h.pid);
	return strncmp(ans + strlen(id) + 1, "ok", 2) ? 1 : 0;
}
