/*
 * hako-agent: runs the steps a multithreaded Node process cannot (entering a user namespace,
 * forking the container's init, everything the init does before execve).
 *
 * It reads one request at a time from the control socket, executes it and answers with the
 * result and errno. It makes no decisions: the order of steps and the meaning of every error
 * belong to hako. The wire format and every operation are described in PROTOCOL.md, next to
 * this file.
 *
 * Rules kept throughout: every descriptor the agent creates is close-on-exec, so the workload
 * inherits only stdio and the preserved fds; nothing is looked up through NSS; memory is
 * allocated for a request and freed with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

/* Older headers lack these; the values are the kernel's ABI. */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
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

#define MAX_ARGS 8
#define MAX_REQUEST (16U << 20)

/* One argument of a request: type 0 fills i; type 1 fills s (NUL-terminated) and n. */
struct arg {
	int is_bytes;
	int64_t i;
	char *s;
	uint32_t n;
};

static int ctl_fd = -1;	 /* the control socket */
static int root_fd = -1; /* SET_ROOT: the directory R = 1 paths are resolved beneath */
static int answered;	 /* the current op already sent its own answer (FORK, EXEC) */
static int console_pair = -1; /* FORK mode 2: the init's end, where CONSOLE -1 sends */
static unsigned char payload[4096]; /* STAT's fields, or SPAWN_WAIT's stderr */
static uint32_t payload_len;

/* ---- small helpers ---------------------------------------------------------------------- */

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/* close() for cleanup: keeps the errno of the call that failed. */
static void xclose(int fd)
{
	int saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
}

/* Closes the descriptor an operation worked through and passes its result on. */
static int64_t done(int fd, int64_t rc)
{
	xclose(fd);
	return rc;
}

