-- 0010: what a post points at, for searchPosts' mentions, url and domain:
-- the DIDs its mention facets name, and the URLs of its link facets and
-- external embed with their host names (lower case, without "www.").
-- Derived from the post record like the rest of 0008; a database made
-- before this migration finds older posts once "pdsctl index rebuild"
-- has run.
CREATE TABLE bsky_post_ref (
	kind		TEXT NOT NULL,		-- mention, url, domain
	value		TEXT NOT NULL,
	uri		TEXT NOT NULL,
	PRIMARY KEY (kind, value, uri)
) WITHOUT ROWID;
CREATE INDEX bsky_post_ref_uri ON bsky_post_ref (uri);

-- Reposts by time, as 0008 has posts: the timeline reads the newest of
-- each first (xrpc_bsky_feed.c).
CREATE INDEX bsky_repost_time ON bsky_repost (indexed_at, uri);

-- Followers with their DIDs, so that counting the active ones reads
-- this index and the accounts, not every account (appview.c).
CREATE INDEX bsky_follow_subject_did ON bsky_follow (subject, did);

-- Whether the viewer liked or reposted a post, asked for every post
-- view: found in these without reading each like of a popular post.
CREATE INDEX bsky_like_subject_did ON bsky_like (subject, did);
CREATE INDEX bsky_repost_subject_did ON bsky_repost (subject, did);
