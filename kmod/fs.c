// SPDX-License-Identifier: GPL-2.0
/*
 * mbox: the mbox filesystem.  Each mount is an instance of its own, a
 * directory of named mailboxes and the mbox-control node through which
 * they are created (as binderfs does with binder-control).  It can be
 * mounted in a user namespace by that namespace's root.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/fsnotify.h>
#include <linux/kdev_t.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>
#include <linux/xarray.h>

#include "mbox_internal.h"

/* Mailboxes in one instance: option max=, 1 to this, default below. */
#define MBOX_FS_MAX_LIMIT	1048576U
#define MBOX_FS_MAX_DEFAULT	1024U
/*
 * Per-user quotas in one instance (user_max=, user_bytes=; quota.c).  The
 * module's own quotas apply on top, so a mounter may set these higher
 * than those without getting more.
 */
#define MBOX_FS_USER_MAX_DEFAULT	256U
#define MBOX_FS_USER_BYTES_DEFAULT	(32ULL << 20)
#define MBOX_FS_USER_BYTES_LIMIT	BIT_ULL(40)
#define MBOX_FS_MODE_DEFAULT	01775

#define MBOX_FS_ROOT_INO	1
#define MBOX_FS_CONTROL_INO	2

/* Minor 0 of the mbox-named region: the control node; no cdev has it. */
static dev_t kmbox_named_devt;

/* Superblocks alive, lazily unmounted ones included (sysfs: instances). */
static atomic_t mbox_fs_instances = ATOMIC_INIT(0);

unsigned int kmbox_fs_instances(void)
{
	return atomic_read(&mbox_fs_instances);
}

struct mbox_fs_opts {
	u32 max;
	u32 user_max;
	u64 user_bytes;
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
};

/*
 * One instance; @opts.max changes at remount, read with READ_ONCE(); the
 * quotas live in @quota (@opts.user_* are only what the mount gave).
 */
struct mbox_fs_info {
	struct mbox_fs_opts opts;
	unsigned int given;	/* BIT(MBOX_OPT_*) of mode, uid, gid at mount */
	struct dentry *control;
	atomic_t nr_mailboxes;	/* live, removed-but-open included */
	/*
	 * Inode numbers of the live mailboxes, unique in the instance and
	 * handed out cyclically, so that a removed mailbox's number does not
	 * name the next one at once (st_dev and st_ino identify a mailbox).
	 */
	struct xarray inos;
	u32 next_ino;
	/*
	 * Per-user quotas (limits user_max, user_bytes), under the module's.
	 * Every message and mailbox charged to it is freed before kill_sb
	 * frees it: each is reachable only through an inode of this
	 * instance, or through a file that holds one.
	 */
	struct mbox_quota quota;
};

/* The options given to one mount or remount. */
struct mbox_fs_context {
	struct mbox_fs_opts opts;
	unsigned int seen;	/* BIT(MBOX_OPT_*) of the options given */
};

enum {
	MBOX_OPT_MAX,
	MBOX_OPT_USER_MAX,
	MBOX_OPT_USER_BYTES,
	MBOX_OPT_MODE,
	MBOX_OPT_UID,
	MBOX_OPT_GID,
};

static const struct fs_parameter_spec mbox_fs_parameters[] = {
	fsparam_u32("max", MBOX_OPT_MAX),
	fsparam_u32("user_max", MBOX_OPT_USER_MAX),
	fsparam_string("user_bytes", MBOX_OPT_USER_BYTES),
	fsparam_u32oct("mode", MBOX_OPT_MODE),
	fsparam_u32("uid", MBOX_OPT_UID),
	fsparam_u32("gid", MBOX_OPT_GID),
	{}
};

static inline struct mbox_fs_info *mbox_fs_sb(const struct super_block *sb)
{
	return sb->s_fs_info;
}

