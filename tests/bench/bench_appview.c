/*
 * The local app.bsky view at scale, part 1: a community generated
 * in-process, and what indexing adds to each write.
 *
 *	bench_appview [-a accounts] [-r records] [-w writes] datadir
 *
 * Makes datadir/pdsd.db (the daemon's own migrations) holding the
 * accounts (handles u0000.test..., password "bench-password", one
 * argon2id hash shared by all) and their records: for each record its
 * block and its "record" row, written with repo_store.c, and its index
 * rows, written by appindex_record() as the daemon's write path and
 * import do.  No MST nodes, commits or signing keys: the reads
 * measured here never touch them, and building them would cost more
 * than the rest (bench_repo measures that side).  Records carry
 * indexed_at times spread over the 30 days before now, in the order
 * they were made, so feeds page through a history.
 *
 * The community: every account has a profile and follows 100 others
 * (distinct), chosen with a skew (low-numbered accounts are popular); the
 * other records are posts (a third of them replies, some quotes, some
 * with hashtags, mentions and languages), likes and reposts, of
 * recent posts mostly.  Writes datadir/bench-appview.txt for the
 * client (appview.mjs): "account DID HANDLE", "thread URI" for the
 * posts with the most replies, "post URI" for random ones.
 *
 * Then, on the loaded database, the cost of indexing: writes timed one
 * at a time, each in its own transaction, split into the store part
 * (record block, record row, commit) and appindex_record().
 * Numbers only: nothing here passes or fails.
 */
#include <sys/stat.h>

#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "appview.h"
#include "auth.h"
#include "bench.h"
#include "cbor.h"
#include "cid.h"
#include "dm.h"
#include "dmjson.h"
#include "pdsd.h"
#include "repo_store.h"
#include "tid.h"

#define FOLLOWS		100
#define REV		"3kbenchbenchb"
#define RECENT		5000		/* posts that most interactions hit */
#define BATCH		20000		/* records per load transaction */
#define SPAN_S		(30 * 86400)
#define JSON_MAX	2048

struct post {
	uint32_t	 author;
	int32_t		 root;		/* index of the thread's root */
	uint32_t	 replies;
	char		 rkey[TID_BUFSZ];
	char		 cid[CID_STRSZ];
};

struct gen {
	sqlite3		*db;
	uint64_t	 rng;
	size_t		 naccounts;
	struct post	*posts;
	size_t		 nposts, maxposts;
	uint64_t	 t0_us;		/* the first record's time */
	uint64_t	 step_us;
	uint64_t	 seq;		/* records made so far */
	size_t		 n[6];		/* by kind, for the summary */
	size_t		 follow;	/* the next follow's subject */
	uint32_t	*followed;	/* FOLLOWS per account, distinct */
};

enum kind { K_PROFILE, K_FOLLOW, K_POST, K_LIKE, K_REPOST, K_OTHER };

static const char *const kind_name[] = {
	"profile", "follow", "post", "like", "repost", "other",
};

static const char *const colls[] = {
	"app.bsky.actor.profile", "app.bsky.graph.follow",
	"app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.feed.repost",
	"com.example.bench.note",
};

static const char *const words[] = {
	"garden", "coffee", "river", "protocol", "morning", "bicycle",
	"library", "sunset", "compiler", "mountain", "bread", "music",
	"train", "winter", "window", "letter", "island", "market",
	"pencil", "harbor", "forest", "signal", "kettle", "meadow",
};

static void
did_of(size_t i, char *buf, size_t len)
{
	char	 d[32];
	size_t	 k;

	snprintf(d, sizeof(d), "%019zu", i);
	for (k = 0; d[k] != '\0'; k++)
		d[k] = (char)('a' + (d[k] - '0'));
	snprintf(buf, len, "did:plc:bench%s", d);
}

static void
handle_of(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "u%04zu.test", i);
}

