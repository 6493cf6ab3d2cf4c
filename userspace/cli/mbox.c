// SPDX-License-Identifier: GPL-2.0
/*
 * mbox: the command line for /dev/mboxN mailboxes and the mbox module.
 *
 *   mbox COMMAND [OPTIONS] [ARGS]      (mbox --help lists the commands)
 *
 * Exit status: 0 done, 1 the operation failed, 2 bad usage.  Every failure
 * message names the file and, where there is one, the likely fix.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>

#include "mbox.h"

#define EXIT_USAGE	2

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static const struct command *current;

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mbox %s: ", current->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: mbox %s %s\n(see 'mbox %s --help')\n",
		current->name, current->usage, current->name);
	exit(EXIT_USAGE);
}

/* "mbox: FILE: strerror (hint)" on stderr; returns 1 for 'return fail(...)'. */
static int fail(const char *file, int err, const char *hint, ...)
{
	va_list ap;

	fprintf(stderr, "mbox: %s: %s", file, strerror(err));
	if (hint) {
		fputs(" (", stderr);
		va_start(ap, hint);
		vfprintf(stderr, hint, ap);
		va_end(ap);
		fputc(')', stderr);
	}
	fputc('\n', stderr);
	return 1;
}

/* @path is a fixed mailbox, /dev/mboxN. */
static bool numbered(const char *path)
{
	const char *n = path + strlen("/dev/mbox");

	if (strncmp(path, "/dev/mbox", strlen("/dev/mbox")) || !*n)
		return false;
	return strspn(n, "0123456789") == strlen(n);
}

/* The directory part of @path ("." for none, "/" for "/NAME") into @buf. */
static void dir_of(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, size, ".");
	else if (slash == path)
		snprintf(buf, size, "/");
	else
		snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

static bool is_instance(const char *dir)
{
	struct statfs sf;

	return !statfs(dir, &sf) && sf.f_type == MBOX_FS_MAGIC;
}

/*
 * The fix for a named mailbox @path that fails with @err because its
 * directory is no mbox instance (then returns true, having said so).
 */
static bool not_mounted(const char *path, int err)
{
	char dir[PATH_MAX];

	dir_of(path, dir, sizeof(dir));
	if ((err != ENOENT && err != ENOTTY) || is_instance(dir))
		return false;
	fail(path, err, "is %s mounted? mount -t mbox mbox %s (or 'mbox mount %s')",
	     dir, dir, dir);
	return true;
}

/*
 * The usual reasons an open of mailbox @path fails, with what to do; a
 * hint for a named mailbox takes its directory as one %s.
 */
static const char *open_hint(const char *path, int err)
{
	bool fixed = numbered(path);

	switch (err) {
	case ENOENT:
		return fixed ? "is the module loaded? try 'mbox load'" :
		       "no such mailbox: 'mbox ls %s' lists them, 'mbox create' makes one";
	case EACCES:
	case EPERM:
		return fixed ? "the device is root:mbox 0660 when the udev rule is installed: run as root or join group 'mbox'" :
		       "its owner and mode ('mbox ls %s') do not let you: its owner can chmod it";
	case ENOTTY:
	case ENXIO:
	case ENODEV:
		return "not a mailbox: mailboxes are /dev/mbox0, /dev/mbox1, ... and the named ones of an mbox instance ('mbox ls DIR')";
	default:
		return NULL;
	}
}

/*
 * The result @fd of mbox_open(@name): @path gets the file it names (or
 * @name itself when it names none), and a failure is reported.
 */
static int opened(const char *name, int fd, char *path, size_t size)
{
	if (mbox_path(name, path, size))
		snprintf(path, size, "%s", name);
	if (fd < 0) {
		char dir[PATH_MAX];

		dir_of(path, dir, sizeof(dir));
		if (numbered(path) || !not_mounted(path, -fd))
			fail(path, -fd, open_hint(path, -fd), dir);
		return -1;
	}
	return fd;
}

static int open_mailbox(const char *name, int flags, char *path, size_t size)
{
	return opened(name, mbox_open(name, flags), path, size);
}

/*
 * A number for option @opt: decimal, or hexadecimal after 0x, with an
 * optional K, M or G (binary) suffix when @suffix, at most @max.  Anything
 * else is a usage error.
 */
static unsigned long long parse_number(const char *opt, const char *s,
				       unsigned long long max, bool suffix)
{
	unsigned long long v, mult = 1;
	const char *digits = s;
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		digits = s + 2;
		base = 16;
	}
	/* strtoull would take a sign or spaces; no number here has them. */
	if (!isxdigit((unsigned char)*digits))
		usage_error("%s: '%s' is not a number", opt, s);
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno)
		usage_error("%s: '%s' is not a number", opt, s);
	if (suffix) {
		switch (*end) {
		case 'k': case 'K': mult = 1ULL << 10; end++; break;
		case 'm': case 'M': mult = 1ULL << 20; end++; break;
		case 'g': case 'G': mult = 1ULL << 30; end++; break;
		}
	}
	if (*end)
		usage_error("%s: '%s' is not a number", opt, s);
	if (v > max / mult)
		usage_error("%s: %s is too large (at most %llu)", opt, s, max);
	return v * mult;
}

/* Seconds, fractions allowed, as milliseconds. */
static int parse_timeout(const char *s)
{
	char *end;
	double secs;

	errno = 0;
	secs = strtod(s, &end);
	/* Written so that NaN fails too. */
	if (end == s || *end || errno || !(secs >= 0 && secs <= INT_MAX / 1000))
		usage_error("--timeout: '%s' is not a number of seconds", s);
	return (int)(secs * 1000 + 0.5);
}

/* ---- output ------------------------------------------------------------ */

static void json_string(FILE *f, const char *s, size_t len)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

/* Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF)? */
static bool valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + n >= len)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static void base64(FILE *f, const unsigned char *s, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	fputc('"', f);
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = s[i] << 16 | s[i + 1] << 8 | s[i + 2];

		fprintf(f, "%c%c%c%c", tab[v >> 18], tab[(v >> 12) & 63],
			tab[(v >> 6) & 63], tab[v & 63]);
	}
	if (len - i == 1) {
		uint32_t v = s[i] << 16;

		fprintf(f, "%c%c==", tab[v >> 18], tab[(v >> 12) & 63]);
	} else if (len - i == 2) {
		uint32_t v = s[i] << 16 | s[i + 1] << 8;

		fprintf(f, "%c%c%c=", tab[v >> 18], tab[(v >> 12) & 63],
			tab[(v >> 6) & 63]);
	}
	fputc('"', f);
}

static void json_flags(FILE *f, unsigned int flags)
{
	char buf[96], *tok, *save;

	fputc('[', f);
	if (flags) {
		mbox_format_flags(flags, buf, sizeof(buf));
		for (tok = strtok_r(buf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save))
			fprintf(f, "%s\"%s\"", tok == buf ? "" : ",", tok);
	}
	fputc(']', f);
}

