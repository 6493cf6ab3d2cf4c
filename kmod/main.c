// SPDX-License-Identifier: GPL-2.0
/*
 * mbox: module setup.  Creates /dev/mbox0 .. /dev/mbox<nr_mailboxes - 1>,
 * each one mailbox, with its limits and counters read-only under
 * /sys/class/mbox/mboxN/.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
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

static dev_t mbox_devt;
static struct class *mbox_class;
static struct mbox **mailboxes;

/*
 * Mailboxes whose device is not released yet.  A release can come after
 * the module's exit function removed the devices (an open file, or
 * CONFIG_DEBUG_KOBJECT_RELEASE delaying it): exit waits for the last one,
 * since the release function is module code.
 */
static atomic_t mbox_live = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(mbox_released);

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
	NULL
};
ATTRIBUTE_GROUPS(mbox);

static int mbox_params_valid(struct mbox_limits *limits)
{
	if (nr_mailboxes < 1 || nr_mailboxes > MBOX_MAX_MAILBOXES) {
		pr_err("nr_mailboxes=%u is out of range: use 1-%u\n",
		       nr_mailboxes, MBOX_MAX_MAILBOXES);
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
	if (kmbox_limits_valid(limits)) {
		pr_err("invalid limits max_msg_size=%u max_msgs=%u max_bytes=%lu max_urgent=%u: need 1 <= max_msg_size <= %u, 1 <= max_msgs <= %u, max_msg_size <= max_bytes <= %llu, 1 <= max_urgent <= %u\n",
		       kmbox_default_max_msg_size, kmbox_default_max_msgs,
		       kmbox_default_max_bytes, kmbox_default_max_urgent,
		       MBOX_MAX_MSG_SIZE_LIMIT, MBOX_MAX_MSGS_LIMIT,
		       MBOX_MAX_BYTES_LIMIT, MBOX_MAX_URGENT_LIMIT);
		return -EINVAL;
	}
	return 0;
}

/* The last reference to a mailbox's device is gone: free the mailbox. */
static void mbox_dev_release(struct device *dev)
{
	struct mbox *mb = container_of(dev, struct mbox, dev);

	kmbox_destroy(mb);
	kfree(mb);
	if (atomic_dec_and_test(&mbox_live))
		wake_up(&mbox_released);
}

static void mbox_remove_devices(unsigned int count)
{
	while (count--) {
		struct mbox *mb = mailboxes[count];

		cdev_device_del(&mb->cdev, &mb->dev);
		put_device(&mb->dev);
	}
}

/*
 * One mailbox with its own lifetime, as cdev_device_add() expects: the
 * struct device embedded in it is initialized first, so every error after
 * that is a put_device(), and its release frees the mailbox.
 */
static int mbox_add_device(unsigned int index,
			   const struct mbox_limits *limits)
{
	struct mbox *mb;
	int ret;

	mb = kzalloc(sizeof(*mb), GFP_KERNEL);
	if (!mb)
		return -ENOMEM;
	kmbox_init(mb, index, limits);
	device_initialize(&mb->dev);
	atomic_inc(&mbox_live);
	mb->dev.class = mbox_class;
	mb->dev.devt = MKDEV(MAJOR(mbox_devt), index);
	mb->dev.groups = mbox_groups;
	mb->dev.release = mbox_dev_release;
	dev_set_drvdata(&mb->dev, mb);
	ret = dev_set_name(&mb->dev, "mbox%u", index);
	if (ret)
		goto err_put;
	cdev_init(&mb->cdev, &kmbox_fops);
	mb->cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&mb->cdev, &mb->dev);
	if (ret)
		goto err_put;
	mailboxes[index] = mb;
	return 0;

err_put:
	put_device(&mb->dev);
	return ret;
}

/* Wait until every mailbox is freed: their release is our code. */
static void mbox_wait_released(void)
{
	wait_event(mbox_released, !atomic_read(&mbox_live));
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

	for (i = 0; i < nr_mailboxes; i++) {
		ret = mbox_add_device(i, &limits);
		if (ret)
			goto err_devices;
	}
	pr_info("%u mailboxes, max_msg_size=%u max_msgs=%u max_bytes=%llu max_urgent=%u\n",
		nr_mailboxes, limits.max_msg_size, limits.max_msgs,
		limits.max_bytes, limits.max_urgent);
	return 0;

err_devices:
	mbox_remove_devices(i);
	mbox_wait_released();
	class_destroy(mbox_class);
err_region:
	unregister_chrdev_region(mbox_devt, nr_mailboxes);
err_free:
	kfree(mailboxes);
	return ret;
}

/* The kernel refuses the unload while any mailbox is open (cdev owner). */
static void __exit mbox_module_exit(void)
{
	mbox_remove_devices(nr_mailboxes);
	mbox_wait_released();
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
