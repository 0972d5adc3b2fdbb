-- 0007: blobs.  The bytes are files named by CID under <datadir>/blobs,
-- one file for every account that uploaded the same content; these rows
-- say which account holds which blob and which records use it.
CREATE TABLE blob (
	did		TEXT NOT NULL,
	cid		TEXT NOT NULL,		-- raw codec, text form
	mime		TEXT NOT NULL,
	size		INTEGER NOT NULL,
	created_at	TEXT NOT NULL,
	used		INTEGER NOT NULL DEFAULT 0,	-- a record took it once
	idle_since	INTEGER NOT NULL,	-- Unix time: upload or last release
	PRIMARY KEY (did, cid)
) WITHOUT ROWID;
CREATE INDEX blob_cid ON blob (cid);
CREATE INDEX blob_idle ON blob (idle_since);

-- The blobs each record names; after an import, maybe not uploaded yet.
CREATE TABLE record_blob (
	did		TEXT NOT NULL,
	cid		TEXT NOT NULL,
	collection	TEXT NOT NULL,
	rkey		TEXT NOT NULL,
	PRIMARY KEY (did, cid, collection, rkey)
) WITHOUT ROWID;
CREATE INDEX record_blob_record ON record_blob (did, collection, rkey);

-- Files whose last row went: unlinked once that transaction committed.
CREATE TABLE blob_orphan (
	cid		TEXT PRIMARY KEY NOT NULL
) WITHOUT ROWID;
