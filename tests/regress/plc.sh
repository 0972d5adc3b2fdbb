#!/bin/sh
# pdsd with a PLC directory: ../shared/bench/fake-plc.mjs stands in for
# plc.directory.  createAccount sends the genesis operation there before
# anything is stored, updateHandle sends an update chained by prev, and
# tests/node/plc_verify.mjs checks with @atproto/crypto that every
# operation verifies and that the directory serves pdsd's DID document.
# A directory that is down or refuses fails the request with nothing
# kept.
. "$(dirname "$0")/lib.subr"

NODE=$top/tests/node/node_modules/.bin/node
FAKEPLC=${PDS_SHARED:-$top/../shared}/bench/fake-plc.mjs

# start_plc: the fake directory, copied into $T, on a free port.
start_plc() {
	"$NODE" "$T/fake-plc.mjs" --port "$PLCPORT" --quiet >>"$T/plc.log" 2>&1 &
	PLCPID=$!
	i=0
	while [ $i -lt 100 ]; do
		curl -fsS "$PLC/_health" >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

stop_plc() {
	kill "$PLCPID" 2>/dev/null
	wait_gone "$PLCPID" 50
}

if ! cp "$FAKEPLC" "$T/fake-plc.mjs"; then
	notok "fake-plc.mjs found" "$FAKEPLC"
	done_testing
	exit 1
fi
PLCPORT=$(free_port)
PLC=http://127.0.0.1:$PLCPORT
if ! start_plc; then
	notok "fake PLC directory starts" "$(tail -5 "$T/plc.log")"
	done_testing
	exit 1
fi
write_conf
echo "plc directory \"$PLC/\"" >>"$T/pdsd.conf"
must_start_pdsd
X=$URL/xrpc
DB=$T/data/pdsd.db

# post method json [token] -> status in $st, body in $T/body
post() {
	if [ -n "$3" ]; then
		st=$(curl -sS -o "$T/body" -w '%{http_code}' \
		    -H 'content-type: application/json' \
		    -H "authorization: Bearer $3" -d "$2" "$X/$1")
	else
		st=$(curl -sS -o "$T/body" -w '%{http_code}' \
		    -H 'content-type: application/json' -d "$2" "$X/$1")
	fi
}

field() {
	sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$2" | head -1
}

sql() {
	sqlite3 -cmd '.timeout 5000' "$DB" "$1"
}

# expect "desc" status error message-substring
expect() {
	case $(cat "$T/body") in
	*"\"error\":\"$3\""*"$4"*)
		[ "$st" = "$2" ] && ok "$1" || notok "$1" "$st $(cat "$T/body")" ;;
	*) notok "$1" "$st $(cat "$T/body")" ;;
	esac
}

post com.atproto.server.createAccount \
    '{"handle":"alice.test","email":"alice@example.com","password":"pw-alice-123"}'
