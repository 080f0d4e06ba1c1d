/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel side of the exception path: give the exception interface the
 * port's addresses and bring it up, so the host stack (TCP listeners, the
 * LBS's TLS socket, ICMP errors) answers on the router's own address.
 *
 * Duplicate address detection is switched off on it: the address belongs to
 * the port, the fast path already answers neighbour solicitations for it, and
 * DAD would only delay the address by a second.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/dp_priv.h"

/* struct in6_ifreq of <linux/ipv6.h>, which clashes with <netinet/in.h> */
struct exc_in6_ifreq {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

static int
sysctl_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

static int
set_up(int fd, const char *ifname)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return -errno;
	return 0;
}

static int
set_ip4(int fd, const char *ifname, const uint8_t ip[4], uint8_t prefix)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, ip, 4);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		return -errno;
	sin->sin_addr.s_addr = htonl(mask);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
		return -errno;
	return 0;
}

static int
set_ip6(const char *ifname, const uint8_t ip[16], uint8_t prefix)
{
	struct exc_in6_ifreq req;
	int fd, ret = 0;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	memcpy(&req.addr, ip, 16);
	req.prefixlen = prefix;
	req.ifindex = (int)if_nametoindex(ifname);
	if (req.ifindex == 0 || ioctl(fd, SIOCSIFADDR, &req) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int
dp_exc_configure(const char *ifname, const struct dp_port_params *p, char *err, size_t errlen)
{
	char path[128];
	int fd, ret;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "exception interface %s: socket: %s", ifname,
			 strerror(errno));
		return -errno;
	}
	if (p->has_ip6) {
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_dad", ifname);
		(void)sysctl_write(path, "0");
	}
	ret = set_up(fd, ifname);
	if (ret == 0 && p->has_ip4)
		ret = set_ip4(fd, ifname, p->ip4, p->ip4_prefix);
	close(fd);
	if (ret < 0) {
		snprintf(err, errlen, "exception interface %s: cannot set it up: %s", ifname,
			 strerror(-ret));
		return ret;
	}
	if (p->has_ip6) {
		ret = set_ip6(ifname, p->ip6, p->ip6_prefix);
		if (ret < 0 && ret != -EEXIST) {
			snprintf(err, errlen, "exception interface %s: cannot add IPv6 address: %s",
				 ifname, strerror(-ret));
			return ret;
		}
	}
	return 0;
}