static void json_header_fields(FILE *f, const struct mbox_msg_header *h)
{
	fprintf(f, "\"seq\":%" PRIu64 ",\"time_ns\":%" PRIu64
		",\"pid\":%d,\"tid\":%d,\"uid\":%u,\"gid\":%u"
		",\"opener_uid\":%u,\"opener_gid\":%u,\"flags\":",
		(uint64_t)h->seq, (uint64_t)h->time_ns, h->pid, h->tid,
		h->uid, h->gid, h->opener_uid, h->opener_gid);
	json_flags(f, h->flags);
	fprintf(f, ",\"delivery_count\":%u,\"size\":%u", h->delivery_count,
		h->size);
}

/* Bytes with printable ASCII as is, the rest escaped. */
static void put_escaped(FILE *f, const unsigned char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/* Payload bytes as one line. */
static void print_escaped(FILE *f, const unsigned char *s, size_t len)
{
	put_escaped(f, s, len);
	fputc('\n', f);
}

enum output { OUT_TEXT, OUT_JSON, OUT_RAW };

static int print_message(enum output out, const struct mbox_msg_header *h,
			 const void *data, size_t len)
{
	switch (out) {
	case OUT_RAW:
		fwrite(data, 1, len, stdout);
		break;
	case OUT_JSON:
		fputc('{', stdout);
		json_header_fields(stdout, h);
		if (valid_utf8(data, len)) {
			fputs(",\"payload\":", stdout);
			json_string(stdout, data, len);
		} else {
			fputs(",\"payload_base64\":", stdout);
			base64(stdout, data, len);
		}
		fputs("}\n", stdout);
		break;
	default:
		mbox_fprint_header(stdout, h);
		print_escaped(stdout, data, len);
	}
	/* The message is dequeued already: at least say it did not get out. */
	if (fflush(stdout) || ferror(stdout))
		return -(errno ? errno : EIO);
	return 0;
}

/* ---- commands ------------------------------------------------------------ */

/* getopt_long over @longopts, handling --help; returns like getopt_long. */
static int next_opt(int argc, char **argv, const char *shortopts,
		    const struct option *longopts)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (c == 'h') {
		printf("usage: mbox %s %s\n\n%s", current->name,
		       current->usage, current->help);
		exit(0);
	}
	if (c == '?')
		usage_error("bad option");
	return c;
}

#define HELP_OPT { "help", no_argument, NULL, 'h' }

static const char *const known_params[] = {
	"nr_mailboxes", "max_msg_size", "max_msgs", "max_bytes", "max_urgent",
	"max_urgent_bytes", "user_mailboxes", "user_bytes",
};

/* Module parameters as one string, each checked to be NAME=NUMBER. */
static char *module_params(int argc, char **argv)
{
	size_t len = 1, i, k;
	char *params;

	for (i = 0; i < (size_t)argc; i++) {
		const char *eq = strchr(argv[i], '=');
		bool known = false;

		for (k = 0; eq && k < sizeof(known_params) /
		     sizeof(known_params[0]); k++)
			known |= strlen(known_params[k]) == (size_t)(eq - argv[i]) &&
				 !strncmp(argv[i], known_params[k], eq - argv[i]);
		if (!known)
			usage_error("'%s' is not a module parameter (NAME=VALUE, NAME one of nr_mailboxes, max_msg_size, max_msgs, max_bytes, max_urgent, max_urgent_bytes, user_mailboxes, user_bytes)",
				    argv[i]);
		/*
		 * The kernel parses these: plain numbers only, but for
		 * user_bytes, which it takes with K, M or G too.
		 */
		parse_number(argv[i], eq + 1, ULONG_MAX,
			     !strncmp(argv[i], "user_bytes=", eq - argv[i] + 1));
		len += strlen(argv[i]) + 1;
	}
	params = calloc(1, len);
	if (!params) {
		perror("mbox");
		exit(1);
	}
	for (i = 0; i < (size_t)argc; i++) {
		strcat(params, i ? " " : "");
		strcat(params, argv[i]);
	}
	return params;
}

static int cmd_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ko", required_argument, NULL, 'k' },
		{ "module-dir", required_argument, NULL, 'd' },
		HELP_OPT, { 0 }
	};
	const char *ko = NULL, *dir = NULL, *what;
	struct mbox_module_status st;
	char moddir[PATH_MAX];
	struct utsname uts;
	char *params;
	int c, ret;

	while ((c = next_opt(argc, argv, "h", opts)) != -1) {
		if (c == 'k')
			ko = optarg;
		else if (c == 'd')
			dir = optarg;
	}
	if (ko && dir)
		usage_error("--ko and --module-dir exclude each other");
	params = module_params(argc - optind, argv + optind);
	if (ko && access(ko, R_OK)) {
		free(params);
		return fail(ko, errno, "give the built module: mbox load --ko build/stock/mbox.ko");
	}
	if (ko) {
		ret = mbox_module_load(ko, params);
		what = ko;
	} else {
		uname(&uts);
		snprintf(moddir, sizeof(moddir), "%s",
			 dir ? dir : "/lib/modules/");
		if (!dir)
			strncat(moddir, uts.release,
				sizeof(moddir) - strlen(moddir) - 1);
		ret = mbox_module_load_by_name(dir, params);
		what = moddir;
	}
	switch (-ret) {
	case 0:
		break;
	case EEXIST:
		fprintf(stderr, "mbox: the mbox module is already loaded (see 'mbox status'; 'mbox unload' first to load it with other parameters)\n");
		break;
	case ENOENT:
		fail(what, ENOENT, ko ? NULL : "no mbox module installed there: install it (make install) or give the file: mbox load --ko build/stock/mbox.ko");
		break;
	case EINVAL:
		fail(what, EINVAL, "a parameter is out of range in '%s'; the kernel log names it: dmesg | tail",
		     params);
		break;
	case EPERM:
		fail(what, EPERM, "loading a module needs root (CAP_SYS_MODULE)");
		break;
	case ENOEXEC:
		fail(what, ENOEXEC, "built for another kernel? rebuild it: make KDIR=/lib/modules/$(uname -r)/build");
		break;
	default:
		fail(what, -ret, NULL);
	}
	free(params);
	if (ret)
		return 1;
	if (!mbox_module_status(&st) && st.loaded)
		printf("mbox %s loaded: /dev/mbox0 .. /dev/mbox%u\n",
		       st.version, st.nr_mailboxes ? st.nr_mailboxes - 1 : 0);
	return 0;
}

static int cmd_unload(int argc, char **argv)
{
	static const struct option opts[] = { HELP_OPT, { 0 } };
	struct mbox_module_status st;
	int ret;

	while (next_opt(argc, argv, "h", opts) != -1)
		;
	if (optind != argc)
		usage_error("no arguments expected");
	ret = mbox_module_unload();
	if (ret == -ENOENT) {
		fprintf(stderr, "mbox: the mbox module is not loaded\n");
		return 1;
	}
	if (ret == -EBUSY) {
		mbox_module_status(&st);
		fprintf(stderr, "mbox: cannot unload: %d user%s still hold%s a mailbox open (see who: fuser -v /dev/mbox*)\n",
			st.refcount, st.refcount == 1 ? "" : "s",
			st.refcount == 1 ? "s" : "");
		return 1;
	}
	if (ret == -EPERM)
		return fail("mbox", EPERM, "unloading a module needs root");
	if (ret)
		return fail("mbox", -ret, NULL);
	return 0;
}

