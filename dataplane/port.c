/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports: probe the configured devices, size their queues to the workers,
 * and give each one its exception interface.
 *
 * Every worker gets its own TX queue on every port, so replies never share
 * a queue. RX is either RSS over one queue per worker (the NIC keeps every
 * datagram of a client on one worker) or, for PMDs without RSS (most
 * virtual ones), a single queue read by one worker that steers datagrams to
 * their owners in software (worker.c).
 *
 * The exception interface is a second DPDK port, a net_tap whose kernel side
 * carries the port's MAC and addresses: what the fast path does not handle
 * is written to it and the host stack answers as if it owned the wire; what
 * the host stack sends is read back and sent out the port.
 */

#include <stdio.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "dataplane/dp_priv.h"
#include "proto/errcode.h"

#define RSS_WANTED (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP)
#define RX_CKSUM_WANTED (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)

/* The ethdev name a device string gives: up to the first comma. */
static void
dev_name(const char *devargs, char *name, size_t len)
{
	size_t n = strcspn(devargs, ",");

	if (n >= len)
		n = len - 1;
	memcpy(name, devargs, n);
	name[n] = '\0';
}

static int
probe(const char *devargs, uint16_t *port_id, char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	struct rte_dev_iterator it;
	uint16_t pid;
	int ret;

	dev_name(devargs, name, sizeof(name));
	/* already probed by the EAL (PCI scan, -a or --vdev in dpdk.args) */
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0;
	ret = rte_dev_probe(devargs);
	if (ret < 0) {
		snprintf(err, errlen, "DPDK cannot probe device \"%s\": %s", devargs,
			 tern_strerror(ret));
		return -ENODEV;
	}
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0;
	RTE_ETH_FOREACH_MATCHING_DEV(pid, devargs, &it) {
		*port_id = pid;
		rte_eth_iterator_cleanup(&it);
		return 0;
	}
	snprintf(err, errlen, "device \"%s\" was probed but is not an Ethernet port", devargs);
	return -ENODEV;
}

static int
queues_setup(uint16_t pid, uint16_t nb_rxq, uint16_t nb_txq, bool rss, uint64_t rx_offloads,
	     uint64_t rss_hf, char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	uint16_t nb_rxd = DP_RX_DESC, nb_txd = DP_TX_DESC;
	int socket = rte_eth_dev_socket_id(pid);
	int ret;

	if (socket < 0)
		socket = (int)rte_socket_id();
	memset(&conf, 0, sizeof(conf));
	conf.rxmode.offloads = rx_offloads;
	if (rss) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
	}
	ret = rte_eth_dev_configure(pid, nb_rxq, nb_txq, &conf);
	if (ret < 0) {
		snprintf(err, errlen, "cannot configure %u rx / %u tx queues: %s", nb_rxq, nb_txq,
			 tern_strerror(ret));
		return ret;
	}
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nb_rxd, &nb_txd);
	if (ret < 0) {
		snprintf(err, errlen, "cannot size descriptor rings: %s", tern_strerror(ret));
		return ret;
	}
	for (uint16_t q = 0; q < nb_rxq; q++) {
		ret = rte_eth_rx_queue_setup(pid, q, nb_rxd, (unsigned int)socket, NULL, dp.pool);
		if (ret < 0) {
			snprintf(err, errlen, "rx queue %u: %s", q, tern_strerror(ret));
			return ret;
		}
	}
	for (uint16_t q = 0; q < nb_txq; q++) {
		ret = rte_eth_tx_queue_setup(pid, q, nb_txd, (unsigned int)socket, NULL);
		if (ret < 0) {
			snprintf(err, errlen, "tx queue %u: %s", q, tern_strerror(ret));
			return ret;
		}
	}
	return 0;
}

