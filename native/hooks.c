/*
 * SPAWN_WAIT: a hook that runs inside the container's namespaces, run to its end. It gets the
 * state on stdin, /dev/null as stdout and a pipe as stderr, whose first bytes go back in the
 * answer; a timeout kills it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>

#include "agent.h"

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

int64_t op_spawn_wait(struct arg *a)
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
