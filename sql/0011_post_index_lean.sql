-- 0011: fewer index pages written per post.  Most posts are neither
-- replies nor quotes, and an index of NULLs costs a page of every
-- commit for no query: reply_parent and embed_uri are only looked up
-- by equality, which a partial index serves.  Nothing looks posts up
-- by reply_root (an author's threads filter it with LIKE on their own
-- posts, read through bsky_post_did).  Nothing ranks search hits, so
-- the full-text index keeps no per-document sizes (columnsize=0); it
-- is rebuilt from bsky_post as "pdsctl index rebuild" does.
DROP INDEX bsky_post_root;
DROP INDEX bsky_post_parent;
DROP INDEX bsky_post_embed;
CREATE INDEX bsky_post_parent ON bsky_post (reply_parent)
    WHERE reply_parent IS NOT NULL;
CREATE INDEX bsky_post_embed ON bsky_post (embed_uri)
    WHERE embed_uri IS NOT NULL;

DROP TABLE bsky_post_fts;
CREATE VIRTUAL TABLE bsky_post_fts USING fts5(text, content='bsky_post',
    content_rowid='id', columnsize=0);
INSERT INTO bsky_post_fts (bsky_post_fts) VALUES ('rebuild');
