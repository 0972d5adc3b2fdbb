/*
 * Repositories in SQLite: blocks, roots and records round trip, per DID.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "blockstore.h"
#include "cid.h"
#include "log.h"
#include "pdsd.h"
#include "repo_store.h"

static const char	*alice = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
static const char	*bob = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";

static int
setup(void **state)
{
	sqlite3	*db;
	char	 err[256];

	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    db_migrate(db, err, sizeof(err)) == -1)
		return -1;
	*state = db;
	return 0;
}

static int
teardown(void **state)
{
	db_close(*state);
	return 0;
}

static void
test_blocks(void **state)
{
	sqlite3		*db = *state;
	struct cid	 c1, c2;
	uint8_t		*data;
	size_t		 len;

	cid_of_bytes(&c1, CID_CODEC_RAW, "one", 3);
	cid_of_bytes(&c2, CID_CODEC_RAW, "two", 3);
	assert_int_equal(rstore_get_block(db, alice, &c1, &data, &len), 1);
	assert_int_equal(rstore_put_block(db, alice, "3kaaaaaaaaaaa", &c1,
	    (const uint8_t *)"one", 3), 0);
	/* Same block again: kept, no error. */
	assert_int_equal(rstore_put_block(db, alice, "3kaaaaaaaaaab", &c1,
	    (const uint8_t *)"one", 3), 0);
	assert_int_equal(rstore_get_block(db, alice, &c1, &data, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "one", 3);
	free(data);
	/* Another repository does not see it. */
	assert_int_equal(rstore_get_block(db, bob, &c1, &data, &len), 1);
	assert_int_equal(rstore_get_block(db, alice, &c2, &data, &len), 1);
	/* No record points at it: an unref of 0 drops it. */
	assert_int_equal(rstore_unref_block(db, alice, &c1, 0), 0);
	assert_int_equal(rstore_get_block(db, alice, &c1, &data, &len), 1);
}

