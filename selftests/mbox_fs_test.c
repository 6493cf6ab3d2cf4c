// SPDX-License-Identifier: GPL-2.0
/*
 * The mbox filesystem's instances: mount, options, remount, statfs, the
 * mbox-control node, what the root directory refuses, busy and lazy
 * unmount, and mounting in a user namespace; named mailboxes: create and
 * its errors, permissions, rm, rename, umount, copies of the node.  Each case mounts in a mount
 * namespace of its own (the harness forks each case), so nothing it
 * mounts outlives it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "mbox_fs.h"

FIXTURE(fs) {
	char a[64];
	char b[64];
	char ctl[128];
};

FIXTURE_SETUP(fs)
{
	strcpy(self->a, "/tmp/mbox-fs-a.XXXXXX");
	strcpy(self->b, "/tmp/mbox-fs-b.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->a));
	ASSERT_NE(NULL, mkdtemp(self->b));
	/* Reachable by the unprivileged users of some cases. */
	ASSERT_EQ(0, chmod(self->a, 0755));
	ASSERT_EQ(0, chmod(self->b, 0755));
	snprintf(self->ctl, sizeof(self->ctl), "%s/" MBOX_CONTROL_NAME, self->a);
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
}

FIXTURE_TEARDOWN(fs)
{
	umount2(self->a, MNT_DETACH);
	umount2(self->b, MNT_DETACH);
	rmdir(self->a);
	rmdir(self->b);
}

/*
 * The super options of the mount at @dir, from /proc/self/mountinfo
 * ("... - mbox mbox rw,max=8"): into @buf, 0; -1 if @dir is no mbox mount.
 */
static int fs_options(const char *dir, char *buf, size_t len)
{
	char line[1024], mnt[512], fstype[64], src[64], opts[512];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int ret = -1;
	char *sep;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    strcmp(mnt, dir))
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep, " - %63s %63s %511s", fstype, src, opts) != 3 ||
		    strcmp(fstype, "mbox"))
			continue;
		snprintf(buf, len, "%s", opts);
		ret = 0;
	}
	fclose(f);
	return ret;
}

/* The major of the mbox-named region, from /proc/devices; -1 if none. */
static int named_major(void)
{
	FILE *f = fopen("/proc/devices", "r");
	char name[64];
	int major, ret = -1;
	char line[128];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %63s", &major, name) == 2 &&
		    !strcmp(name, "mbox-named"))
			ret = major;
	fclose(f);
	return ret;
}

static long long module_refs(void)
{
	return mbox_read_sysfs("/sys/module/mbox/refcnt");
}

static long long instances(void)
{
	return mbox_read_sysfs("/sys/class/mbox/instances");
}

TEST_F(fs, mount_umount_mountinfo_options)
{
	char opts[512];
	struct statfs sf;
	struct stat st;

	ASSERT_FALSE(is_mbox(self->a));
	ASSERT_EQ(0, fs_mount(self->a, "max=8,user_max=2,user_bytes=1M,mode=1770"));
	ASSERT_EQ(0, fs_options(self->a, opts, sizeof(opts)));
	ASSERT_STREQ("rw,max=8,user_max=2,user_bytes=1048576,mode=1770", opts);

	ASSERT_EQ(0, statfs(self->a, &sf));
	ASSERT_EQ(MBOX_FS_MAGIC, sf.f_type);
	ASSERT_EQ(8, sf.f_files);
	ASSERT_EQ(8, sf.f_ffree);
	ASSERT_EQ(MBOX_NAME_MAX, sf.f_namelen);

	ASSERT_EQ(0, stat(self->a, &st));
	ASSERT_EQ(S_IFDIR | 01770, st.st_mode);
	ASSERT_EQ(0, st.st_uid);
	ASSERT_EQ(0, st.st_gid);

	ASSERT_EQ(0, umount(self->a));
	ASSERT_FALSE(is_mbox(self->a));
	ASSERT_EQ(-1, fs_options(self->a, opts, sizeof(opts)));
}

static int mount_as_fsuid(const void *arg)
{
	const char *dir = arg;

	/* Capabilities other than the fs ones (CAP_SYS_ADMIN) stay. */
	setfsgid(4321);
	setfsuid(1234);
	if (setfsuid(-1) != 1234 || setfsgid(-1) != 4321)
		return 100;
	return fs_mount(dir, NULL) ? errno : 0;
}

/* Sticky 1775, owned by the mounter's fsuid and fsgid unless uid=/gid=. */
TEST_F(fs, root_defaults_and_owner_options)
{
	char opts[512];
	struct stat st;

	ASSERT_EQ(0, in_child(mount_as_fsuid, self->a));
	/* The child's mount namespace was its parent's: the mount is here. */
	ASSERT_EQ(0, stat(self->a, &st));
	ASSERT_EQ(S_IFDIR | 01775, st.st_mode);
	ASSERT_EQ(1234, st.st_uid);
	ASSERT_EQ(4321, st.st_gid);
	ASSERT_EQ(0, fs_options(self->a, opts, sizeof(opts)));
	ASSERT_STREQ("rw", opts);
	ASSERT_EQ(0, stat(self->ctl, &st));
	ASSERT_EQ(1234, st.st_uid);
	ASSERT_EQ(4321, st.st_gid);

	ASSERT_EQ(0, fs_mount(self->b, "uid=1000,gid=1001"));
	ASSERT_EQ(0, stat(self->b, &st));
	ASSERT_EQ(S_IFDIR | 01775, st.st_mode);
	ASSERT_EQ(1000, st.st_uid);
	ASSERT_EQ(1001, st.st_gid);
	ASSERT_EQ(0, fs_options(self->b, opts, sizeof(opts)));
	ASSERT_STREQ("rw,uid=1000,gid=1001", opts);
}

TEST_F(fs, two_mounts_are_two_instances)
{
	long long i0 = instances();
	struct stat sa, sb, ca, cb;
	struct statfs fa, fb;
	char ctl_b[128];

	ASSERT_LE(0, i0);
	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(0, fs_mount(self->b, NULL));
	ASSERT_EQ(i0 + 2, instances());
	snprintf(ctl_b, sizeof(ctl_b), "%s/" MBOX_CONTROL_NAME, self->b);
	ASSERT_EQ(0, stat(self->a, &sa));
	ASSERT_EQ(0, stat(self->b, &sb));
	ASSERT_NE(sa.st_dev, sb.st_dev);
	ASSERT_EQ(0, stat(self->ctl, &ca));
	ASSERT_EQ(0, stat(ctl_b, &cb));
	ASSERT_NE(ca.st_dev, cb.st_dev);
	ASSERT_EQ(sa.st_dev, ca.st_dev);

	/* A remount of one changes only that one. */
	ASSERT_EQ(0, fs_remount(self->b, "max=4"));
	ASSERT_EQ(0, statfs(self->a, &fa));
	ASSERT_EQ(0, statfs(self->b, &fb));
	ASSERT_EQ(1024, fa.f_files);
	ASSERT_EQ(4, fb.f_files);

	/* And unmounting one leaves the other. */
	ASSERT_EQ(0, umount(self->a));
	ASSERT_EQ(i0 + 1, instances());
	ASSERT_TRUE(is_mbox(self->b));
	ASSERT_EQ(0, stat(ctl_b, &cb));
}

