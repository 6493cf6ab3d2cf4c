// SPDX-License-Identifier: GPL-2.0
/*
 * mbox: module setup.  Creates /dev/mbox0 .. /dev/mbox<nr_mailboxes - 1>,
 * each one mailbox, with its limits and counters read-only under
 * /sys/class/mbox/mboxN/, and registers the mbox filesystem (fs.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/sysfs.h>

#include "mbox_internal.h"

#define MBOX_MAX_MAILBOXES	256

static unsigned int nr_mailboxes = 4;
module_param(nr_mailboxes, uint, 0444);
MODULE_PARM_DESC(nr_mailboxes, "Number of /dev/mboxN devices, 1-256 (default 4)");

unsigned int kmbox_default_max_msg_size = 64 * 1024;
module_param_named(max_msg_size, kmbox_default_max_msg_size, uint, 0444);
MODULE_PARM_DESC(max_msg_size, "Default largest message in bytes (default 65536)");

unsigned int kmbox_default_max_msgs = 1024;
module_param_named(max_msgs, kmbox_default_max_msgs, uint, 0444);
MODULE_PARM_DESC(max_msgs, "Default most messages queued per mailbox (default 1024)");

unsigned long kmbox_default_max_bytes = 1024 * 1024;
module_param_named(max_bytes, kmbox_default_max_bytes, ulong, 0444);
MODULE_PARM_DESC(max_bytes, "Default most payload bytes queued per mailbox (default 1048576)");

unsigned int kmbox_default_max_urgent = 16;
module_param_named(max_urgent, kmbox_default_max_urgent, uint, 0444);
MODULE_PARM_DESC(max_urgent, "Default urgent messages reserved per mailbox (default 16)");

unsigned long kmbox_default_max_urgent_bytes = 1024 * 1024;
module_param_named(max_urgent_bytes, kmbox_default_max_urgent_bytes, ulong,
		   0444);
MODULE_PARM_DESC(max_urgent_bytes, "Default most payload bytes of urgent messages per mailbox (default 1048576)");

/*
 * The module's per-user quotas (quota.c), which also cap every instance's:
 * root may change them at run time; charges made stay.
 */
static int mbox_param_set_user_mailboxes(const char *val,
					 const struct kernel_param *kp)
{
	u32 n;
	int ret = kstrtou32(val, 0, &n);

	if (ret)
		return ret;
	if (n < 1)
		return -EINVAL;
	WRITE_ONCE(kmbox_module_quota.max_mailboxes, n);
	return 0;
}

static int mbox_param_get_user_mailboxes(char *buf,
					 const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(kmbox_module_quota.max_mailboxes));
}

static const struct kernel_param_ops mbox_user_mailboxes_ops = {
	.set = mbox_param_set_user_mailboxes,
	.get = mbox_param_get_user_mailboxes,
};
module_param_cb(user_mailboxes, &mbox_user_mailboxes_ops, NULL, 0644);
MODULE_PARM_DESC(user_mailboxes, "Named mailboxes one user may have created, in all instances together, at least 1 (default 1024)");

static int mbox_param_set_user_bytes(const char *val,
				     const struct kernel_param *kp)
{
	u64 n;
	int ret = kmbox_parse_bytes(val, &n);

	if (ret)
		return ret;
	if (n < 1)
		return -EINVAL;
	WRITE_ONCE(kmbox_module_quota.max_bytes, n);
	return 0;
}

static int mbox_param_get_user_bytes(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%llu\n", READ_ONCE(kmbox_module_quota.max_bytes));
}

static const struct kernel_param_ops mbox_user_bytes_ops = {
	.set = mbox_param_set_user_bytes,
	.get = mbox_param_get_user_bytes,
};
module_param_cb(user_bytes, &mbox_user_bytes_ops, NULL, 0644);
MODULE_PARM_DESC(user_bytes, "Bytes one user's queued messages may hold in all mailboxes together, each message its payload + 128; K, M, G allowed, at least 1 (default 67108864)");

