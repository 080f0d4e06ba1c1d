/* SPDX-License-Identifier: BSD-3-Clause */
#include <stddef.h>

#include "dataplane/counters.h"

static const char *const names[DP_CNT_MAX] = {
#define N(e, n, d) n,
	FOREACH_NET_FATE(N)
	FOREACH_DP_CNT(N)
	FOREACH_MQTTSN_CNT(N)
#undef N
#define NRX(e, v, n) "mqttsn_rx_" n,
	FOREACH_MQTTSN_TYPE(NRX)
#undef NRX
#define NTX(e, v, n) "mqttsn_tx_" n,
	FOREACH_MQTTSN_TYPE(NTX)
#undef NTX
#define NERR(e, no, n, d) "mqttsn_" n,
	FOREACH_MQTTSN_ERR(NERR)
#undef NERR
#define N(e, n, d) n,
	FOREACH_COAP_CNT(N)
	FOREACH_COAP_ERR(N)
#undef N
};

static const char *const descs[DP_CNT_MAX] = {
#define D(e, n, d) d,
	FOREACH_NET_FATE(D)
	FOREACH_DP_CNT(D)
	FOREACH_MQTTSN_CNT(D)
#undef D
#define DRX(e, v, n) "MQTT-SN " n " messages received",
	FOREACH_MQTTSN_TYPE(DRX)
#undef DRX
#define DTX(e, v, n) "MQTT-SN " n " messages sent",
	FOREACH_MQTTSN_TYPE(DTX)
#undef DTX
#define DERR(e, no, n, d) "MQTT-SN datagrams dropped: " d,
	FOREACH_MQTTSN_ERR(DERR)
#undef DERR
#define D(e, n, d) d,
	FOREACH_COAP_CNT(D)
#undef D
#define DERR(e, n, d) "CoAP datagrams dropped: " d,
	FOREACH_COAP_ERR(DERR)
#undef DERR
};

const char *
dp_cnt_name(unsigned int i)
{
	return i < DP_CNT_MAX ? names[i] : NULL;
}

const char *
dp_cnt_desc(unsigned int i)
{
	return i < DP_CNT_MAX ? descs[i] : NULL;
}

int
dp_cnt_is_drop(unsigned int i)
{
	if (i >= NET_FATE_FIRST_DROP && i < NET_FATE_MAX)
		return 1;
	if ((i >= DP_CNT_MQTTSN_ERR_SHORT && i < DP_CNT_COAP_RX) ||
	    (i >= DP_CNT_COAP_ERR_SHORT && i < DP_CNT_MAX))
		return 1;
	switch (i) {
	case DP_CNT_MQTTSN_NO_SESSION:
	case DP_CNT_MQTTSN_BAD_PROTO:
	case DP_CNT_MQTTSN_TOO_BIG:
	case DP_CNT_MQTTSN_UNEXPECTED:
	case DP_CNT_MQTTSN_DELIVER_FAILED:
	case DP_CNT_MQTTSN_SLEEP_DROPPED:
	case DP_CNT_OSAP_BAD_SEAL:
	case DP_CNT_OSAP_REPLAY:
	case DP_CNT_OSAP_SEAL_TOO_BIG:
	case DP_CNT_OSAP_STALE:
	case DP_CNT_TX_REFUSED:
	case DP_CNT_REPLY_FAILED:
	case DP_CNT_EXC_TX_REFUSED:
	case DP_CNT_EXC_NONE:
	case DP_CNT_STEER_REFUSED:
	case DP_CNT_COAP_UNEXPECTED:
	case DP_CNT_COAP_RATE_LIMITED:
	case DP_CNT_COAP_NOTIFY_FAILED:
	case DP_CNT_COAP_CON_FAILED:
		return 1;
	default:
		return 0;
	}
}
