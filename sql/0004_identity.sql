-- 0004: the did:plc operations this server signed for its accounts, in
-- order (the DID document is served from them when no PLC directory is
-- configured, and they are what a directory would have received).
CREATE TABLE plc_op (
	did		TEXT NOT NULL,
	seq		INTEGER NOT NULL,
	cid		TEXT NOT NULL,
	op		BLOB NOT NULL,		-- signed, DAG-CBOR
	created_at	TEXT NOT NULL,
	PRIMARY KEY (did, seq)
) WITHOUT ROWID;
