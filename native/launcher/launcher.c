/*
 * The launcher's entry: `hako-launcher <n> <node argv: n words> <hako argv...>`, as bin/hako
 * runs it. Recognises the command lines it can carry out itself (launcher.h) and execs node
 * with the rest. A hako command costs a Node start (some 30-40 ms); these cost a few reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher.h"

struct command {
	const char *root;
	const char *name;
	const char *id;
	const char *signal;
	int all;
	int force;
};

/* Global flags whose value the launcher may ignore: they only matter when something fails. */
static const char *const VALUE_FLAGS[] = { "--root", "--log", "--log-format", NULL };

/* 1 when `arg` is `flag` or `flag=...`; the value is left in *value (NULL when it follows). */
static int flag_is(const char *arg, const char *flag, const char **value)
{
	size_t n = strlen(flag);
	if (strncmp(arg, flag, n) != 0)
		return 0;
	if (arg[n] == '\0') {
		*value = NULL;
		return 1;
	}
	if (arg[n] == '=') {
		*value = arg + n + 1;
		return 1;
	}
	return 0;
}

/* The global flags before the subcommand; -1 on any the launcher does not know (--debug...). */
static int parse_globals(int argc, char **argv, int *i, struct command *c)
{
	while (*i < argc && argv[*i][0] == '-') {
		const char *arg = argv[*i], *value = NULL;
		int known = 0;
		if (strcmp(arg, "--systemd-cgroup") == 0) {
			(*i)++;
			continue;
		}
		for (const char *const *flag = VALUE_FLAGS; *flag && !known; flag++) {
			if (!flag_is(arg, *flag, &value))
				continue;
			known = 1;
			if (value == NULL) {
				if (*i + 1 >= argc)
					return -1;
				value = argv[++*i];
			}
			if (strcmp(*flag, "--root") == 0)
				c->root = value;
			/* Node refuses another format; let it. */
			if (strcmp(*flag, "--log-format") == 0 && strcmp(value, "text") != 0 &&
			    strcmp(value, "json") != 0)
				return -1;
		}
		if (!known)
			return -1;
		(*i)++;
	}
	return *i < argc ? 0 : -1;
}

/* The subcommand's own words: its positionals, and --force / --all where they apply. */
static int parse_command(int argc, char **argv, int i, struct command *c)
{
	const char *positional[2] = { NULL, NULL };
	int n = 0, is_kill = strcmp(c->name, "kill") == 0;
	int is_delete = strcmp(c->name, "delete") == 0;

	for (; i < argc; i++) {
		const char *arg = argv[i];
		if (is_delete && (strcmp(arg, "--force") == 0 || strcmp(arg, "-f") == 0)) {
			c->force = 1;
			continue;
		}
		if (is_kill && (strcmp(arg, "--all") == 0 || strcmp(arg, "-a") == 0)) {
			c->all = 1;
			continue;
		}
		if (arg[0] == '-' || n == (is_kill ? 2 : 1))
			return -1;
		positional[n++] = arg;
	}
	if (n == 0)
		return -1;
	c->id = positional[0];
	c->signal = positional[1] ? positional[1] : "SIGTERM";
	return 0;
}

/* runc's id rule, as src/core/state/id.ts applies it; Node words the refusal. */
static int valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 255 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return 0;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789_+,.-") == n;
}

static int try_fast(int argc, char **argv)
{
	struct command c = { 0 };
	struct record r;
	int i = 0;

	if (getenv("HAKO_NO_FAST_PATH") != NULL)
		return -1;
	if (parse_globals(argc, argv, &i, &c) < 0)
		return -1;
	c.name = argv[i++];
	if (strcmp(c.name, "start") != 0 && strcmp(c.name, "state") != 0 &&
	    strcmp(c.name, "kill") != 0 && strcmp(c.name, "delete") != 0)
		return -1;
	if (parse_command(argc, argv, i, &c) < 0 || !valid_id(c.id))
		return -1;
	if (c.root == NULL) {
		/* Without --root the root depends on who and where hako runs (defaultRoot in
		 * src/core/state/store.ts); only the plain case is taken here. */
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		if (xdg != NULL && xdg[0] != '\0')
			return -1;
		c.root = "/run/hako";
	}
	if (read_record(c.root, c.id, &r) < 0)
		return -1;

	int done = -1;
	if (strcmp(c.name, "start") == 0)
		done = fast_start(&r);
	else if (strcmp(c.name, "state") == 0)
		done = fast_state(&r);
	else if (strcmp(c.name, "kill") == 0)
		done = c.all ? -1 : fast_kill(&r, c.signal);
	else
		done = fast_delete(&r, c.force);
	close(r.dirfd);
	return done;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	if (n < 1 || n > argc - 2) {
		fprintf(stderr, "usage: hako-launcher <n> <node argv: n words> <hako argv...>\n");
		return 127;
	}
	char **node = argv + 2, **hako = argv + 2 + n;
	int hako_argc = argc - 2 - n;

	/* Set only for the Node that reports a failed start (fast_start); never inherited. */
	unsetenv(START_ERRNO_ENV);
	if (hako_argc > 0 && try_fast(hako_argc, hako) == 0)
		return 0;

	char **args = calloc((size_t)(n + hako_argc + 1), sizeof(char *));
	if (args == NULL)
		return 127;
	memcpy(args, node, (size_t)n * sizeof(char *));
	memcpy(args + n, hako, (size_t)hako_argc * sizeof(char *));
	execv(node[0], args);
	fprintf(stderr, "hako: cannot run %s: %s\n", node[0], strerror(errno));
	return 127;
}
