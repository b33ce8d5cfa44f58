/*
 * start, state, kill and delete carried out from a container's record (record.c), each only
 * in the case src/core/lifecycle does the same thing with nothing to decide: every check
 * comes before the first change, and any doubt returns -1 so that Node does the command.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "launcher.h"

static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * start: connect to the socket the init waits on, unlink it (from here the container counts
 * as started, as in start.ts), send the EXEC frame create encoded, and wait: EOF means the
 * workload runs. A failed exec is handed to Node with its errno, so Node words the error.
 */
int fast_start(struct record *r)
{
	static char frame[1 << 20];
	size_t len;
	if (!r->can_start || container_status(r) != CREATED ||
	    read_small_file(r->dirfd, "fast-exec", frame, sizeof(frame), &len) < 0)
		return -1;

	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/start.sock", r->dirfd);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -1;
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    unlinkat(r->dirfd, "start.sock", 0) < 0) {
		close(sock);
		return -1;
	}

	unsigned char answer[16];
	size_t got = 0;
	int err = write_all(sock, frame, len) < 0 ? EPIPE : 0;
	while (err == 0 && got < sizeof(answer)) {
		ssize_t n = read(sock, answer + got, sizeof(answer) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = errno;
		else if (n == 0)
			break;
		else
			got += (size_t)n;
	}
	close(sock);
	if (err == 0 && got == 0)
		return 0;
	if (err == 0) {
		/* An answer: u32 length, i64 ret, i32 errno (native/PROTOCOL.md). */
		int32_t answered = EPROTO;
		if (got == sizeof(answer))
			memcpy(&answered, answer + 12, sizeof(answered));
		err = answered > 0 ? answered : EPROTO;
	}
	char value[16];
	snprintf(value, sizeof(value), "%d", err);
	setenv(START_ERRNO_ENV, value, 1);
	return -1;
}

/* A workload run by the engine left why it failed: Node adds it to the state (describe.ts). */
static int handler_failed(const struct record *r)
{
	char text[64];
	if (read_small_file(r->dirfd, "handler-error", text, sizeof(text), NULL) < 0)
		return errno != ENOENT;
	return strspn(text, " \t\n") != strlen(text);
}

/* state: the JSON create rendered, with the pid and the status filled in. */
int fast_state(struct record *r)
{
	static char text[1 << 20];
	char head[64];
	size_t len, used = 0;
	int status = container_status(r);
	if (status < 0 || handler_failed(r) ||
	    read_small_file(r->dirfd, "fast-state", text, sizeof(text), &len) < 0)
		return -1;

	/* prefix NUL middle NUL suffix: `"pid": ` ends the prefix, `"status": "` the middle. */
	const char *prefix = text, *middle = memchr(text, '\0', len);
	if (middle == NULL || ++middle >= text + len)
		return -1;
	const char *suffix = memchr(middle, '\0', (size_t)(text + len - middle));
	if (suffix == NULL)
		return -1;
	suffix++;

	static char out[(1 << 20) + 64];
	int n = snprintf(head, sizeof(head), "%ld", status == STOPPED ? 0L : r->pid);
	const char *parts[] = { prefix, head, middle, status_name(status), suffix };
	size_t sizes[] = { strlen(prefix), (size_t)n, strlen(middle), strlen(status_name(status)),
			   (size_t)(text + len - suffix) };
	for (int i = 0; i < 5; i++) {
		memcpy(out + used, parts[i], sizes[i]);
		used += sizes[i];
	}
	/* Nothing is written unless all of it can be: a half-printed state must not follow. */
	return write_all(1, out, used) < 0 ? -1 : 0;
}

/* The names kill takes most often; Node knows the rest (kill.ts parseSignal). */
static int parse_signal(const char *text)
{
	static const struct {
		const char *name;
		int signo;
	} names[] = { { "KILL", SIGKILL }, { "TERM", SIGTERM }, { "INT", SIGINT },
		      { "HUP", SIGHUP },   { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 },
		      { "USR2", SIGUSR2 }, { "STOP", SIGSTOP }, { "CONT", SIGCONT },
		      { "WINCH", SIGWINCH } };
	if (text[0] >= '0' && text[0] <= '9') {
		char *end;
		long value = strtol(text, &end, 10);
		return *end == '\0' && value <= 64 ? (int)value : -1;
	}
	if (strncmp(text, "SIG", 3) == 0)
		text += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(text, names[i].name) == 0)
			return names[i].signo;
	}
	return -1;
}