/*
 * The module parameters that struct mbox_module_status has no field for,
 * read from sysfs here (the structure's layout is part of libmbox's ABI).
 * A module too old to have one leaves it out of the status.
 */
static const char *const extra_params[] = {
	"max_urgent_bytes", "user_mailboxes", "user_bytes",
};
#define NR_EXTRA_PARAMS (sizeof(extra_params) / sizeof(extra_params[0]))

static bool read_module_param(const char *name, unsigned long long *v)
{
	char path[128];
	bool ok;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/mbox/parameters/%s", name);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fscanf(f, "%llu", v) == 1;
	fclose(f);
	return ok;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, HELP_OPT, { 0 }
	};
	struct mbox_module_status st;
	unsigned long long v;
	bool json = false;
	size_t k;
	int c, ret;

	while ((c = next_opt(argc, argv, "h", opts)) != -1)
		json |= c == 'j';
	if (optind != argc)
		usage_error("no arguments expected");
	ret = mbox_module_status(&st);
	if (ret)
		return fail("/sys/module/mbox", -ret, NULL);
	if (json) {
		printf("{\"loaded\":%s", st.loaded ? "true" : "false");
		if (st.loaded)
			printf(",\"version\":\"%s\",\"refcount\":%d,\"nr_mailboxes\":%u,\"max_msg_size\":%u,\"max_msgs\":%u,\"max_bytes\":%llu,\"max_urgent\":%u",
			       st.version, st.refcount, st.nr_mailboxes,
			       st.max_msg_size, st.max_msgs, st.max_bytes,
			       st.max_urgent);
		for (k = 0; st.loaded && k < NR_EXTRA_PARAMS; k++)
			if (read_module_param(extra_params[k], &v))
				printf(",\"%s\":%llu", extra_params[k], v);
		printf("}\n");
		return 0;
	}
	if (!st.loaded) {
		printf("loaded: no (load it: mbox load)\n");
		return 0;
	}
	printf("loaded: yes\nversion: %s\nrefcount: %d\nnr_mailboxes: %u\nmax_msg_size: %u\nmax_msgs: %u\nmax_bytes: %llu\nmax_urgent: %u\n",
	       st.version, st.refcount, st.nr_mailboxes, st.max_msg_size,
	       st.max_msgs, st.max_bytes, st.max_urgent);
	for (k = 0; k < NR_EXTRA_PARAMS; k++)
		if (read_module_param(extra_params[k], &v))
			printf("%s: %llu\n", extra_params[k], v);
	return 0;
}

static const char *device_arg(int argc, char **argv)
{
	if (optind >= argc)
		usage_error("which mailbox? give DEV (/dev/mbox0, mbox0, 0, or NAME for $MBOX_DIR/NAME)");
	return argv[optind++];
}

/* DEV as the one argument left after the options. */
static const char *only_device(int argc, char **argv)
{
	const char *dev = device_arg(argc, argv);

	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	return dev;
}

/* The commands whose one option is --json, and DEV. */
static const char *json_and_device(int argc, char **argv, bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, HELP_OPT, { 0 }
	};
	int c;

	*json = false;
	while ((c = next_opt(argc, argv, "h", opts)) != -1)
		*json |= c == 'j';
	return only_device(argc, argv);
}

/*
 * A message to mailbox @path was refused with EDQUOT: the writer's queued
 * messages hold a per-user quota (each its payload + 128 bytes), the
 * instance's user_bytes= for a named mailbox, or the module's user_bytes.
 */
static int quota_failed(const char *path)
{
	char dir[PATH_MAX];

	if (numbered(path))
		return fail(path, EDQUOT, "your queued messages reached the module's per-user quota user_bytes (each message its size + 128 bytes); read or flush them (mbox flush --mine %s), or ask root to raise it in /sys/module/mbox/parameters/user_bytes",
			    path);
	dir_of(path, dir, sizeof(dir));
	return fail(path, EDQUOT, "your queued messages reached a per-user quota (each message its size + 128 bytes): the instance's user_bytes= (mount -o remount,user_bytes=N %s) or the module's user_bytes; read or flush them (mbox flush --mine %s), or ask root to raise it",
		    dir, path);
}

/* Why a send failed, and what to do about it. */
static int send_failed(int fd, const char *path, int err, size_t len,
		       int timeout_ms)
{
	struct mbox_info info;

	if (err == EMSGSIZE && !mbox_info(fd, &info))
		return fail(path, EMSGSIZE, "the message has %zu bytes, max_msg_size is %u; raise it: mbox limits %s --max-msg-size %zu",
			    len, info.max_msg_size, path, len);
	if (err == ETIMEDOUT)
		return fail(path, ETIMEDOUT, "the mailbox stayed full for %g s and nothing was sent; is anyone reading? see 'mbox info %s'",
			    timeout_ms / 1000.0, path);
	if (err == EAGAIN)
		return fail(path, EAGAIN, "the mailbox is full and nothing was sent");
	if (err == EDQUOT)
		return quota_failed(path);
	return fail(path, err, NULL);
}

static int cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lines", no_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 't' },
		HELP_OPT, { 0 }
	};
	char path[PATH_MAX], *buf = NULL;
	size_t cap = 0, len = 0;
	int timeout_ms = -1, c, fd, i, ret = 0;
	bool lines = false;
	ssize_t n;

	while ((c = next_opt(argc, argv, "h", opts)) != -1) {
		if (c == 'l')
			lines = true;
		else if (c == 't')
			timeout_ms = parse_timeout(optarg);
	}
	const char *dev = device_arg(argc, argv);

	if (lines && optind < argc)
		usage_error("--lines reads stdin: give no TEXT");
	fd = open_mailbox(dev, O_WRONLY, path, sizeof(path));
	if (fd < 0)
		return 1;

	if (optind < argc) {
		/* The words of TEXT joined by spaces, like echo without -n. */
		for (i = optind; i < argc; i++)
			len += strlen(argv[i]) + 1;
		buf = malloc(len);
		if (!buf)
			goto oom;
		buf[0] = '\0';
		for (i = optind; i < argc; i++) {
			strcat(buf, i > optind ? " " : "");
			strcat(buf, argv[i]);
		}
		len = strlen(buf);
		if (!len) {
			fprintf(stderr, "mbox: the TEXT is empty: nothing to send (a mailbox has no empty messages)\n");
			ret = 1;
			goto out;
		}
		n = mbox_send(fd, buf, len, timeout_ms);
		if (n < 0)
			ret = send_failed(fd, path, -n, len, timeout_ms);
	} else if (lines) {
		/* One message per line, without its newline; empty lines are
		 * skipped, since a mailbox has no empty messages.
		 */
		while ((n = getline(&buf, &cap, stdin)) > 0) {
			if (buf[n - 1] == '\n')
				n--;
			if (!n)
				continue;
			ret = mbox_send(fd, buf, n, timeout_ms);
			if (ret < 0) {
				ret = send_failed(fd, path, -ret, n,
						  timeout_ms);
				break;
			}
			ret = 0;
		}
	} else {
		/* All of stdin as one message. */
		for (;;) {
			if (len == cap) {
				char *p = realloc(buf, cap ? cap * 2 : 65536);

				if (!p)
					goto oom;
				buf = p;
				cap = cap ? cap * 2 : 65536;
			}
			n = read(STDIN_FILENO, buf + len, cap - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				ret = fail("stdin", errno, NULL);
				goto out;
			}
			if (!n)
				break;
			len += n;
		}
		if (!len) {
			fprintf(stderr, "mbox: stdin was empty: nothing to send (a mailbox has no empty messages)\n");
			ret = 1;
			goto out;
		}
		n = mbox_send(fd, buf, len, timeout_ms);
		if (n < 0)
			ret = send_failed(fd, path, -n, len, timeout_ms);
	}
