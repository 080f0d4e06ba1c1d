/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cursor's contract: reads and writes are big-endian and bounds-checked,
 * and the first overrun sets a sticky error after which reads yield zero,
 * writes are ignored and the position no longer moves.
 */
#include "proto/cursor.h"
#include "tests/unit/tap.h"

static void
test_reads(void)
{
	static const uint8_t buf[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09 };
	struct cursor c;
	uint8_t out[3];

	cursor_init(&c, buf, sizeof(buf));
	is_int(cursor_left(&c), 9, "fresh cursor: all bytes left");
	ok(cursor_ptr(&c) == buf, "fresh cursor points at the start");
	is_int(cursor_u8(&c), 0x01, "u8");
	is_int(cursor_be16(&c), 0x0203, "be16 is big-endian");
	is_int(cursor_be32(&c), 0x04050607, "be32 is big-endian");
	is_int(cursor_left(&c), 2, "7 bytes consumed");
	ok(cursor_ptr(&c) == buf + 7, "pointer follows the position");
	cursor_skip(&c, 1);
	is_int(cursor_u8(&c), 0x09, "skip then read the last byte");
	is_int(c.err, 0, "reading exactly to the end is not an error");
	is_int(cursor_left(&c), 0, "nothing left at the end");

	cursor_init(&c, buf, sizeof(buf));
	cursor_copy(&c, out, 3);
	is_mem(out, buf, 3, "copy out");
	is_int(c.pos, 3, "copy advances");
}

static void
test_sticky_read_error(void)
{
	/* The cursor sees 3 bytes; the rest shows that nothing reads past them. */
	static const uint8_t buf[8] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11, 0x22 };
	struct cursor c;
	uint8_t out[4] = { 1, 2, 3, 4 };
	static const uint8_t zero[4];

	cursor_init(&c, buf, 3);
	is_int(cursor_be16(&c), 0xaabb, "be16 before the overrun");
	is_int(cursor_be16(&c), 0, "be16 across the end reads zero");
	is_int(c.err, -EMSGSIZE, "overrun sets -EMSGSIZE");
	is_int(c.pos, 2, "a failed read does not move the position");
	is_int(cursor_left(&c), 0, "nothing is left once the error is set");
	/* One byte really is left, but the error is sticky. */
	is_int(cursor_u8(&c), 0, "u8 after the error reads zero though a byte remains");
	is_int(c.pos, 2, "position still unchanged");
	is_int(cursor_be32(&c), 0, "be32 after the error reads zero");
	cursor_copy(&c, out, 4);
	is_mem(out, zero, 4, "copy after the error zero-fills the destination");
	cursor_skip(&c, 0);
	is_int(c.err, -EMSGSIZE, "even an empty skip keeps the error");
	ok(!cursor_need(&c, 0), "need(0) fails once the error is set");
}

static void
test_partial_be32(void)
{
	static const uint8_t buf[] = { 0x11, 0x22, 0x33 };
	struct cursor c;

	cursor_init(&c, buf, sizeof(buf));
	/*
	 * The value of the read that overruns is unspecified (be32 is two be16
	 * reads and may return its first half); only the error is the contract.
	 */
	(void)cursor_be32(&c);
	is_int(c.err, -EMSGSIZE, "be32 over 3 bytes sets the error");
	is_int(cursor_be16(&c), 0, "and the next read yields zero");

	cursor_init(&c, buf, 0);
	is_int(cursor_u8(&c), 0, "u8 on an empty buffer reads zero");
	is_int(c.err, -EMSGSIZE, "empty buffer overrun");

	cursor_init(&c, NULL, 0);
	ok(cursor_need(&c, 0), "need(0) on an empty buffer is fine");
	cursor_skip(&c, 1);
	is_int(c.err, -EMSGSIZE, "skip past an empty buffer");
}

static void
test_writes(void)
{
	uint8_t buf[8];
	static const uint8_t want[8] = { 0x7f, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x00 };
	static const uint8_t blob[3] = { 9, 9, 9 };
	struct cursor c;

	memset(buf, 0, sizeof(buf));
	cursor_init(&c, buf, sizeof(buf));
	cursor_put_u8(&c, 0x7f);
	cursor_put_be16(&c, 0x1234);
	cursor_put_be32(&c, 0xdeadbeef);
	is_int(c.err, 0, "writes that fit succeed");
	is_int(c.pos, 7, "writes advance");
	is_mem(buf, want, 8, "written bytes are big-endian");

	cursor_put_be16(&c, 0xffff);
	is_int(c.err, -EMSGSIZE, "write across the end sets the error");
	is_mem(buf, want, 8, "a failed write changes nothing (no partial write)");
	cursor_put_u8(&c, 0x55);
	is_int(buf[7], 0, "writes after the error are ignored though a byte remains");
	is_int(c.pos, 7, "position unchanged after failed writes");

	memset(buf, 0, sizeof(buf));
	cursor_init(&c, buf, 4);
	cursor_put(&c, blob, 3);
	cursor_put(&c, blob, 3);
	is_int(c.err, -EMSGSIZE, "put of a blob past the end fails");
	is_int(buf[3], 0, "the failed blob wrote nothing");
	is_mem(buf, blob, 3, "the first blob landed");

	/* As for reads, only the error of the overrunning write is the contract. */
	memset(buf, 0, sizeof(buf));
	cursor_init(&c, buf, 3);
	cursor_put_be32(&c, 0x01020304);
	is_int(c.err, -EMSGSIZE, "be32 write over 3 bytes fails");
	is_int(buf[2], 0, "the byte past the failed half is untouched");
}

int
main(void)
{
	test_reads();
	test_sticky_read_error();
	test_partial_be32();
	test_writes();
	return done_testing();
}
