-- 0002: repositories.  Every block of every repo (MST nodes, records,
-- commits), the current root of each repo, and an index of its records.
-- CIDs are kept in their text form ("b..."), as the reference PDS keeps
-- them, so that exports list blocks in the same order.
CREATE TABLE repo_block (
	did		TEXT NOT NULL,
	cid		TEXT NOT NULL,
	rev		TEXT NOT NULL,		-- the commit that added it
	data		BLOB NOT NULL,
	PRIMARY KEY (did, cid)
) WITHOUT ROWID;
CREATE INDEX repo_block_rev ON repo_block (did, rev);

CREATE TABLE repo_root (
	did		TEXT PRIMARY KEY NOT NULL,
	commit_cid	TEXT NOT NULL,
	data_cid	TEXT NOT NULL,		-- the MST root
	rev		TEXT NOT NULL,
	updated_at	TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE record (
	did		TEXT NOT NULL,
	collection	TEXT NOT NULL,
	rkey		TEXT NOT NULL,
	cid		TEXT NOT NULL,
	rev		TEXT NOT NULL,
	indexed_at	TEXT NOT NULL,
	PRIMARY KEY (did, collection, rkey)
) WITHOUT ROWID;

-- A record block is dropped only when no record points at it (0012
-- replaces this index with a count in the block's row).
CREATE INDEX record_cid ON record (did, cid);