out:
	free(buf);
	close(fd);
	return ret;
oom:
	free(buf);
	close(fd);
	return fail("mbox", ENOMEM, NULL);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Receive one message within @timeout_ms (-1: no limit), waiting in short
 * slices: a signal that lands just before a wait starts is then noticed
 * at the end of the slice instead of being lost.  -EINTR once stopped.
 */
#define RECV_SLICE_MS	200

static ssize_t recv_until_stopped(int fd, struct mbox_msg_header *hdr,
				  void **bufp, size_t *capp, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	ssize_t n;

	for (;;) {
		int slice = RECV_SLICE_MS;

		if (stop)
			return -EINTR;
		if (timeout_ms >= 0) {
			int64_t left = deadline - now_ms();

			if (left < slice)
				slice = left > 0 ? (int)left : 0;
		}
		n = mbox_recv_alloc(fd, hdr, bufp, capp, slice);
		if (n >= 0 || (n != -ETIMEDOUT && n != -EAGAIN && n != -EINTR))
			return n;
		if (timeout_ms >= 0 && now_ms() >= deadline)
			return -ETIMEDOUT;
	}
}

static int cmd_recv(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		HELP_OPT, { 0 }
	};
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long long count = 1, got = 0;
	enum output out = OUT_TEXT;
	struct mbox_msg_header hdr;
	int timeout_ms = -1, c, fd, err, ret = 0;
	char path[PATH_MAX];
	bool follow = false;
	size_t cap = 0;
	void *buf = NULL;
	ssize_t n;

	while ((c = next_opt(argc, argv, "hn:t:f", opts)) != -1) {
		switch (c) {
		case 'n': count = parse_number("--count", optarg, ULLONG_MAX, true); break;
		case 't': timeout_ms = parse_timeout(optarg); break;
		case 'f': follow = true; break;
		case 'j': out = OUT_JSON; break;
		case 'r': out = OUT_RAW; break;
		}
	}
	const char *dev = only_device(argc, argv);

	if (!count && !follow)
		usage_error("--count: 0 messages is nothing to do");
	fd = open_mailbox(dev, O_RDONLY, path, sizeof(path));
	if (fd < 0)
		return 1;
	/*
	 * Ctrl-C ends a --follow between messages, never inside one: without
	 * SA_RESTART the signal interrupts the wait with EINTR, and a message
	 * is either wholly received and printed or still queued.
	 */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	while (follow || got < count) {
		n = recv_until_stopped(fd, &hdr, &buf, &cap, timeout_ms);
		if (n == -EINTR) {
			/* Stopping a --follow is its normal end. */
			if (!follow) {
				fprintf(stderr, "mbox: %s: interrupted after %llu of %llu messages\n",
					path, got, count);
				ret = 1;
			}
			break;
		}
		if (n == -ETIMEDOUT) {
			if (follow && got)
				break;	/* idle for the whole timeout: done */
			fprintf(stderr, "mbox: %s: no message within %g s\n",
				path, timeout_ms / 1000.0);
			ret = 1;
			break;
		}
		if (n < 0) {
			ret = fail(path, -n, NULL);
			break;
		}
		err = print_message(out, &hdr, buf, n);
		if (err) {
			ret = fail("stdout", -err,
				   "message seq %llu was received but not written out",
				   (unsigned long long)hdr.seq);
			break;
		}
		got++;
	}
	free(buf);
	close(fd);
	return ret;
}

static int cmd_peek(int argc, char **argv)
{
	struct mbox_msg_header hdr;
	char path[PATH_MAX];
	bool json;
	int fd, ret;
	const char *dev = json_and_device(argc, argv, &json);

	fd = open_mailbox(dev, O_RDONLY, path, sizeof(path));
	if (fd < 0)
		return 1;
	ret = mbox_peek(fd, &hdr);
	close(fd);
	if (ret == -ENOMSG) {
		fprintf(stderr, "mbox: %s: the mailbox is empty\n", path);
		return 1;
	}
	if (ret)
		return fail(path, -ret, NULL);
	if (json) {
		fputc('{', stdout);
		json_header_fields(stdout, &hdr);
		fputs("}\n", stdout);
	} else {
		mbox_fprint_header(stdout, &hdr);
	}
	return 0;
}

/* Selectors shared by flush and urgent --flush. */
struct flush_opts {
	unsigned int flags;
	unsigned long long up_to;
};

static const char *flush_hint(int err)
{
	if (err == EPERM)
		return "flushing other senders' messages needs read access to the mailbox or CAP_SYS_ADMIN; --mine flushes only yours";
	return NULL;
}

static int cmd_flush(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mine", no_argument, NULL, 'm' },
		{ "up-to", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		HELP_OPT, { 0 }
	};
	struct flush_opts fo = { 0 };
	struct mbox_flush res;
	char path[PATH_MAX];
	bool json = false;
	int c, fd, ret;

	while ((c = next_opt(argc, argv, "h", opts)) != -1) {
		if (c == 'm') {
			fo.flags |= MBOX_FLUSH_MINE;
		} else if (c == 'u') {
			fo.flags |= MBOX_FLUSH_UP_TO_SEQ;
			fo.up_to = parse_number("--up-to", optarg, ULLONG_MAX,
						 false);
		} else if (c == 'j') {
			json = true;
		}
	}
	const char *dev = only_device(argc, argv);

	/* A sender flushing its own messages may have write access only. */
	fd = open_mailbox(dev, fo.flags & MBOX_FLUSH_MINE ? O_WRONLY : O_RDONLY,
			  path, sizeof(path));
	if (fd < 0)
		return 1;
	ret = mbox_flush(fd, fo.flags, fo.up_to, &res);
	close(fd);
	if (ret)
		return fail(path, -ret, flush_hint(-ret));
	if (json)
		printf("{\"flushed_msgs\":%llu,\"flushed_bytes\":%llu}\n",
		       (unsigned long long)res.flushed_msgs,
		       (unsigned long long)res.flushed_bytes);
	else
		printf("flushed %llu messages, %llu bytes\n",
		       (unsigned long long)res.flushed_msgs,
		       (unsigned long long)res.flushed_bytes);
	return 0;
}

