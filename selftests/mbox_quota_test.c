// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user quotas: the mailboxes a user may have created (an instance's
 * user_max=, the module's user_mailboxes) and the bytes that user's
 * messages may hold (user_bytes= and the module's user_bytes), each
 * message charged to the opener of the file it is written through, its
 * payload plus MSG_CHARGE bytes, from write() until it is freed.  Over a quota: EDQUOT at once, nothing created or queued, and
 * other users unaffected.  Each case mounts in a mount namespace of its
 * own; the module parameters are put back after each.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "mbox_fs.h"

/* kmod/mbox_internal.h MBOX_MSG_CHARGE, as mboxfs(5) documents it. */
#define MSG_CHARGE	128
#define USER_A		1000
#define USER_B		1001

FIXTURE(quota) {
	char a[64];
	char b[64];
	long long user_bytes;
	long long user_mailboxes;
	mode_t mbox0_mode;
};

static int set_param(const char *name, const char *value)
{
	char path[128];
	int fd, ret = 0, err;

	snprintf(path, sizeof(path), "/sys/module/mbox/parameters/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		ret = -1;
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

static int set_param_num(const char *name, long long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld\n", value);
	return set_param(name, buf);
}

FIXTURE_SETUP(quota)
{
	struct stat st;
	int fd;

	self->user_bytes = mbox_param("user_bytes");
	self->user_mailboxes = mbox_param("user_mailboxes");
	ASSERT_LT(0, self->user_bytes);
	ASSERT_LT(0, self->user_mailboxes);
	strcpy(self->a, "/tmp/mbox-quota-a.XXXXXX");
	strcpy(self->b, "/tmp/mbox-quota-b.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->a));
	ASSERT_NE(NULL, mkdtemp(self->b));
	ASSERT_EQ(0, chmod(self->a, 0755));
	ASSERT_EQ(0, chmod(self->b, 0755));
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	/* /dev/mbox0 empty and writable by the test users. */
	fd = mbox_open_reset(0, O_RDWR);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, stat(MBOX_DEV(0), &st));
	self->mbox0_mode = st.st_mode & 07777;
	ASSERT_EQ(0, chmod(MBOX_DEV(0), 0666));
}

FIXTURE_TEARDOWN(quota)
{
	int fd;

	set_param_num("user_bytes", self->user_bytes);
	set_param_num("user_mailboxes", self->user_mailboxes);
	chmod(MBOX_DEV(0), self->mbox0_mode);
	fd = mbox_open_reset(0, O_RDWR);
	if (fd >= 0)
		close(fd);
	umount2(self->a, MNT_DETACH);
	umount2(self->b, MNT_DETACH);
	rmdir(self->a);
	rmdir(self->b);
}

/* One step run by another user in a child: what it does, and where. */
struct step {
	uid_t uid;
	const char *dir;
	const char *name;
	size_t len;		/* bytes per message */
	int count;		/* messages, or mailboxes */
	int oflags;		/* besides O_WRONLY */
};

/* An errno (or 0) as a child's exit status. */
static int child_errno(int ret)
{
	return ret ? (errno ? errno : 255) : 0;
}

/* Create step->count mailboxes NAME0, NAME1, ...: 0 or the first errno. */
static int create_some(const void *arg)
{
	const struct step *s = arg;
	char name[64];
	int i;

	if (become(s->uid, s->uid))
		return 254;
	for (i = 0; i < s->count; i++) {
		snprintf(name, sizeof(name), "%s%d", s->name, i);
		if (create_in(s->dir, name, 0600))
			return child_errno(-1);
	}
	return 0;
}

static int as_user_create(uid_t uid, const char *dir, const char *name,
			  int count)
{
	struct step s = { .uid = uid, .dir = dir, .name = name, .count = count };

	return in_child(create_some, &s);
}

/* Write step->count messages of step->len bytes: 0 or the first errno. */
static int write_some(const void *arg)
{
	const struct step *s = arg;
	char buf[4096];
	int fd, i;

	memset(buf, 'q', sizeof(buf));
	if (become(s->uid, s->uid))
		return 254;
	fd = s->dir ? open_in(s->dir, s->name, O_WRONLY | s->oflags) :
		      open(s->name, O_WRONLY | O_CLOEXEC | s->oflags);
	if (fd < 0)
		return child_errno(-1);
	for (i = 0; i < s->count; i++) {
		if (write(fd, buf, s->len) != (ssize_t)s->len)
			return child_errno(-1);
	}
	close(fd);
	return 0;
}

static int as_user_write(uid_t uid, const char *dir, const char *name,
			 size_t len, int count)
{
	struct step s = {
		.uid = uid, .dir = dir, .name = name, .len = len, .count = count,
	};

	return in_child(write_some, &s);
}

static int send_urgent_some(const void *arg)
{
	const struct step *s = arg;
	struct mbox_urgent u = { .buf = (uintptr_t)"urgent!", .len = s->len };
	int fd;

	if (become(s->uid, s->uid))
		return 254;
	fd = open_in(s->dir, s->name, O_WRONLY);
	if (fd < 0)
		return child_errno(-1);
	return child_errno(ioctl(fd, MBOX_IOC_SEND_URGENT, &u));
}

static int queued(const char *dir, const char *name)
{
	struct mbox_info info;
	int fd = open_in(dir, name, O_RDONLY);

	if (fd < 0 || mbox_info(fd, &info))
		return -1;
	close(fd);
	return info.msgs_queued + info.urgent_queued;
}

/* A mailbox anyone may write, made by root; limits 0 are the defaults. */
static int shared_box_with(const char *dir, const char *name,
			   uint32_t max_msgs, uint32_t max_urgent)
{
	struct mbox_create req;
	char path[160];
	int ctl, ret;

	ctl = ctl_open(dir);
	if (ctl < 0)
		return -1;
	create_req(&req, name, 0666);
	req.max_msgs = max_msgs;
	req.max_urgent = max_urgent;
	ret = ioctl(ctl, MBOX_CTL_CREATE, &req);
	close(ctl);
	if (ret)
		return -1;
	/* Past the umask. */
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return chmod(path, 0666);
}

static int shared_box(const char *dir, const char *name)
{
	return shared_box_with(dir, name, 0, 0);
}

TEST_F(quota, mailboxes_per_user_in_an_instance)
{
	struct stat st;

	ASSERT_EQ(0, fs_mount(self->a, "user_max=2"));
	ASSERT_EQ(0, chmod(self->a, 01777));
	ASSERT_EQ(0, as_user_create(USER_A, self->a, "a", 2));
	/* The third: EDQUOT, and no name. */
	ASSERT_EQ(EDQUOT, as_user_create(USER_A, self->a, "c", 1));
	ASSERT_EQ(-1, stat_in(self->a, "c0", &st));
	ASSERT_EQ(ENOENT, errno);
	/* Another user, and root, have quotas of their own. */
	ASSERT_EQ(0, as_user_create(USER_B, self->a, "b", 2));
	ASSERT_EQ(0, create_in(self->a, "root0", 0600));
	/* The creator stays charged after a chown. */
	ASSERT_EQ(0, stat_in(self->a, "a0", &st));
	ASSERT_EQ(USER_A, st.st_uid);
}

/* A removed mailbox counts until its last close frees it. */
TEST_F(quota, a_removed_mailbox_counts_until_the_last_close)
{
	char path[160];
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, "user_max=1"));
	ASSERT_EQ(0, create_in(self->a, "x", 0600));
	snprintf(path, sizeof(path), "%s/x", self->a);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, unlink(path));
	ASSERT_EQ(-1, create_in(self->a, "y", 0600));
	ASSERT_EQ(EDQUOT, errno);
	close(fd);
	ASSERT_EQ(0, create_in(self->a, "y", 0600));
}

