#!/bin/sh
# Crash test: pdsd killed with SIGKILL, parent and children at once (its
# own process group), in the middle of a burst of writes, again and
# again, and in the middle of an import.  After each kill: the database
# passes PRAGMA integrity_check, the restarted daemon's head commit
# verifies with the account's key, every write acknowledged before the
# kill is there (and every acknowledged delete is not), the record rows
# are the tree's records, and the last event of the log is the #commit
# of the head's rev.
. "$(dirname "$0")/lib.subr"

NODE=$top/tests/node/node_modules/.bin/node
ROUNDS=${CRASH_ROUNDS:-8}
J='Content-Type: application/json'

write_conf
echo 'rate limits off' >>"$T/pdsd.conf"
DB=$T/data/pdsd.db

sql() {
	sqlite3 -cmd '.timeout 5000' "$DB" "$@"
}

# The daemon in a session of its own: one kill reaches every process.
start_group() {
	setsid "$PDSD" -d -f "$T/pdsd.conf" >>"$T/log" 2>&1 &
	PID=$!
	i=0
	while [ $i -lt 150 ]; do
		curl -fsS "$URL/xrpc/_health" >/dev/null 2>&1 && return 0
		kill -0 "$PID" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# kill_group [frontend-first]: SIGKILL to the whole group; ok when no
# process of it is left.
kill_group() {
	if [ -n "$1" ]; then
		kill -9 "$(children_of "$PID" | head -1)" 2>/dev/null
	fi
	# dash's kill takes no "--"; a negative pid is the group.  With the
	# frontend killed first, the parent may have stopped the rest and
	# gone before this kill: nothing of the group left is fine.
	if ! kill -9 "-$PID" 2>/dev/null && pgrep -g "$PID" >/dev/null; then
		notok "round $r: kill -9 of the group"
		kill -9 "$PID"
	fi
	wait "$PID" 2>/dev/null
	i=0
	while [ $i -lt 50 ] && pgrep -g "$PID" >/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	left=$(pgrep -g "$PID")
	[ -z "$left" ] && ok "round $r: no process of the killed group lingers" ||
	    notok "round $r: processes left" "$(ps -o pid,args -p "$left")"
	PID=
}

if ! start_group; then
	notok "pdsd starts" "$(tail -5 "$T/log")"
	done_testing
	exit 1
fi
[ "$(ps -o pgid= -p "$PID" | tr -d ' ')" = "$PID" ] &&
    [ "$(pgrep -g "$PID" | wc -l)" -ge 3 ] &&
    ok "pdsd, its frontend and signerd in one process group" ||
    notok "process group" "$(ps -o pid,pgid,args -g "$PID")"

# account handle: $did, $tok and the repo key $key.
account() {
	curl -sS -o "$T/body" -H "$J" -d "{\"handle\":\"$1\",\"email\":\"$1@example.com\",\"password\":\"pw-$1-crash\"}" \
	    "$URL/xrpc/com.atproto.server.createAccount"
	did=$(sed -n 's/.*"did":"\([^"]*\)".*/\1/p' "$T/body")
	tok=$(sed -n 's/.*"accessJwt":"\([^"]*\)".*/\1/p' "$T/body")
	key=did:key:$(curl -sS "$URL/xrpc/com.atproto.repo.describeRepo?repo=$did" |
	    sed -n 's/.*"publicKeyMultibase":"\([^"]*\)".*/\1/p')
	[ -n "$did" ] && [ -n "$tok" ] && [ "$key" != did:key: ]
}
account crash.test || notok "createAccount" "$(cat "$T/body")"
DID=$did TOK=$tok KEY=$key

# after_write label: one createRecord beside the writer's collection.
after_write() {
	code=$(curl -sS -o "$T/after.json" -w '%{http_code}' -H "$J" \
	    -H "Authorization: Bearer $TOK" -d "{\"repo\":\"$DID\",\"collection\":\"com.example.after\",\"record\":{\"\$type\":\"com.example.after\",\"at\":\"$1\"}}" \
	    "$URL/xrpc/com.atproto.repo.createRecord")
	[ "$code" = 200 ] && ok "$1" || notok "$1" "$code $(cat "$T/after.json")"
}

# Killed right after writes and started again at once, within signerd's
# rev lease (a second or two ahead of the clock): signerd refuses every
# rev up to that lease, so the frontend must take the floor signerd
# announces and write above it.
r=quick
for i in 1 2 3 4 5; do
	after_write "write $i before the quick restart"
done
kill_group
if ! start_group; then
	notok "pdsd restarts at once" "$(tail -5 "$T/log")"
	done_testing
	exit 1
fi
after_write "the first write after a kill and an immediate restart"
after_write "the second write after it"

# The writer: sequential writes until the daemon is gone.  Before each
# request "try <key>", after its 200 "ack <key> <cid>" ("-" for a
# delete): only the last try may be unanswered, and either outcome is
# then right for it.
cat >"$T/writer.mjs" <<'EOF'
import fs from 'node:fs'
const [url, did, tok, log, round] = process.argv.slice(2)
setTimeout(() => process.exit(2), 30000).unref()
const acked = fs.readFileSync(log, 'utf8').split('\n').filter((l) =>
  l.startsWith('ack ') && !l.endsWith(' -')).map((l) => l.split(' ')[1])
const C = 'com.example.crash'
const H = { 'Content-Type': 'application/json', Authorization: `Bearer ${tok}` }
const post = (m, body) => fetch(`${url}/xrpc/com.atproto.repo.${m}`,
  { method: 'POST', headers: H, body: JSON.stringify(body) })
for (let i = 0; ; i++) {
  let k, m, body, del = false
  const old = acked.length > 0 ? acked[(i * 7919) % acked.length] : null
  if (i % 5 === 3 && old) {
    k = old
    m = 'putRecord'
    body = { repo: did, collection: C, rkey: k, record: { $type: C, round, i, put: true } }
  } else if (i % 7 === 5 && old) {
    k = old
    m = 'deleteRecord'
    body = { repo: did, collection: C, rkey: k }
    del = true
  } else if (i % 4 === 1) {
    k = `r${round}a${i}`
    m = 'applyWrites'
    body = { repo: did, writes: [
      { $type: 'com.atproto.repo.applyWrites#create', collection: C, rkey: k,
        value: { $type: C, round, i, text: 'x'.repeat(i % 300) } },
      { $type: 'com.atproto.repo.applyWrites#create', collection: 'com.example.crash2',
        value: { $type: 'com.example.crash2', i } }] }
  } else {
    k = `r${round}c${i}`
    m = 'createRecord'
    body = { repo: did, collection: C, rkey: k, record: { $type: C, round, i } }
  }
  fs.appendFileSync(log, `try ${k}\n`)
  let r
  try {
    r = await post(m, body)
  } catch {
    process.exit(0)
  }
  const o = await r.json().catch(() => ({}))
  if (r.status !== 200) {
    fs.appendFileSync(log, `status ${k} ${r.status} ${JSON.stringify(o)}\n`)
    continue
  }
  const cid = del ? '-' : m === 'applyWrites' ? o.results[0].cid : o.cid
  fs.appendFileSync(log, `ack ${k} ${cid}\n`)
  if (!del) acked.push(k)
}
EOF
: >"$T/acks"

# The state every acknowledged write promised: "rkey cid" lines, or the
# keys of acknowledged deletes (gone).  Each round's writer is cut off
# by the kill with one request unanswered, which may or may not have
# committed (a put or a delete of an older key as much as a create):
# its key is left out until a later write to it is acknowledged.
acked_state() {
	awk -v want="$1" '
	    function unanswered() { if (open) unsure[last] = 1; open = 0 }
	    $1 == "try" { unanswered(); last = $2; open = 1 }
	    $1 == "ack" { st[$2] = $3; unsure[$2] = 0; open = 0 }
	    $1 == "status" { open = 0 }
	    END { unanswered()
		for (k in st) if (!unsure[k] && (st[k] == "-") == (want == "gone"))
			print want == "gone" ? k : k " " st[k] }' "$T/acks" | sort
}
promised() {
	acked_state promised
}
gone() {
	acked_state gone
}

# check label did key: the state after a restart.
check_repo() {
	curl -sS -o "$T/head.json" "$URL/xrpc/com.atproto.sync.getLatestCommit?did=$2"
	head=$(sed -n 's/.*"cid":"\([^"]*\)".*/\1/p' "$T/head.json")
	rev=$(sed -n 's/.*"rev":"\([^"]*\)".*/\1/p' "$T/head.json")
	curl -sS -o "$T/export.car" "$URL/xrpc/com.atproto.sync.getRepo?did=$2"
	"$PDSCTL" inspect --verify --key "$3" "$T/export.car" >"$T/inspect" 2>&1
	n=$(sql "SELECT count(*) FROM record WHERE did = '$2'")
	if grep -qx 'verify: ok' "$T/inspect" &&
	    grep -qx "records: $n" "$T/inspect" &&
	    grep -qx "root: $head" "$T/inspect" &&
	    [ "$(sql "SELECT commit_cid || ' ' || rev FROM repo_root WHERE did = '$2'")" = "$head $rev" ]
	then
		ok "$1: the head verifies; the tree holds the $n record rows"
	else
		notok "$1: head" "$head $rev rows $n: $(cat "$T/inspect")"
	fi
	last=$(sql "SELECT type, instr(payload, CAST('$rev' AS BLOB)) > 0 FROM repo_seq
	    WHERE did = '$2' ORDER BY seq DESC LIMIT 1")
	case $last in
	"#commit|1"|"#sync|1") ok "$1: the last event is the head's rev ($last)" ;;
	*) notok "$1: last event" "$last, head rev $rev" ;;
	esac
}

