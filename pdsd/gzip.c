/*
 * gzip for HTTP responses (RFC 9110 Content-Encoding), on zlib: the
 * Accept-Encoding check, which types are worth compressing, and a
 * deflate stream from one evbuffer to another, so that a response can
 * be compressed whole (with a Content-Length) or piece by piece as it
 * is flushed (chunked).
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <zlib.h>
#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include "http.h"

/*
 * The fastest level for both.  On loopback and on a busy server the
 * CPU is dearer than the bytes: a page of 50 posts (15.6 KB of JSON)
 * deflates to 2803 bytes in 0.07 ms at level 1 and to 2736 in 0.14 ms
 * at level 6; with varied text (20 KB) 6014 bytes in 0.12 ms against
 * 5664 in 0.31 ms.  A CAR is mostly SHA-256 hashes, which no level
 * compresses (a 10k-record repo of 2.69 MB: 1.04 MB in 28 ms at level
 * 1, 0.99 MB in 54 ms at level 6).
 */
#define GZ_LEVEL_JSON	1
#define GZ_LEVEL_CAR	1
#define GZ_LEVELS	10	/* zlib's 0 to 9 */
#define GZ_WBITS	(15 + 16)	/* 32 KiB window, gzip wrapper */
#define GZ_MEMLEVEL	8
#define GZ_OUTSTEP	16384

struct http_gzip {
	z_stream	 z;
	int		 level;
	int		 raw;
#ifdef HAVE_ISAL
	struct isal_zstream	*is;
	uint8_t			*isbuf;
#endif
};

/*
 * Setting up a compressor costs more than deflating a page of JSON
 * (0.1 ms: zlib allocates some 270 KiB and the first answer touches
 * all of it), so a whole-stream one that is done with is kept, one per
 * level and thread, and reset for the next answer.  Raw pieces are
 * made on workers and not kept.
 */
static __thread struct http_gzip	*gz_spare[GZ_LEVELS];

/* Skip blanks; return the end of the list element starting at s. */
static const char *
ae_element(const char *s, const char **name, size_t *namelen, int *zero)
{
	const char	*p, *q;
	size_t		 n;

	while (*s == ' ' || *s == '\t')
		s++;
	*name = s;
	n = strcspn(s, ",; \t");
	*namelen = n;
	p = s + strcspn(s, ",");
	*zero = 0;
	/* Parameters: only q matters, and only whether it is zero. */
	for (q = s + n; q < p; q++) {
		if (*q != 'q' && *q != 'Q')
			continue;
		if (q[-1] != ';' && q[-1] != ' ' && q[-1] != '\t')
			continue;
		q++;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q++ != '=')
			continue;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '0') {
			q++;
			if (*q == '.')
				q++;
			while (*q == '0')
				q++;
			*zero = !isdigit((unsigned char)*q);
		}
		break;
	}
	return p;
}

/*
 * Whether an Accept-Encoding value allows gzip: "gzip" or "x-gzip"
 * with a q above zero, or "*" with one unless gzip itself says q=0.
 */
int
http_gzip_accepted(const char *ae)
{
	const char	*name;
	size_t		 n;
	int		 zero, gzip = -1, star = -1;

	if (ae == NULL)
		return 0;
	while (*ae != '\0') {
		ae = ae_element(ae, &name, &n, &zero);
		if ((n == 4 && strncasecmp(name, "gzip", 4) == 0) ||
		    (n == 6 && strncasecmp(name, "x-gzip", 6) == 0))
			gzip = !zero;
		else if (n == 1 && name[0] == '*')
			star = !zero;
		if (*ae == ',')
			ae++;
	}
	return gzip != -1 ? gzip : star == 1;
}

/*
 * JSON and CAR answers shrink; blobs (images, video) mostly do not and
 * are sent as file segments that cannot go through zlib.  The zlib
 * level for the type, or 0: not compressed.
 */
int
http_gzip_type(const char *ctype)
{
	static const struct {
		const char	*type;
		int		 level;
	} types[] = {
		{ "application/json",		GZ_LEVEL_JSON },
		{ "application/vnd.ipld.car",	GZ_LEVEL_CAR },
	};
	size_t	 i, n;

	if (ctype == NULL)
		return 0;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = strlen(types[i].type);
		if (strncasecmp(ctype, types[i].type, n) == 0 &&
		    (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' '))
			return types[i].level;
	}
	return 0;
}