/* Reads exactly n bytes: a stream socket may deliver a request in pieces. */
static int read_full(int fd, void *buf, size_t n)
{
	for (unsigned char *p = buf; n > 0;) {
		ssize_t got = read(fd, p, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/* Sends one response. If hako is gone there is nobody to serve: exit quietly. */
static void answer(int64_t ret, int err, const void *data, uint32_t len)
{
	unsigned char buf[16 + sizeof payload];
	size_t off = 0, total = 16 + len;

	put32(buf, 12 + len);
	put64(buf + 4, (uint64_t)ret);
	put32(buf + 12, (uint32_t)err);
	if (len)
		memcpy(buf + 16, data, len);
	/* MSG_NOSIGNAL rather than ignoring SIGPIPE: an ignored signal would survive execve. */
	while (off < total) {
		ssize_t n = send(ctl_fd, buf + off, total - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			exit(1);
		off += (size_t)n;
	}
	answered = 1;
}

/* ---- paths ------------------------------------------------------------------------------ */

/*
 * Opens path as the R argument says. R = 1 resolves beneath root_fd the way the container will
 * see it: ".." stops at the root and absolute symlinks restart there, so a symlink planted in
 * an image cannot lead a mount onto the host. RESOLVE_NO_MAGICLINKS refuses /proc/<pid>/fd
 * style links, which could jump anywhere.
 */
static int open_r(const char *path, int64_t r, int flags)
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
static void split(char *path, char **dir, const char **name)
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
static int open_parent(char *path, int64_t r, const char **name)
{
	char *dir;
	if (!*path)
		return fail(ENOENT);
	split(path, &dir, name);
	return open_r(dir, r, O_PATH | O_DIRECTORY);
}

/*
 * mkdir -p, one component at a time; returns the final directory opened O_PATH. Each prefix
 * is resolved again from the start rather than from the previous directory: with
 * RESOLVE_IN_ROOT the dirfd *is* the root, so stepping from an inner directory would let a
 * symlink's ".." stop at the wrong place.
 */
static int mkdir_all(char *path, mode_t mode, int64_t r)
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
		xclose(dir);
		dir = next;
		p = end;
	}
	return -1;
}

/* ---- operations: each returns ret >= 0, or -1 with errno -------------------------------- */

static int64_t op_unshare(struct arg *a) { return unshare((int)a[0].i); }
static int64_t op_setresuid(struct arg *a) { return setresuid(a[0].i, a[0].i, a[0].i); }
static int64_t op_setresgid(struct arg *a) { return setresgid(a[0].i, a[0].i, a[0].i); }
static int64_t op_umount(struct arg *a) { return umount2(a[0].s, (int)a[1].i); }
static int64_t op_access(struct arg *a) { return access(a[0].s, (int)a[1].i); }
static int64_t op_chdir(struct arg *a) { return chdir(a[0].s); }
static int64_t op_sethostname(struct arg *a) { return sethostname(a[0].s, a[0].n); }
static int64_t op_setdomainname(struct arg *a) { return setdomainname(a[0].s, a[0].n); }
static int64_t op_close(struct arg *a) { return close((int)a[0].i); }
static int64_t op_dup2(struct arg *a) { return dup2((int)a[0].i, (int)a[1].i); }
static int64_t op_umask(struct arg *a) { return umask((mode_t)a[0].i); }

static int64_t op_setns(struct arg *a)
{
	int fd = open(a[0].s, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -1 : done(fd, setns(fd, (int)a[1].i));
}

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void proxy_console(int sock, pid_t child);

/*
 * The child becomes the container init and keeps serving; the parent answers for both, since
 * only it sees the child's pid as hako does. Until that answer is written the child must not
 * touch the socket, or the answer to a pipelined request could overtake it: it waits for the
 * parent to close its end of a pipe.
 */
static int64_t op_fork(struct arg *a)
{
	int gate[2], pair[2] = { -1, -1 }, status;
	int64_t mode = a[0].i;
	sigset_t stop, old;
	char c;

	if (mode < 0 || mode > 2)
		return fail(EINVAL);
	if (pipe2(gate, O_CLOEXEC) < 0)
		return -1;
	/* Mode 2: the init sends the pty master through this pair to the waiting parent. */
	if (mode == 2 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		return done(gate[0], done(gate[1], -1));
	/* Blocked across fork, so a signal meant for the init cannot kill the waiting parent
	 * before it ignores them; the child restores the mask and keeps default dispositions. */
	sigemptyset(&stop);
	for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
		sigaddset(&stop, stop_signals[i]);
	sigprocmask(SIG_BLOCK, &stop, &old);

	pid_t pid = fork();
	if (pid <= 0) { /* the child, or no child at all */
		sigprocmask(SIG_SETMASK, &old, NULL);
		xclose(gate[1]);
		xclose(pair[0]);
		if (pid == 0)
			console_pair = pair[1];
		else
			xclose(pair[1]);
		while (pid == 0 && read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		xclose(gate[0]);
		answered = pid == 0;
		return pid;
	}

	close(gate[0]);
	xclose(pair[1]);
	answer(pid, 0, NULL, 0);
	if (mode == 0)
		_exit(0); /* exiting closes gate[1], which releases the child */

	/* modes 1 and 2 (run): hako forwards signals to the init itself; this process reports. */
	close(ctl_fd);
	struct sigaction ign = { .sa_handler = SIG_IGN };
	for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
		sigaction(stop_signals[i], &ign, NULL);
	if (mode == 2)
		sigaddset(&old, SIGWINCH); /* read from a signalfd by the proxy */
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(gate[1]);
	if (mode == 2)
		proxy_console(pair[0], pid);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
}

static int64_t op_setgroups(struct arg *a)
{
	if (a[0].n % 4)
		return fail(EINVAL);
	/* The kernel copies the list, so its alignment inside the request does not matter. */
	return setgroups(a[0].n / 4, (const gid_t *)(const void *)a[0].s);
}

static int64_t op_set_root(struct arg *a)
{
	int fd = open(a[0].s, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	xclose(root_fd);
	root_fd = fd;
	return 0;
}

static const char *or_null(const char *s) { return *s ? s : NULL; }

static int64_t op_mount(struct arg *a)
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

static int64_t op_mkdir_all(struct arg *a)
{
	int fd = mkdir_all(a[0].s, (mode_t)a[1].i, a[2].i);
	return fd < 0 ? -1 : done(fd, 0);
}

static int64_t op_create_file(struct arg *a)
{
	const char *name;
	char *dir;
	if (!*a[0].s)
		return fail(ENOENT);
	split(a[0].s, &dir, &name);

	int dfd = mkdir_all(dir, 0755, a[2].i);
	if (dfd < 0)
		return -1;
	/* O_EXCL|O_NOFOLLOW: whatever is already there, even a symlink, is left as it is. */
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			(mode_t)a[1].i);
	xclose(fd);
	return done(dfd, fd >= 0 || errno == EEXIST ? 0 : -1);
}

static int64_t op_mknod(struct arg *a)
{
	const char *name;
	int dfd = open_parent(a[0].s, a[4].i, &name);
	dev_t dev = makedev((unsigned int)a[2].i, (unsigned int)a[3].i);
	return dfd < 0 ? -1 : done(dfd, mknodat(dfd, name, (mode_t)a[1].i, dev));
}

static int64_t op_symlink(struct arg *a)
{
	const char *name;
	int dfd = open_parent(a[1].s, a[2].i, &name);
	return dfd < 0 ? -1 : done(dfd, symlinkat(a[0].s, dfd, name));
}

static int64_t op_chown(struct arg *a)
{
	/* O_PATH|O_NOFOLLOW opens a final symlink itself, so the link is chowned, not its
	 * target; AT_EMPTY_PATH then acts on exactly that object. */
	int fd = open_r(a[0].s, a[3].i, O_PATH | O_NOFOLLOW);
	int flags = AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW;
	return fd < 0 ? -1 : done(fd, fchownat(fd, "", (uid_t)a[1].i, (gid_t)a[2].i, flags));
}

static int64_t op_chmod(struct arg *a)
{
	char proc[32];
	/* fchmod refuses O_PATH descriptors; their magic link reaches the same inode. */
	int fd = open_r(a[0].s, a[2].i, O_PATH);
	if (fd < 0)
		return -1;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return done(fd, chmod(proc, (mode_t)a[1].i));
}

static int64_t op_write_file(struct arg *a)
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

static int64_t op_stat(struct arg *a)
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

static int64_t op_pivot_root(struct arg *a)
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

static int64_t op_chroot_move(struct arg *a)
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

static int64_t op_listen_unix(struct arg *a) { return unix_socket(a[0].s, 1); }
static int64_t op_connect_unix(struct arg *a) { return unix_socket(a[0].s, 0); }

/* Sends fd with name as payload in one message, as runc's console socket protocol (and so
 * conmon and containerd) expects. */
static int send_fd(int sock, int fd, const char *name)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof ctl.buf,
	};
	memset(&ctl, 0, sizeof ctl);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);

	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : (size_t)n == iov.iov_len ? 0 : fail(EIO);
}

static int64_t op_console(struct arg *a)
{
	int sock = a[0].i == -1 ? console_pair : (int)a[0].i, unlock = 0, peer = -1;
	unsigned int ptn;
	char name[32];
	struct winsize ws = { .ws_row = (unsigned short)a[1].i, .ws_col = (unsigned short)a[2].i };

	/* Through the current root: after pivot_root, the container's own devpts. */
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return -1;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &ptn) < 0)
		return done(master, -1);
	/* TIOCGPTPEER opens the peer from the master itself, with no lookup in /dev/pts that
	 * the container's files could redirect. */
	peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0 || ((ws.ws_row || ws.ws_col) && ioctl(peer, TIOCSWINSZ, &ws) < 0))
		return done(master, done(peer, -1));
	snprintf(name, sizeof name, "/dev/pts/%u", ptn);
	if (send_fd(sock, master, name) < 0)
		return done(master, done(peer, -1));
	close(master);
	close(sock);
	if (sock == console_pair)
		console_pair = -1;

	/* A new session has no controlling terminal, so TIOCSCTTY can make the peer ours. */
	if (setsid() < 0 || ioctl(peer, TIOCSCTTY, 0) < 0)
		return done(peer, -1);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(peer, fd) < 0) /* dup2 leaves 0..2 without close-on-exec, as wanted */
			return done(peer, -1);
	return peer > 2 ? close(peer) : 0;
}