/*
 * A byte count with an optional K, M or G, as memparse() reads it, but
 * refused when it does not fit 64 bits: memparse() wraps silently.  One
 * trailing newline is allowed (a module parameter written with echo).
 */
int kmbox_parse_bytes(const char *s, u64 *bytes)
{
	size_t len = strlen(s);
	unsigned int shift = 0;
	char digits[24];

	if (len && s[len - 1] == '\n')
		len--;
	if (len) {
		switch (s[len - 1]) {
		case 'G': case 'g':
			shift += 10;
			fallthrough;
		case 'M': case 'm':
			shift += 10;
			fallthrough;
		case 'K': case 'k':
			shift += 10;
			len--;
		}
	}
	if (!len || len >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, s, len);
	digits[len] = '\0';
	if (kstrtoull(digits, 0, bytes) || *bytes > (U64_MAX >> shift))
		return -EINVAL;
	*bytes <<= shift;
	return 0;
}

static int mbox_fs_parse_param(struct fs_context *fc,
			       struct fs_parameter *param)
{
	struct mbox_fs_context *ctx = fc->fs_private;
	struct fs_parse_result result;
	u64 bytes;
	kuid_t uid;
	kgid_t gid;
	int opt;

	/* Unknown keys (and "source") go back to the VFS. */
	opt = fs_parse(fc, mbox_fs_parameters, param, &result);
	if (opt < 0)
		return opt;

	switch (opt) {
	case MBOX_OPT_MAX:
		if (result.uint_32 < 1 || result.uint_32 > MBOX_FS_MAX_LIMIT)
			return invalfc(fc, "max=%u: use 1-%u",
				       result.uint_32, MBOX_FS_MAX_LIMIT);
		ctx->opts.max = result.uint_32;
		break;
	case MBOX_OPT_USER_MAX:
		if (result.uint_32 < 1 || result.uint_32 > MBOX_FS_MAX_LIMIT)
			return invalfc(fc, "user_max=%u: use 1-%u",
				       result.uint_32, MBOX_FS_MAX_LIMIT);
		ctx->opts.user_max = result.uint_32;
		break;
	case MBOX_OPT_USER_BYTES:
		if (kmbox_parse_bytes(param->string, &bytes) || bytes < 1 ||
		    bytes > MBOX_FS_USER_BYTES_LIMIT)
			return invalfc(fc, "user_bytes=%s: use 1-%llu (K, M, G allowed)",
				       param->string, MBOX_FS_USER_BYTES_LIMIT);
		ctx->opts.user_bytes = bytes;
		break;
	case MBOX_OPT_MODE:
		if (result.uint_32 & ~07777)
			return invalfc(fc, "mode=%#o: only permission bits (07777)",
				       result.uint_32);
		ctx->opts.mode = result.uint_32;
		break;
	case MBOX_OPT_UID:
		uid = make_kuid(fc->user_ns, result.uint_32);
		if (!uid_valid(uid))
			return invalfc(fc, "uid=%u is not mapped in the mounter's user namespace",
				       result.uint_32);
		ctx->opts.uid = uid;
		break;
	case MBOX_OPT_GID:
		gid = make_kgid(fc->user_ns, result.uint_32);
		if (!gid_valid(gid))
			return invalfc(fc, "gid=%u is not mapped in the mounter's user namespace",
				       result.uint_32);
		ctx->opts.gid = gid;
		break;
	default:
		return invalfc(fc, "unsupported parameter '%s'", param->key);
	}
	ctx->seen |= BIT(opt);
	return 0;
}

static int mbox_fs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct mbox_fs_info *fsi = mbox_fs_sb(dentry->d_sb);
	u32 max = READ_ONCE(fsi->opts.max);
	u32 live = atomic_read(&fsi->nr_mailboxes);
	int ret;

	ret = simple_statfs(dentry, buf);
	if (ret)
		return ret;
	/* One inode per mailbox; a lowered max may be below the live count. */
	buf->f_files = max;
	buf->f_ffree = live < max ? max - live : 0;
	return 0;
}