TEST_F(fs, mount_option_errors)
{
	static const char *const bad[] = {
		"max=0", "max=1048577", "max=x", "max=-1",
		"user_max=0", "user_max=1048577",
		"user_bytes=0", "user_bytes=1099511627777", "user_bytes=1025G",
		"user_bytes=1M1", "user_bytes=",
		/* Past 2^64: memparse() would wrap these to 1 and 1024. */
		"user_bytes=18446744073709551617", "user_bytes=18014398509481985K",
		"mode=010000", "mode=9", "uid=4294967295", "gid=4294967295",
		"foo=1",
	};
	static const char *const edges[] = {
		"max=1", "max=1048576", "user_max=1", "user_max=1048576",
		"user_bytes=1", "user_bytes=1024G", "mode=07777", "mode=0",
		"uid=4294967294",
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, fs_mount(self->a, bad[i])) TH_LOG("%s", bad[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", bad[i]);
		EXPECT_FALSE(is_mbox(self->a)) TH_LOG("%s", bad[i]);
		umount(self->a);
	}
	/* The bounds themselves are good. */
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		EXPECT_EQ(0, fs_mount(self->a, edges[i]))
			TH_LOG("%s: %s", edges[i], strerror(errno));
		EXPECT_TRUE(is_mbox(self->a)) TH_LOG("%s", edges[i]);
		umount(self->a);
	}
}

/* The new mount API tells why: the message names the option. */
TEST_F(fs, option_errors_say_why)
{
	static const struct {
		const char *key, *value, *says;
	} bad[] = {
		{ "max", "0", "max=0: use 1-1048576" },
		{ "user_bytes", "1M1", "user_bytes=1M1: use 1-1099511627776" },
		{ "mode", "010000", "mode=010000: only permission bits" },
		{ "uid", "4294967295", "uid=4294967295 is not mapped" },
	};
	unsigned int i;
	char msg[512];
	ssize_t n;
	int fd;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = syscall(SYS_fsopen, "mbox", 0);
		ASSERT_LE(0, fd);
		errno = 0;
		EXPECT_EQ(-1, syscall(SYS_fsconfig, fd, FSCONFIG_SET_STRING,
				      bad[i].key, bad[i].value, 0));
		EXPECT_EQ(EINVAL, errno);
		n = read(fd, msg, sizeof(msg) - 1);
		ASSERT_LT(0, n) TH_LOG("no message for %s", bad[i].key);
		msg[n] = '\0';
		/* "e mbox: max=0: use 1-1048576" */
		EXPECT_NE(NULL, strstr(msg, bad[i].says)) TH_LOG("%s", msg);
		close(fd);
	}
}

TEST_F(fs, remount_changes_limits_ignores_mode)
{
	char opts[512];
	struct statfs sf;
	struct stat st;

	ASSERT_EQ(0, fs_mount(self->a, "max=8,user_max=2,mode=1770"));
	/* fstab's full line with new values: limits change, the rest not. */
	ASSERT_EQ(0, fs_remount(self->a, "max=4,mode=700,uid=5,gid=6"));
	ASSERT_EQ(0, fs_options(self->a, opts, sizeof(opts)));
	ASSERT_STREQ("rw,max=4,user_max=2,mode=1770", opts);
	ASSERT_EQ(0, statfs(self->a, &sf));
	ASSERT_EQ(4, sf.f_files);
	ASSERT_EQ(0, stat(self->a, &st));
	ASSERT_EQ(S_IFDIR | 01770, st.st_mode);
	ASSERT_EQ(0, st.st_uid);
	ASSERT_EQ(0, st.st_gid);

	/* A remount naming no limit keeps them all. */
	ASSERT_EQ(0, fs_remount(self->a, NULL));
	ASSERT_EQ(0, fs_options(self->a, opts, sizeof(opts)));
	ASSERT_STREQ("rw,max=4,user_max=2,mode=1770", opts);

	/* A bad value: EINVAL and nothing changes. */
	ASSERT_EQ(-1, fs_remount(self->a, "max=0"));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, fs_remount(self->a, "user_max=3,max=1048577"));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, fs_options(self->a, opts, sizeof(opts)));
	ASSERT_STREQ("rw,max=4,user_max=2,mode=1770", opts);
}

static int chmod_ctl(const void *arg)
{
	if (become(2000, 2000))
		return 100;
	return chmod(arg, 0600) ? errno : 0;
}

TEST_F(fs, control_node_is_fixed)
{
	struct mbox_info info;
	struct stat st;
	char buf[8];
	char to[160];
	int fd, n;

	ASSERT_EQ(0, fs_mount(self->a, "uid=1000,gid=1001"));
	ASSERT_EQ(0, stat(self->ctl, &st));
	ASSERT_EQ(S_IFCHR | 0666, st.st_mode);
	ASSERT_EQ(1000, st.st_uid);
	ASSERT_EQ(1001, st.st_gid);
	ASSERT_LT(0, named_major());
	ASSERT_EQ(named_major(), major(st.st_rdev));
	ASSERT_EQ(0, minor(st.st_rdev));

	ASSERT_EQ(-1, unlink(self->ctl));
	ASSERT_EQ(EPERM, errno);
	snprintf(to, sizeof(to), "%s/other", self->a);
	ASSERT_EQ(-1, rename(self->ctl, to));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(0, stat(self->ctl, &st));

	fd = open(self->ctl, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	ASSERT_EQ(-1, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, write(fd, "x", 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, lseek(fd, 0, SEEK_SET));
	ASSERT_EQ(ESPIPE, errno);
	/* A mailbox's ioctls are not the control node's. */
	ASSERT_EQ(-1, ioctl(fd, MBOX_IOC_GET_INFO, &info));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(-1, ioctl(fd, FIONREAD, &n));
	ASSERT_EQ(ENOTTY, errno);
	close(fd);

	/* chmod: by its owner's rules (root may), not by anyone else. */
	ASSERT_EQ(EPERM, in_child(chmod_ctl, self->ctl));
	ASSERT_EQ(0, chmod(self->ctl, 0600));
	ASSERT_EQ(0, stat(self->ctl, &st));
	ASSERT_EQ(S_IFCHR | 0600, st.st_mode);
}

static int create_as_other(const void *arg)
{
	int fd;

	if (become(2000, 2000))
		return 100;
	fd = open(arg, O_WRONLY | O_CREAT, 0600);
	return fd < 0 ? errno : 0;
}

/* Only the kernel makes nodes here: everything else is refused. */
TEST_F(fs, no_other_objects)
{
	char path[160], name[400], comp[MBOX_NAME_MAX + 2];
	struct stat st;

	ASSERT_EQ(0, fs_mount(self->a, NULL));
	snprintf(path, sizeof(path), "%s/new", self->a);

	ASSERT_EQ(-1, mknod(path, S_IFCHR | 0600, makedev(1, 3)));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, mknod(path, S_IFIFO | 0600, 0));
	ASSERT_EQ(EPERM, errno);
	/* A regular file is ->create's: "use mbox create". */
	ASSERT_EQ(-1, mknod(path, S_IFREG | 0600, 0));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-1, open(path, O_WRONLY | O_CREAT, 0600));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-1, mkdir(path, 0700));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, link(self->ctl, path));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, symlink("x", path));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, stat(path, &st));
	ASSERT_EQ(ENOENT, errno);

	/* Without write permission on the 1775 root: EACCES first. */
	ASSERT_EQ(EACCES, in_child(create_as_other, path));

	/* A name one byte too long never reaches the filesystem. */
	memset(comp, 'n', MBOX_NAME_MAX + 1);
	comp[MBOX_NAME_MAX + 1] = '\0';
	snprintf(name, sizeof(name), "%s/%s", self->a, comp);
	ASSERT_EQ(-1, stat(name, &st));
	ASSERT_EQ(ENAMETOOLONG, errno);
}