static dev_t mbox_devt;
static struct class *mbox_class;
static struct mbox **mailboxes;

/*
 * Lifetimes.  The kernel may release a kobject long after its last
 * kobject_put() (CONFIG_DEBUG_KOBJECT_RELEASE defers it to a kworker, by
 * seconds), so a kobject whose release function is module code, or whose
 * memory the module frees, can be used after the module is gone.  Waiting
 * for the release at exit does not close that: whatever tells exit the
 * release is done (a counter, a completion) is itself module code that
 * runs after it, and free_module() may free the text while that code
 * still returns.  So no kobject is ours: the cdev comes from cdev_alloc()
 * and the device from device_create_with_groups(), and the kernel's own
 * cdev_dynamic_release() and device_create_release() free them whenever
 * their last reference goes, touching nothing of the module.  The mailbox
 * has no kobject: exit frees it itself, once device_unregister() has
 * drained the sysfs readers (kernfs waits for them) and cdev_del() has
 * stopped new opens; an open file holds the module (cdev owner), so exit
 * runs only when none is left.
 */

/*
 * sysfs: one read-only file per field of struct mbox_info, each read from
 * the same consistent snapshot that MBOX_IOC_GET_INFO returns.
 */
struct mbox_info_attr {
	struct device_attribute dattr;
	size_t offset;
	size_t size;
};

static ssize_t mbox_info_show(struct device *dev,
			      struct device_attribute *dattr, char *buf)
{
	const struct mbox_info_attr *attr =
		container_of(dattr, struct mbox_info_attr, dattr);
	struct mbox_info info;
	const void *field;
	u64 val;

	kmbox_get_info(dev_get_drvdata(dev), &info);
	field = (const u8 *)&info + attr->offset;
	if (attr->size == sizeof(u64))
		val = *(const u64 *)field;
	else
		val = *(const u32 *)field;
	return sysfs_emit(buf, "%llu\n", val);
}

/* The macro's name says the field's width; mbox_info_show() reads that. */
#define MBOX_INFO_ATTR(field, width)					\
	struct mbox_info_attr mbox_attr_##field = {			\
		.dattr = {						\
			.attr = { .name = #field, .mode = 0444 },	\
			.show = mbox_info_show,				\
		},							\
		.offset = offsetof(struct mbox_info, field),		\
		.size = sizeof(width),					\
	}
#define MBOX_INFO_ATTR32(field) MBOX_INFO_ATTR(field, u32)
#define MBOX_INFO_ATTR64(field) MBOX_INFO_ATTR(field, u64)

static MBOX_INFO_ATTR32(max_msg_size);
static MBOX_INFO_ATTR32(max_msgs);
static MBOX_INFO_ATTR64(max_bytes);
static MBOX_INFO_ATTR32(max_urgent);
static MBOX_INFO_ATTR32(msgs_queued);
static MBOX_INFO_ATTR64(bytes_queued);
static MBOX_INFO_ATTR32(urgent_queued);
static MBOX_INFO_ATTR32(readers_waiting);
static MBOX_INFO_ATTR32(writers_waiting);
static MBOX_INFO_ATTR32(inflight);
static MBOX_INFO_ATTR64(total_enqueued);
static MBOX_INFO_ATTR64(total_dequeued);
static MBOX_INFO_ATTR64(next_seq);
static MBOX_INFO_ATTR64(flushed_msgs);
static MBOX_INFO_ATTR64(flushed_bytes);
static MBOX_INFO_ATTR64(max_urgent_bytes);
static MBOX_INFO_ATTR64(urgent_bytes_queued);