/* ---- the console proxy of `run` (FORK mode 2) --------------------------------------- */

/*
 * `run` of a process with a terminal and no --console-socket: like runc, hako itself holds the
 * pty's master. The agent's waiting first process receives it from the init (CONSOLE -1),
 * copies its stdin to the master and the master to its stdout, and gives the pty the window
 * size of its stdin's terminal, at once and on every SIGWINCH. hako's Node process only puts
 * its terminal in raw mode and passes SIGWINCH on.
 */
struct proxy {
	int in, out, master; /* -1 once done with */
	char pending[4096];  /* read from stdin, not yet taken by the pty */
	size_t off, len;
};

/* Receives the one descriptor CONSOLE sends; -1 if the init went away first. */
static int recv_fd(int sock)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char name[64];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof name };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof ctl.buf,
	};
	int fd = -1;
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

/*
 * runc's proxy clears ONLCR on the pty: the terminal the output goes to adds its own "\r",
 * and output sent to a file or pipe keeps plain "\n" line ends.
 */
static void clear_onlcr(int master)
{
	struct termios t;
	if (tcgetattr(master, &t) == 0) {
		t.c_oflag &= ~(tcflag_t)ONLCR;
		tcsetattr(master, TCSANOW, &t);
	}
}

/* Nothing happens when stdin is not a terminal: the pty keeps process.consoleSize. */
static void copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0 && (ws.ws_row || ws.ws_col))
		ioctl(to, TIOCSWINSZ, &ws);
}