/* The values given at mount or remount; ids as the reader sees them. */
static int mbox_fs_show_options(struct seq_file *seq, struct dentry *root)
{
	struct mbox_fs_info *fsi = mbox_fs_sb(root->d_sb);
	u32 max = READ_ONCE(fsi->opts.max);
	u32 user_max = READ_ONCE(fsi->quota.max_mailboxes);
	u64 user_bytes = READ_ONCE(fsi->quota.max_bytes);

	if (max != MBOX_FS_MAX_DEFAULT)
		seq_printf(seq, ",max=%u", max);
	if (user_max != MBOX_FS_USER_MAX_DEFAULT)
		seq_printf(seq, ",user_max=%u", user_max);
	if (user_bytes != MBOX_FS_USER_BYTES_DEFAULT)
		seq_printf(seq, ",user_bytes=%llu", user_bytes);
	if (fsi->given & BIT(MBOX_OPT_MODE))
		seq_printf(seq, ",mode=%o", fsi->opts.mode);
	if (fsi->given & BIT(MBOX_OPT_UID))
		seq_printf(seq, ",uid=%u",
			   from_kuid_munged(seq_user_ns(seq), fsi->opts.uid));
	if (fsi->given & BIT(MBOX_OPT_GID))
		seq_printf(seq, ",gid=%u",
			   from_kgid_munged(seq_user_ns(seq), fsi->opts.gid));
	return 0;
}

/*
 * The last reference to a named mailbox's inode is gone: no name, no open
 * file.  Its messages go with it.  Runs before kill_sb frees @fsi.
 */
static void mbox_fs_evict_inode(struct inode *inode)
{
	struct mbox *mb = inode->i_private;

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	if (inode->i_ino > MBOX_FS_CONTROL_INO)
		xa_erase(&mbox_fs_sb(inode->i_sb)->inos, inode->i_ino);
	if (!mb)
		return;
	kmbox_destroy(mb);
	kmbox_quota_uncharge(mb->owner, 1, 0);
	kmbox_quota_user_put(mb->owner);
	kfree(mb);
	atomic_dec(&mbox_fs_sb(inode->i_sb)->nr_mailboxes);
}

static const struct super_operations mbox_fs_sops = {
	.statfs		= mbox_fs_statfs,
	.evict_inode	= mbox_fs_evict_inode,
	/* Evicted at the last iput, never kept for reclaim to find. */
	.drop_inode	= generic_delete_inode,
	.show_options	= mbox_fs_show_options,
};

static bool mbox_fs_is_control(const struct dentry *dentry)
{
	return dentry == mbox_fs_sb(dentry->d_sb)->control;
}

/* Mailboxes are made through mbox-control, never by open(O_CREAT). */
static int mbox_fs_create(struct user_namespace *mnt_userns, struct inode *dir,
			  struct dentry *dentry, umode_t mode, bool excl)
{
	return -EOPNOTSUPP;
}

static int mbox_fs_unlink(struct inode *dir, struct dentry *dentry)
{
	if (mbox_fs_is_control(dentry))
		return -EPERM;
	return simple_unlink(dir, dentry);
}

static int mbox_fs_rename(struct user_namespace *mnt_userns,
			  struct inode *old_dir, struct dentry *old_dentry,
			  struct inode *new_dir, struct dentry *new_dentry,
			  unsigned int flags)
{
	if (mbox_fs_is_control(old_dentry) || mbox_fs_is_control(new_dentry))
		return -EPERM;
	return simple_rename(&init_user_ns, old_dir, old_dentry, new_dir,
			     new_dentry, flags);
}

/* No mknod, link, symlink or mkdir: the VFS answers EPERM. */
static const struct inode_operations mbox_fs_dir_iops = {
	.lookup	= simple_lookup,
	.create	= mbox_fs_create,
	.unlink	= mbox_fs_unlink,
	.rename	= mbox_fs_rename,
};

