/*
 * The record `create` leaves in `<root>/<id>/fast` (src/core/state/fast-record.ts), and the
 * container's status computed from it the way src/core/state/status.ts does.
 *
 * The record is lines of `<key> <value>`, the value being the rest of the line:
 *   version 1
 *   pid <pid>                  the init, and `start-time <field 22 of /proc/<pid>/stat>`
 *   start                      start may go the fast way: the EXEC frame is in fast-exec
 *   delete                     delete may (no poststop hooks)
 *   cgroup-check <dir>         delete: must hold no process and no child cgroup
 *   cgroup-remove <dir>        delete: rmdir, in this order
 *   cgroup-prune <dir>         delete: rmdir if empty
 *   paused-file <path>         status is "paused" when this file has the line
 *   paused-line <text>
 * An unknown key or version makes the record unusable: the command goes to Node.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher.h"

/* Reads a whole file of at most size - 1 bytes and NUL-terminates it; -1 if it is larger. */
int read_small_file(int dirfd, const char *path, char *buf, size_t size, size_t *len)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			if (n < 0 || got == size - 1)
				return -1;
			break;
		}
		got += (size_t)n;
		if (got == size - 1) {
			/* Full: it fits only if nothing follows. */
			char extra;
			n = read(fd, &extra, 1);
			close(fd);
			if (n != 0)
				return -1;
			break;
		}
	}
	buf[got] = '\0';
	if (len)
		*len = got;
	return 0;
}

static int parse_line(struct record *r, char *key, char *value)
{
	if (strcmp(key, "version") == 0)
		return strcmp(value, "1") == 0 ? 0 : -1;
	if (strcmp(key, "pid") == 0) {
		char *end;
		r->pid = strtol(value, &end, 10);
		return *end == '\0' && r->pid > 0 ? 0 : -1;
	}
	if (strcmp(key, "start-time") == 0)
		return r->start_time = value, 0;
	if (strcmp(key, "start") == 0)
		return r->can_start = 1, 0;
	if (strcmp(key, "delete") == 0)
		return r->can_delete = 1, 0;
	if (strcmp(key, "paused-file") == 0)
		return r->paused_file = value, 0;
	if (strcmp(key, "paused-line") == 0)
		return r->paused_line = value, 0;
	if (strncmp(key, "cgroup-", 7) == 0 && r->nsteps < MAX_CGROUP_STEPS) {
		char kind = strcmp(key + 7, "check") == 0	 ? 'c'
			    : strcmp(key + 7, "remove") == 0 ? 'r'
			    : strcmp(key + 7, "prune") == 0  ? 'p'
							     : 0;
		if (kind == 0 || value[0] != '/')
			return -1;
		r->steps[r->nsteps++] = (struct cgroup_step){ kind, value };
		return 0;
	}
	return -1;
}

int read_record(const char *root, const char *id, struct record *r)
{
	memset(r, 0, offsetof(struct record, text));
	if (snprintf(r->dir, sizeof(r->dir), "%s/%s", root, id) >= (int)sizeof(r->dir))
		return -1;
	r->dirfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0)
		return -1;
	/* state.json is written after the record: without it the create has not finished. */
	if (read_small_file(r->dirfd, "fast", r->text, sizeof(r->text), NULL) < 0 ||
	    faccessat(r->dirfd, "state.json", F_OK, 0) < 0)
		goto unusable;

	int has_version = 0;
	for (char *line = r->text, *next; *line; line = next) {
		next = strchr(line, '\n');
		if (next == NULL)
			goto unusable; /* a record is whole: it ends with a newline */
		*next++ = '\0';
		char *value = strchr(line, ' ');
		if (value)
			*value++ = '\0';
		else
			value = line + strlen(line);
		if (parse_line(r, line, value) < 0)
			goto unusable;
		has_version |= strcmp(line, "version") == 0;
	}
	if (has_version && r->pid > 0 && r->start_time != NULL &&
	    (r->paused_file == NULL) == (r->paused_line == NULL))
		return 0;
unusable:
	close(r->dirfd);
	return -1;
}

/* Alive: /proc/<pid>/stat exists, is not a zombie, and started when the init did. */
static int init_alive(const struct record *r)
{
	char path[64], stat[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", r->pid);
	if (read_small_file(AT_FDCWD, path, stat, sizeof(stat), NULL) < 0)
		return 0;
	/* comm (field 2) may hold spaces and parentheses: fields 3 on follow the last ')'. */
	char *p = strrchr(stat, ')');
	if (p == NULL || p[1] != ' ')
		return 0;
	char state = p[2];
	if (state == 'Z' || state == 'X')
		return 0;
	p += 2;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return 0;
		p++;
	}
	size_t n = strlen(r->start_time);
	return strncmp(p, r->start_time, n) == 0 && (p[n] == ' ' || p[n] == '\0');
}

/* 1 paused, 0 not, -1 unknown (the file exists but cannot be read). */
static int is_paused(const struct record *r)
{
	char text[4096];
	if (r->paused_file == NULL)
		return 0;
	if (read_small_file(AT_FDCWD, r->paused_file, text, sizeof(text), NULL) < 0)
		return errno == ENOENT ? 0 : -1;
	size_t n = strlen(r->paused_line);
	for (char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, r->paused_line, n) == 0 && (line[n] == '\n' || line[n] == '\0'))
			return 1;
	}
	return 0;
}

int container_status(const struct record *r)
{
	if (!init_alive(r))
		return STOPPED;
	int paused = is_paused(r);
	if (paused != 0)
		return paused > 0 ? PAUSED : -1;
	return faccessat(r->dirfd, "start.sock", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? CREATED
										 : RUNNING;
}

const char *status_name(int status)
{
	static const char *const names[] = { "stopped", "created", "running", "paused" };
	return names[status];
}