static void
iso_time(uint64_t us, char *buf, size_t len)
{
	time_t		 s = (time_t)(us / 1000000);
	struct tm	 tm;
	char		 t[32];

	gmtime_r(&s, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", t, (unsigned)(us / 1000 % 1000));
}

/* Skewed toward 0: the popular accounts. */
static size_t
popular(struct gen *g)
{
	double	 u = (double)(bench_rnd(&g->rng) % 1000000) / 1e6;

	return (size_t)(u * u * u * (double)g->naccounts) % g->naccounts;
}

/* A post to interact with: recent ones mostly. */
static size_t
some_post(struct gen *g)
{
	size_t	 n = g->nposts, w = n < RECENT ? n : RECENT;

	if (bench_rnd(&g->rng) % 10 < 7)
		return n - 1 - bench_rnd(&g->rng) % w;
	return bench_rnd(&g->rng) % n;
}

static void
strong_ref(struct gen *g, size_t p, char *buf, size_t len)
{
	char	 did[64];

	did_of(g->posts[p].author, did, sizeof(did));
	snprintf(buf, len, "{\"uri\":\"at://%s/app.bsky.feed.post/%s\","
	    "\"cid\":\"%s\"}", did, g->posts[p].rkey, g->posts[p].cid);
}

/* The record's JSON; the post's own fields in *pp when it is one. */
static void
record_json(struct gen *g, size_t who, enum kind k, const char *at,
    char *buf, size_t len, struct post *pp)
{
	char	 ref[512], ref2[512], did[64], text[256];
	size_t	 p, i, nw;
	int	 off;

	switch (k) {
	case K_PROFILE:
		snprintf(buf, len, "{\"$type\":\"%s\",\"displayName\":\"User "
		    "%zu\",\"description\":\"bench account %zu\","
		    "\"createdAt\":\"%s\"}", colls[k], who, who, at);
		return;
	case K_FOLLOW:
		did_of(g->follow, did, sizeof(did));
		snprintf(buf, len, "{\"$type\":\"%s\",\"subject\":\"%s\","
		    "\"createdAt\":\"%s\"}", colls[k], did, at);
		return;
	case K_LIKE:
	case K_REPOST:
		strong_ref(g, some_post(g), ref, sizeof(ref));
		snprintf(buf, len, "{\"$type\":\"%s\",\"subject\":%s,"
		    "\"createdAt\":\"%s\"}", colls[k], ref, at);
		return;
	case K_OTHER:
		snprintf(buf, len, "{\"$type\":\"%s\",\"text\":\"note %llu\","
		    "\"createdAt\":\"%s\"}", colls[k],
		    (unsigned long long)g->seq, at);
		return;
	case K_POST:
		break;
	}
	nw = 4 + bench_rnd(&g->rng) % 12;
	text[0] = '\0';
	for (i = 0; i < nw; i++) {
		if (i > 0)
			strlcat(text, " ", sizeof(text));
		strlcat(text, words[bench_rnd(&g->rng) %
		    (sizeof(words) / sizeof(words[0]))], sizeof(text));
	}
	off = snprintf(buf, len, "{\"$type\":\"%s\",\"createdAt\":\"%s\","
	    "\"langs\":[\"%s\"]", colls[k], at, bench_rnd(&g->rng) % 5 == 0 ?
	    "de" : "en");
	pp->root = -1;
	if (g->nposts > 0 && bench_rnd(&g->rng) % 3 == 0) {
		p = some_post(g);
		pp->root = g->posts[p].root >= 0 ? g->posts[p].root :
		    (int32_t)p;
		g->posts[p].replies++;
		strong_ref(g, (size_t)pp->root, ref, sizeof(ref));
		strong_ref(g, p, ref2, sizeof(ref2));
		off += snprintf(buf + off, len - off, ",\"reply\":{\"root\":%s,"
		    "\"parent\":%s}", ref, ref2);
	} else if (g->nposts > 0 && bench_rnd(&g->rng) % 10 == 0) {
		strong_ref(g, some_post(g), ref, sizeof(ref));
		off += snprintf(buf + off, len - off, ",\"embed\":{\"$type\":"
		    "\"app.bsky.embed.record\",\"record\":%s}", ref);
	}
	if (bench_rnd(&g->rng) % 8 == 0) {
		/* "#tag " then the text, the facet over the tag. */
		p = bench_rnd(&g->rng) % (sizeof(words) / sizeof(words[0]));
		off += snprintf(buf + off, len - off, ",\"text\":\"#%s %s\","
		    "\"facets\":[{\"index\":{\"byteStart\":0,\"byteEnd\":%zu},"
		    "\"features\":[{\"$type\":\"app.bsky.richtext.facet#tag\","
		    "\"tag\":\"%s\"}]}]}", words[p], text, strlen(words[p]) + 1,
		    words[p]);
	} else if (bench_rnd(&g->rng) % 8 == 0) {
		p = popular(g);
		handle_of(p, ref, sizeof(ref));
		did_of(p, did, sizeof(did));
		off += snprintf(buf + off, len - off, ",\"text\":\"@%s %s\","
		    "\"facets\":[{\"index\":{\"byteStart\":0,\"byteEnd\":%zu},"
		    "\"features\":[{\"$type\":"
		    "\"app.bsky.richtext.facet#mention\",\"did\":\"%s\"}]}]}",
		    ref, text, strlen(ref) + 1, did);
	} else
		off += snprintf(buf + off, len - off, ",\"text\":\"%s\"}",
		    text);
	if (off >= (int)len)
		errx(1, "record too long");
}

static sqlite3_stmt *
prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		errx(1, "%s: %s", sql, sqlite3_errmsg(db));
	return st;
}

