#!/bin/sh
# pdsctl account and pdsctl invite against the real daemon, text and -j:
# create, list, show, disable/enable (takedown, with its #account
# events), password reset, delete-token; invite create and list.
. "$(dirname "$0")/lib.subr"

write_conf
must_start_pdsd
X=$URL/xrpc/com.atproto.server
J='content-type: application/json'
DB=$T/data/pdsd.db

ctl() {
	"$PDSCTL" -s "$SOCK" "$@"
}

# js file 'expression over o'
js() {
	node -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1]));
	    console.log(eval(process.argv[2]))' "$1" "$2"
}

# login identifier password: the status in $st, body in $T/body
login() {
	st=$(curl -sS -o "$T/body" -w '%{http_code}' -H "$J" \
	    -d "{\"identifier\":\"$1\",\"password\":\"$2\"}" "$X.createSession")
}

# The #account events of a DID, as JSON lines "active status".
account_events() {
	sqlite3 "$DB" "SELECT hex(payload) FROM repo_seq WHERE did = '$1' AND type = '#account' ORDER BY seq" |
	while read -r hex; do
		node -e 'process.stdout.write(Buffer.from(process.argv[1],"hex"))' "$hex" |
		    "$PDSCTL" cbor2json >"$T/ev.json"
		js "$T/ev.json" 'o.active+" "+(o.status===undefined?"-":o.status)'
	done | tr '\n' ';'
}

# Creation, with the password on stdin.
echo 'pw-alice-123' | ctl account create -e alice@example.com -p - alice.test >"$T/out" 2>"$T/err"
ALICE=$(cat "$T/out")
case $ALICE in did:plc:????????????????????????) ok "account create prints the DID" ;;
*) notok "account create" "$ALICE $(cat "$T/err")" ;; esac
echo 'pw-bob-123' | ctl account create -j -p - bob.test >"$T/out" 2>"$T/err"
[ "$(js "$T/out" 'o.handle+" "+o.email+" "+o.status+" "+o.did.startsWith("did:plc:")')" = "bob.test null active true" ] &&
    ok "account create -j, without an email" || notok "create -j" "$(cat "$T/out" "$T/err")"
BOB=$(js "$T/out" o.did)
login alice.test pw-alice-123
[ "$st" = 200 ] && ok "the new account logs in" || notok "login" "$(cat "$T/body")"
types=$(sqlite3 "$DB" "SELECT type FROM repo_seq WHERE did = '$ALICE' ORDER BY seq" | tr '\n' ' ')
[ "$types" = "#identity #account #commit #sync " ] &&
    ok "created as createAccount does: repo and events" || notok "events" "$types"

echo 'pw-x-123456' | ctl account create -e other@example.com -p - alice.test >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q 'Handle already taken: alice.test' "$T/err" &&
    ok "a taken handle: one line, exit 1" || notok "taken handle" "rc $rc $(cat "$T/err")"
echo 'pw-x-123456' | ctl account create -p - ab.test >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q 'Handle too short' "$T/err" && ok "a bad handle is refused" ||
    notok "bad handle" "$(cat "$T/err")"
ctl account create carol.test </dev/null >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q -- '-p -' "$T/err" && ok "no terminal and no -p -: refused" ||
    notok "no password" "$(cat "$T/err")"
printf '' | ctl account create -p - carol.test >/dev/null 2>&1
[ $? = 1 ] && ok "an empty password is refused" || notok "empty password"
n=$(sqlite3 "$DB" "SELECT count(*) FROM account")
[ "$n" = 2 ] && ok "refused creations leave nothing" || notok "accounts" "$n"

# Lists.
ctl account list >"$T/out"
[ "$(wc -l <"$T/out")" = 3 ] && head -1 "$T/out" | grep -q '^DID *HANDLE *EMAIL *STATUS *CREATED$' &&
    grep -q "^$ALICE *alice.test *alice@example.com *active " "$T/out" &&
    grep -q "^$BOB *bob.test *- *active " "$T/out" &&
    ok "account list" || notok "account list" "$(cat "$T/out")"
ctl account list -j >"$T/out"
[ "$(js "$T/out" 'o.map(a=>a.handle).join(",")')" = "alice.test,bob.test" ] &&
    ok "account list -j" || notok "list -j" "$(cat "$T/out")"