cp "$T/body" "$T/alice.json"
did=$(field did "$T/alice.json")
tok=$(field accessJwt "$T/alice.json")
[ "$st" = 200 ] && [ ${#did} = 32 ] && ok "createAccount with a directory" ||
    notok "createAccount" "$st $(cat "$T/body")"

n=$(curl -sS "$PLC/$did/log" | grep -o '"type":"plc_operation"' | wc -l)
[ "$n" = 1 ] && ok "the directory has the genesis operation" ||
    notok "directory log" "$(curl -sS "$PLC/$did/log")"
curl -sS "$PLC/$did/data" >"$T/data.json"
grep -q '"alsoKnownAs":\["at://alice.test"\]' "$T/data.json" &&
    grep -q "\"endpoint\":\"http://localhost:$PORT\"" "$T/data.json" &&
    ok "directory data: handle and endpoint" ||
    notok "directory data" "$(cat "$T/data.json")"
if (cd "$top/tests/node" && "$NODE" plc_verify.mjs "$PLC" "$did=$T/alice.json") \
    >"$T/verify.out" 2>&1; then
	ok "genesis verifies; the directory's DID document is ours"
else
	notok "plc_verify genesis" "$(cat "$T/verify.out")"
fi

# getRecommendedDidCredentials: what the directory holds now.
st=$(curl -sS -o "$T/body" -w '%{http_code}' -H "authorization: Bearer $tok" \
    "$X/com.atproto.identity.getRecommendedDidCredentials")
rot=$(sed -n 's/.*"rotationKeys":\["\([^"]*\)"\].*/\1/p' "$T/data.json")
key=$(sed -n 's/.*"atproto":"\(did:key:[^"]*\)".*/\1/p' "$T/data.json")
case $(cat "$T/body") in
*"\"alsoKnownAs\":[\"at://alice.test\"]"*"\"atproto\":\"$key\""*"\"rotationKeys\":[\"$rot\"]"*"\"endpoint\":\"http://localhost:$PORT\""*)
	[ "$st" = 200 ] && [ -n "$rot" ] && ok "getRecommendedDidCredentials" ||
	    notok "getRecommendedDidCredentials" "$st" ;;
*) notok "getRecommendedDidCredentials" "$st $(cat "$T/body") rot=$rot key=$key" ;;
esac
st=$(curl -sS -o "$T/body" -w '%{http_code}' \
    "$X/com.atproto.identity.getRecommendedDidCredentials")
expect "getRecommendedDidCredentials needs a session" 401 \
    AuthMissing "Authentication Required"

# updateHandle: a second operation, chained to the first.
post com.atproto.identity.updateHandle '{"handle":"Alice2.test"}' "$tok"
[ "$st" = 200 ] && [ ! -s "$T/body" ] && ok "updateHandle" ||
    notok "updateHandle" "$st $(cat "$T/body")"
n=$(curl -sS "$PLC/$did/log" | grep -o '"type":"plc_operation"' | wc -l)
[ "$n" = 2 ] && ok "the directory has the update" || notok "update in log" "$n"
genesis=$(sql "SELECT cid FROM plc_op WHERE did = '$did' AND seq = 1")
curl -sS "$PLC/$did/log/last" | grep -q "\"prev\":\"$genesis\"" &&
    ok "the update's prev is the genesis CID" ||
    notok "prev" "$(curl -sS "$PLC/$did/log/last") want $genesis"
curl -sS "$PLC/$did/data" | grep -q '"alsoKnownAs":\["at://alice2.test"\]' &&
    ok "the directory names the new handle" || notok "new handle at directory"
[ "$(sql "SELECT handle FROM account WHERE did = '$did'")" = alice2.test ] &&
    ok "account row has the new handle" || notok "account handle"
[ "$(sql "SELECT count(*) FROM plc_op WHERE did = '$did'")" = 2 ] &&
    ok "both operations kept locally" || notok "local plc_op"
last=$(sql "SELECT type FROM repo_seq WHERE did = '$did' ORDER BY seq DESC LIMIT 1")
[ "$last" = "#identity" ] && ok "#identity event" || notok "#identity event" "$last"
r=$(curl -sS "$X/com.atproto.identity.resolveHandle?handle=alice2.test")
[ "$r" = "{\"did\":\"$did\"}" ] && ok "resolveHandle of the new handle" ||
    notok "resolveHandle new" "$r"
st=$(curl -sS -o "$T/body" -w '%{http_code}' \
    "$X/com.atproto.identity.resolveHandle?handle=alice.test")
expect "the old handle no longer resolves" 400 HandleNotFound \
    "Unable to resolve handle"
post com.atproto.server.createSession \
    '{"identifier":"alice2.test","password":"pw-alice-123"}'
cp "$T/body" "$T/alice2.json"
if (cd "$top/tests/node" && "$NODE" plc_verify.mjs "$PLC" "$did=$T/alice2.json") \
    >"$T/verify.out" 2>&1; then
	ok "both operations verify; DID documents agree after the update"
