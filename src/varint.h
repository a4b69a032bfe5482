/*
 * varint.h
 *	  Unsigned LEB128 integers for the compact wire form of basket states:
 *	  small numbers (item ids as gaps, lengths) take one or two bytes.
 */
#ifndef VARINT_H
#define VARINT_H

#include "postgres.h"

#include "lib/stringinfo.h"

/* Append v in 7-bit groups, low first; the high bit marks "more follows". */
static inline void
VarintAppend(StringInfo buf, uint64 v)
{
	char		tmp[10];
	int			n = 0;

	do
	{
		tmp[n] = (char) (v & 0x7F);
		v >>= 7;
		if (v != 0)
			tmp[n] |= (char) 0x80;
		n++;
	} while (v != 0);
	appendBinaryStringInfo(buf, tmp, n);
}

/*
 * Read one varint at *p (not past end) into *v and advance *p; false when
 * truncated or longer than 64 bits.
 */
static inline bool
VarintRead(const char **p, const char *end, uint64 *v)
{
	uint64		result = 0;
	int			shift = 0;

	while (*p < end && shift < 64)
	{
		uint8		b = (uint8) *(*p)++;

		result |= (uint64) (b & 0x7F) << shift;
		if ((b & 0x80) == 0)
		{
			*v = result;
			return true;
		}
		shift += 7;
	}
	return false;
}

/* Zigzag: signed to unsigned so that small magnitudes stay short. */
static inline uint64
ZigzagEncode(int64 v)
{
	return ((uint64) v << 1) ^ (uint64) (v >> 63);
}

static inline int64
ZigzagDecode(uint64 v)
{
	return (int64) (v >> 1) ^ -(int64) (v & 1);
}

#endif							/* VARINT_H */