# Show, by handle and by DID.
commit=$(sqlite3 "$DB" "SELECT commit_cid || ' ' || rev FROM repo_root WHERE did = '$ALICE'")
ctl account show alice.test >"$T/out"
grep -q "^did: $ALICE$" "$T/out" && grep -q "^commit: ${commit% *}$" "$T/out" &&
    grep -q "^rev: ${commit#* }$" "$T/out" && grep -q '^records: 0$' "$T/out" &&
    grep -q '^status: active$' "$T/out" &&
    ok "account show" || notok "account show" "$(cat "$T/out")"
ctl account show -j "$ALICE" >"$T/out"
[ "$(js "$T/out" 'o.handle+" "+o.commit+" "+o.rev+" "+o.records')" = "alice.test $commit 0" ] &&
    ok "account show -j by DID" || notok "show -j" "$(cat "$T/out")"
ctl account show nobody.test >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] && [ ! -s "$T/out" ] && [ "$(cat "$T/err")" = "pdsctl: unknown account: nobody.test" ] &&
    ok "an unknown account: one line, exit 1" || notok "unknown" "rc $rc $(cat "$T/err")"
for sub in disable enable password delete-token; do
	opt=
	[ $sub = password ] && opt='-p -'
	# shellcheck disable=SC2086
	echo 'pw-123456' | ctl account $sub $opt nobody.test >/dev/null 2>"$T/err"
	rc=$?
	[ $rc = 1 ] && [ "$(cat "$T/err")" = "pdsctl: unknown account: nobody.test" ] &&
	    ok "account $sub of an unknown account" ||
	    notok "account $sub of an unknown account" "rc $rc $(cat "$T/err")"
done

# Takedown.
login alice.test pw-alice-123
REFRESH=$(js "$T/body" o.refreshJwt)
seq0=$(sqlite3 "$DB" "SELECT max(seq) FROM repo_seq")
ctl account disable alice.test >"$T/out"
[ "$(cat "$T/out")" = "alice.test ($ALICE): disabled" ] && ok "account disable" ||
    notok "disable" "$(cat "$T/out")"
s=$(sqlite3 "$DB" "SELECT status FROM account WHERE did = '$ALICE'")
[ "$s" = takendown ] && ok "status takendown" || notok "status" "$s"
last=$(sqlite3 "$DB" "SELECT seq || ' ' || type FROM repo_seq WHERE seq > $seq0")
[ "$last" = "$((seq0 + 1)) #account" ] && ok "one #account event" || notok "event" "$last"
[ "$(account_events "$ALICE")" = "true -;false takendown;" ] &&
    ok "the event says takendown" || notok "event payload" "$(account_events "$ALICE")"
login alice.test pw-alice-123
[ "$st" = 401 ] && [ "$(cat "$T/body")" = '{"error":"AccountTakedown","message":"Account has been taken down"}' ] &&
    ok "createSession refused: taken down" || notok "login after takedown" "$st $(cat "$T/body")"
st=$(curl -sS -o "$T/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $REFRESH" \
    "$X.refreshSession")
[ "$st" != 200 ] && ok "its sessions are over" || notok "refresh after takedown"
ctl account disable alice.test >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q 'already disabled' "$T/err" && ok "disable twice: refused" ||
    notok "disable twice" "$(cat "$T/err")"
ctl account enable bob.test >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q 'not disabled' "$T/err" && ok "enable an active account: refused" ||
    notok "enable active" "$(cat "$T/err")"
ctl account enable -j alice.test >"$T/out"
[ "$(js "$T/out" 'o.did+" "+o.status')" = "$ALICE active" ] && ok "account enable -j" ||
    notok "enable" "$(cat "$T/out")"
[ "$(account_events "$ALICE")" = "true -;false takendown;true -;" ] &&
    ok "enable emits an active #account event" || notok "enable event" "$(account_events "$ALICE")"
login alice.test pw-alice-123
[ "$st" = 200 ] && ok "createSession works again" || notok "login after enable" "$(cat "$T/body")"
REFRESH=$(js "$T/body" o.refreshJwt)