/* Checks 2-4 of MBOX_CTL_CREATE: flags, mode, name and limits. */
static int mbox_create_valid(const struct mbox_create *req,
			     struct mbox_limits *limits, size_t *len)
{
	if (req->flags & ~MBOX_CREATE_ALL_FLAGS || req->reserved ||
	    req->reserved2 || req->mode & ~0777)
		return -EINVAL;

	*len = strnlen(req->name, sizeof(req->name));
	if (*len == sizeof(req->name))
		return -ENAMETOOLONG;
	/* Before lookup_one_len(), which would say EACCES. */
	if (!*len || memchr(req->name, '/', *len) ||
	    !strcmp(req->name, ".") || !strcmp(req->name, ".."))
		return -EINVAL;

	memset(limits, 0, sizeof(*limits));
	limits->max_msg_size = req->max_msg_size ?: kmbox_default_max_msg_size;
	limits->max_msgs = req->max_msgs ?: kmbox_default_max_msgs;
	limits->max_bytes = req->max_bytes ?: kmbox_default_max_bytes;
	limits->max_urgent = req->max_urgent ?: kmbox_default_max_urgent;
	limits->max_urgent_bytes = req->max_urgent_bytes ?:
				   kmbox_default_max_urgent_bytes;
	return kmbox_limits_valid(limits);
}

/* Check 5: the group asked for, as chown(2) would allow it; in @gid. */
static int mbox_create_gid(const struct mbox_create *req,
			   struct inode *root, kgid_t *gid)
{
	if (!(req->flags & MBOX_CREATE_GID))
		return 0;
	*gid = make_kgid(current_user_ns(), req->gid);
	if (!gid_valid(*gid) || !kgid_has_mapping(root->i_sb->s_user_ns, *gid))
		return -EINVAL;
	if (!in_group_p(*gid) &&
	    !capable_wrt_inode_uidgid(&init_user_ns, root, CAP_CHOWN))
		return -EPERM;
	return 0;
}

/*
 * Under the root's lock: the name must be free and the instance not
 * full; then @inode, its mailbox ready, gets the name.  The dentry's
 * reference from lookup_one_len() is the pin that unlink or
 * kill_litter_super() drops, as in binderfs.
 */
static int mbox_create_locked(struct super_block *sb, const char *name,
			      size_t len, struct inode *inode,
			      struct mbox_quota_user *owner)
{
	struct mbox_fs_info *fsi = mbox_fs_sb(sb);
	struct inode *dir = d_inode(sb->s_root);
	struct dentry *dentry;
	int ret;

	dentry = lookup_one_len(name, sb->s_root, len);
	if (IS_ERR(dentry))
		return PTR_ERR(dentry);
	ret = -EEXIST;
	if (d_really_is_positive(dentry))
		goto err_dput;
	/* The owner's quota of mailboxes, in this instance and in all. */
	ret = kmbox_quota_charge(owner, 1, 0);
	if (ret)
		goto err_dput;
	if (atomic_inc_return(&fsi->nr_mailboxes) > READ_ONCE(fsi->opts.max)) {
		atomic_dec(&fsi->nr_mailboxes);
		kmbox_quota_uncharge(owner, 1, 0);
		ret = -ENOSPC;
		goto err_dput;
	}
	d_instantiate(dentry, inode);
	dir->i_mtime = current_time(dir);
	dir->i_ctime = dir->i_mtime;
	fsnotify_create(dir, dentry);
	return 0;

err_dput:
	dput(dentry);
	return ret;
}

