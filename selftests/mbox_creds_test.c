// SPDX-License-Identifier: GPL-2.0
/*
 * Sender credentials are stamped by the kernel at write() time and shown
 * in the reader's namespaces: as root, after setresuid, through an fd
 * passed over SCM_RIGHTS, in a new user namespace and in a new pid
 * namespace.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

FIXTURE(creds) {
	int fd;
};

FIXTURE_SETUP(creds)
{
	self->fd = mbox_open_reset(2, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, mbox_set_header_mode(self->fd, 1));
}

FIXTURE_TEARDOWN(creds)
{
	close(self->fd);
}

static int recv_hdr(int fd, struct mbox_msg_header *hdr)
{
	char buf[256];

	return mbox_recv_hdr(fd, hdr, buf, sizeof(buf)) < 0 ? -1 : 0;
}

/* Run @fn in a child and return its exit status (or -1). */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = mbox_fork();

	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* A writer's ids read as 0 once it is gone: keep it until it is read. */
static int thread_done[2];

static void *write_from_thread(void *arg)
{
	int fd = *(int *)arg;
	static pid_t tid;
	char c;

	tid = syscall(SYS_gettid);
	if (write(fd, "t", 1) != 1 || read(thread_done[0], &c, 1) != 1)
		return NULL;
	return &tid;
}

TEST_F(creds, root_writer_with_pid_and_tid)
{
	struct mbox_msg_header hdr, peek;
	pthread_t t;
	void *tid;

	ASSERT_EQ(1, write(self->fd, "m", 1));
	ASSERT_EQ(0, recv_hdr(self->fd, &hdr));
	ASSERT_EQ(getpid(), hdr.pid);
	ASSERT_EQ(getpid(), hdr.tid);
	ASSERT_EQ(0, hdr.uid);
	ASSERT_EQ(0, hdr.gid);
	ASSERT_EQ(0, hdr.opener_uid);
	ASSERT_EQ(0, hdr.opener_gid);
	ASSERT_EQ(0, hdr.flags & MBOX_MSG_CRED_MISMATCH);

	/* Another thread: same pid, its own tid; peek agrees with read. */
	ASSERT_EQ(0, pipe(thread_done));
	ASSERT_EQ(0, pthread_create(&t, NULL, write_from_thread, &self->fd));
	ASSERT_EQ(1, poll(&(struct pollfd){ .fd = self->fd, .events = POLLIN },
			  1, mbox_scaled_ms(MBOX_WAIT_MS)));
	ASSERT_EQ(0, ioctl(self->fd, MBOX_IOC_PEEK, &peek));
	ASSERT_EQ(0, recv_hdr(self->fd, &hdr));
	ASSERT_EQ(1, write(thread_done[1], "d", 1));
	ASSERT_EQ(0, pthread_join(t, &tid));
	ASSERT_NE(NULL, tid);
	ASSERT_EQ(getpid(), hdr.pid);
	ASSERT_EQ(*(pid_t *)tid, hdr.tid);
	ASSERT_NE(hdr.pid, hdr.tid);
	ASSERT_EQ(peek.pid, hdr.pid);
	ASSERT_EQ(peek.tid, hdr.tid);
	ASSERT_EQ(peek.seq, hdr.seq);
	ASSERT_EQ(peek.uid, hdr.uid);
}

static int drop_to_1000_and_write(void *arg)
{
	int fd = *(int *)arg;

	if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
		return 10;
	/* The node is root's, mode 0600: no new open for uid 1000. */
	if (open(MBOX_DEV(2), O_WRONLY) != -1 || errno != EACCES)
		return 11;
	return write(fd, "dropped", 7) == 7 ? 0 : 12;
}

TEST_F(creds, ids_after_setresuid_are_the_writers_not_the_openers)
{
	struct mbox_msg_header hdr;

	ASSERT_EQ(0, in_child(drop_to_1000_and_write, &self->fd));
	ASSERT_EQ(0, recv_hdr(self->fd, &hdr));
	ASSERT_EQ(1000, hdr.uid);
	ASSERT_EQ(1000, hdr.gid);
	ASSERT_EQ(0, hdr.opener_uid);
	ASSERT_EQ(0, hdr.opener_gid);
	ASSERT_EQ(MBOX_MSG_CRED_MISMATCH, hdr.flags & MBOX_MSG_CRED_MISMATCH);
}

static int effective_ids_count(void *arg)
{
	int fd = *(int *)arg;

	/* Real and saved ids stay 0; only the effective ones change. */
	if (setresgid(0, 3001, 0) || setresuid(0, 3000, 0))
		return 10;
	return write(fd, "e", 1) == 1 ? 0 : 11;
}

TEST_F(creds, uid_is_the_effective_uid)
{
	struct mbox_msg_header hdr;

	ASSERT_EQ(0, in_child(effective_ids_count, &self->fd));
	ASSERT_EQ(0, recv_hdr(self->fd, &hdr));
	ASSERT_EQ(3000, hdr.uid);
	ASSERT_EQ(3001, hdr.gid);
	ASSERT_EQ(0, hdr.opener_uid);
	ASSERT_EQ(MBOX_MSG_CRED_MISMATCH, hdr.flags & MBOX_MSG_CRED_MISMATCH);
}