# Password reset: the old password and the sessions end.
echo 'pw-alice-new' | ctl account password -p - alice.test >"$T/out"
[ "$(cat "$T/out")" = "alice.test ($ALICE): password changed" ] && ok "account password" ||
    notok "password" "$(cat "$T/out")"
login alice.test pw-alice-123
s1=$st
login alice.test pw-alice-new
[ "$s1" = 401 ] && [ "$st" = 200 ] && ok "the new password, not the old" ||
    notok "password reset" "$s1 $st"
st=$(curl -sS -o "$T/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $REFRESH" \
    "$X.refreshSession")
[ "$st" != 200 ] && ok "sessions from before the reset are over" || notok "refresh after reset"
echo 'pw-bob-new' | ctl account password -j -p - "$BOB" >"$T/out"
[ "$(js "$T/out" 'o.handle')" = bob.test ] && ok "account password -j by DID" ||
    notok "password -j" "$(cat "$T/out")"

# Deletion tokens, for deleteAccount.
ctl account delete-token alice.test >"$T/out"
tok=$(cat "$T/out")
echo "$tok" | grep -Eq '^[A-Z2-7]{5}-[A-Z2-7]{5}$' && ok "delete-token prints a token" ||
    notok "delete-token" "$tok"
row=$(sqlite3 "$DB" "SELECT token, expires_at > strftime('%s','now') FROM account_delete_token WHERE did = '$ALICE'")
[ "$row" = "$tok|1" ] && ok "the token is stored, not yet expired" || notok "token row" "$row"
ctl account delete-token -j alice.test >"$T/out"
[ "$(js "$T/out" 'o.did+" "+o.handle+" "+/^[A-Z2-7]{5}-[A-Z2-7]{5}$/.test(o.token)+" "+(Date.parse(o.expiresAt)>Date.now())')" = "$ALICE alice.test true true" ] &&
    ok "delete-token -j" || notok "delete-token -j" "$(cat "$T/out")"
n=$(sqlite3 "$DB" "SELECT count(*) FROM account_delete_token WHERE did = '$ALICE' AND token = '$(js "$T/out" o.token)'")
[ "$n" = 1 ] && ok "a new token replaces the old" || notok "token replaced" "$n"

# Invites.
ctl invite create >"$T/out"
code=$(cat "$T/out")
echo "$code" | grep -Eq '^localhost-[a-z2-7]{5}-[a-z2-7]{5}$' && ok "invite create" ||
    notok "invite create" "$code"
ctl invite create -j -n 5 >"$T/out"
[ "$(js "$T/out" 'o.available+" "+o.used+" "+o.forAccount+" "+o.disabled')" = "5 0 admin false" ] &&
    ok "invite create -j -n 5" || notok "invite -n" "$(cat "$T/out")"
code5=$(js "$T/out" o.code)
ctl invite create -n 0 >/dev/null 2>&1
[ $? = 1 ] && ok "invite create -n 0: refused" || notok "-n 0"
ctl invite list >"$T/out"
[ "$(wc -l <"$T/out")" = 3 ] && grep -q "^$code *0/1 *admin " "$T/out" &&
    grep -q "^$code5 *0/5 *admin " "$T/out" && ok "invite list" ||
    notok "invite list" "$(cat "$T/out")"
ctl invite list -j >"$T/out"
[ "$(js "$T/out" 'o.map(c=>c.code+":"+c.available).join(",")')" = "$code:1,$code5:5" ] &&
    ok "invite list -j" || notok "invite list -j" "$(cat "$T/out")"

# pdsctl creates accounts whatever the registration mode says.
echo 'registration closed' >>"$T/pdsd.conf"
ctl reload >/dev/null 2>&1
st=$(curl -sS -o "$T/body" -w '%{http_code}' -H "$J" \
    -d '{"handle":"dave.test","email":"dave@example.com","password":"pw-dave-1"}' \
    "$X.createAccount")
echo 'pw-carol-123' | ctl account create -p - carol.test >"$T/out" 2>"$T/err"
rc=$?
[ "$st" = 400 ] && [ $rc = 0 ] && ok "registration closed: XRPC refused, pdsctl not" ||
    notok "closed" "$st rc $rc $(cat "$T/err")"

