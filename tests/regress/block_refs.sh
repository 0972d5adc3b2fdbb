#!/bin/sh
# Record blocks shared by records of the same content, counted in their
# rows (sql/0012_block_refs.sql): tests/node/block_refs.mjs writes,
# deletes, updates and imports such records and checks after each step
# that every record reads and exports and that each block's count is
# its records'.  Then, with the daemon stopped, the database passes
# SQLite's integrity check and still holds what the writes left.
. "$(dirname "$0")/lib.subr"

J='Content-Type: application/json'

write_conf
must_start_pdsd
X=$URL/xrpc
account alice.test || notok "createAccount alice" "$st $(cat "$T/body")"
ALICE=$did
account bob.test || notok "createAccount bob" "$st $(cat "$T/body")"

node_tap block_refs block_refs.mjs "$URL" "$T/data/pdsd.db" \
    alice.test pw-alice.test bob.test pw-bob.test

kill -TERM "$PID"
if wait_gone "$PID" 100; then
	ok "pdsd stops"
	PID=
else
	notok "pdsd stops"
fi
DB=$T/data/pdsd.db
q() {
	sqlite3 "$DB" "$1"
}
[ "$(q "PRAGMA integrity_check")" = ok ] && ok "integrity_check" ||
    notok "integrity_check" "$(q "PRAGMA integrity_check" | head -5)"
bad=$(q "SELECT count(*) FROM repo_block b WHERE refs != (SELECT count(*)
    FROM record r WHERE r.did = b.did AND r.cid = b.cid)")
recs=$(q "SELECT count(*) FROM record WHERE collection = 'com.example.thing'")
sum=$(q "SELECT (SELECT total(refs) FROM repo_block) =
    (SELECT count(*) FROM record)")
idx=$(q "SELECT count(*) FROM sqlite_schema WHERE name = 'record_cid'")
# Every record of the test was deleted: none is left, nor a count of one.
[ "$bad" = 0 ] && [ "$recs" = 0 ] && [ "$sum" = 1 ] && [ "$idx" = 0 ] &&
    ok "after the stop: the counts are the records', none of the test's left" ||
    notok "after the stop" "bad $bad records $recs sum $sum index $idx"
n=$(q "SELECT count(*) FROM repo_block WHERE did = '$ALICE'")
[ "$n" -gt 0 ] && ok "the repository's nodes and commits stay ($n blocks)" ||
    notok "alice's blocks" "$n"

done_testing