static int
port_setup(uint16_t pidx, const struct dp_port_params *pp, char *err, size_t errlen)
{
	struct dp_port *p = &dp.ports[pidx];
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	uint64_t rss_hf;
	bool rss_capable;
	int ret;

	p->params = *pp;
	ret = probe(pp->device, &p->port_id, err, errlen);
	if (ret < 0)
		return ret;
	p->probed = true;
	ret = rte_eth_dev_info_get(p->port_id, &info);
	if (ret < 0) {
		snprintf(err, errlen, "device \"%s\": no device info: %s", pp->device,
			 tern_strerror(ret));
		return ret;
	}
	rss_hf = info.flow_type_rss_offloads & RSS_WANTED;
	rss_capable = rss_hf != 0 && info.max_rx_queues > 1;
	if (pp->rx_queues == 0) {
		p->nb_rxq = 1;
		if (rss_capable && dp.nb_workers > 1)
			p->nb_rxq = (uint16_t)RTE_MIN(dp.nb_workers, info.max_rx_queues);
	} else {
		p->nb_rxq = pp->rx_queues;
		if (p->nb_rxq > 1 && !rss_capable) {
			snprintf(err, errlen, "rx_queues: %u queues need RSS, which %s (%s) does not "
				 "offer; use 1 or auto", p->nb_rxq, pp->device, info.driver_name);
			return -ENOTSUP;
		}
		if (p->nb_rxq > info.max_rx_queues) {
			snprintf(err, errlen, "rx_queues: %u queues, but %s has at most %u",
				 p->nb_rxq, pp->device, info.max_rx_queues);
			return -ERANGE;
		}
	}
	p->rss = p->nb_rxq > 1;
	p->nb_txq = (uint16_t)dp.nb_workers;
	if (info.max_tx_queues < p->nb_txq) {
		snprintf(err, errlen, "%s has %u TX queues, %u workers need one each",
			 pp->device, info.max_tx_queues, p->nb_txq);
		return -ERANGE;
	}
	p->rx_offloads = info.rx_offload_capa & RX_CKSUM_WANTED;
	ret = queues_setup(p->port_id, p->nb_rxq, p->nb_txq, p->rss, p->rx_offloads, rss_hf,
			   err, errlen);
	if (ret < 0 && p->nb_rxq < p->nb_txq) {
		/*
		 * Some PMDs (net_tap) need as many RX as TX queues. Read them all:
		 * without RSS the receiving worker steers each flow to its owner
		 * in software whichever queue it came in on.
		 */
		DP_LOG(INFO, "port %s: %s needs as many RX as TX queues: using %u, flows "
		       "steered in software", pp->name, info.driver_name, p->nb_txq);
		p->nb_rxq = p->nb_txq;
		ret = queues_setup(p->port_id, p->nb_rxq, p->nb_txq, p->rss, p->rx_offloads,
				   rss_hf, err, errlen);
	}
	if (ret < 0)
		return ret;
	ret = rte_eth_dev_start(p->port_id);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start %s: %s", pp->device, tern_strerror(ret));
		return ret;
	}
	p->started = true;
	/* IPv6 neighbour discovery arrives on multicast MACs */
	(void)rte_eth_allmulticast_enable(p->port_id);
	rte_eth_macaddr_get(p->port_id, &mac);
	memcpy(p->nif.mac, mac.addr_bytes, sizeof(p->nif.mac));
	p->nif.has_ip4 = pp->has_ip4;
	p->nif.has_ip6 = pp->has_ip6;
	memcpy(p->nif.ip4, pp->ip4, 4);
	p->nif.ip4_prefix = pp->ip4_prefix;
	memcpy(p->nif.ip6, pp->ip6, 16);
	dp.port_idx_of[p->port_id] = pidx;
	return 0;
}