else
	notok "plc_verify update" "$(cat "$T/verify.out")"
fi

# Same handle again: nothing to sign, announced once more.
ev=$(sql "SELECT count(*) FROM repo_seq WHERE did = '$did'")
post com.atproto.identity.updateHandle '{"handle":"alice2.test"}' "$tok"
[ "$st" = 200 ] &&
    [ "$(sql "SELECT count(*) FROM plc_op WHERE did = '$did'")" = 2 ] &&
    [ "$(sql "SELECT count(*) FROM repo_seq WHERE did = '$did'")" = $((ev + 1)) ] &&
    ok "updateHandle to the current handle: an event, no operation" ||
    notok "same handle" "$st $(cat "$T/body")"

# Bad input.
post com.atproto.server.createAccount \
    '{"handle":"bob.test","email":"bob@example.com","password":"pw-bob-12345"}'
bobdid=$(field did "$T/body")
post com.atproto.identity.updateHandle '{"handle":"bob.test"}' "$tok"
expect "updateHandle to a taken handle" 400 InvalidRequest \
    "Handle already taken: bob.test"
post com.atproto.identity.updateHandle '{}' "$tok"
expect "updateHandle without a handle" 400 InvalidRequest \
    'Missing required key \"handle\" at $'
post com.atproto.identity.updateHandle '{"handle":"no spaces.test"}' "$tok"
expect "updateHandle with a bad handle" 400 InvalidRequest "Invalid handle"
post com.atproto.identity.updateHandle '{"handle":"ab.test"}' "$tok"
expect "updateHandle with a short handle" 400 InvalidHandle "Handle too short"
post com.atproto.identity.updateHandle '{"handle":"admin.test"}' "$tok"
expect "updateHandle to a reserved handle" 400 HandleNotAvailable \
    "Reserved handle"
post com.atproto.identity.updateHandle '{"handle":"alice.onion"}' "$tok"
expect "updateHandle to a banned TLD" 400 InvalidHandle \
    "Handle TLD is invalid or disallowed"
post com.atproto.identity.updateHandle '{"handle":"alice.test"}'
expect "updateHandle without a session" 401 AuthMissing "Authentication Required"
post com.atproto.identity.updateHandle '{"handle":"alice.test"}' "not.a.token"
[ "$st" = 400 ] || [ "$st" = 401 ] && ok "updateHandle with a bad token" ||
    notok "bad token" "$st"
# A handle elsewhere must resolve to us: this one cannot (no such host).
start=$(date +%s)
post com.atproto.identity.updateHandle \
    '{"handle":"nobody.pdsd-regress-no-such-host.com"}' "$tok"
expect "updateHandle to an external handle that does not resolve" 400 \
    InvalidRequest "External handle did not resolve to DID"
st=$(curl -sS -o "$T/body" -w '%{http_code}' \
    "$X/com.atproto.identity.resolveHandle?handle=nobody.pdsd-regress-no-such-host.com")
expect "resolveHandle of an external handle that does not resolve" 400 \
    InvalidRequest "Unable to resolve handle"
[ $(($(date +%s) - start)) -le 25 ] && ok "external lookups are bounded" ||
    notok "external lookups took too long"
[ "$(sql "SELECT handle FROM account WHERE did = '$did'")" = alice2.test ] &&
    ok "refused updates changed nothing" || notok "handle changed"

# Two updates at once: however they interleave, the directory's log and
# ours stay one chain.
pids=
for h in alice5 alice6; do
	curl -sS -o "$T/$h.out" -H 'content-type: application/json' \
	    -H "authorization: Bearer $tok" -d "{\"handle\":\"$h.test\"}" \
	    "$X/com.atproto.identity.updateHandle" &
	pids="$pids $!"