static int cmd_urgent(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "flush", no_argument, NULL, 'F' },
		{ "mine", no_argument, NULL, 'm' },
		{ "up-to", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		HELP_OPT, { 0 }
	};
	struct mbox_urgent u = { 0 };
	char path[PATH_MAX];
	bool json = false;
	const char *text;
	int c, fd, ret;

	while ((c = next_opt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'F': u.flags |= MBOX_URGENT_FLUSH; break;
		case 'm': u.flush_flags |= MBOX_FLUSH_MINE; break;
		case 'u':
			u.flush_flags |= MBOX_FLUSH_UP_TO_SEQ;
			u.up_to_seq = parse_number("--up-to", optarg,
						   ULLONG_MAX, false);
			break;
		case 'j': json = true; break;
		}
	}
	const char *dev = device_arg(argc, argv);

	if (optind + 1 != argc)
		usage_error("give the message as one TEXT argument (quote it)");
	text = argv[optind];
	if (u.flush_flags && !(u.flags & MBOX_URGENT_FLUSH))
		usage_error("--mine and --up-to select what --flush removes: add --flush");
	if (!*text)
		usage_error("an urgent message cannot be empty");
	/* Flushing others' messages needs read access too. */
	fd = open_mailbox(dev, (u.flags & MBOX_URGENT_FLUSH) &&
			  !(u.flush_flags & MBOX_FLUSH_MINE) ? O_RDWR : O_WRONLY,
			  path, sizeof(path));
	if (fd < 0)
		return 1;
	ret = mbox_send_urgent(fd, text, strlen(text), &u);
	close(fd);
	if (ret == -EAGAIN)
		return fail(path, EAGAIN, "the urgent reserve is full (max_urgent messages or max_urgent_bytes bytes queued, see 'mbox info %s'); nothing was sent or flushed",
			    path);
	if (ret == -EMSGSIZE)
		return fail(path, EMSGSIZE, "longer than the mailbox's max_msg_size");
	if (ret == -EDQUOT)
		return quota_failed(path);
	if (ret)
		return fail(path, -ret, flush_hint(-ret));
	if (json)
		printf("{\"seq\":%llu,\"flushed_msgs\":%llu,\"flushed_bytes\":%llu}\n",
		       (unsigned long long)u.seq,
		       (unsigned long long)u.flushed_msgs,
		       (unsigned long long)u.flushed_bytes);
	else if (u.flags & MBOX_URGENT_FLUSH)
		printf("urgent message seq %llu sent; flushed %llu messages, %llu bytes\n",
		       (unsigned long long)u.seq,
		       (unsigned long long)u.flushed_msgs,
		       (unsigned long long)u.flushed_bytes);
	else
		printf("urgent message seq %llu sent\n",
		       (unsigned long long)u.seq);
	return 0;
}

/* Information needs no direction: read access if we have it, else write. */
static int open_any(const char *dev, char *path, size_t size)
{
	int fd = mbox_open(dev, O_RDONLY);

	if (fd == -EACCES)
		fd = mbox_open(dev, O_WRONLY);
	return opened(dev, fd, path, size);
}

static int cmd_info(int argc, char **argv)
{
	struct mbox_info i;
	char path[PATH_MAX];
	bool json;
	int fd, ret;
	const char *dev = json_and_device(argc, argv, &json);

	fd = open_any(dev, path, sizeof(path));
	if (fd < 0)
		return 1;
	ret = mbox_info(fd, &i);
	close(fd);
	if (ret)
		return fail(path, -ret, NULL);
#define INFO_FIELDS(X) \
	X(index) X(max_msg_size) X(max_msgs) X(max_bytes) X(max_urgent) \
	X(max_urgent_bytes) X(msgs_queued) X(bytes_queued) X(urgent_queued) \
	X(urgent_bytes_queued) X(inflight) X(readers_waiting) \
	X(writers_waiting) X(total_enqueued) X(total_dequeued) X(next_seq) \
	X(flushed_msgs) X(flushed_bytes)
	if (json) {
		const char *sep = ",";

		printf("{\"device\":");
		json_string(stdout, path, strlen(path));
#define JSON_FIELD(f) printf("%s\"" #f "\":%llu", sep, (unsigned long long)i.f);
		INFO_FIELDS(JSON_FIELD)
		printf("}\n");
	} else {
		printf("device: %s\n", path);
#define TEXT_FIELD(f) printf(#f ": %llu\n", (unsigned long long)i.f);
		INFO_FIELDS(TEXT_FIELD)
	}
	return 0;
}

/*
 * One of the limit options of limits and create (--max-msg-size 's',
 * --max-msgs 'n', --max-bytes 'b', --max-urgent 'u', --max-urgent-bytes
 * 'U') into @l; false for any other option.
 */
static bool parse_limit_opt(int c, struct mbox_limits *l)
{
	switch (c) {
	case 's':
		l->max_msg_size = parse_number("--max-msg-size", optarg,
					       UINT32_MAX, true);
		break;
	case 'n':
		l->max_msgs = parse_number("--max-msgs", optarg, UINT32_MAX,
					   true);
		break;
	case 'b':
		l->max_bytes = parse_number("--max-bytes", optarg, ULLONG_MAX,
					    true);
		break;
	case 'u':
		l->max_urgent = parse_number("--max-urgent", optarg,
					     UINT32_MAX, true);
		break;
	case 'U':
		l->max_urgent_bytes = parse_number("--max-urgent-bytes",
						   optarg, ULLONG_MAX, true);
		break;
	default:
		return false;
	}
	return true;
}

static int cmd_limits(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-msg-size", required_argument, NULL, 's' },
		{ "max-msgs", required_argument, NULL, 'n' },
		{ "max-bytes", required_argument, NULL, 'b' },
		{ "max-urgent", required_argument, NULL, 'u' },
		{ "max-urgent-bytes", required_argument, NULL, 'U' },
		HELP_OPT, { 0 }
	};
	struct mbox_limits l = { 0 };
	struct mbox_info i;
	char path[PATH_MAX];
	bool set = false;
	int c, fd, ret;

	while ((c = next_opt(argc, argv, "h", opts)) != -1)
		set |= parse_limit_opt(c, &l);
	const char *dev = only_device(argc, argv);

	fd = open_any(dev, path, sizeof(path));
	if (fd < 0)
		return 1;
	if (set) {
		ret = mbox_set_limits(fd, &l);
		if (ret == -EPERM) {
			close(fd);
			return fail(path, EPERM, "changing limits needs CAP_SYS_ADMIN, or owning the named mailbox: run as root or as its owner");
		}
		if (ret == -EINVAL) {
			close(fd);
			return fail(path, EINVAL, "out of range: max_msg_size 1..%u, max_msgs 1..%u, max_bytes max_msg_size..%llu, max_urgent 1..%u, max_urgent_bytes 1..%llu; nothing was changed",
				    MBOX_MAX_MSG_SIZE_LIMIT, MBOX_MAX_MSGS_LIMIT,
				    MBOX_MAX_BYTES_LIMIT, MBOX_MAX_URGENT_LIMIT,
				    MBOX_MAX_BYTES_LIMIT);
		}
		if (ret) {
			close(fd);
			return fail(path, -ret, NULL);
		}
	}
	ret = mbox_info(fd, &i);
	close(fd);
	if (ret)
		return fail(path, -ret, NULL);
	printf("max_msg_size: %u\nmax_msgs: %u\nmax_bytes: %llu\nmax_urgent: %u\nmax_urgent_bytes: %llu\n",
	       i.max_msg_size, i.max_msgs, (unsigned long long)i.max_bytes,
	       i.max_urgent, (unsigned long long)i.max_urgent_bytes);
	return 0;
}