TEST_F(quota, remount_changes_the_quotas)
{
	char buf[100] = { 0 };
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, "user_max=1,user_bytes=1000"));
	ASSERT_EQ(0, create_in(self->a, "x", 0600));
	ASSERT_EQ(-1, create_in(self->a, "y", 0600));
	ASSERT_EQ(EDQUOT, errno);
	ASSERT_EQ(0, fs_remount(self->a, "user_max=2"));
	ASSERT_EQ(0, create_in(self->a, "y", 0600));
	/* Lowered below what is charged: nothing is lost, nothing new fits. */
	ASSERT_EQ(0, fs_remount(self->a, "user_max=1"));
	ASSERT_EQ(0, stat_in(self->a, "y", &(struct stat){ 0 }));
	ASSERT_EQ(-1, create_in(self->a, "z", 0600));
	ASSERT_EQ(EDQUOT, errno);
	/* ...and a user over one quota may still use the other. */
	fd = open_in(self->a, "y", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(100, write(fd, buf, 100));
	ASSERT_EQ(0, fs_remount(self->a, "user_max=5,user_bytes=200"));
	ASSERT_EQ(-1, write(fd, buf, 1));
	ASSERT_EQ(EDQUOT, errno);
	ASSERT_EQ(0, create_in(self->a, "z", 0600));
	close(fd);
}