/* Writes all of buf; waits when fd was left non-blocking by whoever shares it. */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, -1);
		} else if (w < 0 && errno != EINTR) {
			return -1;
		} else if (w > 0) {
			buf += w;
			n -= (size_t)w;
		}
	}
	return 0;
}

/* Master to stdout: 1 after a copy, 0 when nothing is there now, -1 when no writer is left. */
static int pump_out(struct proxy *px)
{
	char buf[4096];
	ssize_t n = read(px->master, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1; /* EIO: every descriptor of the peer is closed */
	/* A stdout that is gone (EPIPE) drops the output; the pty is still read, so the
	 * container never blocks on a full one. */
	if (px->out >= 0 && write_all(px->out, buf, (size_t)n) < 0)
		px->out = -1;
	return 1;
}

static void pump_in(struct proxy *px)
{
	ssize_t n = read(px->in, px->pending, sizeof px->pending);
	if (n > 0) {
		px->off = 0;
		px->len = (size_t)n;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		px->in = -1; /* at EOF runc stops copying too; the pty stays open */
	}
}

/* The master is non-blocking: a container that does not read its input never stalls output. */
static void flush_pending(struct proxy *px)
{
	ssize_t n = write(px->master, px->pending + px->off, px->len - px->off);
	if (n > 0)
		px->off += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		px->off = px->len;
	if (px->off == px->len)
		px->len = 0;
}

/* Returns once the init has exited (not reaped) and what it wrote has been copied. */
static void proxy_console(int sock, pid_t child)
{
	struct proxy px = { .in = 0, .out = 1, .master = -1 };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t winch;
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	int sigfd = signalfd(-1, &winch, SFD_CLOEXEC);
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	sigaction(SIGPIPE, &ign, NULL); /* a closed stdout is an EPIPE, handled above */

	/* Until the init sends the master, or exits during the setup without sending it. */
	struct pollfd first[2] = { { .fd = pidfd, .events = POLLIN },
				   { .fd = sock, .events = POLLIN } };
	while (pidfd >= 0 && poll(first, 2, -1) < 0 && errno == EINTR)
		;
	if (first[1].revents)
		px.master = recv_fd(sock);
	close(sock);
	if (px.master >= 0 && fcntl(px.master, F_SETFL, O_NONBLOCK) == 0) {
		clear_onlcr(px.master);
		copy_winsize(0, px.master);
		for (;;) {
			struct pollfd p[4] = {
				{ .fd = pidfd, .events = POLLIN },
				{ .fd = sigfd, .events = POLLIN },
				{ .fd = px.len ? -1 : px.in, .events = POLLIN },
				{ .fd = px.master, .events = POLLIN | (px.len ? POLLOUT : 0) },
			};
			if (poll(p, 4, -1) < 0 && errno != EINTR)
				break;
			if (p[0].revents)
				break;
			struct signalfd_siginfo si;
			if (p[1].revents && read(sigfd, &si, sizeof si) > 0)
				copy_winsize(0, px.master);
			if (p[2].revents)
				pump_in(&px);
			if (p[3].revents & POLLOUT)
				flush_pending(&px);
			if (p[3].revents & (POLLIN | POLLHUP | POLLERR) && pump_out(&px) < 0) {
				/* Nobody in the container holds the pty any more. */
				px.master = done(px.master, -1);
				px.in = -1;
				px.len = 0;
			}
		}
		/* What the workload wrote just before it exited. */
		while (px.master >= 0 && pump_out(&px) > 0)
			;
	}
	xclose(px.master);
	xclose(pidfd);
	xclose(sigfd);
}

static rlim_t to_rlim(int64_t v) { return v == -1 ? RLIM_INFINITY : (rlim_t)v; }

static int64_t op_setrlimit(struct arg *a)
{
	struct rlimit rl = { .rlim_cur = to_rlim(a[1].i), .rlim_max = to_rlim(a[2].i) };
	return setrlimit((int)a[0].i, &rl);
}

static int64_t op_prctl(struct arg *a)
{
	return prctl((int)a[0].i, (unsigned long)a[1].i, (unsigned long)a[2].i,
		     (unsigned long)a[3].i, (unsigned long)a[4].i);
}

static int64_t op_capset(struct arg *a)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	/* Version 3 splits each 64-bit set into two 32-bit halves, low half first. */
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)((uint64_t)a[0].i >> (32 * i));
		data[i].permitted = (uint32_t)((uint64_t)a[1].i >> (32 * i));
		data[i].inheritable = (uint32_t)((uint64_t)a[2].i >> (32 * i));
	}
	return syscall(SYS_capset, &hdr, data);
}

