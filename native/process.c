/*
 * The process the workload becomes: namespaces (UNSHARE, SETNS, FORK), credentials, host and
 * domain names, rlimits, prctl, capabilities, umask, seccomp, and the last steps: waiting for
 * `hako start` and execve. The hooks run in the container's namespaces (SPAWN_WAIT) are in
 * hooks.c.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "agent.h"

/* Older headers lack these; the values are the kernel's ABI. */
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ---- namespaces and identity ------------------------------------------------------------ */

int64_t op_unshare(struct arg *a) { return unshare((int)a[0].i); }
int64_t op_setresuid(struct arg *a) { return setresuid(a[0].i, a[0].i, a[0].i); }
int64_t op_setresgid(struct arg *a) { return setresgid(a[0].i, a[0].i, a[0].i); }
int64_t op_sethostname(struct arg *a) { return sethostname(a[0].s, a[0].n); }
int64_t op_setdomainname(struct arg *a) { return setdomainname(a[0].s, a[0].n); }
int64_t op_umask(struct arg *a) { return umask((mode_t)a[0].i); }

int64_t op_setns(struct arg *a)
{
	int fd = open(a[0].s, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -1 : done(fd, setns(fd, (int)a[1].i));
}

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/*
 * The child becomes the container init and keeps serving; the parent answers for both, since
 * only it sees the child's pid as hako does. Until that answer is written the child must not
 * touch the socket, or the answer to a pipelined request could overtake it: it waits for the
 * parent to close its end of a pipe.
 */
int64_t op_fork(struct arg *a)
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
	flush_answers();
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

int64_t op_setgroups(struct arg *a)
{
	if (a[0].n % 4)
		return fail(EINVAL);
	/* The kernel copies the list, so its alignment inside the request does not matter. */
	return setgroups(a[0].n / 4, (const gid_t *)(const void *)a[0].s);
}

/* ---- limits, capabilities and seccomp -------------------------------------------------- */

static rlim_t to_rlim(int64_t v) { return v == -1 ? RLIM_INFINITY : (rlim_t)v; }

int64_t op_setrlimit(struct arg *a)
{
	struct rlimit rl = { .rlim_cur = to_rlim(a[1].i), .rlim_max = to_rlim(a[2].i) };
	return setrlimit((int)a[0].i, &rl);
}

int64_t op_prctl(struct arg *a)
{
	return prctl((int)a[0].i, (unsigned long)a[1].i, (unsigned long)a[2].i,
		     (unsigned long)a[3].i, (unsigned long)a[4].i);
}

int64_t op_capset(struct arg *a)
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

int64_t op_seccomp(struct arg *a) { return install_seccomp(a[0].s, a[0].n, a[1].i); }

/* ---- start and exec -------------------------------------------------------------------- */

int cloexec_from(int64_t from)
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

char **split_list(char *s, uint32_t len)
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

int64_t op_wait_start(struct arg *a)
{
	int conn, listening = 0, startfd = (int)a[0].i;
	socklen_t len = sizeof listening;
	/* Checked first: once the answer is sent, a failure has nobody to go to. */
	if (getsockopt(startfd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
		return -1;
	if (!listening)
		return fail(EINVAL);

	answer(0, 0, NULL, 0);
	flush_answers();
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

int64_t op_exec(struct arg *a)
{
	char **argv = split_list(a[1].s, a[1].n), **envp = split_list(a[2].s, a[2].n);
	if (!argv || !envp)
		errno = ENOMEM;
	else if (cloexec_from(a[3].i) == 0 &&
		 (a[4].n == 0 || install_seccomp(a[4].s, a[4].n, a[5].i) >= 0))
		execve(a[0].s, argv, envp); /* on success hako reads EOF: the channel is cloexec */
	/* With descriptors marked and maybe a filter installed, this process is spent. */
	answer(-1, errno, NULL, 0);
	flush_answers();
	_exit(127);
}