/* MBOX_CTL_CREATE: every check and allocation first, nothing made on error. */
static int mbox_ctl_create(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct mbox_create __user *ureq = (void __user *)arg;
	struct super_block *sb = file_inode(file)->i_sb;
	struct inode *root = d_inode(sb->s_root);
	struct mbox_fs_info *fsi = mbox_fs_sb(sb);
	struct mbox_quota_user *owner;
	struct mbox_limits limits;
	struct mbox_create req;
	struct inode *inode;
	kgid_t gid = INVALID_GID;
	unsigned long ino;
	u32 id;
	struct mbox *mb;
	size_t len;
	int ret;

	ret = copy_struct_from_user(&req, sizeof(req), ureq, _IOC_SIZE(cmd));
	if (ret)
		return ret;
	ret = mbox_create_valid(&req, &limits, &len);
	if (ret)
		return ret;
	ret = mbox_create_gid(&req, root, &gid);
	if (ret)
		return ret;
	/* The owner must be representable in the instance, as for creat(). */
	if (!fsuidgid_has_mapping(sb, &init_user_ns))
		return -EOVERFLOW;
	ret = inode_permission(&init_user_ns, root, MAY_WRITE | MAY_EXEC);
	if (ret)
		return ret;
	if (put_user(0ULL, &ureq->ino))
		return -EFAULT;

	/* Charged under the root's lock, once the name is known free. */
	owner = kmbox_quota_user_get(&fsi->quota, current_fsuid(),
				     GFP_KERNEL_ACCOUNT);
	if (IS_ERR(owner))
		return PTR_ERR(owner);

	ret = -ENOMEM;
	mb = kzalloc(sizeof(*mb), GFP_KERNEL_ACCOUNT);
	if (!mb)
		goto err_put_owner;
	inode = new_inode(sb);
	if (!inode)
		goto err_free;
	/*
	 * Not get_next_ino(), a counter the whole system shares and that
	 * wraps: two live mailboxes would show the same st_ino.  Freed at
	 * the evict, also of an inode that never got its name; until then
	 * i_ino is 0 (inode_init_always()), which evict does not free.
	 */
	ret = xa_alloc_cyclic(&fsi->inos, &id, inode,
			      XA_LIMIT(MBOX_FS_CONTROL_INO + 1, INT_MAX),
			      &fsi->next_ino, GFP_KERNEL_ACCOUNT);
	if (ret < 0) {
		iput(inode);
		goto err_free;
	}
	inode->i_ino = id;
	inode_init_owner(&init_user_ns, inode, root,
			 S_IFCHR | (req.mode & ~current_umask()));
	if (gid_valid(gid))
		inode->i_gid = gid;
	init_special_inode(inode, inode->i_mode,
			   MKDEV(MAJOR(kmbox_named_devt), 1));
	/* After init_special_inode(), which sets the chrdev_open() fops. */
	inode->i_fop = &kmbox_named_fops;
	inode->i_atime = current_time(inode);
	inode->i_mtime = inode->i_atime;
	inode->i_ctime = inode->i_atime;
	kmbox_init(mb, inode->i_ino, &limits);
	mb->quota = &fsi->quota;
	/* Charged with the name; uncharged at the evict. */
	mb->owner = owner;
	inode->i_private = mb;

	/*
	 * Once named, an unlink may free the inode at any time: nothing
	 * reads it after the unlock.
	 */
	ino = inode->i_ino;

	/*
	 * As filename_create(): a read-only mount (a bind mount's, which
	 * inode_permission() does not see) is EROFS, and the permission is
	 * decided under the root's lock, against a concurrent chmod.
	 */
	ret = mnt_want_write_file(file);
	if (ret)
		goto err_iput;
	inode_lock(root);
	ret = inode_permission(&init_user_ns, root, MAY_WRITE | MAY_EXEC);
	if (!ret)
		ret = mbox_create_locked(sb, req.name, len, inode, owner);
	inode_unlock(root);
	mnt_drop_write_file(file);
	if (ret)
		goto err_iput;

	/* Checked writable above: if unmapped since, it exists anyway. */
	if (put_user((u64)ino, &ureq->ino))
		return -EFAULT;
	return 0;

err_iput:
	/* Nothing counted it yet: evict must not uncount or free it. */
	inode->i_private = NULL;
	iput(inode);
	kmbox_destroy(mb);
err_free:
	kfree(mb);
err_put_owner:
	kmbox_quota_user_put(owner);
	return ret;
}