static void
exec(sqlite3 *db, const char *sql)
{
	char	*e = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &e) != SQLITE_OK)
		errx(1, "%s: %s", sql, e);
}

/*
 * One record: block and row (the store part), then its index rows
 * unless noindex.  Times of each part added to st_us and ix_us.
 */
static void
put(struct gen *g, size_t who, enum kind k, int noindex, double *st_us,
    double *ix_us)
{
	static sqlite3_stmt	*rec;
	struct dm		*v;
	struct dm_buf		 b;
	struct cid		 c;
	struct post		 pp;
	const char		*e;
	char			 json[JSON_MAX], at[40], did[64], rkey[TID_BUFSZ];
	char			 cs[CID_STRSZ];
	uint64_t		 us;
	double			 t0, t1, t2;

	us = g->t0_us + g->seq * g->step_us;
	g->seq++;
	iso_time(us, at, sizeof(at));
	did_of(who, did, sizeof(did));
	if (k == K_PROFILE)
		strlcpy(rkey, "self", sizeof(rkey));
	else
		tid_encode(tid_make(us, (unsigned)(who % 1024)), rkey);
	memset(&pp, 0, sizeof(pp));
	record_json(g, who, k, at, json, sizeof(json), &pp);
	if (dmjson_parse_record(json, strlen(json), &v, &e) == -1)
		errx(1, "%s: %s", json, e);
	memset(&b, 0, sizeof(b));
	if (dm_cbor_encode(v, &b) == -1)
		errx(1, "encode");
	dm_free(v);
	cid_of_bytes(&c, CID_CODEC_DAGCBOR, b.p, b.len);
	cid_to_str(&c, cs, sizeof(cs));
	if (rec == NULL)
		rec = prep(g->db, "INSERT INTO record (did, collection, rkey, "
		    "cid, rev, indexed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	t0 = bench_now_us();
	if (rstore_ref_block(g->db, did, REV, &c, b.p, b.len, 1) == -1 ||
	    db_bind_strs(rec, 1, did, colls[k], rkey, cs, REV, at, NULL) ==
	    -1 || db_step_done(g->db, rec) == -1)
		errx(1, "store: %s", sqlite3_errmsg(g->db));
	t1 = bench_now_us();
	if (!noindex && appindex_record(g->db, did, colls[k], rkey) == -1)
		errx(1, "appindex_record: %s", sqlite3_errmsg(g->db));
	t2 = bench_now_us();
	dm_buf_free(&b);
	if (st_us != NULL)
		*st_us += t1 - t0;
	if (ix_us != NULL)
		*ix_us += t2 - t1;
	g->n[k]++;
	if (k == K_POST && g->nposts < g->maxposts) {
		pp.author = (uint32_t)who;
		strlcpy(pp.rkey, rkey, sizeof(pp.rkey));
		strlcpy(pp.cid, cs, sizeof(pp.cid));
		g->posts[g->nposts++] = pp;
	}
}

static void
accounts(struct gen *g)
{
	sqlite3_stmt	*st;
	char		 hash[crypto_pwhash_STRBYTES], did[64], handle[64];
	char		 email[96], at[40];
	size_t		 i;

	if (crypto_pwhash_str(hash, "bench-password", 14,
	    PWHASH_OPSLIMIT, PWHASH_MEMLIMIT) != 0)
		errx(1, "crypto_pwhash_str");
	iso_time(g->t0_us, at, sizeof(at));
	st = prep(g->db, "INSERT INTO account (did, handle, email, "
	    "password_hash, signing_key, created_at) VALUES (?1, ?2, ?3, ?4, "
	    "'did:key:zQ3shbenchbenchbenchbenchbenchbenchbenchbenchben', ?5)");
	exec(g->db, "BEGIN");
	for (i = 0; i < g->naccounts; i++) {
		did_of(i, did, sizeof(did));
		handle_of(i, handle, sizeof(handle));
		snprintf(email, sizeof(email), "%s@example.com", handle);
		if (db_bind_strs(st, 1, did, handle, email, hash, at, NULL) ==
		    -1 || db_step_done(g->db, st) == -1)
			errx(1, "account: %s", sqlite3_errmsg(g->db));
	}
	exec(g->db, "COMMIT");
	sqlite3_finalize(st);
}

static void
batch(struct gen *g)
{
	if (g->seq % BATCH == 0) {
		exec(g->db, "COMMIT");
		exec(g->db, "BEGIN");
	}
}

/*
 * The j-th account i follows: popular ones mostly, never itself, never
 * one it follows already (a client makes one follow record per pair).
 */
static void
pick_follow(struct gen *g, size_t i, size_t j, size_t nf)
{
	uint32_t	*mine = g->followed + i * nf;
	size_t		 p, k, tries;

	for (tries = 0;; tries++) {
		p = tries < 50 ? popular(g) : bench_rnd(&g->rng) %
		    g->naccounts;
		if (p == i)
			continue;
		for (k = 0; k < j; k++)
			if (mine[k] == p)
				break;
		if (k == j)
			break;
	}
	mine[j] = (uint32_t)p;
	g->follow = p;
}

/* Profiles and follows first, then posts, likes and reposts mixed. */
static void
load(struct gen *g, size_t nrecords)
{
	size_t	 i, j, rest, who, nf;
	unsigned r;

	exec(g->db, "BEGIN");
	for (i = 0; i < g->naccounts; i++) {
		put(g, i, K_PROFILE, 0, NULL, NULL);
		batch(g);
	}
	nf = FOLLOWS < g->naccounts - 1 ? FOLLOWS : g->naccounts - 1;
	if ((g->followed = calloc(g->naccounts * nf, sizeof(uint32_t))) ==
	    NULL)
		err(1, NULL);
	for (j = 0; j < nf; j++)
		for (i = 0; i < g->naccounts; i++) {
			pick_follow(g, i, j, nf);
			put(g, i, K_FOLLOW, 0, NULL, NULL);
			batch(g);
		}
	rest = nrecords > g->seq ? nrecords - g->seq : 0;
	for (i = 0; i < rest; i++) {
		who = bench_rnd(&g->rng) % g->naccounts;
		r = (unsigned)(bench_rnd(&g->rng) % 100);
		if (g->nposts == 0 || r < 35)
			put(g, who, K_POST, 0, NULL, NULL);
		else if (r < 87)
			put(g, who, K_LIKE, 0, NULL, NULL);
		else
			put(g, who, K_REPOST, 0, NULL, NULL);
		batch(g);
	}
	exec(g->db, "COMMIT");
}

static int
cmp_replies(const void *a, const void *b)
{
	const struct post	*x = a, *y = b;

	return (x->replies < y->replies) - (x->replies > y->replies);
}

static void
write_meta(struct gen *g, const char *dir)
{
	FILE		*f;
	struct post	*top;
	char		 path[1024], did[64], handle[64];
	size_t		 i, n;

	snprintf(path, sizeof(path), "%s/bench-appview.txt", dir);
	if ((f = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	for (i = 0; i < g->naccounts; i++) {
		did_of(i, did, sizeof(did));
		handle_of(i, handle, sizeof(handle));
		fprintf(f, "account %s %s\n", did, handle);
	}
	for (i = 0; i < 200 && g->nposts > 0; i++) {
		n = bench_rnd(&g->rng) % g->nposts;
		did_of(g->posts[n].author, did, sizeof(did));
		fprintf(f, "post at://%s/app.bsky.feed.post/%s\n", did,
		    g->posts[n].rkey);
	}
	n = g->nposts < 200 ? g->nposts : 200;
	if ((top = malloc(g->nposts * sizeof(*top) + 1)) == NULL)
		err(1, NULL);
	memcpy(top, g->posts, g->nposts * sizeof(*top));
	qsort(top, g->nposts, sizeof(*top), cmp_replies);
	for (i = 0; i < n; i++) {
		did_of(top[i].author, did, sizeof(did));
		fprintf(f, "thread at://%s/app.bsky.feed.post/%s %u\n", did,
		    top[i].rkey, top[i].replies);
	}
	free(top);
	if (fclose(f) == EOF)
		err(1, "%s", path);
}

/* Writes of one kind timed on the loaded database. */
static void
write_cost(struct gen *g, enum kind k, size_t n)
{
	double	*st, *ix, s = 0, x = 0, t0;
	size_t	 i;

	if ((st = calloc(n, sizeof(*st))) == NULL ||
	    (ix = calloc(n, sizeof(*ix))) == NULL)
		err(1, NULL);
	for (i = 0; i < n; i++) {
		t0 = bench_now_us();
		exec(g->db, "BEGIN");
		g->follow = bench_rnd(&g->rng) % g->naccounts;
		put(g, bench_rnd(&g->rng) % g->naccounts, k, 0, NULL, &ix[i]);
		exec(g->db, "COMMIT");
		/* The store part: all of it but the index, commit included. */
		st[i] = bench_now_us() - t0 - ix[i];
		s += st[i];
		x += ix[i];
	}
	qsort(st, n, sizeof(*st), bench_cmp_double);
	qsort(ix, n, sizeof(*ix), bench_cmp_double);
	printf("%-8s %6zu %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %7.0f%%\n",
	    kind_name[k], n, s / n, st[n / 2], st[n * 99 / 100], x / n,
	    ix[n / 2], ix[n * 99 / 100], 100.0 * x / s);
	free(st);
	free(ix);
}

static int64_t
count(sqlite3 *db, const char *table)
{
	char		 sql[128];
	sqlite3_stmt	*st;
	int64_t		 n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	st = prep(db, sql);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_appview [-a accounts] [-r records] "
	    "[-w writes] datadir\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct gen	 g;
	char		 path[1024], e[256];
	const char	*errstr;
	size_t		 nrec = 1000000, nwrites = 2000;
	double		 t0, t1;
	int		 ch;

	memset(&g, 0, sizeof(g));
	g.naccounts = 1000;
	while ((ch = getopt(argc, argv, "a:r:w:")) != -1) {
		switch (ch) {
		case 'a':
			g.naccounts = strtonum(optarg, 2, 1000000, &errstr);
			if (errstr != NULL)
				errx(1, "-a %s: %s", optarg, errstr);
			break;
		case 'r':
			nrec = strtonum(optarg, 1, 100000000, &errstr);
			if (errstr != NULL)
				errx(1, "-r %s: %s", optarg, errstr);
			break;
		case 'w':
			nwrites = strtonum(optarg, 100, 1000000, &errstr);
			if (errstr != NULL)
				errx(1, "-w %s: %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if (sodium_init() == -1)
		errx(1, "sodium_init");
	cid_init();
	mkdir(argv[optind], 0700);
	snprintf(path, sizeof(path), "%s/%s", argv[optind], PDSD_DB_FILE);
	unlink(path);
	if ((g.db = db_open(path, e, sizeof(e))) == NULL)
		errx(1, "%s: %s", path, e);
	g.rng = 0x9e3779b97f4a7c15ULL;
	g.maxposts = nrec + 4 * nwrites;
	if ((g.posts = calloc(g.maxposts, sizeof(*g.posts))) == NULL)
		err(1, NULL);
	g.step_us = (uint64_t)SPAN_S * 1000000 / nrec;
	g.t0_us = (uint64_t)time(NULL) * 1000000 - (uint64_t)SPAN_S * 1000000;

	t0 = bench_now_us();
	/* The load is rebuilt from nothing if it fails: no journal. */
	exec(g.db, "PRAGMA journal_mode = OFF");
	exec(g.db, "PRAGMA synchronous = OFF");
	exec(g.db, "PRAGMA cache_size = -524288");
	accounts(&g);
	load(&g, nrec);
	exec(g.db, "ANALYZE");
	exec(g.db, "PRAGMA journal_mode = WAL");
	exec(g.db, "PRAGMA synchronous = NORMAL");
	exec(g.db, "PRAGMA cache_size = -2000");
	t1 = bench_now_us();
	printf("generated %zu accounts, %llu records in %.1f s "
	    "(%.1f us/record): %zu profiles, %zu follows, %zu posts, "
	    "%zu likes, %zu reposts\n", g.naccounts,
	    (unsigned long long)g.seq, (t1 - t0) / 1e6,
	    (t1 - t0) / (double)g.seq, g.n[K_PROFILE], g.n[K_FOLLOW],
	    g.n[K_POST], g.n[K_LIKE], g.n[K_REPOST]);
	printf("index rows: %lld posts, %lld follows, %lld likes, "
	    "%lld reposts, %lld notifications, %lld tags; database %.0f MB\n",
	    (long long)count(g.db, "bsky_post"),
	    (long long)count(g.db, "bsky_follow"),
	    (long long)count(g.db, "bsky_like"),
	    (long long)count(g.db, "bsky_repost"),
	    (long long)count(g.db, "bsky_notif"),
	    (long long)count(g.db, "bsky_tag"),
	    (double)db_size(path) / 1e6);
	write_meta(&g, argv[optind]);

	/* New records are "now": after the whole history. */
	g.t0_us = (uint64_t)time(NULL) * 1000000 - g.seq * 1000;
	g.step_us = 1000;
	printf("\nwrite cost on the loaded database, one transaction per "
	    "write (us):\n%-8s %6s %9s %9s %9s %9s %9s %9s %8s\n", "kind", "n",
	    "store", "p50", "p99", "index", "p50", "p99", "idx/st");
	write_cost(&g, K_OTHER, nwrites);
	write_cost(&g, K_POST, nwrites);
	write_cost(&g, K_LIKE, nwrites);
	write_cost(&g, K_REPOST, nwrites);
	write_cost(&g, K_FOLLOW, nwrites);
	exec(g.db, "PRAGMA wal_checkpoint(TRUNCATE)");
	sqlite3_close(g.db);
	free(g.posts);
	free(g.followed);
	return 0;
}
