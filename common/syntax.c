/*
 * AT Protocol identifier syntax, written as small hand-rolled scanners
 * rather than regexes so that every bound is explicit and the code is
 * cheap to fuzz.  The rules follow the atproto specs; where the spec
 * is loose the interop fixtures decide.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "syntax.h"

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_lower(int c)
{
	return c >= 'a' && c <= 'z';
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

static int
to_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Length of the run up to the next c (or the end). */
static size_t
run_len(const char *s, size_t len, int c)
{
	const char *p;

	p = memchr(s, c, len);
	return p == NULL ? len : (size_t)(p - s);
}

/* A DNS-style label: 1..63 of [A-Za-z0-9-], no hyphen at either end. */
static bool
dns_label(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > 63)
		return false;
	if (s[0] == '-' || s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

bool
syntax_is_handle(const char *s, size_t len)
{
	size_t i, n, labels = 0, last = 0;

	if (len < 1 || len > HANDLE_MAX)
		return false;
	for (i = 0; i <= len; i += n + 1) {
		n = run_len(s + i, len - i, '.');
		if (!dns_label(s + i, n))
			return false;
		last = i;
		labels++;
	}
	/* The TLD must not start with a digit: no bare IPv4 addresses. */
	return labels >= 2 && is_alpha((unsigned char)s[last]);
}

bool
syntax_is_did(const char *s, size_t len)
{
	size_t i;
	char c;

	if (len > DID_MAX || len < 4 || memcmp(s, "did:", 4) != 0)
		return false;
	for (i = 4; i < len && is_lower((unsigned char)s[i]); i++)
		;
	if (i == 4 || i >= len || s[i] != ':')
		return false;
	if (++i == len)
		return false;
	for (; i < len; i++) {
		c = s[i];
		if (c == '\0' || (!is_alnum((unsigned char)c) &&
		    strchr("._:%-", c) == NULL))
			return false;
	}
	c = s[len - 1];
	return c != ':' && c != '%';
}

/* The NSID name segment: [A-Za-z][A-Za-z0-9]{0,62}. */
static bool
nsid_name(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > 63 || !is_alpha((unsigned char)s[0]))
		return false;
	for (i = 1; i < len; i++)
		if (!is_alnum((unsigned char)s[i]))
			return false;
	return true;
}

bool
syntax_is_nsid(const char *s, size_t len)
{
	size_t i, n, segs = 0;

	if (len < 1 || len > NSID_MAX)
		return false;
	/* Authority: a reversed hostname whose first label is the TLD. */
	for (i = 0; i < len; i += n + 1) {
		n = run_len(s + i, len - i, '.');
		if (i + n == len)
			break;
		if (!dns_label(s + i, n))
			return false;
		if (segs == 0 && !is_alpha((unsigned char)s[0]))
			return false;
		segs++;
	}
	if (segs < 2 || i >= len)
		return false;
	return nsid_name(s + i, len - i);
}

static bool
rkey_char(int c)
{
	return is_alnum(c) || (c != '\0' && strchr("._:~-", c) != NULL);
}

bool
syntax_is_rkey(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > RKEY_MAX)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' &&
	    s[1] == '.'))
		return false;
	for (i = 0; i < len; i++)
		if (!rkey_char((unsigned char)s[i]))
			return false;
	return true;
}

bool
syntax_is_tid(const char *s, size_t len)
{
	static const char alpha[] = "234567abcdefghijklmnopqrstuvwxyz";
	size_t i;

	if (len != TID_LEN)
		return false;
	/* The first character carries the top bits; bit 63 must be clear. */
	if (s[0] == '\0' || strchr("234567abcdefghij", s[0]) == NULL)
		return false;
	for (i = 1; i < len; i++)
		if (s[i] == '\0' || strchr(alpha, s[i]) == NULL)
			return false;
	return true;
}

bool
syntax_is_atid(const char *s, size_t len)
{
	return syntax_is_handle(s, len) || syntax_is_did(s, len);
}

static int
aturi_split(const char *s, size_t len, struct aturi *u)
{
	const char *p, *end = s + len;

	memset(u, 0, sizeof(*u));
	if (len > ATURI_MAX || len < 5 || memcmp(s, "at://", 5) != 0)
		return -1;
	p = s + 5;
	u->authority = p;
	u->authority_len = run_len(p, (size_t)(end - p), '/');
	if (!syntax_is_atid(p, u->authority_len))
		return -1;
	p += u->authority_len;
	if (p == end)
		return 0;
	u->collection = ++p;
	u->collection_len = run_len(p, (size_t)(end - p), '/');
	if (!syntax_is_nsid(p, u->collection_len))
		return -1;
	p += u->collection_len;
	if (p == end)
		return 0;
	u->rkey = ++p;
	u->rkey_len = (size_t)(end - p);
	if (!syntax_is_rkey(p, u->rkey_len))
		return -1;
	return 0;
}

int
aturi_parse(const char *s, size_t len, struct aturi *u)
{

	if (aturi_split(s, len, u) == 0)
		return 0;
	memset(u, 0, sizeof(*u));
	return -1;
}

