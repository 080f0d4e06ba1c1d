/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include "errcode.h"

const char *
tern_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err == EMSGSIZE)
		return "message truncated or too long";
	return strerror(err);
}

const char *
tern_errname(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0: return "OK";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOSPC: return "ENOSPC";
	case ENOMEM: return "ENOMEM";
	case EEXIST: return "EEXIST";
	case EBUSY: return "EBUSY";
	case EMSGSIZE: return "EMSGSIZE";
	case ENOTSUP: return "ENOTSUP";
	case EPROTO: return "EPROTO";
	case ENODEV: return "ENODEV";
	case ERANGE: return "ERANGE";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ESHUTDOWN: return "ESHUTDOWN";
	default: return "EIO";
	}
}
