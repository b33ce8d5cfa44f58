/*
 * hako-agent: runs the steps a multithreaded Node process cannot (entering a user namespace,
 * forking the container's init, everything the init does before execve).
 *
 * It reads requests from the control socket, executes them one at a time, in order, and
 * answers each with the result and errno. It makes no decisions: the order of steps and the
 * meaning of every error belong to hako. The wire format and every operation are described in
 * PROTOCOL.md, next to this file.
 *
 * Rules kept throughout: every descriptor the agent creates is close-on-exec, so the workload
 * inherits only stdio and the preserved fds; nothing is looked up through NSS; beyond the
 * fixed buffers of the framing, memory is allocated for a request and freed with it.
 *
 * This file holds the start and the dispatch, frames.c the framing. The operations live in
 * paths.c (filesystem, on the path resolution of resolve.c), copyup.c, process.c (namespaces,
 * credentials, limits, exec), hooks.c, net.c and console.c (descriptors and the terminal);
 * agent.h declares what they share.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "agent.h"

unsigned char payload[PAYLOAD_MAX]; /* STAT's fields, or SPAWN_WAIT's stderr */
uint32_t payload_len;

/* ---- dispatch --------------------------------------------------------------------------- */

enum {
	QUERY = 1, /* its failure is not sticky */
	FLUSH = 2, /* the answers so far go out before it runs (see frames.c) */
};

/* sig: one letter per argument, i = integer, b = bytes. */
static const struct op {
	uint32_t code;
	const char *sig;
	int64_t (*fn)(struct arg *a);
	int flags;
} ops[] = {
	{ 1, "i", op_unshare, 0 },	  { 2, "bi", op_setns, 0 },
	{ 3, "i", op_fork, FLUSH },	  { 4, "i", op_setresuid, 0 },
	{ 5, "i", op_setresgid, 0 },	  { 6, "b", op_setgroups, 0 },
	{ 10, "b", op_set_root, 0 },	  { 11, "bbbibi", op_mount, 0 },
	{ 12, "bi", op_umount, 0 },	  { 13, "bii", op_mkdir_all, 0 },
	{ 14, "bii", op_create_file, 0 }, { 15, "biiii", op_mknod, 0 },
	{ 16, "bbi", op_symlink, 0 },	  { 17, "biii", op_chown, 0 },
	{ 18, "bii", op_chmod, 0 },	  { 19, "bbi", op_write_file, 0 },
	{ 20, "bi", op_stat, QUERY },	  { 21, "bi", op_access, QUERY },
	{ 22, "b", op_pivot_root, 0 },	  { 23, "b", op_chroot_move, 0 },
	{ 24, "b", op_chdir, 0 },	  { 30, "b", op_sethostname, 0 },
	{ 31, "b", op_setdomainname, 0 }, { 40, "b", op_listen_unix, 0 },
	/* These three talk to another process's socket, which may keep them waiting. */
	{ 41, "b", op_connect_unix, FLUSH }, { 43, "iii", op_console, FLUSH },
	{ 45, "iib", op_send_fd, FLUSH },
	{ 42, "i", op_close, 0 },	  { 44, "ii", op_dup2, 0 },
	{ 50, "iii", op_setrlimit, 0 },	  { 51, "iiiii", op_prctl, 0 },
	{ 52, "iii", op_capset, 0 },	  { 53, "i", op_umask, 0 },
	{ 54, "bi", op_seccomp, 0 },	  { 55, "b", op_link_up, 0 },
	{ 56, "bibi", op_tmpfs_copyup, 0 }, { 46, "bii", op_open_file, 0 },
	{ 60, "bbbibi", op_exec, FLUSH },
	{ 61, "i", op_wait_start, FLUSH }, { 62, "bbbbi", op_spawn_wait, FLUSH },
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

/* Serves one request; returns -1 after a failure that is sticky. */
static int serve_one(int refuse)
{
	struct arg a[MAX_ARGS];
	uint32_t op, nargs, len;
	unsigned char *body, *owned = NULL;
	const struct op *entry = NULL;
	int64_t ret = -1;
	int err;

	if (!(body = next_request(&len, &owned))) {
		answer(-1, refuse ? ECANCELED : len > MAX_REQUEST ? E2BIG : ENOMEM, NULL, 0);
		return -1;
	}

	/* The NUL that parse() puts after the last argument is one past the body: in a batch, the
	 * first byte of the next frame, lent for this request and given back after it. */
	unsigned char borrowed = body[len];
	answered = 0;
	payload_len = 0;
	if (refuse)
		err = ECANCELED;
	else if (parse(body, len, &op, a, &nargs) < 0)
		err = EPROTO;
	else if ((entry = find_op(op, a, nargs, &err)) && !err) {
		if (entry->flags & FLUSH)
			flush_answers();
		errno = 0;
		ret = entry->fn(a);
		err = ret < 0 ? (errno ? errno : EIO) : 0;
	}
	body[len] = borrowed;
	if (!answered)
		answer(err ? -1 : ret, err, payload, err ? 0 : payload_len);
	free(owned);
	return err && !(entry && entry->flags & QUERY) ? -1 : 0;
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