/* ---- named mailboxes ----------------------------------------------------- */

/*
 * Where mbox_create() and mbox_remove() take @name: "DIR/NAME" as is, a
 * bare NAME in $MBOX_DIR (default /dev/mbox), also a number or "mboxN".
 */
static void named_path(const char *name, char *buf, size_t size)
{
	const char *dir = secure_getenv("MBOX_DIR");

	if (strchr(name, '/'))
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "%s/%s", dir && *dir ? dir : MBOX_DEFAULT_DIR,
			 name);
}

static int create_failed(const char *path, int err, const char *group)
{
	char dir[PATH_MAX];

	dir_of(path, dir, sizeof(dir));
	if (not_mounted(path, err))
		return 1;
	switch (err) {
	case EEXIST:
		return fail(path, err, NULL);
	case EACCES:
		return fail(path, err, "creating needs write permission on %s: ask its owner, or mount an instance of your own",
			    dir);
	case EPERM:
		if (!group)
			return fail(path, err, NULL);
		return fail(path, err, "you are not in group '%s': giving it needs CAP_CHOWN",
			    group);
	case EINVAL:
		return fail(path, err, "a name may not be '.' or '..'; a group must be mapped in the instance's user namespace; limits: max_msg_size 1..%u, max_msgs 1..%u, max_bytes max_msg_size..%llu, max_urgent 1..%u, max_urgent_bytes 1..%llu",
			    MBOX_MAX_MSG_SIZE_LIMIT, MBOX_MAX_MSGS_LIMIT,
			    MBOX_MAX_BYTES_LIMIT, MBOX_MAX_URGENT_LIMIT,
			    MBOX_MAX_BYTES_LIMIT);
	case ENAMETOOLONG:
		return fail(path, err, "a name has at most %d bytes", MBOX_NAME_MAX);
	case ENOSPC:
		return fail(path, err, "%s holds its max= mailboxes (open removed ones count): rm some, or mount -o remount,max=N %s",
			    dir, dir);
	case EDQUOT:
		return fail(path, err, "the mailboxes you created reached a per-user quota: the instance's user_max= (mount -o remount,user_max=N %s) or the module's user_mailboxes; rm some of yours (removed ones count until closed), or ask root to raise it",
			    dir);
	case EROFS:
		return fail(path, err, "%s is mounted read-only", dir);
	default:
		return fail(path, err, NULL);
	}
}

/* A group by name or number; a usage error if there is no such group. */
static gid_t parse_group(const char *s)
{
	struct group *gr = getgrnam(s);
	char *end;
	unsigned long v;

	if (gr)
		return gr->gr_gid;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno || v >= UINT32_MAX)
		usage_error("--group: no group '%s' (a name or a number)", s);
	return v;
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "group", required_argument, NULL, 'g' },
		{ "max-msg-size", required_argument, NULL, 's' },
		{ "max-msgs", required_argument, NULL, 'n' },
		{ "max-bytes", required_argument, NULL, 'b' },
		{ "max-urgent", required_argument, NULL, 'u' },
		{ "max-urgent-bytes", required_argument, NULL, 'U' },
		HELP_OPT, { 0 }
	};
	struct mbox_limits l = { 0 };
	const char *group = NULL;
	unsigned int mode = 0600;
	gid_t gid = (gid_t)-1;
	char path[PATH_MAX], *end;
	unsigned long v;
	int c, ret;

	while ((c = next_opt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'm':
			errno = 0;
			v = strtoul(optarg, &end, 8);
			if (!isdigit((unsigned char)*optarg) || *end || errno ||
			    v > 0777)
				usage_error("--mode: '%s' is not an octal mode 0..0777",
					    optarg);
			mode = v;
			break;
		case 'g':
			group = optarg;
			gid = parse_group(optarg);
			break;
		default:
			parse_limit_opt(c, &l);
			break;
		}
	}
	if (optind >= argc)
		usage_error("give the NAME of the mailbox to create");
	const char *name = argv[optind++];

	if (optind != argc)
		usage_error("unexpected argument '%s' (one NAME at a time)",
			    argv[optind]);
	if (!*name)
		usage_error("the NAME is empty");
	named_path(name, path, sizeof(path));
	ret = mbox_create(name, mode, gid, &l);
	if (ret)
		return create_failed(path, -ret, group);
	return 0;
}

static int cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = { HELP_OPT, { 0 } };
	char path[PATH_MAX], dir[PATH_MAX];
	int i, ret, failed = 0;

	while (next_opt(argc, argv, "h", opts) != -1)
		;
	if (optind >= argc)
		usage_error("give the NAME of each mailbox to remove");
	for (i = optind; i < argc; i++) {
		named_path(argv[i], path, sizeof(path));
		dir_of(path, dir, sizeof(dir));
		ret = -mbox_remove(argv[i]);
		if (!ret)
			continue;
		failed = 1;
		if (not_mounted(path, ret))
			continue;
		if (ret == EPERM && !strcmp(strrchr(path, '/') + 1,
					    MBOX_CONTROL_NAME))
			fail(path, ret, "the instance's control node stays as long as the instance");
		else if (ret == EPERM)
			fail(path, ret, "%s is sticky: only the mailbox's owner, the directory's, or root removes it",
			     dir);
		else if (ret == EACCES)
			fail(path, ret, "removing needs write permission on %s", dir);
		else if (ret == ENOTTY)
			fail(path, ret, "not a named mailbox: rm removes the mailboxes of an mbox instance ('mbox ls %s')",
			     dir);
		else if (ret == ENOENT)
			fail(path, ret, "no such mailbox: 'mbox ls %s' lists them", dir);
		else
			fail(path, ret, NULL);
	}
	return failed;
}

/* One named mailbox of an instance, as 'ls' shows it. */
struct entry {
	char *name;
	struct stat st;
	bool have_info;		/* we could open it */
	struct mbox_info info;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
		      ((const struct entry *)b)->name);
}