r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	"$NODE" "$T/writer.mjs" "$URL" "$DID" "$TOK" "$T/acks" "$r" \
	    >>"$T/writer.log" 2>&1 &
	wpid=$!
	# Once this round's writes are flowing (a loaded machine may take
	# seconds to start Node), 0.2 to 1.1 s into the burst.
	i=0
	while [ $i -lt 100 ] &&
	    ! grep -q "^ack r${r}[ac]" "$T/acks" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep "$(awk -v r="$r" 'BEGIN { srand(r); printf "%.2f", 0.2 + rand() * 0.9 }')"
	before=$(grep -c '^ack ' "$T/acks")
	if [ $((r % 4)) -eq 0 ]; then kill_group frontend; else kill_group; fi
	wait "$wpid"
	[ "$before" -gt 0 ] || notok "round $r: no write was acknowledged before the kill"
	ic=$(sql 'PRAGMA integrity_check')
	[ "$ic" = ok ] && ok "round $r: PRAGMA integrity_check after the kill" ||
	    notok "round $r: integrity_check" "$ic"
	if ! start_group; then
		notok "round $r: pdsd restarts" "$(tail -5 "$T/log")"
		break
	fi
	after_write "round $r: the first write after the restart"
	check_repo "round $r" "$DID" "$KEY"
	promised >"$T/want"
	sql "SELECT rkey, cid FROM record WHERE did = '$DID' AND
	    collection = 'com.example.crash' ORDER BY rkey" | tr '|' ' ' | sort >"$T/have"
	missing=$(comm -23 "$T/want" "$T/have")
	back=$(gone | comm -12 - "$(cut -d' ' -f1 "$T/have" >"$T/havek"; echo "$T/havek")")
	[ -z "$missing" ] && [ -z "$back" ] &&
	    ok "round $r: all $(wc -l <"$T/want") acknowledged records are there, no acknowledged delete undone" ||
	    notok "round $r: acknowledged writes" "missing: $missing; undeleted: $back"
	for k in $(echo "$missing" | cut -d' ' -f1) $back; do
		echo "# $k in the writers' log: $(grep " $k\( \|\$\)" "$T/acks" |
		    tr '\n' ';')"
		echo "# $k in the record table: $(sql "SELECT rkey, cid, rev
		    FROM record WHERE did = '$DID' AND rkey = '$k'")"
	done