/* kill: the signal to the init of a created or running container (Node thaws a paused one). */
int fast_kill(struct record *r, const char *signal)
{
	int signo = parse_signal(signal);
	int status = container_status(r);
	if (signo < 0 || (status != CREATED && status != RUNNING))
		return -1;
	return kill((pid_t)r->pid, signo) == 0 ? 0 : -1;
}

/* A cgroup directory with no process in it and no child cgroup (or one already gone). */
static int cgroup_empty(const char *dir)
{
	char procs[2];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	int empty = read_small_file(fd, "cgroup.procs", procs, sizeof(procs), NULL) == 0 &&
		    procs[0] == '\0';
	DIR *d = empty ? fdopendir(fd) : NULL;
	if (d == NULL) {
		close(fd);
		return 0;
	}
	for (struct dirent *e; empty && (e = readdir(d)) != NULL;)
		empty = e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
			strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* Removes what is inside a directory of the state dir, depth first. */
static int remove_inside(int dirfd, const char *keep)
{
	DIR *d = fdopendir(dup(dirfd));
	if (d == NULL)
		return -1;
	rewinddir(d);
	int ok = 0;
	for (struct dirent *e; ok == 0 && (e = readdir(d)) != NULL;) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (keep && strcmp(e->d_name, keep) == 0))
			continue;
		if (e->d_type == DT_DIR) {
			int sub = openat(dirfd, e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			ok = sub < 0 ? -1 : remove_inside(sub, NULL);
			if (sub >= 0)
				close(sub);
			if (ok == 0 && unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0 &&
			    errno != ENOENT)
				ok = -1;
		} else if (unlinkat(dirfd, e->d_name, 0) < 0 && errno != ENOENT) {
			ok = -1;
		}
	}
	closedir(d);
	return ok;
}

/* SIGKILL to the init and a wait for its end, as lifecycle/common.ts killAndWait does. */
static int kill_and_wait(const struct record *r)
{
	if (kill((pid_t)r->pid, SIGKILL) < 0 && errno != ESRCH)
		return -1;
	long delay = 100000; /* ns, doubling up to 50 ms; 2 s in all, then Node waits longer */
	for (long waited = 0; waited < 2000000000L; waited += delay) {
		if (container_status(r) == STOPPED)
			return 0;
		nanosleep(&(struct timespec){ 0, delay }, NULL);
		if (delay < 50000000L)
			delay *= 2;
	}
	return -1;
}

/*
 * delete of a container without poststop hooks, stopped, created, or running with --force:
 * the init killed, its cgroups, which must be empty once the init is gone (Node kills what
 * else is left), then the state directory, state.json last, so that until the end Node could
 * still take over.
 */
int fast_delete(struct record *r, int force)
{
	int status = container_status(r);
	/* A created container goes without --force too, as in delete.ts; a paused one is thawed
	 * first, which Node does. */
	if (!r->can_delete || status < 0 || status == PAUSED || (status == RUNNING && !force))
		return -1;
	if (status != STOPPED && kill_and_wait(r) < 0)
		return -1;
	for (int i = 0; i < r->nsteps; i++) {
		if (r->steps[i].kind == 'c' && !cgroup_empty(r->steps[i].dir))
			return -1;
	}
	for (int i = 0; i < r->nsteps; i++) {
		const struct cgroup_step *s = &r->steps[i];
		if (s->kind != 'c' && rmdir(s->dir) < 0 && errno != ENOENT && s->kind == 'r')
			return -1;
	}
	if (remove_inside(r->dirfd, "state.json") < 0 || unlinkat(r->dirfd, "state.json", 0) < 0)
		return -1;
	return rmdir(r->dir) == 0 || errno == ENOENT ? 0 : -1;
}