/* Same number and direction, and at least the first published size. */
static bool mbox_ctl_cmd_is(unsigned int cmd, unsigned int base,
			    unsigned int min_size)
{
	return _IOC_TYPE(cmd) == _IOC_TYPE(base) &&
	       _IOC_NR(cmd) == _IOC_NR(base) &&
	       _IOC_DIR(cmd) == _IOC_DIR(base) &&
	       _IOC_SIZE(cmd) >= min_size;
}

static long mbox_ctl_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	BUILD_BUG_ON(MBOX_CREATE_SIZE_VER0 !=
		     offsetofend(struct mbox_create, name));

	if (mbox_ctl_cmd_is(cmd, MBOX_CTL_CREATE, MBOX_CREATE_SIZE_VER0))
		return mbox_ctl_create(file, cmd, arg);
	return -ENOTTY;
}

/* No read or write: both are EINVAL. */
static const struct file_operations mbox_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= mbox_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};

static struct inode *mbox_fs_new_inode(struct super_block *sb,
				       unsigned long ino, umode_t mode)
{
	struct mbox_fs_info *fsi = mbox_fs_sb(sb);
	struct inode *inode;

	inode = new_inode(sb);
	if (!inode)
		return NULL;
	inode->i_ino = ino;
	inode->i_mode = mode;
	inode->i_uid = fsi->opts.uid;
	inode->i_gid = fsi->opts.gid;
	inode->i_atime = current_time(inode);
	inode->i_mtime = inode->i_atime;
	inode->i_ctime = inode->i_atime;
	return inode;
}

static int mbox_fs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct mbox_fs_context *ctx = fc->fs_private;
	struct mbox_fs_info *fsi;
	struct dentry *dentry;
	struct inode *inode;

	/*
	 * Only the kernel makes device nodes here (no mknod, no link), and
	 * each opens only through its inode's i_fop (the region has no
	 * cdev), so a user-namespace mount can allow them, as binderfs does.
	 */
	sb->s_iflags &= ~SB_I_NODEV;
	sb->s_iflags |= SB_I_NOEXEC;
	sb->s_magic = MBOX_FS_MAGIC;
	sb->s_op = &mbox_fs_sops;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_time_gran = 1;

	/* On any error below, kill_sb frees what is made. */
	fsi = kzalloc(sizeof(*fsi), GFP_KERNEL_ACCOUNT);
	if (!fsi)
		return -ENOMEM;
	fsi->opts = ctx->opts;
	fsi->given = ctx->seen;
	atomic_set(&fsi->nr_mailboxes, 0);
	xa_init_flags(&fsi->inos, XA_FLAGS_ALLOC);
	fsi->next_ino = MBOX_FS_CONTROL_INO + 1;
	kmbox_quota_init(&fsi->quota, &kmbox_module_quota, fsi->opts.user_max,
			 fsi->opts.user_bytes);
	sb->s_fs_info = fsi;
	atomic_inc(&mbox_fs_instances);

	inode = mbox_fs_new_inode(sb, MBOX_FS_ROOT_INO, S_IFDIR | fsi->opts.mode);
	if (!inode)
		return -ENOMEM;
	inode->i_op = &mbox_fs_dir_iops;
	inode->i_fop = &simple_dir_operations;
	set_nlink(inode, 2);
	sb->s_root = d_make_root(inode);
	if (!sb->s_root)
		return -ENOMEM;

	/* Who may create is decided by the root's mode, not this node's. */
	inode = mbox_fs_new_inode(sb, MBOX_FS_CONTROL_INO, 0);
	if (!inode)
		return -ENOMEM;
	init_special_inode(inode, S_IFCHR | 0666, kmbox_named_devt);
	inode->i_fop = &mbox_ctl_fops;
	dentry = d_alloc_name(sb->s_root, MBOX_CONTROL_NAME);
	if (!dentry) {
		iput(inode);
		return -ENOMEM;
	}
	fsi->control = dentry;
	/* The dentry's reference pins it until kill_litter_super(). */
	d_add(dentry, inode);
	return 0;
}