/* "-rw-r-----" */
static void mode_string(mode_t m, char *buf)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	/* As ls shows a file: a mailbox is one, to its users. */
	buf[0] = '-';
	for (i = 0; i < 9; i++)
		buf[i + 1] = m & (0400 >> i) ? rwx[i] : '-';
	if (m & S_ISUID)
		buf[3] = m & S_IXUSR ? 's' : 'S';
	if (m & S_ISGID)
		buf[6] = m & S_IXGRP ? 's' : 'S';
	if (m & S_ISVTX)
		buf[9] = m & S_IXOTH ? 't' : 'T';
	buf[10] = '\0';
}

/* A user's or group's name, or its number when it has none. */
static void owner_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%u", (unsigned int)uid);
}

static void group_name(gid_t gid, char *buf, size_t size)
{
	struct group *gr = getgrgid(gid);

	if (gr)
		snprintf(buf, size, "%s", gr->gr_name);
	else
		snprintf(buf, size, "%u", (unsigned int)gid);
}

/* A name that may hold any byte, as a JSON member "key" or "key_base64". */
static void json_name(FILE *f, const char *key, const char *s)
{
	size_t len = strlen(s);

	if (valid_utf8((const unsigned char *)s, len)) {
		fprintf(f, "\"%s\":", key);
		json_string(f, s, len);
	} else {
		fprintf(f, "\"%s_base64\":", key);
		base64(f, (const unsigned char *)s, len);
	}
}

static void ls_json(const char *dir, const struct entry *e, size_t n)
{
	char user[64], group[64], mode[11];
	size_t i;

	fputc('[', stdout);
	for (i = 0; i < n; i++) {
		owner_name(e[i].st.st_uid, user, sizeof(user));
		group_name(e[i].st.st_gid, group, sizeof(group));
		mode_string(e[i].st.st_mode, mode);
		fputs(i ? ",{" : "{", stdout);
		json_name(stdout, "name", e[i].name);
		fputc(',', stdout);
		json_name(stdout, "dir", dir);
		fputs(",\"owner\":", stdout);
		json_string(stdout, user, strlen(user));
		fputs(",\"group\":", stdout);
		json_string(stdout, group, strlen(group));
		printf(",\"uid\":%u,\"gid\":%u,\"mode\":\"%s\",\"ino\":%llu",
		       (unsigned int)e[i].st.st_uid,
		       (unsigned int)e[i].st.st_gid, mode,
		       (unsigned long long)e[i].st.st_ino);
		if (e[i].have_info)
			printf(",\"msgs_queued\":%u,\"bytes_queued\":%llu,\"readers_waiting\":%u,\"writers_waiting\":%u}",
			       e[i].info.msgs_queued,
			       (unsigned long long)e[i].info.bytes_queued,
			       e[i].info.readers_waiting,
			       e[i].info.writers_waiting);
		else
			fputs(",\"msgs_queued\":null,\"bytes_queued\":null,\"readers_waiting\":null,\"writers_waiting\":null}",
			      stdout);
	}
	fputs("]\n", stdout);
}

static void ls_text(const struct entry *e, size_t n)
{
	char user[64], group[64], mode[11], num[4][24];
	size_t i;

	printf("%-10s %-8s %-8s %8s %10s %7s %7s %s\n", "MODE", "OWNER",
	       "GROUP", "MSGS", "BYTES", "READERS", "WRITERS", "NAME");
	for (i = 0; i < n; i++) {
		owner_name(e[i].st.st_uid, user, sizeof(user));
		group_name(e[i].st.st_gid, group, sizeof(group));
		mode_string(e[i].st.st_mode, mode);
		if (e[i].have_info) {
			snprintf(num[0], sizeof(num[0]), "%u", e[i].info.msgs_queued);
			snprintf(num[1], sizeof(num[1]), "%llu",
				 (unsigned long long)e[i].info.bytes_queued);
			snprintf(num[2], sizeof(num[2]), "%u",
				 e[i].info.readers_waiting);
			snprintf(num[3], sizeof(num[3]), "%u",
				 e[i].info.writers_waiting);
		} else {
			/* Not ours to open: what stat says, no counters. */
			strcpy(num[0], "-");
			strcpy(num[1], "-");
			strcpy(num[2], "-");
			strcpy(num[3], "-");
		}
		printf("%-10s %-8s %-8s %8s %10s %7s %7s ", mode, user, group,
		       num[0], num[1], num[2], num[3]);
		/* A name may hold any byte but '/': one line each, always. */
		print_escaped(stdout, (const unsigned char *)e[i].name,
			      strlen(e[i].name));
	}
}

/* The counters of mailbox @name in @dirfd, if we may open it at all. */
static bool entry_info(int dirfd, const char *name, struct mbox_info *info)
{
	int fd, ret;

	/* O_NONBLOCK: never wait in open(); either direction gives the info. */
	fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == EACCES)
		fd = openat(dirfd, name,
			    O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false;
	ret = mbox_info(fd, info);
	close(fd);
	return !ret;
}

static int cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, HELP_OPT, { 0 }
	};
	const char *env = secure_getenv("MBOX_DIR");
	const char *dir = env && *env ? env : MBOX_DEFAULT_DIR;
	struct entry *e = NULL, *p;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	bool json = false;
	struct statfs sf;
	int c, dirfd;
	DIR *d;

	while ((c = next_opt(argc, argv, "h", opts)) != -1)
		json |= c == 'j';
	if (optind < argc)
		dir = argv[optind++];
	if (optind != argc)
		usage_error("unexpected argument '%s' (one DIR)", argv[optind]);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 && errno != ENOENT && errno != ENOTDIR)
		return fail(dir, errno, NULL);
	if (dirfd < 0 || fstatfs(dirfd, &sf) || sf.f_type != MBOX_FS_MAGIC) {
		if (dirfd >= 0)
			close(dirfd);
		return fail(dir, dirfd < 0 ? errno : ENOTTY,
			    "not an mbox instance: is %s mounted? mount -t mbox mbox %s (or 'mbox mount %s')",
			    dir, dir, dir);
	}
	d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return fail(dir, errno, NULL);
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, MBOX_CONTROL_NAME))
			continue;
		/* Removed since readdir() saw it: not there any more. */
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISCHR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			p = realloc(e, cap * sizeof(*e));
			if (!p)
				goto oom;
			e = p;
		}
		e[n].name = strdup(de->d_name);
		if (!e[n].name)
			goto oom;
		e[n].st = st;
		e[n].have_info = entry_info(dirfd, de->d_name, &e[n].info);
		n++;
	}
	if (errno) {
		c = fail(dir, errno, NULL);
		goto out;
	}
	qsort(e, n, sizeof(*e), by_name);
	if (json)
		ls_json(dir, e, n);
	else
		ls_text(e, n);
	c = fflush(stdout) ? fail("stdout", errno, NULL) : 0;
out:
	for (i = 0; i < n; i++)
		free(e[i].name);
	free(e);
	closedir(d);
	return c;
oom:
	c = fail(dir, ENOMEM, NULL);
	goto out;
}