bool
syntax_is_aturi(const char *s, size_t len)
{
	struct aturi u;

	return aturi_parse(s, len, &u) == 0;
}

/* Exactly n decimal digits at s, as a number, or -1. */
static int
digits(const char *s, size_t n)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	bool leap;

	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return (m == 2 && leap) ? 29 : days[m - 1];
}

struct dtparts {
	int	year, mon, day, hour, min, sec;
	int	offmin;		/* east of UTC */
};

/* "YYYY-MM-DDTHH:MM:SS" shape and field ranges. */
static bool
datetime_fields(const char *s, struct dtparts *d)
{
	if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':')
		return false;
	d->year = digits(s, 4);
	d->mon = digits(s + 5, 2);
	d->day = digits(s + 8, 2);
	d->hour = digits(s + 11, 2);
	d->min = digits(s + 14, 2);
	d->sec = digits(s + 17, 2);
	if (d->year < 0 || d->mon < 1 || d->mon > 12 || d->day < 1 ||
	    d->day > month_days(d->year, d->mon))
		return false;
	/* No leap seconds: neither reference implementation takes :60. */
	return d->hour >= 0 && d->hour <= 23 && d->min >= 0 &&
	    d->min <= 59 && d->sec >= 0 && d->sec <= 59;
}

/* The zone: "Z" or "+HH:MM" / "-HH:MM", but never "-00:00". */
static bool
datetime_zone(const char *s, size_t len, struct dtparts *d)
{
	int h, m;

	if (len == 1 && s[0] == 'Z') {
		d->offmin = 0;
		return true;
	}
	if (len != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
		return false;
	h = digits(s + 1, 2);
	m = digits(s + 4, 2);
	if (h < 0 || h > 23 || m < 0 || m > 59)
		return false;
	if (s[0] == '-' && h == 0 && m == 0)
		return false;
	d->offmin = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return true;
}

bool
syntax_is_datetime(const char *s, size_t len)
{
	struct dtparts d;
	size_t i = 19;

	if (len < 20 || len > DATETIME_MAX || !datetime_fields(s, &d))
		return false;
	if (s[i] == '.') {
		for (i++; i < len && is_digit((unsigned char)s[i]); i++)
			;
		if (i == 20)
			return false;
	}
	if (!datetime_zone(s + i, len - i, &d))
		return false;
	/* In UTC it must still be year 0000 or later. */
	if (d.year == 0 && d.mon == 1 && d.day == 1 &&
	    d.hour * 60 + d.min < d.offmin)
		return false;
	return true;
}

/* Every byte in s[0..len) is alphanumeric (and len is in [lo, hi]). */
static bool
alnum_run(const char *s, size_t len, size_t lo, size_t hi)
{
	size_t i;

	if (len < lo || len > hi)
		return false;
	for (i = 0; i < len; i++)
		if (!is_alnum((unsigned char)s[i]))
			return false;
	return true;
}

static bool
alpha_run(const char *s, size_t len, size_t lo, size_t hi)
{
	size_t i;

	if (!alnum_run(s, len, lo, hi))
		return false;
	for (i = 0; i < len; i++)
		if (!is_alpha((unsigned char)s[i]))
			return false;
	return true;
}

static bool
digit_run(const char *s, size_t len, size_t n)
{
	return len == n && digits(s, n) >= 0;
}

/* Case-insensitive equality of two subtags. */
static bool
subtag_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++)
		if (to_lower((unsigned char)a[i]) !=
		    to_lower((unsigned char)b[i]))
			return false;
	return true;
}

/*
 * RFC 5646 tags that do not fit the langtag production, and so are
 * listed whole (the "irregular" grandfathered set plus the regular
 * ones that the generic parse would reject).
 */
static const char *const lang_grandfathered[] = {
	"en-GB-oed", "i-ami", "i-bnn", "i-default", "i-enochian", "i-hak",
	"i-klingon", "i-lux", "i-mingo", "i-navajo", "i-pwn", "i-tao",
	"i-tay", "i-tsu", "sgn-BE-FR", "sgn-BE-NL", "sgn-CH-DE",
	"art-lojban", "cel-gaulish", "no-bok", "no-nyn", "zh-guoyu",
	"zh-hakka", "zh-min", "zh-min-nan", "zh-xiang",
};

#define LANG_MAXSUB	32

struct langtag {
	const char	*sub[LANG_MAXSUB];
	size_t		 len[LANG_MAXSUB];
	size_t		 n, i;
};

static bool
lang_split(const char *s, size_t len, struct langtag *t)
{
	size_t off = 0, n;

	t->n = t->i = 0;
	for (;;) {
		if (t->n == LANG_MAXSUB)
			return false;
		n = run_len(s + off, len - off, '-');
		if (n < 1 || n > 8)
			return false;
		t->sub[t->n] = s + off;
		t->len[t->n++] = n;
		off += n;
		if (off == len)
			return true;
		off++;
		if (off == len)
			return false;
	}
}

/* Is the current subtag of the tag a run of the given kind? */
#define CUR(t)	(t)->sub[(t)->i], (t)->len[(t)->i]
#define MORE(t)	((t)->i < (t)->n)