/*
 * An open file keeps its instance: umount is EBUSY, a lazy umount
 * detaches it at once and frees it (and its module reference) at the
 * last close.
 */
TEST_F(fs, busy_and_lazy_umount)
{
	long long refs0 = module_refs(), i0 = instances();
	struct statfs sf;
	int fd;

	ASSERT_LE(0, refs0);
	ASSERT_LE(0, i0);
	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(refs0 + 1, module_refs());
	ASSERT_EQ(i0 + 1, instances());
	fd = open(self->ctl, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(refs0 + 2, module_refs());

	ASSERT_EQ(-1, umount(self->a));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_TRUE(is_mbox(self->a));

	ASSERT_EQ(0, umount2(self->a, MNT_DETACH));
	ASSERT_FALSE(is_mbox(self->a));
	ASSERT_EQ(0, fstatfs(fd, &sf));
	ASSERT_EQ(MBOX_FS_MAGIC, sf.f_type);
	ASSERT_EQ(-1, ioctl(fd, FIONREAD, &sf));
	ASSERT_EQ(ENOTTY, errno);
	ASSERT_EQ(refs0 + 2, module_refs());
	ASSERT_EQ(i0 + 1, instances());

	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(refs0, module_refs());
	ASSERT_EQ(i0, instances());
}

static int mount_unprivileged(const void *arg)
{
	if (become(1000, 1000))
		return 100;
	return fs_mount(arg, NULL) ? errno : 0;
}

TEST_F(fs, mount_needs_cap_sys_admin_in_the_user_namespace)
{
	ASSERT_EQ(EPERM, in_child(mount_unprivileged, self->a));
	ASSERT_FALSE(is_mbox(self->a));
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * What "unshare -Urm" does for uid 1000: a user namespace whose root is
 * uid 1000 outside, and a mount namespace it owns.
 */
static int enter_userns(void)
{
	if (become(1000, 1000))
		return -1;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return -1;
	if (write_file("/proc/self/setgroups", "deny") ||
	    write_file("/proc/self/uid_map", "0 1000 1") ||
	    write_file("/proc/self/gid_map", "0 1000 1"))
		return -1;
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

struct userns_args {
	const char *dir;
	const char *ctl;
};

static int userns_instance(const void *arg)
{
	const struct userns_args *a = arg;
	struct stat st;
	int fd;

	if (enter_userns())
		return 100;
	if (fs_mount(a->dir, NULL))
		return 101;
	if (stat(a->dir, &st) || st.st_mode != (S_IFDIR | 01775) ||
	    st.st_uid != 0 || st.st_gid != 0)
		return 102;
	/* The kernel's own device node opens in this mount (no SB_I_NODEV). */
	fd = open(a->ctl, O_RDWR);
	if (fd < 0)
		return 103;
	close(fd);
	if (umount(a->dir))
		return 104;
	/* Ids must be mapped in the namespace. */
	if (fs_mount(a->dir, "uid=1") != -1 || errno != EINVAL)
		return 105;
	if (fs_mount(a->dir, "gid=1") != -1 || errno != EINVAL)
		return 106;
	/* nodev is the mounter's to choose, and then it holds. */
	if (mount("mbox", a->dir, "mbox", MS_NODEV, NULL))
		return 107;
	fd = open(a->ctl, O_RDWR);
	if (fd >= 0 || errno != EACCES)
		return 108;
	/* The namespace's root may remount its instance. */
	if (fs_remount(a->dir, "max=3"))
		return 109;
	return 0;
}

TEST_F(fs, mount_in_a_user_namespace)
{
	struct userns_args a = { self->a, self->ctl };

	ASSERT_EQ(0, in_child(userns_instance, &a));
	/* Its mount namespace died with it: nothing is left here. */
	ASSERT_FALSE(is_mbox(self->a));
}

/* Named mailboxes (MBOX_CTL_CREATE). */

/* Entries of @dir besides . and ..; -1 on error. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static long long ffree(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) ? -1 : (long long)sf.f_ffree;
}

TEST_F(fs, create_makes_a_char_node)
{
	struct mbox_create req;
	struct mbox_info info;
	struct stat st, st2;
	char buf[200];
	int ctl, fd;

	ASSERT_EQ(0, fs_mount(self->a, "max=8"));
	ctl = ctl_open(self->a);
	ASSERT_LE(0, ctl);
	umask(022);
	create_req(&req, "jobs", 0666);
	req.ino = 12345;
	ASSERT_EQ(0, ioctl(ctl, MBOX_CTL_CREATE, &req));
	ASSERT_EQ(0, stat_in(self->a, "jobs", &st));
	ASSERT_EQ(S_IFCHR | 0644, st.st_mode);
	ASSERT_EQ(0, st.st_uid);
	ASSERT_EQ(0, st.st_gid);
	ASSERT_EQ(req.ino, st.st_ino);
	ASSERT_EQ(named_major(), major(st.st_rdev));
	ASSERT_EQ(1, minor(st.st_rdev));
	ASSERT_EQ(7, ffree(self->a));
	ASSERT_EQ(2, entries(self->a));

	/* It is a mailbox with the module's default limits. */
	fd = open_in(self->a, "jobs", O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	ASSERT_EQ(2, write(fd, "hi", 2));
	ASSERT_EQ(0, mbox_info(fd, &info));
	ASSERT_EQ(1, info.msgs_queued);
	ASSERT_EQ((__u32)st.st_ino, info.index);
	ASSERT_EQ(mbox_param("max_msg_size"), info.max_msg_size);
	ASSERT_EQ(mbox_param("max_urgent"), info.max_urgent);
	ASSERT_EQ(mbox_param("max_urgent_bytes"), info.max_urgent_bytes);
	ASSERT_EQ(2, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "hi", 2));
	close(fd);

	/* Given limits apply; another mailbox is another inode. */
	create_req(&req, "small", 0600);
	req.max_msg_size = 100;
	req.max_msgs = 3;
	req.max_bytes = 1000;
	req.max_urgent = 4;
	req.max_urgent_bytes = 150;
	ASSERT_EQ(0, ioctl(ctl, MBOX_CTL_CREATE, &req));
	ASSERT_EQ(0, stat_in(self->a, "small", &st2));
	ASSERT_NE(st.st_ino, st2.st_ino);
	ASSERT_EQ(st.st_rdev, st2.st_rdev);
	fd = open_in(self->a, "small", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mbox_info(fd, &info));
	ASSERT_EQ(100, info.max_msg_size);
	ASSERT_EQ(3, info.max_msgs);
	ASSERT_EQ(1000, info.max_bytes);
	ASSERT_EQ(4, info.max_urgent);
	ASSERT_EQ(150, info.max_urgent_bytes);
	ASSERT_EQ(-1, write(fd, buf, 101));
	ASSERT_EQ(EMSGSIZE, errno);
	/* The shell's way: echo hi > NAME opens with O_CREAT|O_TRUNC. */
	close(fd);
	fd = open_in(self->a, "small", O_WRONLY | O_CREAT | O_TRUNC);
	ASSERT_LE(0, fd) TH_LOG("open: %s", strerror(errno));
	ASSERT_EQ(3, write(fd, "hi\n", 3));
	close(fd);
	close(ctl);
}

struct create_args {
	const char *dir;
	struct mbox_create req;
};

static int create_as_2000(const void *arg)
{
	const struct create_args *c = arg;
	struct mbox_create req = c->req;
	int fd;

	if (become(2000, 2000))
		return 100;
	fd = ctl_open(c->dir);
	if (fd < 0)
		return 101;
	return ioctl(fd, MBOX_CTL_CREATE, &req) ? errno : 0;
}

/* Each error of MBOX_CTL_CREATE, and after each nothing was created. */
TEST_F(fs, create_errors_create_nothing)
{
	struct mbox_create req, *ro;
	struct {
		struct mbox_create req;
		__u64 extra;
	} longer;
	char name[MBOX_NAME_MAX + 1];
	struct create_args c = { .dir = self->a };
	struct stat st;
	int ctl;

	ASSERT_EQ(0, fs_mount(self->a, "max=3"));
	ctl = ctl_open(self->a);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, create_in(self->a, "taken", 0600));

#define CREATE_FAILS(err) do {						\
		errno = 0;						\
		EXPECT_EQ(-1, ioctl(ctl, MBOX_CTL_CREATE, &req));	\
		EXPECT_EQ(err, errno) TH_LOG("name '%s'", req.name);	\
		EXPECT_EQ(2, entries(self->a));				\
		EXPECT_EQ(2, ffree(self->a));				\
	} while (0)

	create_req(&req, "", 0600);
	CREATE_FAILS(EINVAL);
	create_req(&req, ".", 0600);
	CREATE_FAILS(EINVAL);
	create_req(&req, "..", 0600);
	CREATE_FAILS(EINVAL);
	create_req(&req, "a/b", 0600);
	CREATE_FAILS(EINVAL);
	create_req(&req, "x", 0600);
	memset(req.name, 'n', sizeof(req.name));
	CREATE_FAILS(ENAMETOOLONG);
	create_req(&req, MBOX_CONTROL_NAME, 0600);
	CREATE_FAILS(EEXIST);
	create_req(&req, "taken", 0600);
	CREATE_FAILS(EEXIST);
	create_req(&req, "x", 01600);
	CREATE_FAILS(EINVAL);
	create_req(&req, "x", 0600);
	req.flags = 0x2;
	CREATE_FAILS(EINVAL);
	create_req(&req, "x", 0600);
	req.reserved = 1;
	CREATE_FAILS(EINVAL);
	create_req(&req, "x", 0600);
	req.reserved2 = 1;
	CREATE_FAILS(EINVAL);
	create_req(&req, "x", 0600);
	req.max_urgent_bytes = MBOX_MAX_BYTES_LIMIT + 1;
	CREATE_FAILS(EINVAL);
	create_req(&req, "x", 0600);
	req.max_msg_size = 4096;
	req.max_bytes = 4095;
	CREATE_FAILS(EINVAL);
	create_req(&req, "x", 0600);
	req.max_msg_size = MBOX_MAX_MSG_SIZE_LIMIT + 1;
	CREATE_FAILS(EINVAL);
	create_req(&req, "x", 0600);
	req.max_urgent = MBOX_MAX_URGENT_LIMIT + 1;
	CREATE_FAILS(EINVAL);
	create_req(&req, "x", 0600);
	req.flags = MBOX_CREATE_GID;
	req.gid = -1;
	CREATE_FAILS(EINVAL);

	/* Shorter than the first size: not this command. */
	create_req(&req, "x", 0600);
	errno = 0;
	EXPECT_EQ(-1, ioctl(ctl, _IOC(_IOC_READ | _IOC_WRITE, MBOX_IOC_MAGIC,
				      0x20, sizeof(req) - 8), &req));
	EXPECT_EQ(ENOTTY, errno);
	/* Longer, with a nonzero byte this kernel does not know: E2BIG. */
	create_req(&longer.req, "x", 0600);
	longer.extra = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(ctl, _IOC(_IOC_READ | _IOC_WRITE, MBOX_IOC_MAGIC,
				      0x20, sizeof(longer)), &longer));
	EXPECT_EQ(E2BIG, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(ctl, MBOX_CTL_CREATE, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	/* The result cannot be written back: nothing is done. */
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	create_req(ro, "x", 0600);
	ASSERT_EQ(0, mprotect(ro, 4096, PROT_READ));
	errno = 0;
	EXPECT_EQ(-1, ioctl(ctl, MBOX_CTL_CREATE, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
	EXPECT_EQ(2, entries(self->a));

	/* Another user, without write permission on the 1775 root. */
	create_req(&c.req, "x", 0600);
	EXPECT_EQ(EACCES, in_child(create_as_2000, &c));
	EXPECT_EQ(2, entries(self->a));

	/* 255 bytes is a good name; then the instance is full. */
	memset(name, 'n', MBOX_NAME_MAX);
	name[MBOX_NAME_MAX] = '\0';
	create_req(&req, name, 0600);
	EXPECT_EQ(0, ioctl(ctl, MBOX_CTL_CREATE, &req));
	EXPECT_EQ(0, create_in(self->a, "third", 0600));
	EXPECT_EQ(0, ffree(self->a));
	create_req(&req, "fourth", 0600);
	errno = 0;
	EXPECT_EQ(-1, ioctl(ctl, MBOX_CTL_CREATE, &req));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(4, entries(self->a));

	/* A group the creator is not in needs CAP_CHOWN. */
	ASSERT_EQ(0, umount2(self->a, MNT_DETACH));
	close(ctl);
	ASSERT_EQ(0, fs_mount(self->a, "mode=1777"));
	create_req(&c.req, "grp", 0600);
	c.req.flags = MBOX_CREATE_GID;
	c.req.gid = 3000;
	EXPECT_EQ(EPERM, in_child(create_as_2000, &c));
	EXPECT_EQ(1, entries(self->a));
	c.req.gid = 2000;
	EXPECT_EQ(0, in_child(create_as_2000, &c));
	ASSERT_EQ(0, stat_in(self->a, "grp", &st));
	EXPECT_EQ(2000, st.st_uid);
	EXPECT_EQ(2000, st.st_gid);
	/* Root may give any group. */
	create_req(&req, "rootgrp", 0640);
	req.flags = MBOX_CREATE_GID;
	req.gid = 3000;
	ctl = ctl_open(self->a);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, ioctl(ctl, MBOX_CTL_CREATE, &req));
	close(ctl);
	ASSERT_EQ(0, stat_in(self->a, "rootgrp", &st));
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(3000, st.st_gid);
#undef CREATE_FAILS
}

struct as_user {
	uid_t uid;
	const char *dir;
	const char *name;
	int op;
};

enum { OP_CREATE_0600, OP_OPEN_RD, OP_OPEN_WR, OP_CHMOD_0666, OP_UNLINK,
	OP_SEND, OP_SET_LIMITS_WRONLY, OP_FLUSH_ALL_WRONLY };

static int as_user(const void *arg)
{
	const struct as_user *u = arg;
	char path[400];
	int fd;

	if (become(u->uid, u->uid))
		return 100;
	umask(0);
	snprintf(path, sizeof(path), "%s/%s", u->dir, u->name);
	switch (u->op) {
	case OP_CREATE_0600:
		return create_in(u->dir, u->name, 0600) ? errno : 0;
	case OP_OPEN_RD:
	case OP_OPEN_WR:
		fd = open(path, u->op == OP_OPEN_RD ? O_RDONLY : O_WRONLY);
		if (fd < 0)
			return errno;
		close(fd);
		return 0;
	case OP_CHMOD_0666:
		return chmod(path, 0666) ? errno : 0;
	case OP_UNLINK:
		return unlink(path) ? errno : 0;
	case OP_SEND:
		fd = open(path, O_WRONLY);
		if (fd < 0)
			return errno;
		if (write(fd, "from user", 9) != 9)
			return 101;
		close(fd);
		return 0;
	case OP_SET_LIMITS_WRONLY:
	case OP_FLUSH_ALL_WRONLY:
		/* Write-only: a reader's right to flush does not apply. */
		fd = open(path, O_WRONLY);
		if (fd < 0)
			return errno;
		if (u->op == OP_SET_LIMITS_WRONLY ?
		    ioctl(fd, MBOX_IOC_SET_LIMITS,
			  &(struct mbox_limits){ .max_msgs = 7 }) :
		    ioctl(fd, MBOX_IOC_FLUSH, &(struct mbox_flush){ 0 }))
			return errno;
		close(fd);
		return 0;
	}
	return 102;
}

static int user_does(uid_t uid, const char *dir, const char *name, int op)
{
	struct as_user u = { uid, dir, name, op };

	return in_child(as_user, &u);
}

/* Owner and mode are the creator's; open() and rm follow them. */
TEST_F(fs, permissions_follow_owner_and_mode)
{
	struct mbox_msg_header hdr;
	char buf[64];
	struct stat st;
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, "mode=1777"));
	ASSERT_EQ(0, user_does(1000, self->a, "priv", OP_CREATE_0600));
	ASSERT_EQ(0, stat_in(self->a, "priv", &st));
	ASSERT_EQ(S_IFCHR | 0600, st.st_mode);
	ASSERT_EQ(1000, st.st_uid);
	ASSERT_EQ(1000, st.st_gid);

	ASSERT_EQ(0, user_does(1000, self->a, "priv", OP_SEND));
	ASSERT_EQ(EACCES, user_does(1001, self->a, "priv", OP_OPEN_RD));
	ASSERT_EQ(EACCES, user_does(1001, self->a, "priv", OP_OPEN_WR));
	ASSERT_EQ(EPERM, user_does(1001, self->a, "priv", OP_CHMOD_0666));
	/* Root reads uid 1000's message, stamped with its ids. */
	fd = open_in(self->a, "priv", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mbox_set_header_mode(fd, 1));
	ASSERT_EQ(sizeof(hdr) + 9, mbox_recv_hdr(fd, &hdr, buf, sizeof(buf)));
	ASSERT_EQ(1000, hdr.uid);
	ASSERT_EQ(1000, hdr.opener_uid);
	close(fd);

	/* The sticky root: only the owner (or root) removes it. */
	ASSERT_EQ(EPERM, user_does(1001, self->a, "priv", OP_UNLINK));
	ASSERT_EQ(0, user_does(1000, self->a, "priv", OP_CHMOD_0666));
	ASSERT_EQ(0, user_does(1001, self->a, "priv", OP_OPEN_WR));
	ASSERT_EQ(EPERM, user_does(1001, self->a, "priv", OP_UNLINK));
	ASSERT_EQ(0, user_does(1000, self->a, "priv", OP_UNLINK));
	ASSERT_EQ(-1, stat_in(self->a, "priv", &st));
	ASSERT_EQ(ENOENT, errno);
}