/* Installs a struct sock_filter array; returns the listener fd with NEW_LISTENER, else 0. */
static int install_seccomp(const char *prog, uint32_t len, int64_t flags)
{
	if (len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > USHRT_MAX)
		return fail(EINVAL);
	/* The kernel copies the program, so it may sit unaligned in the request. */
	struct sock_fprog fprog = {
		.len = (unsigned short)(len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)(void *)prog,
	};
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned int)flags, &fprog);
}

static int64_t op_seccomp(struct arg *a) { return install_seccomp(a[0].s, a[0].n, a[1].i); }

/* ---- start, hooks and exec ------------------------------------------------------------ */

/* Marks every descriptor from `from` up close-on-exec. */
static int cloexec_from(int64_t from)
{
	if (from < 0 || from > INT_MAX)
		return fail(EBADF);
	if (syscall(SYS_close_range, (unsigned int)from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	/*
	 * ENOSYS before Linux 5.9, EINVAL (unknown flag) before 5.11, and EPERM when a seccomp
	 * profile older than close_range is already installed: mark them one by one.
	 */
	for (long fd = from, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* Turns "a\0b\0" into a NULL-terminated vector pointing into the request. */
static char **split_list(char *s, uint32_t len)
{
	size_t count = 0;
	for (uint32_t i = 0; i < len; i += (uint32_t)strlen(s + i) + 1)
		count++;
	char **v = calloc(count + 1, sizeof *v);
	count = 0;
	for (uint32_t i = 0; v && i < len; i += (uint32_t)strlen(s + i) + 1)
		v[count++] = s + i;
	return v;
}

static int64_t op_wait_start(struct arg *a)
{
	int conn, listening = 0, startfd = (int)a[0].i;
	socklen_t len = sizeof listening;
	/* Checked first: once the answer is sent, a failure has nobody to go to. */
	if (getsockopt(startfd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
		return -1;
	if (!listening)
		return fail(EINVAL);

	answer(0, 0, NULL, 0);
	close(ctl_fd);
	/* `hako create` exits now. Whoever connects (`hako start`) holds the new control
	 * channel, close-on-exec like the first one. */
	while ((conn = accept4(startfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		if (errno != EINTR)
			exit(1);
	close(startfd);
	ctl_fd = conn;
	return 0;
}

static int64_t op_exec(struct arg *a)
{
	char **argv = split_list(a[1].s, a[1].n), **envp = split_list(a[2].s, a[2].n);
	if (!argv || !envp)
		errno = ENOMEM;
	else if (cloexec_from(a[3].i) == 0 &&
		 (a[4].n == 0 || install_seccomp(a[4].s, a[4].n, a[5].i) >= 0))
		execve(a[0].s, argv, envp); /* on success hako reads EOF: the channel is cloexec */
	/* With descriptors marked and maybe a filter installed, this process is spent. */
	answer(-1, errno, NULL, 0);
	_exit(127);
}

/* The hook's side of SPAWN_WAIT. Failures before execve go to its stderr, as a shell's do. */
_Noreturn static void spawn_child(const char *path, char **argv, char **envp, int in, int err)
{
	const char *step = "dup2";
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null < 0) {
		step = "open /dev/null";
	} else if (dup2(in, 0) == 0 && dup2(null, 1) == 1 && dup2(err, 2) == 2) {
		/* The container's preserved fds are none of the hook's business. */
		cloexec_from(3);
		execve(path, argv, envp);
		step = path;
	}
	dprintf(err, "%s: %s\n", step, strerror(errno));
	_exit(127);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll's timeout for a deadline (-1: none). */
static int ms_until(int64_t deadline)
{
	int64_t left = deadline - now_ms();
	return deadline < 0 ? -1 : left <= 0 ? 0 : left < INT_MAX ? (int)left : INT_MAX;
}

/* Reads what the hook wrote to stderr: the first bytes into the payload, the rest dropped
 * (a full pipe would stall the hook). Closes the pipe at EOF. */
static void collect_stderr(int *fd)
{
	char sink[512];
	int room = payload_len < sizeof payload;
	ssize_t n = room ? read(*fd, payload + payload_len, sizeof payload - payload_len)
			 : read(*fd, sink, sizeof sink);
	if (n > 0 && room)
		payload_len += (uint32_t)n;
	else if (n == 0 || (n < 0 && errno != EINTR))
		*fd = done(*fd, -1);
}

/* Waits for the hook's exit while collecting its stderr: 0, or the errno that ends the wait. */
static int watch_hook(int pidfd, int *errfd, int64_t deadline)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN },
				       { .fd = *errfd, .events = POLLIN } }; /* fd -1: ignored */
		int n = poll(p, 2, ms_until(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : ETIMEDOUT;
		if (p[1].revents)
			collect_stderr(errfd);
		if (p[0].revents)
			return 0;
	}
}

/* Writes all of data into the pipe and closes its write end. */
static int fill_pipe(int *fd, const struct arg *data)
{
	if (data->n > 65536 && fcntl(*fd, F_SETPIPE_SZ, (int)data->n) < 0)
		return -1;
	if (data->n && write(*fd, data->s, data->n) != (ssize_t)data->n)
		return errno ? -1 : fail(EIO);
	*fd = done(*fd, -1);
	return 0;
}

static int64_t op_spawn_wait(struct arg *a)
{
	int in[2] = { -1, -1 }, err[2] = { -1, -1 }, status = 0, why = 0;
	int64_t deadline = a[4].i > 0 ? now_ms() + a[4].i : -1;
	char **argv = split_list(a[1].s, a[1].n), **envp = split_list(a[2].s, a[2].n);
	pid_t pid = -1;

	/* stdin is a pipe that holds every byte before the hook starts: no write can block on a
	 * hook that does not read, nor raise SIGPIPE on one that exits early. */
	if (!argv || !envp) {
		why = ENOMEM;
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
		   fill_pipe(&in[1], &a[3]) < 0 || (pid = fork()) < 0) {
		why = errno;
	} else if (pid == 0) {
		spawn_child(a[0].s, argv, envp, in[0], err[1]);
	} else {
		err[1] = done(err[1], -1);
		/* A pidfd makes "the hook exited" an event that poll can wait for with a timeout. */
		int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		why = pidfd < 0 ? errno : watch_hook(pidfd, &err[0], deadline);
		xclose(pidfd);
		if (why)
			kill(pid, SIGKILL);
		/* A grandchild may still hold stderr open: take what is there, without waiting. */
		struct pollfd p = { .fd = err[0], .events = POLLIN };
		while (err[0] >= 0 && poll(&p, 1, 0) > 0)
			collect_stderr(&err[0]);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	for (int i = 0; i < 2; i++) {
		xclose(in[i]);
		xclose(err[i]);
	}
	free(argv);
	free(envp);
	if (why)
		return fail(why);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* ---- dispatch --------------------------------------------------------------------------- */

/* sig: one letter per argument, i = integer, b = bytes. A query's failure is not sticky. */
static const struct op {
	uint32_t code;
	const char *sig;
	int64_t (*fn)(struct arg *a);
	int query;
} ops[] = {
	{ 1, "i", op_unshare, 0 },	  { 2, "bi", op_setns, 0 },
	{ 3, "i", op_fork, 0 },		  { 4, "i", op_setresuid, 0 },
	{ 5, "i", op_setresgid, 0 },	  { 6, "b", op_setgroups, 0 },
	{ 10, "b", op_set_root, 0 },	  { 11, "bbbibi", op_mount, 0 },
	{ 12, "bi", op_umount, 0 },	  { 13, "bii", op_mkdir_all, 0 },
	{ 14, "bii", op_create_file, 0 }, { 15, "biiii", op_mknod, 0 },
	{ 16, "bbi", op_symlink, 0 },	  { 17, "biii", op_chown, 0 },
	{ 18, "bii", op_chmod, 0 },	  { 19, "bbi", op_write_file, 0 },
	{ 20, "bi", op_stat, 1 },	  { 21, "bi", op_access, 1 },
	{ 22, "b", op_pivot_root, 0 },	  { 23, "b", op_chroot_move, 0 },
	{ 24, "b", op_chdir, 0 },	  { 30, "b", op_sethostname, 0 },
	{ 31, "b", op_setdomainname, 0 }, { 40, "b", op_listen_unix, 0 },
	{ 41, "b", op_connect_unix, 0 },  { 42, "i", op_close, 0 },
	{ 43, "iii", op_console, 0 },	  { 44, "ii", op_dup2, 0 },
	{ 50, "iii", op_setrlimit, 0 },	  { 51, "iiiii", op_prctl, 0 },
	{ 52, "iii", op_capset, 0 },	  { 53, "i", op_umask, 0 },
	{ 54, "bi", op_seccomp, 0 },	  { 60, "bbbibi", op_exec, 0 },
	{ 61, "i", op_wait_start, 0 },	  { 62, "bbbbi", op_spawn_wait, 0 },
};

/*
 * Parses a request body in place and finds its op; -1 when the frame is malformed. Bytes
 * arguments are NUL-terminated only after every header has been read, because each
 * terminator overwrites the next argument's type field.
 */
static int parse(unsigned char *b, uint32_t len, uint32_t *op, struct arg *a, uint32_t *nargs)
{
	uint32_t off = 8;
	if (len < 8 || (*nargs = get32(b + 4)) > MAX_ARGS)
		return -1;
	*op = get32(b);

	for (uint32_t i = 0; i < *nargs; i++) {
		uint32_t type = len - off >= 4 ? get32(b + off) : 2;
		off += 4;
		a[i].is_bytes = type == 1;
		if (type == 0 && len - off >= 8) {
			a[i].i = (int64_t)get64(b + off);
			off += 8;
		} else if (type == 1 && len - off >= 4 && get32(b + off) <= len - off - 4) {
			a[i].n = get32(b + off);
			a[i].s = (char *)b + off + 4;
			off += 4 + a[i].n;
		} else {
			return -1;
		}
	}
	for (uint32_t i = 0; off == len && i < *nargs; i++)
		if (a[i].is_bytes)
			a[i].s[a[i].n] = '\0';
	return off == len ? 0 : -1;
}

static const struct op *find_op(uint32_t code, const struct arg *a, uint32_t nargs, int *err)
{
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (ops[i].code != code)
			continue;
		*err = strlen(ops[i].sig) == nargs ? 0 : EINVAL;
		for (uint32_t j = 0; !*err && j < nargs; j++)
			if ((ops[i].sig[j] == 'b') != a[j].is_bytes)
				*err = EINVAL;
		return &ops[i];
	}
	*err = ENOSYS;
	return NULL;
}

/* Reads and answers one request; returns -1 after a failure that is sticky. */
static int serve_one(int refuse)
{
	unsigned char hdr[4], sink[4096];
	struct arg a[MAX_ARGS];
	uint32_t op, nargs;
	const struct op *entry = NULL;
	int64_t ret = -1;
	int err;

	if (read_full(ctl_fd, hdr, 4) < 0)
		exit(1); /* EOF: hako is gone, or done with us */
	uint32_t len = get32(hdr);
	unsigned char *body = len <= MAX_REQUEST ? malloc((size_t)len + 1) : NULL;
	if (!body) {
		/* Drain the frame so that the next one is still found. */
		for (uint32_t left = len, n; left > 0; left -= n)
			if (read_full(ctl_fd, sink, n = left < sizeof sink ? left : sizeof sink) < 0)
				exit(1);
		answer(-1, refuse ? ECANCELED : len > MAX_REQUEST ? E2BIG : ENOMEM, NULL, 0);
		return -1;
	}
	if (read_full(ctl_fd, body, len) < 0)
		exit(1);

	answered = 0;
	payload_len = 0;
	if (refuse)
		err = ECANCELED;
	else if (parse(body, len, &op, a, &nargs) < 0)
		err = EPROTO;
	else if ((entry = find_op(op, a, nargs, &err)) && !err) {
		errno = 0;
		ret = entry->fn(a);
		err = ret < 0 ? (errno ? errno : EIO) : 0;
	}
	if (!answered)
		answer(err ? -1 : ret, err, payload, err ? 0 : payload_len);
	free(body);
	return err && !(entry && entry->query) ? -1 : 0;
}

/*
 * While the agent runs inside a container's pid namespace (the waiting init, `exec`), a
 * process of the container can open /proc/<agent>/exe. Kept as a descriptor, that would let
 * it write the host's hako-agent once nothing executes it any more, and so run code as root
 * in the next container hako creates (the attack on runc known as CVE-2019-5736). So the agent
 * always runs from a sealed memfd copy of itself: its exe is that copy, which nobody can
 * change. Costs a copy of the binary and one more execve, well under a millisecond.
 */
static void run_from_sealed_copy(char **argv)
{
	const int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return;
	int present = fcntl(self, F_GET_SEALS); /* EINVAL on an ordinary file */
	if (present >= 0 && (present & seals) == seals) {
		/* Already the copy: keep the name ps shows readable. */
		prctl(PR_SET_NAME, "hako-agent", 0, 0, 0);
		close(self);
		return;
	}
	int copy = memfd_create("hako-agent", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct stat st;
	if (copy < 0 || fstat(self, &st) < 0)
		goto fail;
	for (off_t done = 0; done < st.st_size;) {
		ssize_t n = sendfile(copy, self, NULL, (size_t)(st.st_size - done));
		if (n <= 0)
			goto fail;
		done += n;
	}
	if (fcntl(copy, F_ADD_SEALS, seals) < 0)
		goto fail;
	static char *const no_env[] = { NULL };
	fexecve(copy, argv, no_env);
fail:
	/* Without memfd or sealing (very old kernels) the agent goes on unprotected. */
	fputs("hako-agent: cannot run from a sealed copy of itself\n", stderr);
	exit(1);
}

int main(int argc, char **argv)
{
	run_from_sealed_copy(argv);

	char *end = NULL;
	long fd = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	if (fd < 3 || fd > INT_MAX || *end) {
		fputs("usage: hako-agent <control-fd>\n", stderr);
		return 2;
	}
	ctl_fd = (int)fd;

	/* The workload inherits 0..2 and the preserved fds 3..ctl_fd-1: make sure none is
	 * close-on-exec, whatever our parent's setup did. The control socket must not leak. */
	for (int i = 0; i < ctl_fd; i++)
		fcntl(i, F_SETFD, 0);
	if (fcntl(ctl_fd, F_SETFD, FD_CLOEXEC) < 0)
		return 1;

	/* Sticky failure: after the first failed request, every later one is refused. */
	for (int failed = 0;;)
		if (serve_one(failed) < 0)
			failed = 1;
}