/*
 * 4 messages of 100 bytes charge 4 * 228 = 912 of 1000: the fifth, and
 * an urgent one, are EDQUOT at once, blocking or not; nothing is queued.
 */
TEST_F(quota, bytes_per_user_in_an_instance)
{
	const size_t charge = 100 + MSG_CHARGE;
	struct step urgent = {
		.uid = USER_A, .dir = self->a, .name = "box", .len = 1,
	};
	char buf[256];
	int fd;

	ASSERT_EQ(1000 / charge, 4);
	ASSERT_EQ(0, fs_mount(self->a, "user_bytes=1000"));
	ASSERT_EQ(0, shared_box(self->a, "box"));
	ASSERT_EQ(0, as_user_write(USER_A, self->a, "box", 100, 4));
	ASSERT_EQ(EDQUOT, as_user_write(USER_A, self->a, "box", 100, 1));
	ASSERT_EQ(EDQUOT, in_child(send_urgent_some, &urgent));
	ASSERT_EQ(4, queued(self->a, "box"));
	/* Another user is not affected. */
	ASSERT_EQ(0, as_user_write(USER_B, self->a, "box", 100, 4));
	ASSERT_EQ(8, queued(self->a, "box"));
	/* A read gives the charge back: the first message was USER_A's. */
	fd = open_in(self->a, "box", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(100, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, as_user_write(USER_A, self->a, "box", 100, 1));
	ASSERT_EQ(EDQUOT, as_user_write(USER_A, self->a, "box", 100, 1));
	/* A flush gives back everything it removes. */
	ASSERT_EQ(0, ioctl(fd, MBOX_IOC_FLUSH, &(struct mbox_flush){ 0 }));
	ASSERT_EQ(0, as_user_write(USER_A, self->a, "box", 100, 4));
	close(fd);
}

/* All of one user's mailboxes in the instance share the quota. */
TEST_F(quota, bytes_add_up_across_mailboxes)
{
	ASSERT_EQ(0, fs_mount(self->a, "user_bytes=1000"));
	ASSERT_EQ(0, shared_box(self->a, "x"));
	ASSERT_EQ(0, shared_box(self->a, "y"));
	ASSERT_EQ(0, as_user_write(USER_A, self->a, "x", 100, 2));
	ASSERT_EQ(0, as_user_write(USER_A, self->a, "y", 100, 2));
	ASSERT_EQ(EDQUOT, as_user_write(USER_A, self->a, "y", 100, 1));
	ASSERT_EQ(EDQUOT, as_user_write(USER_A, self->a, "x", 100, 1));
}

/* A message leased in ack mode is charged until it is acknowledged. */
TEST_F(quota, a_leased_message_is_charged_until_acked)
{
	struct mbox_mode mode = { .flags = MBOX_MODE_ACK | MBOX_MODE_HEADER };
	char buf[512];
	struct mbox_msg_header *hdr = (void *)buf;
	struct mbox_ack ack = { 0 };
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, "user_bytes=456"));
	ASSERT_EQ(0, shared_box(self->a, "box"));
	ASSERT_EQ(0, as_user_write(USER_A, self->a, "box", 100, 2));
	fd = open_in(self->a, "box", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, MBOX_IOC_SET_MODE, &mode));
	ASSERT_EQ(sizeof(*hdr) + 100, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(EDQUOT, as_user_write(USER_A, self->a, "box", 100, 1));
	ack.seq = hdr->seq;
	ASSERT_EQ(0, ioctl(fd, MBOX_IOC_ACK, &ack));
	ASSERT_EQ(0, as_user_write(USER_A, self->a, "box", 100, 1));
	close(fd);
}