/*
 * A named mailbox's owner administers it (limits, flushing others'
 * messages without reading), as it may chmod it; nobody else but root,
 * and /dev/mboxN stays root's.
 */
TEST_F(fs, the_owner_administers_its_mailbox)
{
	struct mbox_info info;
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, "mode=1777"));
	ASSERT_EQ(0, user_does(1000, self->a, "own", OP_CREATE_0600));
	ASSERT_EQ(0, user_does(1000, self->a, "own", OP_CHMOD_0666));
	ASSERT_EQ(EPERM, user_does(1001, self->a, "own", OP_SET_LIMITS_WRONLY));
	ASSERT_EQ(0, user_does(1001, self->a, "own", OP_SEND));
	ASSERT_EQ(EPERM, user_does(1001, self->a, "own", OP_FLUSH_ALL_WRONLY));
	fd = open_in(self->a, "own", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mbox_info(fd, &info));
	ASSERT_EQ(1, info.msgs_queued);
	ASSERT_EQ(mbox_param("max_msgs"), info.max_msgs);

	ASSERT_EQ(0, user_does(1000, self->a, "own", OP_SET_LIMITS_WRONLY));
	ASSERT_EQ(0, user_does(1000, self->a, "own", OP_FLUSH_ALL_WRONLY));
	ASSERT_EQ(0, mbox_info(fd, &info));
	ASSERT_EQ(7, info.max_msgs);
	ASSERT_EQ(0, info.msgs_queued);
	ASSERT_EQ(1, info.flushed_msgs);
	close(fd);
}