done
wait $pids
n=$(curl -sS "$PLC/$did/log" | grep -o '"type":"plc_operation"' | wc -l)
mine=$(sql "SELECT count(*) FROM plc_op WHERE did = '$did'")
h=$(sql "SELECT handle FROM account WHERE did = '$did'")
curl -sS "$PLC/$did/data" | grep -q "\"alsoKnownAs\":\[\"at://$h\"\]" &&
    [ "$n" = "$mine" ] && [ "$n" -ge 3 ] &&
    (cd "$top/tests/node" && "$NODE" plc_verify.mjs "$PLC" "$did") \
    >"$T/verify.out" 2>&1 &&
    ok "concurrent updates: one chain, here and at the directory" ||
    notok "concurrent updates" "dir $n ours $mine handle $h $(cat "$T/verify.out")"
post com.atproto.server.createSession \
    "{\"identifier\":\"$h\",\"password\":\"pw-alice-123\"}"
tok=$(field accessJwt "$T/body")

# A directory that refuses: a fresh one that never heard of the DID.
ops=$(sql "SELECT count(*) FROM plc_op")
ev=$(sql "SELECT count(*) FROM repo_seq")
stop_plc
start_plc || notok "fake PLC directory restarts"
post com.atproto.identity.updateHandle '{"handle":"alice3.test"}' "$tok"
expect "updateHandle the directory refuses" 502 UpstreamFailure \
    "PLC directory refused the operation (400): DID not registered"
[ "$(sql "SELECT handle FROM account WHERE did = '$did'")" = "$h" ] &&
    [ "$(sql "SELECT count(*) FROM plc_op")" = "$ops" ] &&
    [ "$(sql "SELECT count(*) FROM repo_seq")" = "$ev" ] &&
    ok "a refused update keeps nothing" || notok "refused update kept something"

# A directory that is down.
stop_plc
accts=$(sql "SELECT count(*) FROM account")
roots=$(sql "SELECT count(*) FROM repo_root")
post com.atproto.server.createAccount \
    '{"handle":"carol.test","email":"carol@example.com","password":"pw-carol-123"}'
expect "createAccount with the directory down" 502 UpstreamFailure \
    "PLC directory unreachable"
[ "$(sql "SELECT count(*) FROM account")" = "$accts" ] &&
    [ "$(sql "SELECT count(*) FROM repo_root")" = "$roots" ] &&
    [ "$(sql "SELECT count(*) FROM repo_seq")" = "$ev" ] &&
    [ "$(sql "SELECT count(*) FROM plc_op")" = "$ops" ] &&
    ok "nothing stored: no account, repo, event or operation" ||
    notok "directory down left something behind"
post com.atproto.identity.updateHandle '{"handle":"alice4.test"}' "$tok"
expect "updateHandle with the directory down" 502 UpstreamFailure \
    "PLC directory unreachable"
[ "$(sql "SELECT handle FROM account WHERE did = '$did'")" = "$h" ] &&
    ok "handle unchanged" || notok "handle changed while down"
curl -fsS "$X/_health" >/dev/null && kill -0 "$PID" &&
    ok "pdsd still serving" || notok "pdsd died"

# Back up: the same handle can be had now (nothing was half-made).
start_plc || notok "fake PLC directory restarts"
post com.atproto.server.createAccount \
    '{"handle":"carol.test","email":"carol@example.com","password":"pw-carol-123"}'
cdid=$(field did "$T/body")
cp "$T/body" "$T/carol.json"
[ "$st" = 200 ] && (cd "$top/tests/node" &&
    "$NODE" plc_verify.mjs "$PLC" "$cdid=$T/carol.json") >"$T/verify.out" 2>&1 &&
    ok "createAccount once the directory is back" ||
    notok "createAccount after outage" "$st $(cat "$T/verify.out")"
[ -n "$bobdid" ] && ok "a second account" || notok "bob created"
stop_plc
done_testing
