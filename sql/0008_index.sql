-- 0008: the local app.bsky view.  Rows derived from the records of our
-- own accounts, written in the transaction of each record write and
-- import (appindex.c), and recomputable from the repos alone: every
-- column comes from a record and its row in "record" (indexed_at), so
-- "pdsctl index rebuild" gives back the same rows.  Subjects are kept
-- as given: a like of a post that does not exist yet is a row like any
-- other, and shows once the post does.
CREATE TABLE bsky_post (
	id		INTEGER PRIMARY KEY,	-- the full-text rowid
	uri		TEXT NOT NULL UNIQUE,
	did		TEXT NOT NULL,
	rkey		TEXT NOT NULL,
	cid		TEXT NOT NULL,
	text		TEXT NOT NULL,
	created_at	TEXT,
	indexed_at	TEXT NOT NULL,
	reply_root	TEXT,
	reply_parent	TEXT,
	embed_uri	TEXT,			-- the quoted record
	media		TEXT,			-- images, video, external
	langs		TEXT			-- comma separated
);
CREATE INDEX bsky_post_did ON bsky_post (did, indexed_at, uri);
CREATE INDEX bsky_post_time ON bsky_post (indexed_at, uri);
CREATE INDEX bsky_post_parent ON bsky_post (reply_parent);
CREATE INDEX bsky_post_root ON bsky_post (reply_root);
CREATE INDEX bsky_post_embed ON bsky_post (embed_uri);

CREATE VIRTUAL TABLE bsky_post_fts USING fts5(text, content='bsky_post',
    content_rowid='id');
CREATE TRIGGER bsky_post_fts_ins AFTER INSERT ON bsky_post BEGIN
	INSERT INTO bsky_post_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER bsky_post_fts_del AFTER DELETE ON bsky_post BEGIN
	INSERT INTO bsky_post_fts (bsky_post_fts, rowid, text)
	    VALUES ('delete', old.id, old.text);
END;

CREATE TABLE bsky_tag (
	tag		TEXT NOT NULL,		-- lower case
	uri		TEXT NOT NULL,
	PRIMARY KEY (tag, uri)
) WITHOUT ROWID;
CREATE INDEX bsky_tag_uri ON bsky_tag (uri);

CREATE TABLE bsky_profile (
	did		TEXT PRIMARY KEY NOT NULL,
	cid		TEXT NOT NULL,
	display_name	TEXT,
	description	TEXT,
	avatar		TEXT,			-- blob CIDs
	banner		TEXT,
	created_at	TEXT,
	indexed_at	TEXT NOT NULL
) WITHOUT ROWID;

-- Follows, blocks (subject a DID), likes and reposts (subject a record).
CREATE TABLE bsky_follow (
	uri		TEXT PRIMARY KEY NOT NULL,
	did		TEXT NOT NULL,
	subject		TEXT NOT NULL,
	indexed_at	TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX bsky_follow_did ON bsky_follow (did, subject);
CREATE INDEX bsky_follow_subject ON bsky_follow (subject, indexed_at, uri);

CREATE TABLE bsky_block (
	uri		TEXT PRIMARY KEY NOT NULL,
	did		TEXT NOT NULL,
	subject		TEXT NOT NULL,
	indexed_at	TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX bsky_block_did ON bsky_block (did, subject);
CREATE INDEX bsky_block_subject ON bsky_block (subject);

CREATE TABLE bsky_like (
	uri		TEXT PRIMARY KEY NOT NULL,
	did		TEXT NOT NULL,
	subject		TEXT NOT NULL,
	subject_cid	TEXT,
	created_at	TEXT,
	indexed_at	TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX bsky_like_did ON bsky_like (did, indexed_at, uri);
CREATE INDEX bsky_like_subject ON bsky_like (subject, indexed_at, uri);

CREATE TABLE bsky_repost (
	uri		TEXT PRIMARY KEY NOT NULL,
	did		TEXT NOT NULL,
	subject		TEXT NOT NULL,
	subject_cid	TEXT,
	created_at	TEXT,
	indexed_at	TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX bsky_repost_did ON bsky_repost (did, indexed_at, uri);
CREATE INDEX bsky_repost_subject ON bsky_repost (subject, indexed_at, uri);

-- Who is told of which record, and why: recipients are the DIDs the
-- record names, whether or not the subject exists (read time decides).
CREATE TABLE bsky_notif (
	recipient	TEXT NOT NULL,
	uri		TEXT NOT NULL,
	reason		TEXT NOT NULL,
	author		TEXT NOT NULL,
	cid		TEXT NOT NULL,
	subject		TEXT,			-- reasonSubject
	indexed_at	TEXT NOT NULL,
	PRIMARY KEY (recipient, uri, reason)
) WITHOUT ROWID;
CREATE INDEX bsky_notif_time ON bsky_notif (recipient, indexed_at, uri);
CREATE INDEX bsky_notif_uri ON bsky_notif (uri);

-- Not derived from records: when each account last read its
-- notifications (updateSeen).  Rebuild leaves it alone.
CREATE TABLE bsky_seen (
	did		TEXT PRIMARY KEY NOT NULL,
	seen_at		TEXT NOT NULL
) WITHOUT ROWID;