TEST_F(fs, dev_mbox_limits_stay_root_s)
{
	struct stat st;
	int ret;

	ASSERT_EQ(0, stat(MBOX_DEV(0), &st));
	ASSERT_EQ(0, chmod(MBOX_DEV(0), 0666));
	/* A uid 1000 that owned /dev/mbox0 would still not be its admin. */
	ASSERT_EQ(0, chown(MBOX_DEV(0), 1000, st.st_gid));
	ret = user_does(1000, "/dev", "mbox0", OP_SET_LIMITS_WRONLY);
	chown(MBOX_DEV(0), st.st_uid, st.st_gid);
	chmod(MBOX_DEV(0), st.st_mode & 07777);
	ASSERT_EQ(EPERM, ret);
}

/*
 * Inode numbers are the instance's own, from 3, and a freed one is not
 * given to the next mailbox (st_dev and st_ino identify a mailbox).
 */
TEST_F(fs, inode_numbers_are_unique_in_the_instance)
{
	struct stat a, b, c;

	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(0, fs_mount(self->b, NULL));
	ASSERT_EQ(0, create_in(self->a, "x", 0600));
	ASSERT_EQ(0, create_in(self->a, "y", 0600));
	ASSERT_EQ(0, create_in(self->b, "x", 0600));
	ASSERT_EQ(0, stat_in(self->a, "x", &a));
	ASSERT_EQ(0, stat_in(self->a, "y", &b));
	ASSERT_EQ(0, stat_in(self->b, "x", &c));
	ASSERT_EQ(3, a.st_ino);
	ASSERT_EQ(4, b.st_ino);
	ASSERT_EQ(3, c.st_ino);
	ASSERT_NE(a.st_dev, c.st_dev);
	ASSERT_EQ(0, unlink_in(self->a, "x"));
	ASSERT_EQ(0, create_in(self->a, "z", 0600));
	ASSERT_EQ(0, stat_in(self->a, "z", &c));
	ASSERT_EQ(5, c.st_ino);
}