/* level: 1 (fastest) to 9 (smallest), as http_gzip_type gives it. */
struct http_gzip *
http_gzip_new(int level)
{
	struct http_gzip	*gz;

	if (level >= 0 && level < GZ_LEVELS &&
	    (gz = gz_spare[level]) != NULL) {
		gz_spare[level] = NULL;
		if (deflateReset(&gz->z) == Z_OK)
			return gz;
		deflateEnd(&gz->z);
		free(gz);
	}
	if ((gz = calloc(1, sizeof(*gz))) == NULL)
		return NULL;
	if (deflateInit2(&gz->z, level, Z_DEFLATED, GZ_WBITS, GZ_MEMLEVEL,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		free(gz);
		return NULL;
	}
	gz->level = level;
	return gz;
}

void
http_gzip_free(struct http_gzip *gz)
{
	if (gz == NULL)
		return;
	if (!gz->raw && gz->level >= 0 && gz->level < GZ_LEVELS &&
	    gz_spare[gz->level] == NULL) {
		gz_spare[gz->level] = gz;
		return;
	}
#ifdef HAVE_ISAL
	if (gz->raw) {
		free(gz->is);
		free(gz->isbuf);
		free(gz);
		return;
	}
#endif
	deflateEnd(&gz->z);
	free(gz);
}

#ifdef HAVE_ISAL
static int	is_deflate(struct http_gzip *, const void *, size_t,
		    struct evbuffer *, int, int);
#endif

/*
 * Deflate len bytes (maybe none) into out; flush is a zlib flush mode
 * (for an igzip piece: none, a sync flush or the end).
 */
static int
gz_deflate(struct http_gzip *gz, const void *data, size_t len,
    struct evbuffer *out, int flush)
{
	struct evbuffer_iovec	 v;
	int			 rc;

#ifdef HAVE_ISAL
	if (gz->is != NULL)
		return is_deflate(gz, data, len, out, flush != Z_NO_FLUSH,
		    flush == Z_FINISH);
#endif
	gz->z.next_in = (Bytef *)(uintptr_t)data;
	gz->z.avail_in = len;
	do {
		if (evbuffer_reserve_space(out, GZ_OUTSTEP, &v, 1) < 1)
			return -1;
		gz->z.next_out = v.iov_base;
		gz->z.avail_out = v.iov_len;
		rc = deflate(&gz->z, flush);
		if (rc == Z_STREAM_ERROR)
			return -1;
		v.iov_len -= gz->z.avail_out;
		if (evbuffer_commit_space(out, &v, 1) == -1)
			return -1;
	} while (gz->z.avail_out == 0 || gz->z.avail_in > 0);
	return flush == Z_FINISH && rc != Z_STREAM_END ? -1 : 0;
}

/*
 * Move everything in "in" through the compressor into "out"; with last
 * set, end the gzip stream too.  "in" must hold memory only: a file
 * segment (evbuffer_add_file) has no bytes to peek at.
 */
/*
 * Deflate and drain all of "in" with no flush; crc and len, when not
 * NULL, add up what went in.
 */
static int
gz_feed(struct http_gzip *gz, struct evbuffer *in, struct evbuffer *out,
    uint32_t *crc, size_t *len)
{
	struct evbuffer_iovec	 v[8];
	size_t			 done;
	int			 i, n;

	while (evbuffer_get_length(in) > 0) {
		if ((n = evbuffer_peek(in, -1, NULL, v, 8)) <= 0)
			return -1;
		if (n > 8)
			n = 8;
		for (i = 0, done = 0; i < n; i++) {
			if (crc != NULL)
				*crc = crc32(*crc, v[i].iov_base,
				    v[i].iov_len);
			if (gz_deflate(gz, v[i].iov_base, v[i].iov_len, out,
			    Z_NO_FLUSH) == -1)
				return -1;
			done += v[i].iov_len;
		}
		if (len != NULL)
			*len += done;
		if (evbuffer_drain(in, done) == -1)
			return -1;
	}
	return 0;
}

int
http_gzip_write(struct http_gzip *gz, struct evbuffer *in,
    struct evbuffer *out, int last)
{
	if (gz_feed(gz, in, out, NULL, NULL) == -1)
		return -1;
	return last ? gz_deflate(gz, NULL, 0, out, Z_FINISH) : 0;
}

/*
 * Members of one gzip stream made apart: raw deflate pieces, each ended
 * on a byte boundary by a sync flush (the last one by the final block),
 * that can be compressed at the same time on different threads and
 * sent one after the other between a header and a trailer.  Each piece
 * starts with an empty window, which costs a 256 KiB piece of a CAR
 * about 0.3 % more bytes.
 */
#ifdef HAVE_ISAL
/*
 * With ISA-L, pieces are made by igzip, whose level 1 deflates the
 * bench's 2.70 MB CAR in 256 KiB pieces about six times faster than
 * zlib's level 1, to fewer bytes (1,050,022 against 1,058,595).  Its
 * levels above 1 cost more for little; a piece ends in a sync flush
 * as with zlib, so the pieces join the same way.
 */
#define IS_LEVEL	1
#define IS_BUFSZ	ISAL_DEF_LVL1_DEFAULT

struct http_gzip *
http_gzip_new_raw(int level)
{
	struct http_gzip	*gz;

	if ((gz = calloc(1, sizeof(*gz))) == NULL)
		return NULL;
	if ((gz->is = malloc(sizeof(*gz->is))) == NULL ||
	    (gz->isbuf = malloc(IS_BUFSZ)) == NULL) {
		free(gz->is);
		free(gz);
		return NULL;
	}
	gz->level = level;
	gz->raw = 1;
	return gz;
}

/* Deflate len bytes into out; flush or end what came before at "end". */
static int
is_deflate(struct http_gzip *gz, const void *data, size_t len,
    struct evbuffer *out, int end, int last)
{
	struct isal_zstream	*is = gz->is;
	struct evbuffer_iovec	 v;

	is->next_in = (uint8_t *)(uintptr_t)data;
	is->avail_in = len;
	is->flush = end ? SYNC_FLUSH : NO_FLUSH;
	is->end_of_stream = end && last;
	do {
		if (evbuffer_reserve_space(out, GZ_OUTSTEP, &v, 1) < 1)
			return -1;
		is->next_out = v.iov_base;
		is->avail_out = v.iov_len;
		if (isal_deflate(is) != COMP_OK)
			return -1;
		v.iov_len -= is->avail_out;
		if (evbuffer_commit_space(out, &v, 1) == -1)
			return -1;
	} while (is->avail_out == 0 || is->avail_in > 0);
	return 0;
}

/* A new piece: an empty window, nothing pending. */
static int
gz_piece_reset(struct http_gzip *gz)
{
	struct isal_zstream	*is = gz->is;

	isal_deflate_init(is);
	is->level = IS_LEVEL;
	is->level_buf = gz->isbuf;
	is->level_buf_size = IS_BUFSZ;
	is->gzip_flag = IGZIP_DEFLATE;
	return 0;
}

static int
gz_piece_ended(struct http_gzip *gz)
{
	return gz->is->internal_state.state == ZSTATE_END;
}
#else
struct http_gzip *
http_gzip_new_raw(int level)
{
	struct http_gzip	*gz;

	if ((gz = calloc(1, sizeof(*gz))) == NULL)
		return NULL;
	if (deflateInit2(&gz->z, level, Z_DEFLATED, -15, GZ_MEMLEVEL,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		free(gz);
		return NULL;
	}
	gz->level = level;
	gz->raw = 1;
	return gz;
}

static int
gz_piece_reset(struct http_gzip *gz)
{
	return deflateReset(&gz->z) == Z_OK ? 0 : -1;
}

/* gz_deflate checks that Z_FINISH ended the stream. */
static int
gz_piece_ended(struct http_gzip *gz)
{
	return 1;
}
#endif

/*
 * Compress all of "in" (memory only) into "out" as one piece; crc and
 * len tell what went in, for the trailer.
 */
int
http_gzip_piece(struct http_gzip *gz, struct evbuffer *in,
    struct evbuffer *out, int last, uint32_t *crc, size_t *len)
{
	*crc = crc32(0, NULL, 0);
	*len = 0;
	if (gz_piece_reset(gz) == -1 ||
	    gz_feed(gz, in, out, crc, len) == -1 ||
	    gz_deflate(gz, NULL, 0, out, last ? Z_FINISH : Z_SYNC_FLUSH) == -1)
		return -1;
	return last && !gz_piece_ended(gz) ? -1 : 0;
}

uint32_t
http_gzip_crc_combine(uint32_t crc, uint32_t crc2, size_t len2)
{
	return crc32_combine(crc, crc2, len2);
}

/* RFC 1952: no name, no time, from Unix. */
void
http_gzip_header(uint8_t h[HTTP_GZIP_HEADER])
{
	static const uint8_t	 hdr[HTTP_GZIP_HEADER] = {
		0x1f, 0x8b, Z_DEFLATED, 0, 0, 0, 0, 0, 0, 3
	};

	memcpy(h, hdr, sizeof(hdr));
}

/* The CRC-32 and the length modulo 2^32 of everything, little-endian. */
void
http_gzip_trailer(uint8_t t[HTTP_GZIP_TRAILER], uint32_t crc, uint64_t len)
{
	int	 i;

	for (i = 0; i < 4; i++) {
		t[i] = crc >> (8 * i);
		t[4 + i] = (uint32_t)len >> (8 * i);
	}
}
