/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TERN_PROTO_ERRCODE_H
#define TERN_PROTO_ERRCODE_H

/*
 * tern's own modules return negative errno-style codes (-EINVAL, -ENOSPC,
 * ...). tern_strerror() turns any such code (or a positive errno) into text.
 */

/** Text for a negative (or positive) errno-style code; never NULL. */
const char *tern_strerror(int err);

/** Symbolic name ("ENOENT") for the control socket's error codes; never NULL. */
const char *tern_errname(int err);

#endif