/* rm takes the name at once; open files go on; last close frees it. */
TEST_F(fs, rm_keeps_open_files_until_the_last_close)
{
	long long refs0 = module_refs();
	struct stat st, st2;
	char buf[16], path[200];
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, "max=4"));
	ASSERT_EQ(0, create_in(self->a, "jobs", 0600));
	ASSERT_EQ(0, stat_in(self->a, "jobs", &st));
	fd = open_in(self->a, "jobs", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, write(fd, "a", 1));
	snprintf(path, sizeof(path), "%s/jobs", self->a);
	ASSERT_EQ(0, unlink(path));
	ASSERT_EQ(-1, stat_in(self->a, "jobs", &st2));
	ASSERT_EQ(ENOENT, errno);
	/* Still counted against max= while open. */
	ASSERT_EQ(3, ffree(self->a));
	ASSERT_EQ(1, write(fd, "b", 1));
	ASSERT_EQ(1, read(fd, buf, sizeof(buf)));
	ASSERT_EQ('a', buf[0]);

	/* The name is free again: a new mailbox, empty. */
	ASSERT_EQ(0, create_in(self->a, "jobs", 0600));
	ASSERT_EQ(0, stat_in(self->a, "jobs", &st2));
	ASSERT_NE(st.st_ino, st2.st_ino);
	ASSERT_EQ(2, ffree(self->a));
	ASSERT_EQ(1, read(fd, buf, sizeof(buf)));
	ASSERT_EQ('b', buf[0]);
	ASSERT_EQ(refs0 + 2, module_refs());
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(3, ffree(self->a));
	ASSERT_EQ(refs0 + 1, module_refs());
}

/* A child that reads one message from @fd and checks it is @want. */
static pid_t read_in_child(int fd, const char *want)
{
	pid_t pid = mbox_fork();
	char buf[64];

	if (pid == 0) {
		ssize_t n = read(fd, buf, sizeof(buf));

		_exit(n == (ssize_t)strlen(want) && !memcmp(buf, want, n) ? 0 : 1);
	}
	return pid;
}

static pid_t write_in_child(int fd, const char *text)
{
	pid_t pid = mbox_fork();

	if (pid == 0)
		_exit(write(fd, text, strlen(text)) == (ssize_t)strlen(text) ?
		      0 : 1);
	return pid;
}

static int reaped_ok(pid_t pid)
{
	int status;

	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/*
 * rm while a reader is blocked, then while a writer is: both finish, the
 * name is gone at once, and the mailbox goes with the last close.
 */
TEST_F(fs, rm_with_a_blocked_reader_and_a_blocked_writer)
{
	struct mbox_create req;
	long long refs0 = module_refs();
	char buf[64];
	int ctl, fd;
	pid_t pid;

	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ctl = ctl_open(self->a);
	ASSERT_LE(0, ctl);
	create_req(&req, "box", 0600);
	req.max_msgs = 1;
	ASSERT_EQ(0, ioctl(ctl, MBOX_CTL_CREATE, &req));
	close(ctl);
	fd = open_in(self->a, "box", O_RDWR);
	ASSERT_LE(0, fd);

	/* A reader blocked on the empty mailbox, then the name goes. */
	pid = read_in_child(fd, "one");
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, mbox_wait_readers(fd, 1));
	ASSERT_EQ(0, unlink_in(self->a, "box"));
	ASSERT_EQ(-1, open_in(self->a, "box", O_RDWR));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(3, write(fd, "one", 3));
	ASSERT_TRUE(reaped_ok(pid));

	/* A writer blocked on the full mailbox (max_msgs 1). */
	ASSERT_EQ(4, write(fd, "full", 4));
	pid = write_in_child(fd, "two");
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, mbox_wait_writers(fd, 1));
	ASSERT_EQ(4, read(fd, buf, sizeof(buf)));
	ASSERT_TRUE(reaped_ok(pid));
	ASSERT_EQ(3, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "two", 3));
	ASSERT_EQ(refs0 + 2, module_refs());
	ASSERT_EQ(0, close(fd));
	/* The instance alone holds the module now: the mailbox is freed. */
	ASSERT_EQ(refs0 + 1, module_refs());
}