/* The mbox filesystem is known to the kernel (the module is in). */
static bool fs_known(void)
{
	char line[128];
	bool found = false;
	FILE *f = fopen("/proc/filesystems", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strcmp(line, "nodev\tmbox\n");
	fclose(f);
	return found;
}

static int cmd_mount(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "options", required_argument, NULL, 'o' }, HELP_OPT, { 0 }
	};
	const char *options = NULL;
	int c, load = 0;

	while ((c = next_opt(argc, argv, "ho:", opts)) != -1)
		if (c == 'o')
			options = optarg;
	if (optind + 1 != argc)
		usage_error(optind < argc ? "one DIR only" : "where? give DIR");
	const char *dir = argv[optind];

	/*
	 * mount(2) would load it by its alias too, but only where the
	 * kernel may run modprobe; here a failure can be told apart.
	 */
	if (!fs_known())
		load = mbox_module_load_by_name(NULL, NULL);
	if (!mount("mbox", dir, "mbox", 0, options))
		return 0;
	switch (errno) {
	case EPERM:
		return fail(dir, errno, "mounting needs root (CAP_SYS_ADMIN), or a user namespace you own: unshare -Urm");
	case ENOENT:
		return fail(dir, errno, "no such directory: mkdir -p %s first", dir);
	case ENOTDIR:
		return fail(dir, errno, "mount on a directory");
	case EINVAL:
		return fail(dir, errno, "a bad option in '%s' (max=N, user_max=N, user_bytes=N[KMG], mode=OCTAL, uid=, gid=); the kernel log names it: dmesg | tail",
			    options ? options : "");
	case ENODEV:
		return fail(dir, errno, "the mbox module is not loaded (%s): mbox load",
			    load ? strerror(-load) : "no mbox filesystem");
	default:
		return fail(dir, errno, NULL);
	}
}

static const struct command commands[] = {
	{ "load", cmd_load, "[--ko FILE | --module-dir DIR] [PARAM=VALUE...]",
	  "Load the mbox module: the file FILE, or 'mbox' found by name in DIR\n"
	  "(default /lib/modules/$(uname -r)) as modprobe would, with the\n"
	  "parameters nr_mailboxes, max_msg_size, max_msgs, max_bytes, max_urgent,\n"
	  "max_urgent_bytes, user_mailboxes, user_bytes (user_bytes may end in K,\n"
	  "M or G).\n" },
	{ "unload", cmd_unload, "",
	  "Unload the mbox module; refused while any mailbox is open.\n" },
	{ "status", cmd_status, "[--json]",
	  "Whether the module is loaded, its version, users and parameters.\n" },
	{ "send", cmd_send, "DEV [--timeout SEC] [--lines] [TEXT...]",
	  "Send TEXT (the words joined by spaces) as one message; without TEXT,\n"
	  "all of stdin as one message, or one message per line with --lines.\n"
	  "--timeout SEC   give up when the mailbox stays full that long\n" },
	{ "recv", cmd_recv, "DEV [-n COUNT] [--timeout SEC] [--follow] [--json|--raw]",
	  "Receive COUNT messages (default 1), each shown as its header line\n"
	  "(seq, time, pid, tid, uid, gid, opener ids, flags, size) and its payload\n"
	  "with non-printable bytes escaped.\n"
	  "--follow        receive until interrupted, or idle for --timeout\n"
	  "--timeout SEC   fail when no message comes within SEC seconds\n"
	  "--json          one JSON object per message: header fields, and the\n"
	  "                payload as \"payload\" (UTF-8) or \"payload_base64\"\n"
	  "--raw           the payload bytes only, nothing added\n" },
	{ "peek", cmd_peek, "DEV [--json]",
	  "Show the next message's header without receiving it.\n" },
	{ "flush", cmd_flush, "DEV [--mine] [--up-to SEQ] [--json]",
	  "Remove queued messages: all, only those sent from files opened by\n"
	  "your uid (--mine), and/or those up to sequence number SEQ.\n" },
	{ "urgent", cmd_urgent, "DEV [--flush [--mine] [--up-to SEQ]] [--json] TEXT",
	  "Send TEXT as an urgent message, read before every normal one; with\n"
	  "--flush, atomically remove the selected messages first.\n" },
	{ "info", cmd_info, "DEV [--json]",
	  "Show a mailbox's limits and counters.\n" },
	{ "limits", cmd_limits, "DEV [--max-msg-size N] [--max-msgs N] [--max-bytes N] [--max-urgent N] [--max-urgent-bytes N]",
	  "Show a mailbox's limits, or change them (needs CAP_SYS_ADMIN).  N may\n"
	  "end in K, M or G (powers of 1024).\n" },
	{ "create", cmd_create, "NAME [--mode OCTAL] [--group G] [--max-msg-size N] [--max-msgs N] [--max-bytes N] [--max-urgent N] [--max-urgent-bytes N]",
	  "Create the named mailbox NAME: DIR/NAME in the mbox instance DIR, or a\n"
	  "bare NAME in $MBOX_DIR (default /dev/mbox), owned by you.\n"
	  "--mode OCTAL    its permission bits, less the umask (default 0600)\n"
	  "--group G       its group, a name or a number (default yours)\n"
	  "--max-*  N      its limits, as for 'mbox limits' (default the module's)\n" },
	{ "ls", cmd_ls, "[DIR] [--json]",
	  "List the named mailboxes of the mbox instance DIR (default $MBOX_DIR,\n"
	  "else /dev/mbox), sorted by name: mode, owner, group, messages and\n"
	  "bytes queued, readers and writers waiting.  A mailbox you may not open\n"
	  "shows '-' for its counters (null in JSON).\n"
	  "--json          one JSON array, an object per mailbox: name (or\n"
	  "                name_base64 when not UTF-8), dir (or dir_base64), owner,\n"
	  "                group, uid, gid, mode, ino, msgs_queued, bytes_queued,\n"
	  "                readers_waiting, writers_waiting\n" },
	{ "mount", cmd_mount, "DIR [-o OPTIONS]",
	  "Mount a new instance of named mailboxes on DIR (mount -t mbox mbox DIR),\n"
	  "loading the module first if needed.  OPTIONS: max=N, user_max=N,\n"
	  "user_bytes=N[KMG], mode=OCTAL (default 1775), uid=, gid=.\n" },
	{ "rm", cmd_rm, "NAME...",
	  "Remove named mailboxes (NAME as for create).  Descriptors already open\n"
	  "keep working; the messages go with the last close.\n" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: mbox COMMAND [OPTIONS] [ARGS]\n\n"
		   "DEV is a mailbox: /dev/mbox0, mbox0 or 0; a path (DIR/NAME); or a\n"
		   "bare NAME, the named mailbox $MBOX_DIR/NAME (default /dev/mbox/NAME).\n"
		   "Commands:\n");
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].usage);
	fprintf(f, "\n'mbox COMMAND --help' says more; see also mbox(1).\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mbox %s\n", mbox_version());
		return 0;
	}
	for (i = 0; i < NR_COMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		current = &commands[i];
		/* getopt_long permutes: options may follow DEV. */
		return current->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "mbox: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