static struct attribute *mbox_attrs[] = {
	&mbox_attr_max_msg_size.dattr.attr,
	&mbox_attr_max_msgs.dattr.attr,
	&mbox_attr_max_bytes.dattr.attr,
	&mbox_attr_max_urgent.dattr.attr,
	&mbox_attr_msgs_queued.dattr.attr,
	&mbox_attr_bytes_queued.dattr.attr,
	&mbox_attr_urgent_queued.dattr.attr,
	&mbox_attr_readers_waiting.dattr.attr,
	&mbox_attr_writers_waiting.dattr.attr,
	&mbox_attr_inflight.dattr.attr,
	&mbox_attr_total_enqueued.dattr.attr,
	&mbox_attr_total_dequeued.dattr.attr,
	&mbox_attr_next_seq.dattr.attr,
	&mbox_attr_flushed_msgs.dattr.attr,
	&mbox_attr_flushed_bytes.dattr.attr,
	&mbox_attr_max_urgent_bytes.dattr.attr,
	&mbox_attr_urgent_bytes_queued.dattr.attr,
	NULL
};
ATTRIBUTE_GROUPS(mbox);

/* /sys/class/mbox/instances: mbox filesystem instances alive. */
static ssize_t instances_show(struct class *class,
			      struct class_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", kmbox_fs_instances());
}
static CLASS_ATTR_RO(instances);

static int mbox_params_valid(struct mbox_limits *limits)
{
	if (nr_mailboxes < 1 || nr_mailboxes > MBOX_MAX_MAILBOXES) {
		pr_err("nr_mailboxes=%u is out of range: use 1-%u\n",
		       nr_mailboxes, MBOX_MAX_MAILBOXES);
		return -EINVAL;
	}
	if (kmbox_default_max_urgent_bytes > MBOX_MAX_BYTES_LIMIT) {
		pr_err("max_urgent_bytes=%lu is out of range: use 1-%llu\n",
		       kmbox_default_max_urgent_bytes, MBOX_MAX_BYTES_LIMIT);
		return -EINVAL;
	}
	if (kmbox_default_max_bytes > MBOX_MAX_BYTES_LIMIT) {
		pr_err("max_bytes=%lu is out of range: use max_msg_size-%llu\n",
		       kmbox_default_max_bytes, MBOX_MAX_BYTES_LIMIT);
		return -EINVAL;
	}
	memset(limits, 0, sizeof(*limits));
	limits->max_msg_size = kmbox_default_max_msg_size;
	limits->max_msgs = kmbox_default_max_msgs;
	limits->max_bytes = kmbox_default_max_bytes;
	limits->max_urgent = kmbox_default_max_urgent;
	limits->max_urgent_bytes = kmbox_default_max_urgent_bytes;
	if (kmbox_limits_valid(limits)) {
		pr_err("invalid limits max_msg_size=%u max_msgs=%u max_bytes=%lu max_urgent=%u max_urgent_bytes=%lu: need 1 <= max_msg_size <= %u, 1 <= max_msgs <= %u, max_msg_size <= max_bytes <= %llu, 1 <= max_urgent <= %u, 1 <= max_urgent_bytes <= %llu\n",
		       kmbox_default_max_msg_size, kmbox_default_max_msgs,
		       kmbox_default_max_bytes, kmbox_default_max_urgent,
		       kmbox_default_max_urgent_bytes,
		       MBOX_MAX_MSG_SIZE_LIMIT, MBOX_MAX_MSGS_LIMIT,
		       MBOX_MAX_BYTES_LIMIT, MBOX_MAX_URGENT_LIMIT,
		       MBOX_MAX_BYTES_LIMIT);
		return -EINVAL;
	}
	return 0;
}

/* The mailbox of minor @minor; open() holds the module, so it is alive. */
struct mbox *kmbox_lookup(unsigned int minor)
{
	return minor < nr_mailboxes ? mailboxes[minor] : NULL;
}

/* Undo mbox_add_device(): no sysfs reader, no new open, then free. */
static void mbox_remove_device(struct mbox *mb)
{
	device_unregister(mb->dev);
	cdev_del(mb->cdev);
	kmbox_destroy(mb);
	kfree(mb);
}

static void mbox_remove_devices(unsigned int count)
{
	while (count--)
		mbox_remove_device(mailboxes[count]);
}

/*
 * One mailbox: the cdev is live before the device (and its uevent)
 * appears, so the node opens as soon as udev creates it.
 */
