// SPDX-License-Identifier: GPL-2.0
/*
 * The mbox filesystem's instances: mount, options, remount, statfs, the
 * mbox-control node, what the root directory refuses, busy and lazy
 * unmount, and mounting in a user namespace.  Each case mounts in a mount
 * namespace of its own (the harness forks each case), so nothing it
 * mounts outlives it.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <sys/mount.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "mbox_test.h"

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

static int fs_mount(const char *dir, const char *opts)
{
	return mount("mbox", dir, "mbox", 0, opts);
}

static int fs_remount(const char *dir, const char *opts)
{
	return mount(NULL, dir, NULL, MS_REMOUNT, opts);
}

static bool is_mbox(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 && sf.f_type == MBOX_FS_MAGIC;
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

/* Become @uid/@gid with no supplementary groups and no capability. */
static int become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		return -1;
	/* setresuid() cleared it; writing our own id maps needs it. */
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/* Run @fn(@arg) in a child; its return value (an errno or 0) comes back. */
static int in_child(int (*fn)(const void *), const void *arg)
{
	int status;
	pid_t pid;

	pid = mbox_fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
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
	struct stat sa, sb, ca, cb;
	struct statfs fa, fb;
	char ctl_b[128];

	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(0, fs_mount(self->b, NULL));
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
	ASSERT_TRUE(is_mbox(self->b));
	ASSERT_EQ(0, stat(ctl_b, &cb));
}

TEST_F(fs, mount_option_errors)
{
	static const char *const bad[] = {
		"max=0", "max=1048577", "max=x", "max=-1",
		"user_max=0", "user_max=257",
		"user_bytes=0", "user_bytes=33554433", "user_bytes=33M",
		"user_bytes=1M1", "user_bytes=",
		"mode=010000", "mode=9", "uid=4294967295", "gid=4294967295",
		"foo=1",
	};
	static const char *const edges[] = {
		"max=1", "max=1048576", "user_max=1", "user_max=256",
		"user_bytes=1", "user_bytes=32M", "mode=07777", "mode=0",
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
		{ "user_bytes", "1M1", "user_bytes=1M1: use 1-33554432" },
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
	long long refs0 = module_refs();
	struct statfs sf;
	int fd;

	ASSERT_LE(0, refs0);
	ASSERT_EQ(0, fs_mount(self->a, NULL));
	ASSERT_EQ(refs0 + 1, module_refs());
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

	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(refs0, module_refs());
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

TEST_HARNESS_MAIN