done
echo "# $(grep -c '^ack ' "$T/acks") writes acknowledged over $r rounds"

#
# kill -9 in the middle of an import.
#
account imp.test || notok "createAccount imp" "$(cat "$T/body")"
IDID=$did IKEY=$key
"$NODE" -e '
const fs = require("fs"), dir = process.argv[1], did = process.argv[2]
fs.mkdirSync(`${dir}/com.example.big`, { recursive: true })
fs.writeFileSync(`${dir}/_commit.json`, JSON.stringify({ did }))
for (let i = 0; i < 10000; i++)
	fs.writeFileSync(`${dir}/com.example.big/k${i}.json`,
	    JSON.stringify({ $type: "com.example.big", i, text: "y".repeat(i % 200) }))' \
    "$T/big" "$IDID"
echo 5f1a9e22d8c0b7f4e3a2918c7d6b5a4f3e2d1c0b9a8f7e6d5c4b3a2918f7e6d5 >"$T/big.key"
# Two CARs of the same records under two revs, so that the head tells
# which one is in place.
for c in 1 2; do
	printf '{"did": "%s", "rev": "3lbbbbbbbb%s22"}\n' "$IDID" \
	    "$(echo "$c" | tr 12 cd)" \
	    >"$T/big/_commit.json"
	"$PDSCTL" pack "$T/big" "$T/big$c.car" -k "$T/big.key" >"$T/big$c.out" 2>&1 ||
	    notok "pack the big CAR $c" "$(cat "$T/big$c.out")"
