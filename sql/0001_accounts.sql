-- 0001: the accounts this server hosts.
CREATE TABLE account (
	did		TEXT PRIMARY KEY NOT NULL,
	handle		TEXT NOT NULL UNIQUE COLLATE NOCASE,
	email		TEXT UNIQUE COLLATE NOCASE,
	password_hash	TEXT,			-- argon2id, crypto_pwhash_str
	signing_key	TEXT NOT NULL,		-- did:key of the repo key
	status		TEXT NOT NULL DEFAULT 'active'
			CHECK (status IN ('active', 'deactivated',
			    'takendown', 'suspended')),
	created_at	TEXT NOT NULL		-- RFC 3339, UTC
) WITHOUT ROWID;

-- Key/value facts about this server (e.g. when the database was made).
CREATE TABLE server_meta (
	key		TEXT PRIMARY KEY NOT NULL,
	value		TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO server_meta (key, value)
    VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