static int
exc_setup(uint16_t pidx, char *err, size_t errlen)
{
	struct dp_port *p = &dp.ports[pidx];
	char devargs[160], ifname[DP_IFNAME_LEN];
	const uint8_t *m = p->nif.mac;
	int ret;

	if (p->params.exception_iface[0]) {
		snprintf(ifname, sizeof(ifname), "%s", p->params.exception_iface);
	} else if (strlen(p->params.name) + strlen("tern-") < sizeof(ifname)) {
		snprintf(ifname, sizeof(ifname), "tern-%.*s",
			 (int)(sizeof(ifname) - sizeof("tern-")), p->params.name);
	} else {
		snprintf(err, errlen, "exception interface name for port %s is longer than %zu "
			 "characters: set exception_iface", p->params.name, sizeof(ifname) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(p->params.exception_iface, sizeof(p->params.exception_iface), "%s", ifname);
	snprintf(p->exc_vdev, sizeof(p->exc_vdev), "net_tap_tern_exc%u", pidx);
	snprintf(devargs, sizeof(devargs), "%s,iface=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x",
		 p->exc_vdev, ifname, m[0], m[1], m[2], m[3], m[4], m[5]);
	ret = rte_dev_probe(devargs);
	if (ret < 0 || rte_eth_dev_get_port_by_name(p->exc_vdev, &p->exc_port_id) != 0) {
		p->exc_vdev[0] = '\0';
		snprintf(err, errlen, "cannot create exception interface %s: %s", ifname,
			 tern_strerror(ret < 0 ? ret : -ENODEV));
		return ret < 0 ? ret : -ENODEV;
	}
	/*
	 * A TX queue for every worker; one RX queue read by one worker, or as
	 * many as TX queues since net_tap needs that (see port_setup).
	 */
	p->exc_nb_rxq = (uint16_t)dp.nb_workers;
	ret = queues_setup(p->exc_port_id, p->exc_nb_rxq, (uint16_t)dp.nb_workers, false, 0, 0,
			   err, errlen);
	if (ret < 0)
		return ret;
	ret = rte_eth_dev_start(p->exc_port_id);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start exception interface %s: %s", ifname,
			 tern_strerror(ret));
		return ret;
	}
	p->exc_started = true;
	p->has_exc = true;
	dp.port_idx_of[p->exc_port_id] = pidx;
	return dp_exc_configure(ifname, &p->params, err, errlen);
}

int
dp_ports_setup(const struct dp_port_params *params, unsigned int n, int *bad_port, char *err,
	       size_t errlen)
{
	int ret;

	char msg[512];

	for (unsigned int i = 0; i < n; i++) {
		*bad_port = (int)i;
		dp.nb_ports = i + 1;
		ret = port_setup((uint16_t)i, &params[i], msg, sizeof(msg));
		if (ret < 0) {
			/* name the port's key at fault: rx_queues says so itself */
			if (strncmp(msg, "rx_queues: ", 11) == 0)
				snprintf(err, errlen, "%s", msg);
			else
				snprintf(err, errlen, "device: %s", msg);
			return ret;
		}
		if (params[i].exception) {
			ret = exc_setup((uint16_t)i, msg, sizeof(msg));
			if (ret < 0) {
				snprintf(err, errlen, "exception_iface: %s", msg);
				return ret;
			}
		}
		DP_LOG(INFO, "port %s: %s, %u rx queue(s) (%s), %u tx queue(s)%s%s",
		       params[i].name, params[i].device, dp.ports[i].nb_rxq,
		       dp.ports[i].rss ? "rss" : "software steering", dp.ports[i].nb_txq,
		       dp.ports[i].has_exc ? ", exception interface " : "",
		       dp.ports[i].has_exc ? dp.ports[i].params.exception_iface : "");
	}
	*bad_port = -1;
	return 0;
}

static void
close_one(uint16_t pid, bool started)
{
	struct rte_eth_dev_info info;
	struct rte_device *dev = NULL;

	if (!rte_eth_dev_is_valid_port(pid))
		return;
	if (rte_eth_dev_info_get(pid, &info) == 0)
		dev = info.device;
	if (started)
		(void)rte_eth_dev_stop(pid);
	(void)rte_eth_dev_close(pid);
	/* hot-plugged virtual devices go away with us (the kernel TAP included) */
	if (dev != NULL)
		(void)rte_dev_remove(dev);
}

void
dp_ports_close(void)
{
	for (unsigned int i = 0; i < dp.nb_ports; i++) {
		struct dp_port *p = &dp.ports[i];

		if (p->exc_vdev[0])
			close_one(p->exc_port_id, p->exc_started);
		if (p->probed)
			close_one(p->port_id, p->started);
		p->started = p->exc_started = p->has_exc = p->probed = false;
		p->exc_vdev[0] = '\0';
	}
}
