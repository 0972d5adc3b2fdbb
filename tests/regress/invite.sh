#!/bin/sh
# Invite codes against the real daemon: "registration invite" refuses
# createAccount without a usable code and spends one use per account;
# createInviteCode(s) want HTTP Basic admin:PASSWORD ("admin password"
# in pdsd.conf) and answer as the reference does without it;
# getAccountInviteCodes lists an account's codes with their uses.
. "$(dirname "$0")/lib.subr"

ADMIN=pw-admin-7
write_conf
cat >>"$T/pdsd.conf" <<CONF
registration invite
admin password "$ADMIN"
CONF
must_start_pdsd
X=$URL/xrpc/com.atproto.server
J='content-type: application/json'
DB=$T/data/pdsd.db

# post method json [curl args]: status in $st, body in $T/body
post() {
	m=$1 d=$2
	shift 2
	st=$(curl -sS -o "$T/body" -w '%{http_code}' -H "$J" "$@" -d "$d" \
	    "$X.$m")
}

# is "desc" status exact-body
is() {
	got=$(cat "$T/body")
	[ "$st" = "$2" ] && [ "$got" = "$3" ] && ok "$1" ||
	    notok "$1" "got $st $got, want $2 $3"
}

# js 'expression over o': evaluated on the last body.
js() {
	node -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1]));
	    console.log(eval(process.argv[2]))' "$T/body" "$1"
}

account() {
	post createAccount "{\"handle\":\"$1\",\"email\":\"$1@example.com\",\"password\":\"pw-$1-1\"$2}"
}

AUTHREQ='{"error":"AuthenticationRequired","message":"Authentication Required"}'
BAD='{"error":"InvalidInviteCode","message":"Provided invite code not available"}'

st=$(curl -sS -o "$T/body" -w '%{http_code}' "$X.describeServer")
[ "$(js o.inviteCodeRequired)" = true ] && ok "describeServer: invite required" ||
    notok "inviteCodeRequired" "$(cat "$T/body")"

account alice.test ''
is "no invite code" 400 '{"error":"InvalidInviteCode","message":"No invite code provided"}'
account alice.test ',"inviteCode":"localhost-aaaaa-bbbbb"'
is "unknown invite code" 400 "$BAD"

# The admin endpoints.
post createInviteCode '{"useCount":1}'
is "createInviteCode without auth" 401 "$AUTHREQ"
post createInviteCode '{"useCount":1}' -u admin:wrong
is "createInviteCode with a wrong password" 401 "$AUTHREQ"
post createInviteCode '{"useCount":1}' -u root:"$ADMIN"
is "createInviteCode as another user" 401 "$AUTHREQ"
post createInviteCode '{"useCount":1}' -H 'Authorization: Basic !!!'
is "createInviteCode with garbage auth" 401 "$AUTHREQ"
post createInviteCodes '{"useCount":1}'
is "createInviteCodes without auth" 401 "$AUTHREQ"
post createInviteCode '{}' -u admin:"$ADMIN"
is "createInviteCode without useCount" 400 \
    '{"error":"InvalidRequest","message":"Missing required key \"useCount\" at $"}'
post createInviteCode '{"useCount":"one"}' -u admin:"$ADMIN"
is "useCount not an integer" 400 \
    '{"error":"InvalidRequest","message":"Expected integer value type (got \"one\") at $.useCount"}'
post createInviteCode '{"useCount":1,"forAccount":"bob"}' -u admin:"$ADMIN"
is "forAccount not a DID" 400 \
    '{"error":"InvalidRequest","message":"Invalid DID (got \"bob\") at $.forAccount"}'

post createInviteCode '{"useCount":1}' -u admin:"$ADMIN"
CODE1=$(js o.code)
[ "$st" = 200 ] && echo "$CODE1" | grep -Eq '^localhost-[a-z2-7]{5}-[a-z2-7]{5}$' &&
    ok "createInviteCode: a code as the reference makes them" ||
    notok "createInviteCode" "$st $(cat "$T/body")"
n=$(sqlite3 "$DB" "SELECT available_uses || ' ' || for_account || ' ' || created_by FROM invite_code WHERE code = '$CODE1'")
[ "$n" = "1 admin admin" ] && ok "the code is stored for admin" || notok "stored code" "$n"

# A failed check spends nothing; a good one spends the code once.
post createAccount "{\"handle\":\"ab.test\",\"email\":\"ab@example.com\",\"password\":\"pw\",\"inviteCode\":\"$CODE1\"}"
[ "$st" = 400 ] && [ "$(sqlite3 "$DB" "SELECT count(*) FROM invite_use")" = 0 ] &&
    ok "a refused account spends no use" || notok "refused account" "$st"
