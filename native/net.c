/*
 * Network: the one step a new network namespace needs from the runtime. A fresh namespace
 * has a loopback device that is down; runc brings it up, and programs in a pod rely on it
 * (a sidecar reached on 127.0.0.1). Everything else in a network namespace is the caller's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"

/* LINK_UP name: sets IFF_UP on the named interface of the current network namespace. */
int64_t op_link_up(struct arg *a)
{
	struct ifreq ifr;
	if (a[0].n == 0 || a[0].n >= sizeof ifr.ifr_name)
		return fail(EINVAL);
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, a[0].s, a[0].n);

	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -1;
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return done(sock, -1);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return done(sock, -1);
	close(sock);
	return 0;
}