/* A 0660 mailbox of a group: two of its members share it, others not. */
static int group_member_sends(const void *arg)
{
	const char *path = arg;
	gid_t groups[1] = { 3000 };
	int fd;

	if (setgroups(1, groups) || setresgid(1001, 1001, 1001) ||
	    setresuid(1001, 1001, 1001))
		return 100;
	fd = open(path, O_RDWR);
	if (fd < 0)
		return errno;
	if (write(fd, "member", 6) != 6)
		return 101;
	close(fd);
	return 0;
}

static int group_creates(const void *arg)
{
	const char *dir = arg;
	gid_t groups[1] = { 3000 };
	struct mbox_create req;
	int ctl, ret;

	if (setgroups(1, groups) || setresgid(1000, 1000, 1000) ||
	    setresuid(1000, 1000, 1000))
		return 100;
	umask(0);
	ctl = ctl_open(dir);
	if (ctl < 0)
		return errno;
	create_req(&req, "team", 0660);
	req.flags = MBOX_CREATE_GID;
	req.gid = 3000;
	ret = ioctl(ctl, MBOX_CTL_CREATE, &req) ? errno : 0;
	close(ctl);
	return ret;
}

TEST_F(fs, a_group_mailbox_is_shared_by_its_members)
{
	struct mbox_msg_header hdr;
	char path[200], buf[64];
	struct stat st;
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, "mode=1777"));
	ASSERT_EQ(0, in_child(group_creates, self->a));
	ASSERT_EQ(0, stat_in(self->a, "team", &st));
	ASSERT_EQ(S_IFCHR | 0660, st.st_mode);
	ASSERT_EQ(1000, st.st_uid);
	ASSERT_EQ(3000, st.st_gid);
	snprintf(path, sizeof(path), "%s/team", self->a);
	ASSERT_EQ(0, in_child(group_member_sends, path));
	/* Not a member: EACCES. */
	ASSERT_EQ(EACCES, user_does(1002, self->a, "team", OP_OPEN_WR));
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mbox_set_header_mode(fd, 1));
	ASSERT_EQ(sizeof(hdr) + 6, mbox_recv_hdr(fd, &hdr, buf, sizeof(buf)));
	ASSERT_EQ(1001, hdr.uid);
	close(fd);
}

