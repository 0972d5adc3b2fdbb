-- 0006: invite codes and their uses (registration invite), and the
-- one-time tokens that confirm an account deletion.
CREATE TABLE invite_code (
	code		TEXT PRIMARY KEY NOT NULL,
	available_uses	INTEGER NOT NULL CHECK (available_uses >= 0),
	disabled	INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	for_account	TEXT NOT NULL,		-- a DID, or 'admin'
	created_by	TEXT NOT NULL,		-- 'admin' or a DID
	created_at	TEXT NOT NULL		-- RFC 3339, UTC
) WITHOUT ROWID;
CREATE INDEX invite_code_for ON invite_code (for_account);

-- Kept when the account that used a code goes: the count is history.
CREATE TABLE invite_use (
	code		TEXT NOT NULL REFERENCES invite_code (code),
	used_by		TEXT NOT NULL,		-- the new account's DID
	used_at		TEXT NOT NULL,
	PRIMARY KEY (code, used_by)
) WITHOUT ROWID;
CREATE INDEX invite_use_by ON invite_use (used_by);

-- Made by "pdsctl account delete-token" (or requestAccountDelete);
-- deleteAccount wants it with the password.  One per account: a new one
-- replaces the old.
CREATE TABLE account_delete_token (
	did		TEXT PRIMARY KEY NOT NULL REFERENCES account (did)
			ON DELETE CASCADE,
	token		TEXT NOT NULL,		-- XXXXX-XXXXX, base32 upper case
	expires_at	INTEGER NOT NULL	-- Unix seconds
) WITHOUT ROWID;
