/*
 * The filesystem operations: mount, mkdir -p, the creation and ownership calls, the root
 * switch (pivot_root or chroot) and the unix sockets bound or connected at a path. Their paths
 * are resolved plainly or beneath the container's root (R = 1) by resolve.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include "agent.h"

int64_t op_umount(struct arg *a) { return umount2(a[0].s, (int)a[1].i); }
int64_t op_open_file(struct arg *a)
{
	return open(a[0].s, (int)a[1].i | O_CLOEXEC, (mode_t)a[2].i);
}
int64_t op_access(struct arg *a) { return access(a[0].s, (int)a[1].i); }
int64_t op_chdir(struct arg *a) { return chdir(a[0].s); }

static const char *or_null(const char *s) { return *s ? s : NULL; }

int64_t op_mount(struct arg *a)
{
	const char *target = a[1].s;
	char proc[32];
	int fd = -1;

	if (a[5].i != 0) {
		/* Mount onto the magic link of the object already resolved beneath the root: the
		 * kernel follows it to that exact dentry and walks no path again. */
		fd = open_r(target, a[5].i, O_PATH);
		if (fd < 0)
			return -1;
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		target = proc;
	}
	return done(fd, mount(or_null(a[0].s), target, or_null(a[2].s), (unsigned long)a[3].i,
			      or_null(a[4].s)));
}

int64_t op_mkdir_all(struct arg *a)
{
	int fd = mkdir_all(a[0].s, (mode_t)a[1].i, a[2].i);
	return fd < 0 ? -1 : done(fd, 0);
}

int64_t op_create_file(struct arg *a)
{
	const char *name;
	char *dir;
	if (!*a[0].s)
		return fail(ENOENT);
	split_path(a[0].s, &dir, &name);

	int dfd = mkdir_all(dir, 0755, a[2].i);
	if (dfd < 0)
		return -1;
	/* O_EXCL|O_NOFOLLOW: whatever is already there, even a symlink, is left as it is. */
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			(mode_t)a[1].i);
	xclose(fd);
	return done(dfd, fd >= 0 || errno == EEXIST ? 0 : -1);
}

int64_t op_mknod(struct arg *a)
{
	const char *name;
	int dfd = open_parent(a[0].s, a[4].i, &name);
	dev_t dev = makedev((unsigned int)a[2].i, (unsigned int)a[3].i);
	return dfd < 0 ? -1 : done(dfd, mknodat(dfd, name, (mode_t)a[1].i, dev));
}

int64_t op_symlink(struct arg *a)
{
	const char *name;
	int dfd = open_parent(a[1].s, a[2].i, &name);
	return dfd < 0 ? -1 : done(dfd, symlinkat(a[0].s, dfd, name));
}

int64_t op_chown(struct arg *a)
{
	/* O_PATH|O_NOFOLLOW opens a final symlink itself, so the link is chowned, not its
	 * target; AT_EMPTY_PATH then acts on exactly that object. */
	int fd = open_r(a[0].s, a[3].i, O_PATH | O_NOFOLLOW);
	int flags = AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW;
	return fd < 0 ? -1 : done(fd, fchownat(fd, "", (uid_t)a[1].i, (gid_t)a[2].i, flags));
}

int64_t op_chmod(struct arg *a)
{
	char proc[32];
	/* fchmod refuses O_PATH descriptors; their magic link reaches the same inode. */
	int fd = open_r(a[0].s, a[2].i, O_PATH);
	if (fd < 0)
		return -1;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return done(fd, chmod(proc, (mode_t)a[1].i));
}

int64_t op_write_file(struct arg *a)
{
	/* No O_CREAT: this writes files that exist (sysctls, kernel knobs), never makes one. */
	int fd = open_r(a[0].s, a[2].i, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	for (uint32_t off = 0; off < a[1].n;) {
		ssize_t n = write(fd, a[1].s + off, a[1].n - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return done(fd, n < 0 ? -1 : fail(EIO));
		off += (uint32_t)n;
	}
	return close(fd);
}

int64_t op_stat(struct arg *a)
{
	struct stat st;
	int fd = open_r(a[0].s, a[1].i, O_PATH);
	if (fd < 0 || done(fd, fstat(fd, &st)) < 0)
		return -1;
	put32(payload, st.st_mode);
	put32(payload + 4, st.st_uid);
	put32(payload + 8, st.st_gid);
	put64(payload + 12, st.st_rdev);
	payload_len = 20;
	return 0;
}

int64_t op_pivot_root(struct arg *a)
{
	int old = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (old < 0)
		return -1;
	/* pivot_root(".", ".") stacks the old root on top of the new one at "/". Going back to
	 * the old root through its fd makes "." name it unambiguously for the next two calls.
	 * It becomes a slave first, so that detaching it cannot propagate an unmount to the
	 * host's (possibly shared) mounts. */
	if (chdir(a[0].s) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || fchdir(old) < 0 ||
	    mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 || umount2(".", MNT_DETACH) < 0)
		return done(old, -1);
	return done(old, chdir("/"));
}

int64_t op_chroot_move(struct arg *a)
{
	/* "." as the MS_MOVE source: a relative newroot would not survive the chdir. */
	if (chdir(a[0].s) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
		return -1;
	return chdir("/");
}

/*
 * A unix socket bound (and listening) or connected to path. A path longer than sun_path is
 * reached as "/proc/self/fd/<dir>/<name>", which is short and which the kernel follows to the
 * directory. Nothing is unlinked: an existing file at the path is EADDRINUSE.
 */
static int64_t unix_socket(char *path, int listening)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct sockaddr *sa = (struct sockaddr *)&addr;
	int dfd = -1, rc = -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;

	if (strlen(path) < sizeof addr.sun_path) {
		strcpy(addr.sun_path, path);
	} else {
		const char *name;
		dfd = open_parent(path, 0, &name);
		if (dfd < 0)
			return done(fd, -1);
		size_t n = (size_t)snprintf(addr.sun_path, sizeof addr.sun_path,
					    "/proc/self/fd/%d/%s", dfd, name);
		if (n >= sizeof addr.sun_path)
			return done(fd, done(dfd, fail(ENAMETOOLONG)));
	}
	if (listening)
		rc = bind(fd, sa, sizeof addr) < 0 ? -1 : listen(fd, 1);
	else
		rc = connect(fd, sa, sizeof addr);
	xclose(dfd);
	return rc < 0 ? done(fd, -1) : fd;
}

int64_t op_listen_unix(struct arg *a) { return unix_socket(a[0].s, 1); }
int64_t op_connect_unix(struct arg *a) { return unix_socket(a[0].s, 0); }