static int send_fd(int sock, int fd)
{
	char data = 'f', control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &data, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char data, control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

TEST_F(creds, fd_passed_over_scm_rights_keeps_its_opener)
{
	struct mbox_msg_header hdr;
	int sv[2], status, wfd;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char data;
		int fd;

		/* An unprivileged process receives a descriptor root opened. */
		close(sv[0]);
		if (setresgid(2000, 2000, 2000) || setresuid(2000, 2000, 2000))
			_exit(10);
		fd = recv_fd(sv[1]);
		if (fd < 0)
			_exit(11);
		if (write(fd, "passed", 6) != 6)
			_exit(12);
		/* Stay alive until the parent has read the message. */
		_exit(read(sv[1], &data, 1) == 1 ? 0 : 13);
	}
	close(sv[1]);
	wfd = open(MBOX_DEV(2), O_WRONLY);
	ASSERT_LE(0, wfd);
	ASSERT_EQ(0, send_fd(sv[0], wfd));
	close(wfd);
	ASSERT_EQ(0, recv_hdr(self->fd, &hdr));
	ASSERT_EQ(1, write(sv[0], "d", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(pid, hdr.pid);
	ASSERT_EQ(2000, hdr.uid);
	ASSERT_EQ(2000, hdr.gid);
	ASSERT_EQ(0, hdr.opener_uid);
	ASSERT_EQ(0, hdr.opener_gid);
	ASSERT_EQ(MBOX_MSG_CRED_MISMATCH, hdr.flags & MBOX_MSG_CRED_MISMATCH);
	close(sv[0]);
}

static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];
	int fd, ok;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, map, strlen(map)) == (ssize_t)strlen(map);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * A child in a new user namespace where uid/gid 0 map to 1000 outside,
 * set up by the parent.  The child reads what root wrote (unmapped there:
 * the overflow id 65534) and writes a message of its own.
 */
TEST_F(creds, ids_are_translated_into_the_readers_user_namespace)
{
	struct mbox_msg_header hdr;
	int go[2], done[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	ASSERT_EQ(9, write(self->fd, "from root", 9));
	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mbox_msg_header h;

		if (unshare(CLONE_NEWUSER))
			_exit(10);
		if (write(done[1], "u", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(11);
		/* Become the namespace's root: uid 1000 outside. */
		if (setresgid(0, 0, 0) || setresuid(0, 0, 0))
			_exit(15);
		if (recv_hdr(self->fd, &h))
			_exit(12);
		/* Root outside is unmapped inside. */
		if (h.uid != 65534 || h.gid != 65534 || h.opener_uid != 65534)
			_exit(13);
		/* Written as uid 0 inside, which is uid 1000 outside. */
		_exit(write(self->fd, "from ns", 7) == 7 ? 0 : 14);
	}
	ASSERT_EQ(1, read(done[0], &c, 1));
	ASSERT_EQ(0, write_map(pid, "setgroups", "deny"));
	ASSERT_EQ(0, write_map(pid, "uid_map", "0 1000 1"));
	ASSERT_EQ(0, write_map(pid, "gid_map", "0 1000 1"));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));

	ASSERT_EQ(0, recv_hdr(self->fd, &hdr));
	ASSERT_EQ(1000, hdr.uid);
	ASSERT_EQ(1000, hdr.gid);
	/* The fd was opened by root before the child changed namespace. */
	ASSERT_EQ(0, hdr.opener_uid);
	ASSERT_EQ(MBOX_MSG_CRED_MISMATCH, hdr.flags & MBOX_MSG_CRED_MISMATCH);
}

/*
 * A grandchild that is pid 1 of a new pid namespace: root's messages show
 * pid 0 there (not visible), and its own messages show its global pid
 * outside and pid 1 inside.
 */
TEST_F(creds, pids_are_translated_into_the_readers_pid_namespace)
{
	struct mbox_msg_header hdr;
	int report[2], ready[2], done[2], status;
	pid_t child, inner;
	char c;

	ASSERT_EQ(0, pipe(report));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	ASSERT_EQ(7, write(self->fd, "outside", 7));
	child = mbox_fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		pid_t p;

		if (unshare(CLONE_NEWPID))
			_exit(10);
		p = fork();
		if (p < 0)
			_exit(11);
		if (p == 0) {
			struct mbox_msg_header h;

			if (getpid() != 1 || recv_hdr(self->fd, &h))
				_exit(12);
			if (h.pid != 0 || h.tid != 0)
				_exit(13);
			if (write(self->fd, "inside", 6) != 6)
				_exit(14);
			/* And its own message, read inside, says pid 1. */
			if (recv_hdr(self->fd, &h) || h.pid != 1 || h.tid != 1)
				_exit(15);
			if (write(self->fd, "again", 5) != 5 ||
			    write(ready[1], "r", 1) != 1)
				_exit(16);
			/* Alive until read: an exited writer reads as pid 0. */
			_exit(read(done[0], &h, 1) == 1 ? 0 : 19);
		}
		if (write(report[1], &p, sizeof(p)) != sizeof(p))
			_exit(17);
		if (waitpid(p, &status, 0) != p || !WIFEXITED(status))
			_exit(18);
		_exit(WEXITSTATUS(status));
	}
	ASSERT_EQ(sizeof(inner), read(report[0], &inner, sizeof(inner)));
	/* "inside" was read inside; wait for "again", written after it. */
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, recv_hdr(self->fd, &hdr));
	ASSERT_EQ(inner, hdr.pid);
	ASSERT_EQ(inner, hdr.tid);
	ASSERT_NE(1, hdr.pid);
	ASSERT_EQ(1, write(done[1], "d", 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
