-- 0009: what each account keeps private on this server and never in its
-- repository: app.bsky preferences and muted actors and lists.

-- One row per preference object, in the order putPreferences gave them.
CREATE TABLE account_pref (
	id		INTEGER PRIMARY KEY,
	did		TEXT NOT NULL REFERENCES account (did)
			    ON DELETE CASCADE,
	name		TEXT NOT NULL,		-- its $type
	value_json	TEXT NOT NULL
);
CREATE INDEX account_pref_did ON account_pref (did, id);

-- Muted actors: any DID, hosted here or not.  id orders getMutes.
CREATE TABLE actor_mute (
	id		INTEGER PRIMARY KEY,
	did		TEXT NOT NULL REFERENCES account (did)
			    ON DELETE CASCADE,
	subject		TEXT NOT NULL,
	created_at	TEXT NOT NULL,
	UNIQUE (did, subject)
);

-- Muted lists (app.bsky.graph.list records), by AT URI.
CREATE TABLE list_mute (
	did		TEXT NOT NULL REFERENCES account (did)
			    ON DELETE CASCADE,
	list_uri	TEXT NOT NULL,
	created_at	TEXT NOT NULL,
	PRIMARY KEY (did, list_uri)
) WITHOUT ROWID;