static int bad_then_good(const void *arg)
{
	const struct step *s = arg;
	char buf[100] = { 0 };
	/* An address nothing is mapped at, hidden from the compiler. */
	void *volatile bad = (void *)8;
	int fd;

	if (become(s->uid, s->uid))
		return 254;
	fd = open_in(s->dir, s->name, O_WRONLY);
	if (fd < 0)
		return child_errno(-1);
	/* A fault in the copy, and an oversized message: neither charges. */
	if (write(fd, bad, 100) != -1 || errno != EFAULT)
		return 250;
	if (write(fd, calloc(1, 70000), 70000) != -1 || errno != EMSGSIZE)
		return 251;
	if (write(fd, buf, 100) != 100)
		return child_errno(-1);
	if (write(fd, buf, 1) != -1 || errno != EDQUOT)
		return 252;
	return 0;
}

TEST_F(quota, failed_writes_charge_nothing)
{
	struct step s = { .uid = USER_A, .dir = self->a, .name = "box" };

	/* Exactly one message of 100 bytes. */
	ASSERT_EQ(0, fs_mount(self->a, "user_bytes=228"));
	ASSERT_EQ(0, shared_box(self->a, "box"));
	ASSERT_EQ(0, in_child(bad_then_good, &s));
	ASSERT_EQ(1, queued(self->a, "box"));
}

/*
 * A writer waiting for room holds its message's charge; killed, it gives
 * it back.  A quota of two messages, a mailbox of one.
 */
TEST_F(quota, a_waiting_writer_holds_its_charge)
{
	struct step s = {
		.uid = USER_A, .dir = self->a, .name = "box", .len = 100,
		.count = 1,
	};
	struct step nonblock = s;
	int fd, status;
	pid_t pid;

	nonblock.oflags = O_NONBLOCK;
	ASSERT_EQ(0, fs_mount(self->a, "user_bytes=456"));
	ASSERT_EQ(0, shared_box_with(self->a, "box", 1, 0));
	ASSERT_EQ(0, as_user_write(USER_A, self->a, "box", 100, 1));
	fd = open_in(self->a, "box", O_RDONLY);
	ASSERT_LE(0, fd);

	pid = mbox_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(write_some(&s));	/* waits: room for one message */
	ASSERT_EQ(0, mbox_wait_writers(fd, 1));
	/* The quota is spent (queued + waiting), not the room: EDQUOT. */
	ASSERT_EQ(EDQUOT, in_child(write_some, &nonblock));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, mbox_wait_writers(fd, 0));
	/* Charge given back: now it is the mailbox that is full. */
	ASSERT_EQ(EAGAIN, in_child(write_some, &nonblock));
	ASSERT_EQ(1, queued(self->a, "box"));
	close(fd);
}

/*
 * The module's quota covers every mailbox together: /dev/mboxN and every
 * instance, whatever each instance allows.
 */