done
BIGKEY=$(sed -n 's/^key: //p' "$T/big1.out")

# The second import replaces 10000 records: the time the kills aim at.
for c in 1 2; do
	t0=$(date +%s%N)
	"$PDSCTL" -s "$SOCK" import --did "$IDID" "$T/big$c.car" >"$T/imp.out" 2>&1
	irc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "# an import of 10000 records took $ms ms"
	[ $irc = 0 ] && grep -q "^imported $IDID: commit $(sed -n 's/^commit: //p' "$T/big$c.out"), rev .*, 10000 records" "$T/imp.out" &&
	    ok "import $c of 10000 records" || notok "import $c" "$(cat "$T/imp.out")"
	check_repo "after import $c" "$IDID" "$BIGKEY"
done

# Killed at a tenth, half, nine tenths and one and a half of that.
for frac in 10 50 90 150; do
	r=import-$frac%
	OLDHEAD=$(sql "SELECT commit_cid FROM repo_root WHERE did = '$IDID'")
	c=1
	[ "$OLDHEAD" = "$(sed -n 's/^commit: //p' "$T/big1.out")" ] && c=2
	NEWHEAD=$(sed -n 's/^commit: //p' "$T/big$c.out")
	"$PDSCTL" -s "$SOCK" import --did "$IDID" "$T/big$c.car" >"$T/imp.out" 2>&1 &
	ipid=$!
	sleep "$(awk -v ms="$ms" -v f="$frac" 'BEGIN { printf "%.3f", ms * f / 100000 }')"
	kill_group
	wait "$ipid"
	ic=$(sql 'PRAGMA integrity_check')
	[ "$ic" = ok ] && ok "$r: PRAGMA integrity_check" || notok "$r: integrity_check" "$ic"
	now=$(sql "SELECT commit_cid FROM repo_root WHERE did = '$IDID'")
	unreached=$(sql "SELECT count(*) FROM repo_block WHERE did = '$IDID' AND rev = ''")
	if ! start_group; then
		notok "$r: pdsd restarts" "$(tail -5 "$T/log")"
		break
	fi
	case $now in
	"$OLDHEAD")
		echo "# $r: killed before the import committed"
		grep -q '^imported' "$T/imp.out" &&
		    notok "$r: an acknowledged import was lost" "$(cat "$T/imp.out")" ;;
	"$NEWHEAD") echo "# $r: the import had committed" ;;
	*) notok "$r: the head is neither the old one nor the CAR's" "$now" ;;
	esac
	check_repo "$r" "$IDID" "$BIGKEY"
	[ "$unreached" = 0 ] && ok "$r: no half-imported block left" ||
	    notok "$r: blocks of an unfinished import" "$unreached"
done

# The account takes writes after all that, signed by our key again.
st=$(curl -sS -o "$T/body" -w '%{http_code}' -H "$J" -H "Authorization: Bearer $tok" \
    -d "{\"repo\":\"$IDID\",\"collection\":\"com.example.big\",\"record\":{\"\$type\":\"com.example.big\",\"after\":1}}" \
    "$URL/xrpc/com.atproto.repo.createRecord")
[ "$st" = 200 ] && ok "a write after the killed imports" || notok "write" "$st $(cat "$T/body")"
check_repo "after the write" "$IDID" "$IKEY"
r=last
kill_group

done_testing