static bool
lang_variant(const char *s, size_t len)
{
	if (len == 4)
		return is_digit((unsigned char)s[0]) && alnum_run(s, len, 4, 4);
	return alnum_run(s, len, 5, 8);
}

/* "x-" followed by one or more 1..8 alphanumeric subtags. */
static bool
lang_privateuse(struct langtag *t)
{
	if (t->len[t->i] != 1 || to_lower((unsigned char)t->sub[t->i][0]) !=
	    'x')
		return false;
	if (++t->i == t->n)
		return false;
	for (; MORE(t); t->i++)
		if (!alnum_run(CUR(t), 1, 8))
			return false;
	return true;
}

/* Variants: no repeats, compared case-insensitively. */
static bool
lang_variants(struct langtag *t)
{
	size_t first = t->i, j;

	for (; MORE(t) && lang_variant(CUR(t)); t->i++)
		for (j = first; j < t->i; j++)
			if (subtag_eq(t->sub[j], t->len[j], CUR(t)))
				return false;
	return true;
}

/* Extensions: a singleton, then 2..8 alphanumerics; no repeated singleton. */
static bool
lang_extensions(struct langtag *t)
{
	char seen[36];
	size_t nseen = 0, start;
	int c;

	while (MORE(t) && t->len[t->i] == 1) {
		c = to_lower((unsigned char)t->sub[t->i][0]);
		if (c == 'x')
			break;
		if (!is_alnum(c) || memchr(seen, c, nseen) != NULL ||
		    nseen == sizeof(seen))
			return false;
		seen[nseen++] = (char)c;
		start = ++t->i;
		while (MORE(t) && t->len[t->i] >= 2 && alnum_run(CUR(t), 2, 8))
			t->i++;
		if (t->i == start)
			return false;
	}
	return true;
}

static bool
lang_parse(struct langtag *t)
{
	size_t ext, i;

	/*
	 * Language: 2 or 3 letters, lower-case as the fixtures demand
	 * ("JA" is refused); 4..8 letter languages are reserved or unused.
	 */
	if (!alpha_run(CUR(t), 2, 3))
		return false;
	for (i = 0; i < t->len[0]; i++)
		if (!is_lower((unsigned char)t->sub[0][i]))
			return false;
	t->i++;
	for (ext = 0; ext < 3 && MORE(t) && alpha_run(CUR(t), 3, 3); ext++)
		t->i++;
	if (MORE(t) && alpha_run(CUR(t), 4, 4))
		t->i++;
	if (MORE(t) && (alpha_run(CUR(t), 2, 2) || digit_run(CUR(t), 3)))
		t->i++;
	if (!lang_variants(t) || !lang_extensions(t))
		return false;
	if (MORE(t) && !lang_privateuse(t))
		return false;
	return !MORE(t);
}

bool
syntax_is_language(const char *s, size_t len)
{
	struct langtag t;
	size_t i;

	if (len < 1 || len > LANGUAGE_MAX)
		return false;
	for (i = 0; i < sizeof(lang_grandfathered) /
	    sizeof(lang_grandfathered[0]); i++)
		if (subtag_eq(s, len, lang_grandfathered[i],
		    strlen(lang_grandfathered[i])))
			return true;
	if (!lang_split(s, len, &t))
		return false;
	if (lang_privateuse(&t))
		return true;
	t.i = 0;
	return lang_parse(&t);
}

/*
 * The lexicon "cid" string format is deliberately loose (any multibase
 * text); only CIDv0 ("Qm...") is refused.
 */
bool
syntax_is_cid(const char *s, size_t len)
{
	size_t i;

	if (len < CIDSTR_MIN || len > CIDSTR_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '+' &&
		    s[i] != '=')
			return false;
	return memcmp(s, "Qmb", 3) != 0;
}

/* Generic URI: a scheme, a colon, then visible ASCII only. */
bool
syntax_is_uri(const char *s, size_t len)
{
	size_t i, n;

	if (len < 3 || len > URI_MAX || !is_lower((unsigned char)s[0]))
		return false;
	n = run_len(s, len, ':');
	if (n == len || n > 81 || n + 1 == len)
		return false;
	for (i = 1; i < n; i++)
		if (!is_lower((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-')
			return false;
	for (i = n + 1; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

int
handle_normalize(const char *s, size_t len, char *out, size_t outsz)
{
	size_t i;

	if (!syntax_is_handle(s, len) || outsz <= len)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = (char)to_lower((unsigned char)s[i]);
	out[len] = '\0';
	return 0;
}

bool
handle_has_suffix(const char *s, size_t len, const char *const *suffixes,
    size_t nsuffixes)
{
	const char *suf;
	size_t i, n;

	if (!syntax_is_handle(s, len))
		return false;
	for (i = 0; i < nsuffixes; i++) {
		suf = suffixes[i];
		if (suf[0] == '.')
			suf++;
		n = strlen(suf);
		/* Need "<label>." before the suffix. */
		if (n == 0 || len < n + 2 || s[len - n - 1] != '.')
			continue;
		if (subtag_eq(s + len - n, n, suf, n))
			return true;
	}
	return false;
}
