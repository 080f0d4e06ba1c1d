/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_DATAPLANE_COUNTERS_H
#define TERN_DATAPLANE_COUNTERS_H

/*
 * Every counter of the data plane, one table: the per-frame fates of
 * proto/net.h (FOREACH_NET_FATE) followed by what happens to a frame after
 * classification. Each worker keeps one struct dp_counters per port, written
 * only by that worker (counted in locals, published once per burst); the
 * control plane sums them. Names are what `ternctl stats` and telemetry show.
 */

#include <stdint.h>

#include "proto/net.h"

#define FOREACH_DP_CNT(_) \
	_(RX_PACKETS,      "rx_packets",      "frames received from the port") \
	_(RX_BYTES,        "rx_bytes",        "bytes received from the port") \
	_(TX_PACKETS,      "tx_packets",      "frames sent on the port") \
	_(TX_BYTES,        "tx_bytes",        "bytes sent on the port") \
	_(TX_REFUSED,      "tx_refused",      "frames the port's TX queue refused (freed)") \
	_(REPLY_FAILED,    "reply_failed",    "replies that could not be built (no room in the buffer)") \
	_(UDP_UNHANDLED,   "udp_unhandled",   "UDP datagrams to a port no protocol node serves (passed to the host stack)") \
	_(EXC_TX,          "exc_tx",          "frames handed to the exception interface (host stack)") \
	_(EXC_TX_REFUSED,  "exc_tx_refused",  "frames the exception interface refused (freed)") \
	_(EXC_NONE,        "exc_none",        "frames for the host stack dropped: the port has no exception interface") \
	_(EXC_RX,          "exc_rx",          "frames from the host stack, sent out the port") \
	_(STEER_OUT,       "steer_out",       "datagrams handed to the worker that owns their flow") \
	_(STEER_IN,        "steer_in",        "datagrams received from another worker's steering") \
	_(STEER_REFUSED,   "steer_refused",   "datagrams dropped: the owning worker's ring was full")

enum dp_cnt {
#define DP_NET_ENUM(e, n, d) DP_CNT_NET_##e,
	FOREACH_NET_FATE(DP_NET_ENUM)
#undef DP_NET_ENUM
#define DP_CNT_ENUM(e, n, d) DP_CNT_##e,
	FOREACH_DP_CNT(DP_CNT_ENUM)
#undef DP_CNT_ENUM
	DP_CNT_MAX
};

/* Fate f of proto/net.h is counter dp_cnt f: the table starts with them. */
#define DP_CNT_OF_FATE(f) ((enum dp_cnt)(f))

struct dp_counters {
	uint64_t v[DP_CNT_MAX];
};

/** Counter name ("rx_packets"); NULL if out of range. */
const char *dp_cnt_name(unsigned int i);
/** One-line description of a counter; NULL if out of range. */
const char *dp_cnt_desc(unsigned int i);
/** True for counters that count dropped frames (the sum is "dropped"). */
int dp_cnt_is_drop(unsigned int i);

#endif