static int mbox_add_device(unsigned int index,
			   const struct mbox_limits *limits)
{
	dev_t devt = MKDEV(MAJOR(mbox_devt), index);
	struct mbox *mb;
	int ret;

	mb = kzalloc(sizeof(*mb), GFP_KERNEL);
	if (!mb)
		return -ENOMEM;
	kmbox_init(mb, index, limits);
	mb->quota = &kmbox_module_quota;
	/* Before cdev_add() publishes the minor to open(). */
	mailboxes[index] = mb;

	ret = -ENOMEM;
	mb->cdev = cdev_alloc();
	if (!mb->cdev)
		goto err_free;
	mb->cdev->owner = THIS_MODULE;
	mb->cdev->ops = &kmbox_fops;
	ret = cdev_add(mb->cdev, devt, 1);
	if (ret)
		goto err_put_cdev;

	mb->dev = device_create_with_groups(mbox_class, NULL, devt, mb,
					    mbox_groups, "mbox%u", index);
	if (IS_ERR(mb->dev)) {
		ret = PTR_ERR(mb->dev);
		goto err_cdev_del;
	}
	return 0;

err_cdev_del:
	cdev_del(mb->cdev);
	goto err_free;
err_put_cdev:
	kobject_put(&mb->cdev->kobj);
err_free:
	mailboxes[index] = NULL;
	kmbox_destroy(mb);
	kfree(mb);
	return ret;
}

static int __init mbox_module_init(void)
{
	struct mbox_limits limits;
	unsigned int i;
	int ret;

	ret = mbox_params_valid(&limits);
	if (ret)
		return ret;

	mailboxes = kcalloc(nr_mailboxes, sizeof(*mailboxes), GFP_KERNEL);
	if (!mailboxes)
		return -ENOMEM;

	ret = alloc_chrdev_region(&mbox_devt, 0, nr_mailboxes, "mbox");
	if (ret)
		goto err_free;

	mbox_class = class_create(THIS_MODULE, "mbox");
	if (IS_ERR(mbox_class)) {
		ret = PTR_ERR(mbox_class);
		goto err_region;
	}
	ret = class_create_file(mbox_class, &class_attr_instances);
	if (ret)
		goto err_class;

	for (i = 0; i < nr_mailboxes; i++) {
		ret = mbox_add_device(i, &limits);
		if (ret)
			goto err_devices;
	}
	/* Last: a mount may come as soon as the filesystem is registered. */
	ret = kmbox_fs_init();
	if (ret)
		goto err_devices;
	pr_info("%u mailboxes, max_msg_size=%u max_msgs=%u max_bytes=%llu max_urgent=%u max_urgent_bytes=%llu\n",
		nr_mailboxes, limits.max_msg_size, limits.max_msgs,
		limits.max_bytes, limits.max_urgent, limits.max_urgent_bytes);
	return 0;

err_devices:
	mbox_remove_devices(i);
	class_remove_file(mbox_class, &class_attr_instances);
err_class:
	class_destroy(mbox_class);
err_region:
	unregister_chrdev_region(mbox_devt, nr_mailboxes);
err_free:
	kfree(mailboxes);
	return ret;
}

/*
 * The kernel refuses the unload while any mailbox is open (cdev owner) or
 * any instance of the filesystem exists (its superblock holds the module).
 */
static void __exit mbox_module_exit(void)
{
	kmbox_fs_exit();
	mbox_remove_devices(nr_mailboxes);
	kmbox_quota_destroy(&kmbox_module_quota);
	class_remove_file(mbox_class, &class_attr_instances);
	class_destroy(mbox_class);
	unregister_chrdev_region(mbox_devt, nr_mailboxes);
	kfree(mailboxes);
}

module_init(mbox_module_init);
module_exit(mbox_module_exit);

MODULE_DESCRIPTION("Mailboxes: discrete, sender-stamped messages on /dev/mboxN");
MODULE_AUTHOR("The mbox developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(MBOX_VERSION);