TEST_F(fs, rename_moves_a_mailbox_but_not_the_control_node)
{
	char from[200], to[200], ctl[200];
	char buf[16];
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(0, create_in(self->a, "jobs", 0600));
	fd = open_in(self->a, "jobs", O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(3, write(fd, "msg", 3));
	close(fd);
	snprintf(from, sizeof(from), "%s/jobs", self->a);
	snprintf(to, sizeof(to), "%s/work", self->a);
	snprintf(ctl, sizeof(ctl), "%s/" MBOX_CONTROL_NAME, self->a);
	ASSERT_EQ(0, rename(from, to));
	fd = open_in(self->a, "work", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(3, read(fd, buf, sizeof(buf)));
	close(fd);
	ASSERT_EQ(-1, rename(to, ctl));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, rename(ctl, to));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(2, entries(self->a));
	/* Across instances: EXDEV. */
	ASSERT_EQ(0, fs_mount(self->b, NULL));
	snprintf(from, sizeof(from), "%s/work", self->b);
	ASSERT_EQ(-1, rename(to, from));
	ASSERT_EQ(EXDEV, errno);
}

TEST_F(fs, same_name_in_two_instances_is_two_mailboxes)
{
	struct stat sa, sb;
	char buf[16];
	int fa, fb;

	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(0, fs_mount(self->b, NULL));
	ASSERT_EQ(0, create_in(self->a, "x", 0600));
	ASSERT_EQ(0, create_in(self->b, "x", 0600));
	ASSERT_EQ(0, stat_in(self->a, "x", &sa));
	ASSERT_EQ(0, stat_in(self->b, "x", &sb));
	ASSERT_NE(sa.st_dev, sb.st_dev);
	fa = open_in(self->a, "x", O_RDWR | O_NONBLOCK);
	fb = open_in(self->b, "x", O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	ASSERT_EQ(3, write(fa, "one", 3));
	ASSERT_EQ(-1, read(fb, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(3, read(fa, buf, sizeof(buf)));
	close(fa);
	close(fb);
}

/*
 * A read-only mount of an instance creates nothing: its control node
 * opens (a device node), but MBOX_CTL_CREATE is EROFS, as creat() there
 * would be; the writable mount of the same instance still creates.
 */
TEST_F(fs, create_on_a_read_only_mount_is_erofs)
{
	struct stat st;

	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(0, mount(self->a, self->b, NULL, MS_BIND, NULL));
	ASSERT_EQ(0, mount(NULL, self->b, NULL,
			   MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
	ASSERT_EQ(-1, create_in(self->b, "ro", 0600));
	ASSERT_EQ(EROFS, errno);
	ASSERT_EQ(-1, stat_in(self->a, "ro", &st));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(1, entries(self->a));
	ASSERT_EQ(0, create_in(self->a, "rw", 0600));
	ASSERT_EQ(0, stat_in(self->b, "rw", &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
}

/* Unmount frees every mailbox; a lazy one waits for the last file. */
TEST_F(fs, umount_frees_the_mailboxes)
{
	long long refs0 = module_refs();
	char buf[16];
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(0, create_in(self->a, "one", 0600));
	ASSERT_EQ(0, create_in(self->a, "two", 0600));
	fd = open_in(self->a, "one", O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(4, write(fd, "left", 4));
	close(fd);
	ASSERT_EQ(refs0 + 1, module_refs());
	ASSERT_EQ(0, umount(self->a));
	ASSERT_EQ(refs0, module_refs());

	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(0, create_in(self->a, "one", 0600));
	fd = open_in(self->a, "one", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, umount(self->a));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0, umount2(self->a, MNT_DETACH));
	ASSERT_EQ(4, write(fd, "more", 4));
	ASSERT_EQ(4, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(refs0 + 2, module_refs());
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(refs0, module_refs());
}

/* The node's numbers lead nowhere: a copy of it opens nothing. */
TEST_F(fs, a_copied_node_is_enxio)
{
	char copy[64] = "/tmp/mbox-fs-copy.XXXXXX";
	char path[128];
	struct stat st;
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(0, create_in(self->a, "jobs", 0666));
	ASSERT_EQ(0, stat_in(self->a, "jobs", &st));
	ASSERT_NE(NULL, mkdtemp(copy));
	snprintf(path, sizeof(path), "%s/jobs", copy);
	ASSERT_EQ(0, mknod(path, S_IFCHR | 0666, st.st_rdev));
	fd = open(path, O_RDWR);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(ENXIO, errno);
	unlink(path);
	ASSERT_EQ(0, stat(self->ctl, &st));
	ASSERT_EQ(0, mknod(path, S_IFCHR | 0666, st.st_rdev));
	fd = open(path, O_RDWR);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(ENXIO, errno);
	unlink(path);
	rmdir(copy);
}

/* Each kind of node has its own ioctls: the others are ENOTTY. */
TEST_F(fs, ctl_ioctls_on_a_mailbox_are_enotty)
{
	struct mbox_create req;
	int fd;

	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(0, create_in(self->a, "jobs", 0600));
	fd = open_in(self->a, "jobs", O_RDWR);
	ASSERT_LE(0, fd);
	create_req(&req, "other", 0600);
	ASSERT_EQ(-1, ioctl(fd, MBOX_CTL_CREATE, &req));
	ASSERT_EQ(ENOTTY, errno);
	close(fd);
	fd = open(MBOX_DEV(0), O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, ioctl(fd, MBOX_CTL_CREATE, &req));
	ASSERT_EQ(ENOTTY, errno);
	close(fd);
	ASSERT_EQ(2, entries(self->a));
}

static int userns_mailbox(const void *arg)
{
	const char *dir = arg;
	struct mbox_msg_header hdr;
	char buf[64];
	struct stat st;
	int fd;

	if (enter_userns())
		return 100;
	if (fs_mount(dir, NULL))
		return 101;
	umask(0);
	if (create_in(dir, "mine", 0600))
		return 102;
	if (stat_in(dir, "mine", &st) || st.st_uid != 0 || st.st_gid != 0 ||
	    st.st_mode != (S_IFCHR | 0600))
		return 103;
	fd = open_in(dir, "mine", O_RDWR);
	if (fd < 0)
		return 104;
	if (mbox_set_header_mode(fd, 1) || write(fd, "in ns", 5) != 5)
		return 105;
	if (mbox_recv_hdr(fd, &hdr, buf, sizeof(buf)) != sizeof(hdr) + 5 ||
	    memcmp(buf, "in ns", 5))
		return 106;
	/* Stamped as the namespace sees its root. */
	if (hdr.uid != 0 || hdr.opener_uid != 0 || hdr.pid != getpid())
		return 107;
	close(fd);
	return 0;
}

TEST_F(fs, a_user_namespace_makes_and_uses_its_own_mailboxes)
{
	ASSERT_EQ(0, in_child(userns_mailbox, self->a));
	ASSERT_FALSE(is_mbox(self->a));
}

/* "unshare -Urmp --fork": pipes between the host and the namespace's init. */
struct pidns_args {
	const char *dir;
	int to_host[2];		/* the init's host pid, then "sent" */
	int from_host[2];	/* "read": the init may exit */
};

/* Pid 1 of a new pid namespace, root of a user namespace (uid 1000). */
static int pidns_init(const struct pidns_args *a)
{
	struct mbox_msg_header hdr;
	char buf[64], c = 's';
	int fd;

	if (getpid() != 1 || fs_mount(a->dir, NULL))
		return 110;
	if (create_in(a->dir, "mine", 0600))
		return 111;
	fd = open_in(a->dir, "mine", O_RDWR);
	if (fd < 0 || mbox_set_header_mode(fd, 1) || write(fd, "in", 2) != 2)
		return 112;
	/* Inside: stamped as the namespaces see it, root and pid 1. */
	if (mbox_recv_hdr(fd, &hdr, buf, sizeof(buf)) != sizeof(hdr) + 2 ||
	    hdr.uid != 0 || hdr.opener_uid != 0 || hdr.pid != 1)
		return 113;
	close(fd);
	/* The host's message: its root is unmapped here, its pid unseen. */
	fd = open(MBOX_DEV(1), O_RDWR);
	if (fd < 0 || mbox_set_header_mode(fd, 1))
		return 114;
	if (mbox_recv_hdr(fd, &hdr, buf, sizeof(buf)) != sizeof(hdr) + 4 ||
	    memcmp(buf, "host", 4) || hdr.uid != 65534 || hdr.pid != 0)
		return 115;
	/* Ours, for the host to read while we are alive. */
	if (mbox_set_header_mode(fd, 0) || write(fd, "from ns", 7) != 7)
		return 116;
	if (write(a->to_host[1], &c, 1) != 1 || read(a->from_host[0], &c, 1) != 1)
		return 117;
	return 0;
}

static int pidns_child(const void *arg)
{
	const struct pidns_args *a = arg;
	int status;
	pid_t pid;

	if (enter_userns() || unshare(CLONE_NEWPID))
		return 100;
	pid = fork();
	if (pid == 0)
		_exit(pidns_init(a));
	if (pid < 0 || write(a->to_host[1], &pid, sizeof(pid)) != sizeof(pid))
		return 101;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 102;
	return WEXITSTATUS(status);
}

/*
 * A container made by "unshare -Urmp --fork" (uid 1000) mounts its own
 * instance, creates, sends and receives; the host sees none of it, and
 * the credentials it stamps read right on both sides.
 */
TEST_F(fs, a_container_s_credentials_read_right_in_and_out)
{
	struct pidns_args a = { .dir = self->a };
	long long instances0 = instances();
	struct mbox_msg_header hdr;
	char buf[64], c;
	struct stat st;
	int fd, status;
	pid_t child, init;

	ASSERT_EQ(0, pipe(a.to_host));
	ASSERT_EQ(0, pipe(a.from_host));
	ASSERT_EQ(0, stat(MBOX_DEV(1), &st));
	ASSERT_EQ(0, chmod(MBOX_DEV(1), 0666));
	fd = mbox_open_reset(1, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(4, write(fd, "host", 4));

	child = mbox_fork();
	ASSERT_LE(0, child);
	if (child == 0)
		_exit(pidns_child(&a));
	ASSERT_EQ(sizeof(init), read(a.to_host[0], &init, sizeof(init)));
	ASSERT_EQ(1, read(a.to_host[0], &c, 1));
	/* Outside: uid 1000 and its host pid. */
	ASSERT_EQ(0, mbox_set_header_mode(fd, 1));
	ASSERT_EQ(sizeof(hdr) + 7, mbox_recv_hdr(fd, &hdr, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "from ns", 7));
	ASSERT_EQ(1000, hdr.uid);
	ASSERT_EQ(1000, hdr.opener_uid);
	ASSERT_EQ(init, hdr.pid);
	/* The host does not see the container's instance. */
	ASSERT_FALSE(is_mbox(self->a));
	ASSERT_EQ(instances0 + 1, instances());
	ASSERT_EQ(1, write(a.from_host[1], "r", 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	chmod(MBOX_DEV(1), st.st_mode & 07777);
	close(fd);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* Gone with its mount namespace. */
	ASSERT_EQ(instances0, instances());
}

TEST_HARNESS_MAIN
