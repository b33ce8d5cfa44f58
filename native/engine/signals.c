/*
 * hako-signals.so: loaded by the Node engine (src/core/sys/signals.ts) so that a stop signal
 * ends a WebAssembly guest however busy it is.
 *
 * The engine is pid 1 of the container's pid namespace, and the kernel delivers a signal to
 * such a process only when it has a handler for it. Node's own handlers for SIGTERM and
 * SIGINT reset the terminal and raise the signal again, which the kernel then drops; a
 * handler in JavaScript (process.on) runs only when the event loop gets control, which a
 * guest that computes never gives it. The handler here needs neither: it runs on whichever
 * thread the kernel picks and ends the process with 128 + the signal, the status a shell, a
 * runtime or conmon reports for a process the signal killed. It calls only async-signal-safe
 * functions (fcntl, _exit).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

/*
 * The flags of descriptors 0 to 2 when the engine loaded this library. hako's own streams
 * leave them alone (src/core/stdio.ts), but a plugin handler reading process.stdin makes a
 * stdin pipe non-blocking, and that flag belongs to the open file, shared with whoever else
 * holds it (a shell, conmon): Node puts the flags back when it exits, and so does the handler
 * before _exit skips that.
 */
static int stdio_flags[3] = { -1, -1, -1 };

__attribute__((constructor)) static void save_stdio_flags(void)
{
	for (int fd = 0; fd < 3; fd++)
		stdio_flags[fd] = fcntl(fd, F_GETFL);
}

static void exit_on_signal(int sig)
{
	for (int fd = 0; fd < 3; fd++)
		if (stdio_flags[fd] >= 0)
			fcntl(fd, F_SETFL, stdio_flags[fd]);
	_exit(128 + sig);
}

/* Makes `sig` end the process with status 128 + sig. Returns 0, or -1 with errno set. */
int hako_exit_on_signal(int sig)
{
	struct sigaction sa = { .sa_handler = exit_on_signal };

	sigfillset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}