static int mbox_fs_get_tree(struct fs_context *fc)
{
	/* A new superblock each time: every mount is its own instance. */
	return get_tree_nodev(fc, mbox_fs_fill_super);
}

/* Remount changes the limits given; mode, uid and gid are for chmod, chown. */
static int mbox_fs_reconfigure(struct fs_context *fc)
{
	struct mbox_fs_context *ctx = fc->fs_private;
	struct mbox_fs_info *fsi = mbox_fs_sb(fc->root->d_sb);

	if (ctx->seen & BIT(MBOX_OPT_MAX))
		WRITE_ONCE(fsi->opts.max, ctx->opts.max);
	if (ctx->seen & BIT(MBOX_OPT_USER_MAX))
		WRITE_ONCE(fsi->quota.max_mailboxes, ctx->opts.user_max);
	if (ctx->seen & BIT(MBOX_OPT_USER_BYTES))
		WRITE_ONCE(fsi->quota.max_bytes, ctx->opts.user_bytes);
	return 0;
}

static void mbox_fs_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations mbox_fs_context_ops = {
	.free		= mbox_fs_free_fc,
	.parse_param	= mbox_fs_parse_param,
	.get_tree	= mbox_fs_get_tree,
	.reconfigure	= mbox_fs_reconfigure,
};

static int mbox_fs_init_fs_context(struct fs_context *fc)
{
	struct mbox_fs_context *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	ctx->opts.max = MBOX_FS_MAX_DEFAULT;
	ctx->opts.user_max = MBOX_FS_USER_MAX_DEFAULT;
	ctx->opts.user_bytes = MBOX_FS_USER_BYTES_DEFAULT;
	ctx->opts.mode = MBOX_FS_MODE_DEFAULT;
	/* The mounter owns the root unless uid= or gid= say otherwise. */
	ctx->opts.uid = fc->cred->fsuid;
	ctx->opts.gid = fc->cred->fsgid;
	fc->fs_private = ctx;
	fc->ops = &mbox_fs_context_ops;
	return 0;
}

static void mbox_fs_kill_sb(struct super_block *sb)
{
	struct mbox_fs_info *fsi = mbox_fs_sb(sb);

	/* Eviction of the instance's inodes still needs @fsi. */
	kill_litter_super(sb);
	if (!fsi)
		return;
	kmbox_quota_destroy(&fsi->quota);
	WARN_ON_ONCE(!xa_empty(&fsi->inos));
	xa_destroy(&fsi->inos);
	kfree(fsi);
	atomic_dec(&mbox_fs_instances);
}

static struct file_system_type mbox_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "mbox",
	.init_fs_context	= mbox_fs_init_fs_context,
	.parameters		= mbox_fs_parameters,
	.kill_sb		= mbox_fs_kill_sb,
	/* Not FS_ALLOW_IDMAP: idmapped mounts are refused. */
	.fs_flags		= FS_USERNS_MOUNT,
};
MODULE_ALIAS_FS("mbox");

/* Called last at module init: a mount may come as soon as it returns. */
int __init kmbox_fs_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&kmbox_named_devt, 0, 2, "mbox-named");
	if (ret)
		return ret;
	ret = register_filesystem(&mbox_fs_type);
	if (ret)
		goto err_region;
	return 0;

err_region:
	unregister_chrdev_region(kmbox_named_devt, 2);
	return ret;
}

/* Every instance holds the module, so none is left here. */
void kmbox_fs_exit(void)
{
	unregister_filesystem(&mbox_fs_type);
	unregister_chrdev_region(kmbox_named_devt, 2);
}
