/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the tests of the mbox filesystem: mounting an instance,
 * creating named mailboxes in it, and running a step as another user.
 */
#ifndef MBOX_FS_H
#define MBOX_FS_H

#include <grp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "mbox_test.h"

static inline int fs_mount(const char *dir, const char *opts)
{
	return mount("mbox", dir, "mbox", 0, opts);
}

static inline int fs_remount(const char *dir, const char *opts)
{
	return mount(NULL, dir, NULL, MS_REMOUNT, opts);
}

static inline bool is_mbox(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 && sf.f_type == MBOX_FS_MAGIC;
}

/* Become @uid/@gid with no supplementary groups and no capability. */
static inline int become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		return -1;
	/* setresuid() cleared it; writing our own id maps needs it. */
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/* Run @fn(@arg) in a child; its return value (an errno or 0) comes back. */
static inline int in_child(int (*fn)(const void *), const void *arg)
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

static inline int ctl_open(const char *dir)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/" MBOX_CONTROL_NAME, dir);
	return open(path, O_RDWR | O_CLOEXEC);
}

static inline void create_req(struct mbox_create *req, const char *name,
		       unsigned int mode)
{
	memset(req, 0, sizeof(*req));
	req->mode = mode;
	snprintf(req->name, sizeof(req->name), "%s", name);
}

/* Create @name in the instance at @dir: 0, or -1 with errno. */
static inline int create_in(const char *dir, const char *name, unsigned int mode)
{
	struct mbox_create req;
	int fd, ret, err;

	fd = ctl_open(dir);
	if (fd < 0)
		return -1;
	create_req(&req, name, mode);
	ret = ioctl(fd, MBOX_CTL_CREATE, &req);
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

static inline int open_in(const char *dir, const char *name, int flags)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, flags | O_CLOEXEC);
}

static inline int unlink_in(const char *dir, const char *name)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return unlink(path);
}

static inline int stat_in(const char *dir, const char *name, struct stat *st)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, st);
}

#endif /* MBOX_FS_H */
