/*
 * tmpcopyup (podman's --tmpfs and --read-only): a tmpfs mounted over a directory of the image
 * starts with what that directory held. The directory is opened before the mount, so the
 * copy reads the image's files through that descriptor even once the tmpfs covers them, and
 * writes into the new tmpfs through a descriptor of its root: no path is walked again, so
 * nothing in the image can redirect the copy.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent.h"

static int copy_tree(int from, int to, int depth);

/* Owner, mode and times of `name` in `to` as `st` has them (not following a link). */
static int copy_attrs(int to, const char *name, const struct stat *st)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (fchownat(to, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISLNK(st->st_mode) && fchmodat(to, name, st->st_mode & 07777, 0) < 0)
		return -1;
	return utimensat(to, name, times, AT_SYMLINK_NOFOLLOW);
}

static int copy_file(int from, int to, const char *name, const struct stat *st)
{
	int in = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return done(in, -1);
	char buf[65536];
	for (off_t left = st->st_size; left > 0;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n <= 0 || write(out, buf, (size_t)n) != n)
			return done(in, done(out, -1));
		left -= n;
	}
	close(in);
	close(out);
	return 0;
}

static int copy_entry(int from, int to, const char *name, int depth)
{
	struct stat st;
	if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;

	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(to, name, 0700) < 0)
			return -1;
		int sub_from = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int sub_to = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int rc = sub_from < 0 || sub_to < 0 ? -1 : copy_tree(sub_from, sub_to, depth + 1);
		done(sub_from, 0);
		done(sub_to, 0);
		if (rc < 0)
			return -1;
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(from, name, target, sizeof target - 1);
		if (n < 0)
			return -1;
		target[n] = '\0';
		if (symlinkat(target, to, name) < 0)
			return -1;
	} else if (S_ISREG(st.st_mode)) {
		if (copy_file(from, to, name, &st) < 0)
			return -1;
	} else if (mknodat(to, name, st.st_mode, st.st_rdev) < 0) {
		return -1; /* fifos, sockets, device nodes */
	}
	return copy_attrs(to, name, &st);
}

/* Copies every entry of directory `from` into `to`; both descriptors stay open. */
static int copy_tree(int from, int to, int depth)
{
	if (depth > 64)
		return fail(ELOOP);
	int list = dup(from);
	DIR *dir = list < 0 ? NULL : fdopendir(list);
	if (!dir)
		return done(list, -1);
	rewinddir(dir);
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(dir));) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc = copy_entry(from, to, e->d_name, depth);
	}
	closedir(dir);
	return rc;
}

/* TMPFS_COPYUP target, flags, data, R: mount a tmpfs on target and copy target's files in. */
int64_t op_tmpfs_copyup(struct arg *a)
{
	char proc[32];
	int image = open_r(a[0].s, a[3].i, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (image < 0)
		return -1;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", image);
	if (mount("tmpfs", proc, "tmpfs", (unsigned long)a[1].i, a[2].n ? a[2].s : NULL) < 0)
		return done(image, -1);

	/* The same path now leads to the new tmpfs's root. */
	int fresh = open_r(a[0].s, a[3].i, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fresh < 0)
		return done(image, -1);
	int rc = copy_tree(image, fresh, 0);
	close(image);
	close(fresh);
	return rc;
}
