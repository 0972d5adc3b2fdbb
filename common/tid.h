/*
 * TIDs: 64-bit timestamp identifiers written as 13 characters of
 * base32-sortable.  Bit 63 is zero, bits 62..10 are microseconds since
 * the Unix epoch, bits 9..0 a clock id.  String order is numeric order.
 */
#ifndef PDS_TID_H
#define PDS_TID_H

#include <stddef.h>
#include <stdint.h>

#define TID_STRLEN	13
#define TID_BUFSZ	(TID_STRLEN + 1)
#define TID_US_MAX	((UINT64_C(1) << 53) - 1)
#define TID_CLOCKID_MAX	1023

/* A clock returning microseconds since the Unix epoch. */
typedef uint64_t (*tid_clock_fn)(void);

/*
 * The next TID of this process: strictly greater than every TID it
 * returned before, even if the clock steps back.  The clock id is drawn
 * at random (libsodium) on first use.  Writes a NUL-terminated string.
 */
void	 tid_next(char [TID_BUFSZ]);
uint64_t tid_next_value(void);
/* From now on tid_next returns values above floor too. */
void	 tid_raise(uint64_t);

/* The clock tid_next reads; NULL restores the real clock.  For tests. */
void	 tid_set_clock(tid_clock_fn);
/* Forget the last TID and clock id, as in a fresh process.  For tests. */
void	 tid_reset(void);

uint64_t tid_make(uint64_t, unsigned int);
void	 tid_encode(uint64_t, char [TID_BUFSZ]);
int	 tid_from_time(uint64_t, unsigned int, char [TID_BUFSZ]);
int	 tid_parse(const char *, size_t, uint64_t *);
uint64_t tid_timestamp(uint64_t);
unsigned int tid_clockid(uint64_t);
int	 tid_compare(const char *, const char *);

#endif
