-- 0005: the event log behind com.atproto.sync.subscribeRepos.  Each row
-- is written in the same transaction as the change it describes; the
-- payload is the frame body (DAG-CBOR, seq included), type its "t".
CREATE TABLE repo_seq (
	seq		INTEGER PRIMARY KEY,	-- strictly increasing
	did		TEXT NOT NULL,
	type		TEXT NOT NULL
			CHECK (type IN ('#commit', '#sync', '#identity',
			    '#account')),
	payload		BLOB NOT NULL,
	created_at	TEXT NOT NULL
);
CREATE INDEX repo_seq_did ON repo_seq (did);
CREATE INDEX repo_seq_created ON repo_seq (created_at);
