#!/bin/sh
# com.atproto.sync.subscribeRepos against the real daemon: a Node
# consumer (tests/node/firehose.mjs) checks replay, live events, errors,
# a slow consumer and the reference consumer (@atproto/sync); then the
# event log is aged by hand to check pruning and OutdatedCursor.
. "$(dirname "$0")/lib.subr"

NODE=$top/tests/node/node_modules/.bin/node
STREAM=/xrpc/com.atproto.sync.subscribeRepos

# run_node args...: the script's ok / not ok lines become ours.
run_node() {
	"$NODE" "$top/tests/node/firehose.mjs" "$@" 2>"$T/node.err" |
	    while IFS= read -r line; do
		case $line in
		"ok - "*) echo "ok ${line#ok - }" ;;
		"not ok - "*) echo "not ok ${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	    done >"$T/node.out"
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok }" ;;
		"not ok "*) notok "${line#not ok }" ;;
		*) echo "$line" ;;
		esac
	done <"$T/node.out"
	[ -s "$T/node.err" ] && sed 's/^/# stderr: /' "$T/node.err" | head -20
	return 0
}

# Open a subscription and drop it: starts the firehose (and its pruning).
poke() {
	curl -sS -o /dev/null -m 1 -H 'Upgrade: websocket' \
	    -H 'Connection: Upgrade' -H 'Sec-WebSocket-Version: 13' \
	    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
	    "$URL$STREAM" 2>/dev/null
	return 0
}

# wait_sql "query" want: poll the database for at most 5 s.
wait_sql() {
	i=0
	while [ $i -lt 50 ]; do
		got=$(sqlite3 "$DB" "$1")
		[ "$got" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

restart() {
	kill -TERM "$PID"; wait_gone "$PID" 50; PID=
	start_pdsd || notok "pdsd restarts" "$(tail -5 "$T/log")"
}

if [ ! -x "$NODE" ]; then
	notok "Node 22 in tests/node (make deps)" "$NODE"
	done_testing
	exit 1
fi
write_conf
must_start_pdsd
DB=$T/data/pdsd.db

run_node main "$URL"

# Retention: age the first account's events past the limit.
max=$(sqlite3 "$DB" "SELECT max(seq) FROM repo_seq")
sqlite3 "$DB" "UPDATE repo_seq SET created_at = '2000-01-01T00:00:00.000Z'
    WHERE seq <= 4"
restart
poke
wait_sql "SELECT min(seq) || ' ' || max(seq) FROM repo_seq" "5 $max" &&
    ok "events past retention are pruned" ||
    notok "pruning" "got $got, want 5 $max"
run_node outdated "$URL" 5

# Everything old: the newest event stays, so its seq is never reused.
sqlite3 "$DB" "UPDATE repo_seq SET created_at = '2000-01-01T00:00:00.000Z'"
restart
poke
wait_sql "SELECT count(*) || ' ' || max(seq) FROM repo_seq" "1 $max" &&
    ok "the newest event is always kept" ||
    notok "newest kept" "got $got, want 1 $max"
curl -sS -o /dev/null -H 'content-type: application/json' \
    -d '{"handle":"zed.test","email":"zed@example.com","password":"pw-zed-123"}' \
    "$URL/xrpc/com.atproto.server.createAccount"
n=$(sqlite3 "$DB" "SELECT min(seq) FROM repo_seq WHERE did <> (SELECT did
    FROM repo_seq WHERE seq = $max)")
[ "$n" = $((max + 1)) ] && ok "numbering goes on after a prune" ||
    notok "seq after prune" "got $n, want $((max + 1))"

kill -0 "$PID" 2>/dev/null && ok "pdsd still running" || notok "pdsd died"
kill -TERM "$PID"; wait_gone "$PID" 50; PID=
done_testing
