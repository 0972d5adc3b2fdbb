-- 0003: sessions.  Refresh token ids (the JWT's jti) with the id that
-- replaced each one on rotation, and app passwords.  The secret that
-- signs the tokens is not here: it is the file jwt.key in the data
-- directory.
CREATE TABLE app_password (
	did		TEXT NOT NULL REFERENCES account (did)
			ON DELETE CASCADE,
	name		TEXT NOT NULL,
	password_hash	TEXT NOT NULL,	-- hex argon2id, salt from the DID
	privileged	INTEGER NOT NULL DEFAULT 0,
	created_at	TEXT NOT NULL,	-- RFC 3339, UTC
	PRIMARY KEY (did, name)
) WITHOUT ROWID;
CREATE INDEX app_password_hash ON app_password (did, password_hash);

CREATE TABLE refresh_token (
	id		TEXT PRIMARY KEY NOT NULL,
	did		TEXT NOT NULL REFERENCES account (did)
			ON DELETE CASCADE,
	app_password_name TEXT,		-- NULL: the account password
	expires_at	INTEGER NOT NULL,	-- Unix seconds
	next_id		TEXT			-- set once rotated
) WITHOUT ROWID;
CREATE INDEX refresh_token_did ON refresh_token (did, expires_at);
