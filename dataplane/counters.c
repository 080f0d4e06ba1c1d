/* SPDX-License-Identifier: BSD-3-Clause */
#include <stddef.h>

#include "dataplane/counters.h"

static const char *const names[DP_CNT_MAX] = {
#define N(e, n, d) n,
	FOREACH_NET_FATE(N)
	FOREACH_DP_CNT(N)
#undef N
};

static const char *const descs[DP_CNT_MAX] = {
#define D(e, n, d) d,
	FOREACH_NET_FATE(D)
	FOREACH_DP_CNT(D)
#undef D
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
	switch (i) {
	case DP_CNT_TX_REFUSED:
	case DP_CNT_REPLY_FAILED:
	case DP_CNT_EXC_TX_REFUSED:
	case DP_CNT_EXC_NONE:
	case DP_CNT_STEER_REFUSED:
		return 1;
	default:
		return 0;
	}
}