static int64_t
refs_of(sqlite3 *db, const char *did, const struct cid *c)
{
	sqlite3_stmt	*st;
	char		 s[CID_STRSZ];
	int64_t		 n = -1;

	assert_true(cid_to_str(c, s, sizeof(s)) > 0);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT refs FROM repo_block "
	    "WHERE did = ? AND cid = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, did, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * A record block counts the records pointing at it, per repository,
 * and goes with the last; a node block (count 0) goes at once, and one
 * a record points at stays when the tree lets go of it.
 */
static void
test_block_refs(void **state)
{
	sqlite3		*db = *state;
	struct cid	 r, n;
	const uint8_t	*rec = (const uint8_t *)"record", *node =
			    (const uint8_t *)"node";

	cid_of_bytes(&r, CID_CODEC_DAGCBOR, rec, 6);
	cid_of_bytes(&n, CID_CODEC_DAGCBOR, node, 4);
	assert_int_equal(rstore_ref_block(db, alice, "3kaaaaaaaaaaa", &r,
	    rec, 6, 1), 0);
	assert_int_equal(refs_of(db, alice, &r), 1);
	/* Two more, the rev of the first kept. */
	assert_int_equal(rstore_ref_block(db, alice, "3kaaaaaaaaaab", &r,
	    rec, 6, 2), 0);
	assert_int_equal(refs_of(db, alice, &r), 3);
	assert_int_equal(db_count(db, "repo_block"), 1);
	assert_int_equal(rstore_ref_block(db, bob, "3kaaaaaaaaaab", &r,
	    rec, 6, 1), 0);
	assert_int_equal(refs_of(db, bob, &r), 1);
	/* The tree letting go of it (0) leaves it to its records. */
	assert_int_equal(rstore_unref_block(db, alice, &r, 0), 0);
	assert_int_equal(refs_of(db, alice, &r), 3);
	assert_int_equal(rstore_unref_block(db, alice, &r, 2), 0);
	assert_int_equal(refs_of(db, alice, &r), 1);
	assert_int_equal(rstore_unref_block(db, alice, &r, 1), 0);
	assert_int_equal(refs_of(db, alice, &r), -1);
	assert_int_equal(refs_of(db, bob, &r), 1);
	/* Nothing there: nothing happens. */
	assert_int_equal(rstore_unref_block(db, alice, &r, 1), 0);
	assert_int_equal(refs_of(db, alice, &r), -1);
	/* A node's count is 0. */
	assert_int_equal(rstore_put_block(db, alice, "3kaaaaaaaaaaa", &n,
	    node, 4), 0);
	assert_int_equal(refs_of(db, alice, &n), 0);
	assert_int_equal(rstore_unref_block(db, alice, &n, 0), 0);
	assert_int_equal(refs_of(db, alice, &n), -1);
	assert_int_equal(db_count(db, "repo_block"), 1);
}

static int
collect(void *arg, const struct cid *c, const uint8_t *d, size_t len)
{
	char	**last = arg;
	char	  s[CID_STRSZ];

	assert_true(cid_to_str(c, s, sizeof(s)) > 0);
	if (*last != NULL)
		assert_true(strcmp(*last, s) < 0);
	free(*last);
	*last = strdup(s);
	assert_true(cid_verify(c, d, len));
	return 0;
}

static int
stop_at_first(void *arg, const struct cid *c, const uint8_t *d, size_t len)
{
	(*(int *)arg)++;
	return 7;
}

static void
test_foreach_order(void **state)
{
	sqlite3		*db = *state;
	struct cid	 c;
	char		 buf[16], *last = NULL;
	int		 i, n = 0;

	for (i = 0; i < 50; i++) {
		snprintf(buf, sizeof(buf), "block %d", i);
		cid_of_bytes(&c, CID_CODEC_RAW, buf, strlen(buf));
		assert_int_equal(rstore_put_block(db, alice, "3kaaaaaaaaaaa",
		    &c, (const uint8_t *)buf, strlen(buf)), 0);
	}
	assert_int_equal(rstore_foreach_block(db, alice, collect, &last), 0);
	assert_non_null(last);
	free(last);
	assert_int_equal(rstore_foreach_block(db, alice, stop_at_first, &n),
	    7);
	assert_int_equal(n, 1);
}

static void
test_roots(void **state)
{
	sqlite3			*db = *state;
	struct repo_root	 r, got;

	assert_int_equal(rstore_get_root(db, alice, &got), 1);
	memset(&r, 0, sizeof(r));
	cid_of_bytes(&r.commit, CID_CODEC_DAGCBOR, "c", 1);
	cid_of_bytes(&r.data, CID_CODEC_DAGCBOR, "d", 1);
	strlcpy(r.rev, "3kaaaaaaaaaaa", sizeof(r.rev));
	assert_int_equal(rstore_set_root(db, alice, &r), 0);
	assert_int_equal(rstore_get_root(db, alice, &got), 0);
	assert_true(cid_equal(&got.commit, &r.commit));
	assert_true(cid_equal(&got.data, &r.data));
	assert_string_equal(got.rev, r.rev);
	/* Replaced, not duplicated. */
	strlcpy(r.rev, "3kaaaaaaaaaab", sizeof(r.rev));
	assert_int_equal(rstore_set_root(db, alice, &r), 0);
	assert_int_equal(rstore_get_root(db, alice, &got), 0);
	assert_string_equal(got.rev, "3kaaaaaaaaaab");
	assert_int_equal(db_count(db, "repo_root"), 1);
	assert_int_equal(rstore_get_root(db, bob, &got), 1);
}

static void
test_records(void **state)
{
	sqlite3		*db = *state;
	struct cid	 c1, c2, got;

	cid_of_bytes(&c1, CID_CODEC_DAGCBOR, "r1", 2);
	cid_of_bytes(&c2, CID_CODEC_DAGCBOR, "r2", 2);
	assert_int_equal(rstore_get_record(db, alice, "app.bsky.feed.post",
	    "3k", &got), 1);
	assert_int_equal(rstore_put_record(db, alice, "app.bsky.feed.post",
	    "3k", &c1, "3kaaaaaaaaaaa"), 0);
	assert_int_equal(rstore_get_record(db, alice, "app.bsky.feed.post",
	    "3k", &got), 0);
	assert_true(cid_equal(&got, &c1));
	assert_int_equal(rstore_put_record(db, alice, "app.bsky.feed.post",
	    "3k", &c2, "3kaaaaaaaaaab"), 0);
	assert_int_equal(rstore_get_record(db, alice, "app.bsky.feed.post",
	    "3k", &got), 0);
	assert_true(cid_equal(&got, &c2));
	assert_int_equal(rstore_get_record(db, bob, "app.bsky.feed.post",
	    "3k", &got), 1);
	assert_int_equal(rstore_del_record(db, alice, "app.bsky.feed.post",
	    "3k"), 0);
	assert_int_equal(rstore_get_record(db, alice, "app.bsky.feed.post",
	    "3k", &got), 1);
}

static void
test_blockstore_vtable(void **state)
{
	sqlite3			*db = *state;
	struct rstore_bs	 rb = { db, alice, "3kaaaaaaaaaac" };
	struct blockstore	 bs;
	struct cid		 c;
	uint8_t			*data;
	size_t			 len;

	rstore_blockstore(&rb, &bs);
	cid_of_bytes(&c, CID_CODEC_RAW, "via vtable", 10);
	assert_int_equal(blockstore_put(&bs, &c,
	    (const uint8_t *)"via vtable", 10), 0);
	assert_int_equal(blockstore_get(&bs, &c, &data, &len), 0);
	assert_int_equal(len, 10);
	free(data);
	assert_int_equal(rstore_get_block(db, bob, &c, &data, &len), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_refs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_foreach_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_roots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blockstore_vtable, setup,
		    teardown),
	};

	log_init(1, 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