TEST_F(quota, module_bytes_cover_every_mailbox)
{
	ASSERT_EQ(0, set_param_num("user_bytes", 3 * (100 + MSG_CHARGE)));
	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(0, fs_mount(self->b, NULL));
	ASSERT_EQ(0, shared_box(self->a, "x"));
	ASSERT_EQ(0, shared_box(self->b, "x"));
	ASSERT_EQ(0, as_user_write(USER_A, self->a, "x", 100, 1));
	ASSERT_EQ(0, as_user_write(USER_A, self->b, "x", 100, 1));
	ASSERT_EQ(0, as_user_write(USER_A, NULL, MBOX_DEV(0), 100, 1));
	ASSERT_EQ(EDQUOT, as_user_write(USER_A, NULL, MBOX_DEV(0), 100, 1));
	ASSERT_EQ(EDQUOT, as_user_write(USER_A, self->a, "x", 100, 1));
	ASSERT_EQ(EDQUOT, as_user_write(USER_A, self->b, "x", 100, 1));
	ASSERT_EQ(0, as_user_write(USER_B, NULL, MBOX_DEV(0), 100, 1));
	/* Raised: room again, as for any limit. */
	ASSERT_EQ(0, set_param_num("user_bytes", 4 * (100 + MSG_CHARGE)));
	ASSERT_EQ(0, as_user_write(USER_A, self->b, "x", 100, 1));
}

TEST_F(quota, module_mailboxes_cover_every_instance)
{
	ASSERT_EQ(0, set_param_num("user_mailboxes", 3));
	ASSERT_EQ(0, fs_mount(self->a, "user_max=2"));
	ASSERT_EQ(0, fs_mount(self->b, "user_max=2"));
	ASSERT_EQ(0, chmod(self->a, 01777));
	ASSERT_EQ(0, chmod(self->b, 01777));
	ASSERT_EQ(0, as_user_create(USER_A, self->a, "a", 2));
	ASSERT_EQ(0, as_user_create(USER_A, self->b, "a", 1));
	ASSERT_EQ(EDQUOT, as_user_create(USER_A, self->b, "b", 1));
	ASSERT_EQ(0, as_user_create(USER_B, self->b, "b", 2));
}

TEST_F(quota, module_parameters_are_checked)
{
	ASSERT_EQ(-1, set_param("user_bytes", "0\n"));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, set_param("user_bytes", "1M1\n"));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, set_param("user_mailboxes", "0\n"));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(self->user_bytes, mbox_param("user_bytes"));
	ASSERT_EQ(self->user_mailboxes, mbox_param("user_mailboxes"));
	ASSERT_EQ(0, set_param("user_bytes", "1K\n"));
	ASSERT_EQ(1024, mbox_param("user_bytes"));
	ASSERT_EQ(0, set_param("user_mailboxes", "7"));
	ASSERT_EQ(7, mbox_param("user_mailboxes"));
}

static int urgent_twice_then_write(const void *arg)
{
	const struct step *s = arg;
	struct mbox_urgent u = { .buf = (uintptr_t)"u", .len = 1 };
	char buf[100] = { 0 };
	int fd;

	if (become(s->uid, s->uid))
		return 254;
	fd = open_in(s->dir, s->name, O_WRONLY);
	if (fd < 0)
		return child_errno(-1);
	if (ioctl(fd, MBOX_IOC_SEND_URGENT, &u))
		return child_errno(-1);
	/* The reserve of one is full: EAGAIN, and the charge given back. */
	u.seq = 0;
	if (ioctl(fd, MBOX_IOC_SEND_URGENT, &u) != -1 || errno != EAGAIN)
		return 250;
	/* 129 + 228 of 456: fits only if the refused one left nothing. */
	if (write(fd, buf, 100) != 100)
		return child_errno(-1);
	return 0;
}

TEST_F(quota, a_refused_urgent_message_is_uncharged)
{
	struct step s = { .uid = USER_A, .dir = self->a, .name = "box" };

	ASSERT_EQ(0, fs_mount(self->a, "user_bytes=456"));
	ASSERT_EQ(0, shared_box_with(self->a, "box", 0, 1));
	ASSERT_EQ(0, in_child(urgent_twice_then_write, &s));
	ASSERT_EQ(2, queued(self->a, "box"));
}

static int write_through_inherited(const void *arg)
{
	const int *fd = arg;
	char buf[100] = { 0 };

	if (become(USER_A, USER_A))
		return 254;
	if (write(*fd, buf, 100) != 100)
		return child_errno(-1);
	if (write(*fd, buf, 100) != -1 || errno != EDQUOT)
		return 250;
	return 0;
}

