/*
 * Descriptors and the terminal: CLOSE, DUP2, CONSOLE (a new pty whose master goes out over a
 * socket, as runc's --console-socket protocol expects) and the console proxy of FORK mode 2.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "agent.h"

/* Older headers lack it; the value is the kernel's ABI. */
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int console_pair = -1; /* FORK mode 2: the init's end, where CONSOLE -1 sends */

int64_t op_close(struct arg *a) { return close((int)a[0].i); }
int64_t op_dup2(struct arg *a) { return dup2((int)a[0].i, (int)a[1].i); }

static int send_fd(int sock, int fd, const char *name);

/* SEND_FD sock, fd, payload: one message with the payload and fd, then both are closed
 * (the seccomp listener handed to linux.seccomp.listenerPath, with the state as payload). */
int64_t op_send_fd(struct arg *a)
{
	int rc = send_fd_with((int)a[0].i, (int)a[1].i, a[2].s, a[2].n);
	close((int)a[1].i);
	close((int)a[0].i);
	return rc;
}

/* Sends fd with name as payload in one message, as runc's console socket protocol (and so
 * conmon and containerd) expects. */
static int send_fd(int sock, int fd, const char *name)
{
	return send_fd_with(sock, fd, name, strlen(name));
}

int send_fd_with(int sock, int fd, const void *data, size_t len)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
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

static void clear_onlcr(int master);

int64_t op_console(struct arg *a)
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
	/* For the proxy of `run`, ONLCR goes before the master leaves: once the workload has
	 * started, a shell may save and restore the old settings after each line. */
	if (sock == console_pair)
		clear_onlcr(master);
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
void proxy_console(int sock, pid_t child)
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
