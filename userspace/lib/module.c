// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmbox: loading, unloading and inspecting mbox.ko through libkmod.
 * Each call makes its own libkmod context, so nothing is shared between
 * threads or kept between calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libkmod.h>

#include "mbox.h"

#define MODULE_NAME	"mbox"
#define SYSFS_MODULE	"/sys/module/" MODULE_NAME

static struct kmod_ctx *ctx_new(const char *module_dir)
{
	struct kmod_ctx *ctx = kmod_new(module_dir, NULL);

	/* Never let libkmod log to stderr on our callers' behalf. */
	if (ctx)
		kmod_set_log_priority(ctx, 0);
	return ctx;
}

/*
 * Whether every NAME=VALUE word of @params names a parameter of @mod.  The
 * kernel only warns about unknown ones and loads the module anyway, which
 * would hide a typo until it is too late: the load is refused instead.
 */
static int params_known(struct kmod_module *mod, const char *params)
{
	struct kmod_list *info = NULL, *l;
	const char *p = params, *end, *eq;
	int ret = 0;

	if (!params || !*params)
		return 0;
	if (kmod_module_get_info(mod, &info) < 0)
		return -ENOEXEC;
	while (*p && !ret) {
		bool found = false;

		p += strspn(p, " \t");
		end = p + strcspn(p, " \t");
		if (end == p)
			break;
		eq = memchr(p, '=', end - p);
		if (!eq)
			eq = end;
		kmod_list_foreach(l, info) {
			const char *key = kmod_module_info_get_key(l);
			const char *val = kmod_module_info_get_value(l);

			/* "parm" entries read "name:description". */
			if (!strcmp(key, "parm") && val &&
			    !strncmp(val, p, eq - p) && val[eq - p] == ':')
				found = true;
		}
		if (!found)
			ret = -EINVAL;
		p = end;
	}
	kmod_module_info_free_list(info);
	return ret;
}

int mbox_module_load(const char *ko_path, const char *params)
{
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	int ret;

	if (!ko_path)
		return -EINVAL;
	ctx = ctx_new(NULL);
	if (!ctx)
		return -ENOMEM;
	ret = kmod_module_new_from_path(ctx, ko_path, &mod);
	if (ret < 0)
		goto out;
	ret = params_known(mod, params);
	if (!ret)
		ret = kmod_module_insert_module(mod, 0, params ? params : "");
	kmod_module_unref(mod);
out:
	kmod_unref(ctx);
	return ret < 0 ? ret : 0;
}

int mbox_module_load_by_name(const char *module_dir, const char *params)
{
	struct kmod_list *list = NULL, *l;
	struct kmod_ctx *ctx;
	int ret;

	ctx = ctx_new(module_dir);
	if (!ctx)
		return -ENOMEM;
	ret = kmod_module_new_from_lookup(ctx, MODULE_NAME, &list);
	if (ret < 0)
		goto out;
	ret = -ENOENT;
	kmod_list_foreach(l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);

		/* Only a file that exists counts as found. */
		if (kmod_module_get_path(mod))
			ret = params_known(mod, params);
		if (!ret)
			ret = kmod_module_probe_insert_module(mod,
					KMOD_PROBE_FAIL_ON_LOADED, params,
					NULL, NULL, NULL);
		kmod_module_unref(mod);
		break;
	}
	kmod_module_unref_list(list);
out:
	kmod_unref(ctx);
	return ret < 0 ? ret : 0;
}

int mbox_module_unload(void)
{
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	int ret;

	ctx = ctx_new(NULL);
	if (!ctx)
		return -ENOMEM;
	ret = kmod_module_new_from_name(ctx, MODULE_NAME, &mod);
	if (ret < 0)
		goto out;
	if (kmod_module_get_initstate(mod) < 0) {
		ret = -ENOENT;
		goto out_mod;
	}
	/*
	 * delete_module() without O_TRUNC never waits: a module in use
	 * fails with EWOULDBLOCK, which callers know better as EBUSY.
	 */
	ret = kmod_module_remove_module(mod, 0);
	if (ret == -EWOULDBLOCK || ret == -EAGAIN)
		ret = -EBUSY;
out_mod:
	kmod_module_unref(mod);
out:
	kmod_unref(ctx);
	return ret < 0 ? ret : 0;
}

/* A sysfs attribute of the module as a number, or @fallback. */
static unsigned long long read_param(const char *name,
				     unsigned long long fallback)
{
	char path[128];
	unsigned long long v;
	FILE *f;

	snprintf(path, sizeof(path), SYSFS_MODULE "/parameters/%s", name);
	f = fopen(path, "re");
	if (!f)
		return fallback;
	if (fscanf(f, "%llu", &v) != 1)
		v = fallback;
	fclose(f);
	return v;
}

int mbox_module_status(struct mbox_module_status *st)
{
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	FILE *f;
	int ret, state;

	memset(st, 0, sizeof(*st));
	ctx = ctx_new(NULL);
	if (!ctx)
		return -ENOMEM;
	ret = kmod_module_new_from_name(ctx, MODULE_NAME, &mod);
	if (ret < 0)
		goto out;
	state = kmod_module_get_initstate(mod);
	if (state < 0) {
		ret = state == -ENOENT ? 0 : state;
		goto out_mod;
	}
	st->loaded = state == KMOD_MODULE_LIVE;
	st->refcount = kmod_module_get_refcnt(mod);
	if (st->refcount < 0)
		st->refcount = 0;

	f = fopen(SYSFS_MODULE "/version", "re");
	if (f) {
		if (fgets(st->version, sizeof(st->version), f))
			st->version[strcspn(st->version, "\n")] = '\0';
		fclose(f);
	}
	st->nr_mailboxes = read_param("nr_mailboxes", 0);
	st->max_msg_size = read_param("max_msg_size", 0);
	st->max_msgs = read_param("max_msgs", 0);
	st->max_bytes = read_param("max_bytes", 0);
	st->max_urgent = read_param("max_urgent", 0);
	ret = 0;
out_mod:
	kmod_module_unref(mod);
out:
	kmod_unref(ctx);
	return ret;
}