account alice.test ",\"inviteCode\":\"$CODE1\""
ALICE=$(js o.did)
ACCESS=$(js o.accessJwt)
[ "$st" = 200 ] && ok "createAccount with the code" || notok "createAccount" "$(cat "$T/body")"
u=$(sqlite3 "$DB" "SELECT used_by FROM invite_use WHERE code = '$CODE1'")
[ "$u" = "$ALICE" ] && ok "the use is recorded" || notok "invite_use" "$u"
account bob.test ",\"inviteCode\":\"$CODE1\""
is "a used-up code" 400 "$BAD"

# useCount 2: two accounts, then no more.
post createInviteCode '{"useCount":2}' -u admin:"$ADMIN"
CODE2=$(js o.code)
account bob.test ",\"inviteCode\":\"$CODE2\""
s1=$st
account carol.test ",\"inviteCode\":\"$CODE2\""
[ "$s1" = 200 ] && [ "$st" = 200 ] && ok "a two-use code serves two accounts" ||
    notok "two uses" "$s1 $st $(cat "$T/body")"
account dave.test ",\"inviteCode\":\"$CODE2\""
is "the third use is refused" 400 "$BAD"
n=$(sqlite3 "$DB" "SELECT count(*) FROM account")
[ "$n" = 3 ] && ok "three accounts, no more" || notok "accounts" "$n"

# A disabled code is no code.
post createInviteCode '{"useCount":5}' -u admin:"$ADMIN"
CODE3=$(js o.code)
sqlite3 "$DB" ".timeout 5000" "UPDATE invite_code SET disabled = 1 WHERE code = '$CODE3'"
account dave.test ",\"inviteCode\":\"$CODE3\""
is "a disabled code" 400 "$BAD"

# createInviteCodes: codes per account, admin when none is named.
post createInviteCodes "{\"codeCount\":2,\"useCount\":1,\"forAccounts\":[\"$ALICE\"]}" \
    -u admin:"$ADMIN"
[ "$st" = 200 ] && [ "$(js 'o.codes.length+" "+o.codes[0].account+" "+o.codes[0].codes.length')" = "1 $ALICE 2" ] &&
    ok "createInviteCodes for an account" || notok "createInviteCodes" "$(cat "$T/body")"
AC1=$(js 'o.codes[0].codes[0]')
post createInviteCodes '{"useCount":3}' -u admin:"$ADMIN"
[ "$st" = 200 ] && [ "$(js 'o.codes[0].account+" "+o.codes[0].codes.length')" = "admin 1" ] &&
    ok "createInviteCodes: codeCount 1 and admin by default" ||
    notok "createInviteCodes default" "$(cat "$T/body")"
post createInviteCodes '{"useCount":1,"forAccounts":["nope"]}' -u admin:"$ADMIN"
is "createInviteCodes with a bad DID" 400 \
    '{"error":"InvalidRequest","message":"Invalid DID (got \"nope\") at $.forAccounts[0]"}'

# getAccountInviteCodes: alice's two codes; one used by erin.
account erin.test ",\"inviteCode\":\"$AC1\""
ERIN=$(js o.did)
st=$(curl -sS -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $ACCESS" \
    "$X.getAccountInviteCodes")
[ "$st" = 200 ] && [ "$(js 'o.codes.length')" = 2 ] &&
    ok "getAccountInviteCodes lists the account's codes" ||
    notok "getAccountInviteCodes" "$st $(cat "$T/body")"
got=$(js "JSON.stringify(o.codes.filter(c=>c.code==='$AC1').map(c=>[c.available,c.disabled,c.forAccount,c.createdBy,c.uses.length,c.uses[0].usedBy,typeof c.createdAt,typeof c.uses[0].usedAt]))")
[ "$got" = "[[1,false,\"$ALICE\",\"admin\",1,\"$ERIN\",\"string\",\"string\"]]" ] &&
    ok "a code's fields and its use" || notok "code fields" "$got"
st=$(curl -sS -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $ACCESS" \
    "$X.getAccountInviteCodes?includeUsed=false")
[ "$st" = 200 ] && [ "$(js 'o.codes.length+" "+(o.codes[0].code!=="'"$AC1"'")')" = "1 true" ] &&
    ok "includeUsed=false leaves out used-up codes" || notok "includeUsed" "$(cat "$T/body")"
st=$(curl -sS -o "$T/body" -w '%{http_code}' "$X.getAccountInviteCodes")
is "getAccountInviteCodes without a token" 401 \
    '{"error":"AuthMissing","message":"Authentication Required"}'

# Without "admin password" nobody is the admin (after a reload).
sed '/^admin password/d' "$T/pdsd.conf" >"$T/new.conf" && mv "$T/new.conf" "$T/pdsd.conf"
"$PDSCTL" -s "$SOCK" reload >/dev/null 2>&1
post createInviteCode '{"useCount":1}' -u admin:"$ADMIN"
is "no admin password configured: refused" 401 "$AUTHREQ"

kill -TERM "$PID"; wait_gone "$PID" 20; PID=
done_testing