# Deletion by the operator: what deleteAccount removes, without the
# account's password or token.
echo 'pw-erin-123' | ctl account create -p - erin.test >"$T/out"
ERIN=$(cat "$T/out")
login erin.test pw-erin-123
EREFRESH=$(js "$T/body" o.refreshJwt)
st=$(curl -sS -o "$T/body" -w '%{http_code}' -H "$J" \
    -H "Authorization: Bearer $(js "$T/body" o.accessJwt)" -d '{"name":"ph"}' \
    "$X.createAppPassword")
[ "$st" = 200 ] || notok "erin's app password" "$(cat "$T/body")"
sqlite3 "$DB" "INSERT INTO account_delete_token (did, token, expires_at)
    VALUES ('$ERIN', 'AAAAA-BBBBB', strftime('%s','now') + 600)"
bob_rows=$(sqlite3 "$DB" "SELECT (SELECT count(*) FROM repo_block WHERE did = '$BOB') || ' ' ||
    (SELECT count(*) FROM repo_seq WHERE did = '$BOB')")
ctl account delete erin.test >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 0 ] && [ "$(cat "$T/out")" = "erin.test ($ERIN): deleted" ] &&
    ok "account delete" || notok "account delete" "rc $rc $(cat "$T/out" "$T/err")"
left=
for t in account repo_block record repo_root refresh_token app_password \
    account_delete_token; do
	n=$(sqlite3 "$DB" "SELECT count(*) FROM $t WHERE did = '$ERIN'")
	[ "$n" = 0 ] || left="$left $t=$n"
done
[ -z "$left" ] && ok "account delete leaves none of the account's rows" ||
    notok "rows left after account delete" "$left"
[ "$(sqlite3 "$DB" "SELECT type FROM repo_seq WHERE did = '$ERIN'")" = "#account" ] &&
    [ "$(account_events "$ERIN")" = "false deleted;" ] &&
    ok "only the tombstone: #account active false, status deleted" ||
    notok "tombstone" "$(account_events "$ERIN")"
[ "$(sqlite3 "$DB" "SELECT (SELECT count(*) FROM repo_block WHERE did = '$BOB') || ' ' ||
    (SELECT count(*) FROM repo_seq WHERE did = '$BOB')")" = "$bob_rows" ] &&
    ok "account delete touches no other account" || notok "bob touched"
login erin.test pw-erin-123
[ "$st" = 401 ] && ok "a deleted account cannot log in" || notok "login after delete" "$st"
st=$(curl -sS -o "$T/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $EREFRESH" \
    "$X.refreshSession")
[ "$st" = 400 ] && ok "a deleted account's session cannot be refreshed" ||
    notok "refresh after delete" "$st $(cat "$T/body")"
r=$(curl -sS -o /dev/null -w '%{http_code}' \
    "$URL/xrpc/com.atproto.identity.resolveHandle?handle=erin.test")
[ "$r" = 400 ] && ok "its handle no longer resolves" || notok "resolve after delete" "$r"
ctl account delete erin.test >/dev/null 2>"$T/err"
[ $? = 1 ] && [ "$(cat "$T/err")" = "pdsctl: unknown account: erin.test" ] &&
    ok "account delete of an unknown account: one line, exit 1" ||
    notok "delete twice" "$(cat "$T/err")"
ctl account delete >/dev/null 2>"$T/err"
[ $? = 1 ] && grep -q 'pdsctl account delete \[-j\]' "$T/err" &&
    ok "account delete without a name: usage" || notok "delete usage" "$(cat "$T/err")"
echo 'pw-erin-456' | ctl account create -p - erin.test >"$T/out" 2>"$T/err"
ERIN2=$(cat "$T/out")
[ -n "$ERIN2" ] && [ "$ERIN2" != "$ERIN" ] &&
    ok "the handle can be had again, by a new DID" || notok "recreate" "$(cat "$T/err")"
ctl account delete -j "$ERIN2" >"$T/out"
[ "$(js "$T/out" 'o.did+" "+o.handle+" "+o.status+" "+(o.rev===undefined)')" = "$ERIN2 erin.test deleted true" ] &&
    ok "account delete -j by DID" || notok "delete -j" "$(cat "$T/out")"

kill -TERM "$PID"; wait_gone "$PID" 20; PID=
done_testing
