/*
 * Paths as requests with an R argument name them: opened plainly (R = 0) or beneath the
 * container's root (R = 1, the directory SET_ROOT names) with openat2, and mkdir -p on top of
 * that. The operations of paths.c and copyup.c open their paths through here.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent.h"

/* Older headers lack these; the values are the kernel's ABI. */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#else
struct open_how {
	uint64_t flags, mode, resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT 0x10
#endif

static int root_fd = -1; /* SET_ROOT: the directory R = 1 paths are resolved beneath */

/*
 * Opens path as the R argument says. R = 1 resolves beneath root_fd the way the container will
 * see it: ".." stops at the root and absolute symlinks restart there, so a symlink planted in
 * an image cannot lead a mount onto the host. RESOLVE_NO_MAGICLINKS refuses /proc/<pid>/fd
 * style links, which could jump anywhere.
 */
int open_r(const char *path, int64_t r, int flags)
{
	if (r == 0)
		return open(path, flags | O_CLOEXEC);
	if (r != 1)
		return fail(EINVAL);
	if (root_fd < 0)
		return fail(EBADF);

	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	/* EAGAIN: a rename or mount raced the ".." check; the kernel asks us to retry. */
	for (int tries = 0; tries < 16; tries++) {
		long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
		if (fd >= 0 || errno != EAGAIN)
			return (int)fd;
	}
	return -1;
}

/* Splits path in place into its parent and its last component ("/" gives "/" and "."). */
void split_path(char *path, char **dir, const char **name)
{
	static char dot[] = ".", slash[] = "/";
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';

	char *last = strrchr(path, '/');
	if (!last) {
		*dir = dot;
		*name = path;
	} else if (last == path) {
		*dir = slash;
		*name = last[1] ? last + 1 : ".";
	} else {
		*last = '\0';
		*dir = path;
		*name = last + 1;
	}
}

/* The parent of path, opened per r, for the *at call that creates the last component. */
int open_parent(char *path, int64_t r, const char **name)
{
	char *dir;
	if (!*path)
		return fail(ENOENT);
	split_path(path, &dir, name);
	return open_r(dir, r, O_PATH | O_DIRECTORY);
}

/*
 * mkdir -p, one component at a time; returns the final directory opened O_PATH. Each prefix
 * is resolved again from the start rather than from the previous directory: with
 * RESOLVE_IN_ROOT the dirfd *is* the root, so stepping from an inner directory would let a
 * symlink's ".." stop at the wrong place.
 */
static int mkdir_walk(char *path, mode_t mode, int64_t r, int links);

/*
 * A dangling symlink on the way (the image's /run -> /var/run, say, with no /var/run): like
 * runc, carry on at the link's target, resolved beneath the root, so the directories are made
 * where the link points inside the rootfs. Never for plain paths, whose links are the host's.
 */
static int follow_link(int dir, const char *path, const char *name, size_t len,
		       const char *rest, mode_t mode, int64_t r, int links)
{
	char entry[NAME_MAX + 1], target[PATH_MAX];
	if (r != 1 || links >= 40 || len > NAME_MAX)
		return fail(links >= 40 ? ELOOP : ENOENT);
	memcpy(entry, name, len);
	entry[len] = '\0';
	ssize_t n = readlinkat(dir, entry, target, sizeof target - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';

	/* An absolute target starts again at the root; a relative one beside the link. */
	size_t prefix = target[0] == '/' ? 0 : (size_t)(name - path);
	size_t size = prefix + (size_t)n + strlen(rest) + 2;
	char *next = malloc(size);
	if (!next)
		return fail(ENOMEM);
	snprintf(next, size, "%.*s%s%s", (int)prefix, path, target, rest);
	int fd = mkdir_walk(next, mode, r, links + 1);
	free(next);
	return fd;
}

static int mkdir_walk(char *path, mode_t mode, int64_t r, int links)
{
	int dir = open_r(path[0] == '/' ? "/" : ".", r, O_PATH | O_DIRECTORY);

	for (char *p = path; dir >= 0;) {
		while (*p == '/')
			p++;
		if (!*p)
			return dir;

		char *end = p + strcspn(p, "/"), saved = *end;
		*end = '\0';
		int next = open_r(path, r, O_PATH | O_DIRECTORY);
		/* EEXIST from mkdirat: created meanwhile, or a dangling symlink (reopen: ENOENT). */
		if (next < 0 && errno == ENOENT && (mkdirat(dir, p, mode) == 0 || errno == EEXIST))
			next = open_r(path, r, O_PATH | O_DIRECTORY);
		*end = saved;
		if (next < 0 && errno == ENOENT) {
			next = follow_link(dir, path, p, (size_t)(end - p), end, mode, r, links);
			xclose(dir);
			return next;
		}
		xclose(dir);
		dir = next;
		p = end;
	}
	return -1;
}

int mkdir_all(char *path, mode_t mode, int64_t r) { return mkdir_walk(path, mode, r, 0); }

int64_t op_set_root(struct arg *a)
{
	int fd = open(a[0].s, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	xclose(root_fd);
	root_fd = fd;
	return 0;
}
