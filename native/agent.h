/*
 * What the agent's files share: a request's arguments, the answer, the little state that
 * outlives one request, and the operations the dispatch table in agent.c calls. Each .c file
 * defines _GNU_SOURCE before its first include, so it must come before this header too.
 */
#ifndef HAKO_AGENT_H
#define HAKO_AGENT_H

#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* Older headers lack it; the value is the kernel's ABI. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define MAX_ARGS 8
#define MAX_REQUEST (16U << 20)
#define PAYLOAD_MAX 4096

/* One argument of a request: type 0 fills i; type 1 fills s (NUL-terminated) and n. */
struct arg {
	int is_bytes;
	int64_t i;
	char *s;
	uint32_t n;
};

/* agent.c */
extern unsigned char payload[PAYLOAD_MAX]; /* STAT's fields, or SPAWN_WAIT's stderr */
extern uint32_t payload_len;

/* frames.c */
extern int ctl_fd;   /* the control socket */
extern int answered; /* the current op already gave its own answer (FORK, EXEC) */
/* answer() collects a response; flush_answers() sends those collected. An op that answers
 * for itself flushes before it exits, execs or closes the socket. */
void answer(int64_t ret, int err, const void *data, uint32_t len);
void flush_answers(void);
/* The next request's body (NULL: too large, or no memory; *len is still set). */
unsigned char *next_request(uint32_t *len, unsigned char **owned);

/* console.c */
extern int console_pair; /* FORK mode 2: the init's end, where CONSOLE -1 sends */
void proxy_console(int sock, pid_t child);

/* ---- small helpers ---------------------------------------------------------------------- */

static inline uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static inline void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static inline int fail(int err)
{
	errno = err;
	return -1;
}

/* close() for cleanup: keeps the errno of the call that failed. */
static inline void xclose(int fd)
{
	int saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
}

/* Closes the descriptor an operation worked through and passes its result on. */
static inline int64_t done(int fd, int64_t rc)
{
	xclose(fd);
	return rc;
}

/* ---- operations: each returns ret >= 0, or -1 with errno -------------------------------- */

/* paths.c */
int64_t op_mount(struct arg *a);
int64_t op_umount(struct arg *a);
int64_t op_mkdir_all(struct arg *a);
int64_t op_create_file(struct arg *a);
int64_t op_mknod(struct arg *a);
int64_t op_symlink(struct arg *a);
int64_t op_chown(struct arg *a);
int64_t op_chmod(struct arg *a);
int64_t op_write_file(struct arg *a);
int64_t op_stat(struct arg *a);
int64_t op_access(struct arg *a);
int64_t op_pivot_root(struct arg *a);
int64_t op_chroot_move(struct arg *a);
int64_t op_chdir(struct arg *a);
int64_t op_listen_unix(struct arg *a);
int64_t op_connect_unix(struct arg *a);

/* process.c */
int64_t op_unshare(struct arg *a);
int64_t op_setns(struct arg *a);
int64_t op_fork(struct arg *a);
int64_t op_setresuid(struct arg *a);
int64_t op_setresgid(struct arg *a);
int64_t op_setgroups(struct arg *a);
int64_t op_sethostname(struct arg *a);
int64_t op_setdomainname(struct arg *a);
int64_t op_setrlimit(struct arg *a);
int64_t op_prctl(struct arg *a);
int64_t op_capset(struct arg *a);
int64_t op_umask(struct arg *a);

/* resolve.c */
int64_t op_set_root(struct arg *a);
/* Opens path per the resolve argument (0 plain, 1 beneath the root). */
int open_r(const char *path, int64_t r, int flags);
/* The parent of path opened per r, for the *at call that makes *name (path is cut in place). */
int open_parent(char *path, int64_t r, const char **name);
/* Splits path in place into its parent and its last component ("/" gives "/" and "."). */
void split_path(char *path, char **dir, const char **name);
/* mkdir -p per r; returns the final directory opened O_PATH. */
int mkdir_all(char *path, mode_t mode, int64_t r);

/* process.c: helpers the hooks share */
/* Marks every descriptor from `from` up close-on-exec. */
int cloexec_from(int64_t from);
/* Turns "a\0b\0" into a NULL-terminated vector pointing into the request (NULL: no memory). */
char **split_list(char *s, uint32_t len);

/* copyup.c */
int64_t op_tmpfs_copyup(struct arg *a);

/* console.c */
int send_fd_with(int sock, int fd, const void *data, size_t len);
int64_t op_send_fd(struct arg *a);

/* paths.c */
int64_t op_open_file(struct arg *a);

/* net.c */
int64_t op_link_up(struct arg *a);

/* process.c */
int64_t op_seccomp(struct arg *a);
int64_t op_exec(struct arg *a);
int64_t op_wait_start(struct arg *a);

/* hooks.c */
int64_t op_spawn_wait(struct arg *a);

/* console.c */
int64_t op_close(struct arg *a);
int64_t op_dup2(struct arg *a);
int64_t op_console(struct arg *a);

#endif