/*
 * The opener of the file pays, whoever writes through it, and
 * MBOX_FLUSH_MINE on that file takes back exactly what it paid.
 */
TEST_F(quota, the_opener_is_charged)
{
	struct mbox_flush fl = { .flags = MBOX_FLUSH_MINE };
	char buf[100] = { 0 };
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, "user_bytes=228"));
	ASSERT_EQ(0, shared_box(self->a, "box"));
	fd = open_in(self->a, "box", O_WRONLY);
	ASSERT_LE(0, fd);
	/* USER_A writes through root's file: root's quota is spent. */
	ASSERT_EQ(0, in_child(write_through_inherited, &fd));
	ASSERT_EQ(-1, write(fd, buf, 100));
	ASSERT_EQ(EDQUOT, errno);
	/* USER_A's own quota is untouched. */
	ASSERT_EQ(0, as_user_write(USER_A, self->a, "box", 100, 1));
	ASSERT_EQ(0, ioctl(fd, MBOX_IOC_FLUSH, &fl));
	ASSERT_EQ(1, fl.flushed_msgs);
	ASSERT_EQ(100, write(fd, buf, 100));
	close(fd);
}

/* Root's messages are charged like anyone's. */
TEST_F(quota, root_is_charged_too)
{
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, "user_bytes=228"));
	ASSERT_EQ(0, shared_box(self->a, "box"));
	fd = open_in(self->a, "box", O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(100, write(fd, "0123456789012345678901234567890123456789"
			     "0123456789012345678901234567890123456789"
			     "01234567890123456789", 100));
	ASSERT_EQ(-1, write(fd, "x", 1));
	ASSERT_EQ(EDQUOT, errno);
	close(fd);
}

/* Racing writers whose messages all fit all get in. */
struct racer {
	int fd;
	pthread_barrier_t *start;
	ssize_t ret;
	int err;
};

static void *race_write(void *arg)
{
	struct racer *r = arg;
	char buf[64] = { 0 };

	pthread_barrier_wait(r->start);
	r->ret = write(r->fd, buf, sizeof(buf));
	r->err = errno;
	return NULL;
}

#define RACERS 8

static int race_to_the_quota(const void *arg)
{
	const struct step *s = arg;
	struct racer r[RACERS];
	pthread_t t[RACERS];
	pthread_barrier_t start;
	int fd, i, ok = 0;

	if (become(s->uid, s->uid))
		return 254;
	fd = open_in(s->dir, s->name, O_WRONLY);
	if (fd < 0)
		return child_errno(-1);
	pthread_barrier_init(&start, NULL, RACERS);
	for (i = 0; i < RACERS; i++) {
		r[i] = (struct racer){ .fd = fd, .start = &start };
		if (pthread_create(&t[i], NULL, race_write, &r[i]))
			return 253;
	}
	for (i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		ok += r[i].ret == 64;
	}
	if (ok != RACERS)
		return 200 + ok;
	/* And the next one does not. */
	return write(fd, "x", 1) == -1 && errno == EDQUOT ? 0 : 252;
}

/*
 * Both levels exactly full once all are in: a charge tried and undone at
 * one level must not make another fail.
 */
TEST_F(quota, racing_charges_that_fit_all_succeed)
{
	struct step s = { .uid = USER_A, .dir = self->a, .name = "box" };
	const int total = RACERS * (64 + MSG_CHARGE);
	char opts[64];
	int round;

	ASSERT_EQ(0, set_param_num("user_bytes", total));
	snprintf(opts, sizeof(opts), "user_bytes=%d", total);
	ASSERT_EQ(0, fs_mount(self->a, opts));
	ASSERT_EQ(0, shared_box(self->a, "box"));
	for (round = 0; round < 20; round++) {
		int fd = open_in(self->a, "box", O_RDONLY);

		ASSERT_EQ(0, in_child(race_to_the_quota, &s)) TH_LOG("round %d", round);
		ASSERT_EQ(0, ioctl(fd, MBOX_IOC_FLUSH, &(struct mbox_flush){ 0 }));
		close(fd);
	}
}

TEST_HARNESS_MAIN
