/*
 * hako-launcher: what bin/hako runs. It carries out the common case of `start`, `state`,
 * `kill` and `delete` from the record `create` leaves in the container's directory
 * (src/core/state/fast-record.ts) and hands every other command line to the Node CLI,
 * unchanged. It makes no decision of its own: anything the record does not cover, anything
 * unexpected, and every error goes to Node, which words it. See docs/architecture.md,
 * "The launcher".
 */
#ifndef HAKO_LAUNCHER_H
#define HAKO_LAUNCHER_H

#include <stddef.h>

/* The values `state` prints: status_name(status). */
enum status { STOPPED, CREATED, RUNNING, PAUSED };

/* One container's record, parsed. Paths point into the record's text. */
#define MAX_CGROUP_STEPS 64
struct cgroup_step {
	char kind; /* 'c' check, 'r' remove, 'p' prune */
	const char *dir;
};

struct record {
	char dir[4096]; /* <root>/<id> */
	int dirfd;
	long pid;
	const char *start_time;
	int can_start;
	int can_delete;
	const char *paused_file;
	const char *paused_line;
	struct cgroup_step steps[MAX_CGROUP_STEPS];
	int nsteps;
	char text[16384];
};

/* Every function returns 0 when the command is done, -1 to hand it to Node. */
int read_record(const char *root, const char *id, struct record *r);
/* A status, or -1 when it cannot be told here. */
int container_status(const struct record *r);
const char *status_name(int status);
int read_small_file(int dirfd, const char *path, char *buf, size_t size, size_t *len);

int fast_start(struct record *r);
int fast_state(struct record *r);
int fast_kill(struct record *r, const char *signal);
int fast_delete(struct record *r, int force);

/* The errno a failed EXEC answered, for Node to report (src/core/lifecycle/start.ts). */
#define START_ERRNO_ENV "HAKO_FAST_START_ERRNO"

#endif
