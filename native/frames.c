/*
 * The agent's side of the wire (PROTOCOL.md): requests taken off the control socket in
 * batches, answers collected and sent in batches. agent.c dispatches each request.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent.h"

int ctl_fd = -1; /* the control socket */
int answered;	 /* the current op already gave its own answer (FORK, EXEC) */

/*
 * hako writes the requests it has all at once, so the socket usually holds many frames. They
 * are taken off it together into `in` and served from there. The answers collect in `out` and
 * go out together: when no complete request is left in `in` (before the agent would block
 * reading), and before an op that forks, execs, waits for another process or gives the socket
 * up (FLUSH in agent.c's table), so that no answer is copied into a child, lost in an exec,
 * or held back while hako waits for it.
 */
#define IN_MAX (64U << 10)
#define OUT_MAX (16U << 10) /* at least one answer with a full payload */

enum { OP_EXEC = 60, OP_WAIT_START = 61 };

static unsigned char in[IN_MAX + 1]; /* + 1: see the borrowed byte in agent.c's serve_one */
static uint32_t in_next, in_end;     /* the frames not served yet: in[in_next .. in_end) */
static unsigned char out[OUT_MAX];
static uint32_t out_len;

/* Reads exactly n bytes: a stream socket may deliver a request in pieces. */
static int read_full(int fd, void *buf, size_t n)
{
	for (unsigned char *p = buf; n > 0;) {
		ssize_t got = read(fd, p, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/* Sends the answers collected so far. If hako is gone there is nobody to serve: exit quietly. */
void flush_answers(void)
{
	/* MSG_NOSIGNAL rather than ignoring SIGPIPE: an ignored signal would survive execve. */
	for (uint32_t off = 0; off < out_len;) {
		ssize_t n = send(ctl_fd, out + off, out_len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			exit(1);
		off += (uint32_t)n;
	}
	out_len = 0;
}

/* Adds one response to those flush_answers sends. */
void answer(int64_t ret, int err, const void *data, uint32_t len)
{
	if (out_len + 16 + len > sizeof out)
		flush_answers();
	unsigned char *p = out + out_len;
	put32(p, 12 + len);
	put64(p + 4, (uint64_t)ret);
	put32(p + 12, (uint32_t)err);
	if (len)
		memcpy(p + 16, data, len);
	out_len += 16 + len;
	answered = 1;
}

/*
 * Takes the complete frames waiting in the socket into `in` and returns their length; 0 when
 * the first one has not fully arrived or is larger than `in`. It stops after an EXEC or a
 * WAIT_START: what follows EXEC is for the program it runs (hako's engine reads its plan
 * there), and what follows WAIT_START is for nobody (that connection is closed). So the
 * frames are looked at with MSG_PEEK first, and then only those are read.
 */
static uint32_t take_frames(void)
{
	uint32_t len = 0;
	ssize_t got;

	do
		got = recv(ctl_fd, in, IN_MAX, MSG_PEEK);
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		exit(1); /* EOF: hako is gone, or done with us */

	while ((uint32_t)got - len >= 4) {
		uint32_t body = get32(in + len);
		if (body > (uint32_t)got - len - 4)
			break;
		uint32_t op = body >= 4 ? get32(in + len + 4) : 0;
		len += 4 + body;
		if (op == OP_EXEC || op == OP_WAIT_START)
			break;
	}
	if (len && read_full(ctl_fd, in, len) < 0)
		exit(1);
	return len;
}

/*
 * The frame take_frames left: read exactly, header then body, into `in` or, when it does not
 * fit, into memory of its own (*owned). NULL for a frame over MAX_REQUEST, which is read and
 * dropped so that the next one is still found, or when there is no memory for it.
 */
static unsigned char *read_frame(uint32_t *len, unsigned char **owned)
{
	unsigned char hdr[4], sink[4096], *body = in;

	if (read_full(ctl_fd, hdr, 4) < 0)
		exit(1);
	*len = get32(hdr);
	if (*len >= sizeof in)
		body = *owned = *len <= MAX_REQUEST ? malloc((size_t)*len + 1) : NULL;
	if (!body) {
		for (uint32_t left = *len, n; left > 0; left -= n)
			if (read_full(ctl_fd, sink, n = left < sizeof sink ? left : sizeof sink) < 0)
				exit(1);
		return NULL;
	}
	if (read_full(ctl_fd, body, *len) < 0)
		exit(1);
	return body;
}

/*
 * The next request's body and length: from the batch in `in`, or, once that is used up (its
 * answers sent first: hako may wait for them before it sends more), from a new batch or a
 * frame read on its own. NULL as read_frame gives it; *owned is memory to free after.
 */
unsigned char *next_request(uint32_t *len, unsigned char **owned)
{
	if (in_next == in_end) {
		flush_answers();
		in_next = 0;
		in_end = take_frames();
	}
	if (in_next == in_end)
		return read_frame(len, owned);
	*len = get32(in + in_next);
	unsigned char *body = in + in_next + 4;
	in_next += 4 + *len;
	return body;
}
