#!/bin/sh
# Sessions against the real daemon, driven by curl: createSession by
# handle, email and DID; getSession; refresh rotation with its grace;
# deleteSession; app passwords and their scopes; the errors the
# reference answers (../shared/bench/error-examples.json).
#
# Accounts are rows put in with sqlite3 until createAccount exists; the
# password hash below is argon2id of "correct horse battery staple",
# made once with crypto_pwhash_str (the string carries its parameters).
. "$(dirname "$0")/lib.subr"

PW='correct horse battery staple'
HASH='$argon2id$v=19$m=65536,t=2,p=1$5ACWa1ZO4zHTHv1dWJpklw$DR3r50tqkhQuWVJzOMw2KT0gpjR+SaOJ2crDiJnVtU4'
ALICE=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa

write_conf
must_start_pdsd

sqlite3 "$T/data/pdsd.db" <<SQL || notok "insert accounts"
.timeout 5000
INSERT INTO account (did, handle, email, password_hash, signing_key,
    status, created_at) VALUES
 ('$ALICE', 'alice.test', 'alice@example.com', '$HASH', 'k', 'active',
  '2024-01-01T00:00:00Z'),
 ('did:plc:bbbbbbbbbbbbbbbbbbbbbbbb', 'bob.test', NULL, '$HASH', 'k',
  'takendown', '2024-01-01T00:00:00Z'),
 ('did:plc:cccccccccccccccccccccccc', 'carol.test', NULL, '$HASH', 'k',
  'deactivated', '2024-01-01T00:00:00Z');
SQL


# claim token name: a claim of a JWT's payload.
claim() {
	node -e 'const p=process.argv[1].split(".")[1];
	    console.log(JSON.parse(Buffer.from(p,"base64url"))[process.argv[2]])' \
	    "$1" "$2"
}

X=$URL/xrpc/com.atproto.server
J='Content-Type: application/json'

login() {
	curl -sS -o "$T/body" -w '%{http_code}' -H "$J" \
	    -d "{\"identifier\":\"$1\",\"password\":\"$2\"}" "$X.createSession"
}

req "wrong password" 401 \
    '{"error":"AuthenticationRequired","message":"Invalid identifier or password"}' \
    -H "$J" -d '{"identifier":"alice.test","password":"wrong-password"}' \
    "$X.createSession"
req "unknown account" 401 \
    '{"error":"AuthenticationRequired","message":"Invalid identifier or password"}' \
    -H "$J" -d '{"identifier":"nobody.test","password":"whatever"}' \
    "$X.createSession"
req "no identifier" 400 '"error":"InvalidRequest"' \
    -H "$J" -d '{"password":"whatever"}' "$X.createSession"
req "password not a string" 400 '"error":"InvalidRequest"' \
    -H "$J" -d '{"identifier":"alice.test","password":7}' "$X.createSession"

for id in ALICE.Test alice@example.com $ALICE; do
	st=$(login "$id" "$PW")
	if [ "$st" = 200 ] && [ "$(jget did)" = "$ALICE" ] &&
	    [ "$(jget handle)" = alice.test ] &&
	    [ "$(jget email)" = alice@example.com ] &&
	    [ "$(jget active)" = true ] && [ -z "$(jget status)" ]; then
		ok "createSession by $id"
	else
		notok "createSession by $id" "$st $(cat "$T/body")"
	fi
done
ACCESS=$(jget accessJwt)
REFRESH=$(jget refreshJwt)
[ "$(claim "$ACCESS" scope)" = com.atproto.access ] &&
    [ "$(claim "$ACCESS" aud)" = did:web:localhost ] &&
    [ "$(claim "$REFRESH" scope)" = com.atproto.refresh ] &&
    ok "token claims" || notok "token claims" "$ACCESS"

m=$(stat -c %a "$T/data/jwt.key" 2>&1)
[ "$m" = 600 ] && ok "jwt.key is 0600" || notok "jwt.key mode" "$m"

req "getSession" 200 '"did":"'$ALICE'"' \
    -H "Authorization: Bearer $ACCESS" "$X.getSession"
req "getSession without auth" 401 \
    '{"error":"AuthMissing","message":"Authentication Required"}' \
    "$X.getSession"
req "getSession with a garbage token" 400 \
    '{"error":"InvalidToken","message":"Token could not be verified"}' \
    -H "Authorization: Bearer not-a-jwt" "$X.getSession"
req "getSession with the refresh token" 400 \
    '{"error":"InvalidToken","message":"Token could not be verified"}' \
    -H "Authorization: Bearer $REFRESH" "$X.getSession"
req "refreshSession with the access token" 400 \
    '{"error":"InvalidToken","message":"Token could not be verified"}' \
    -X POST -H "Authorization: Bearer $ACCESS" "$X.refreshSession"
req "malformed authorization header" 400 '"error":"InvalidToken"' \
    -H "Authorization: Bearer a b" "$X.getSession"

# Rotation: two refreshes with one token (two tabs) get one successor.
req "refreshSession" 200 '"accessJwt":"' -X POST \
    -H "Authorization: Bearer $REFRESH" "$X.refreshSession"
R1=$(jget refreshJwt)
req "refreshSession again within the grace" 200 '"refreshJwt":"' -X POST \
    -H "Authorization: Bearer $REFRESH" "$X.refreshSession"
R2=$(jget refreshJwt)
j1=$(claim "$R1" jti)
j2=$(claim "$R2" jti)
[ -n "$j1" ] && [ "$j1" = "$j2" ] && [ "$j1" != "$(claim "$REFRESH" jti)" ] &&
    ok "same successor within the grace" ||
    notok "same successor" "$j1 $j2"
req "the successor refreshes" 200 '"accessJwt":"' -X POST \
    -H "Authorization: Bearer $R1" "$X.refreshSession"
R3=$(jget refreshJwt)

req "deleteSession" 200 '' -X POST -H "Authorization: Bearer $R3" \
    "$X.deleteSession"
req "refresh after deleteSession" 400 \
    '{"error":"ExpiredToken","message":"Token has been revoked"}' \
    -X POST -H "Authorization: Bearer $R3" "$X.refreshSession"
req "the access token outlives deleteSession" 200 '"handle":"alice.test"' \
    -H "Authorization: Bearer $ACCESS" "$X.getSession"

req "taken-down account" 401 \
    '{"error":"AccountTakedown","message":"Account has been taken down"}' \
    -H "$J" -d "{\"identifier\":\"bob.test\",\"password\":\"$PW\"}" \
    "$X.createSession"
req "deactivated account logs in, inactive" 200 \
    '"active":false,"status":"deactivated"' \
    -H "$J" -d "{\"identifier\":\"carol.test\",\"password\":\"$PW\"}" \
    "$X.createSession"

# Alice's hash was made at the old limits (64 MiB): her logins stored
# it again at ours, and it still takes her password.
case $(sqlite3 "$T/data/pdsd.db" "SELECT password_hash FROM account
    WHERE did = '$ALICE'") in
'$argon2id$v=19$m=12288,t=3,p=1$'*) ok "a login rehashes an old hash" ;;
*)	notok "a login rehashes an old hash" ;;
esac
st=$(login alice.test "$PW")
[ "$st" = 200 ] && ok "the password logs in at the new hash" ||
    notok "login after rehash" "$st $(cat "$T/body")"

# App passwords.
req "createAppPassword" 200 '"name":"phone"' -H "$J" \
    -H "Authorization: Bearer $ACCESS" -d '{"name":"phone"}' \
    "$X.createAppPassword"
APW=$(jget password)
case $APW in
[a-z2-7][a-z2-7][a-z2-7][a-z2-7]-????-????-????) ok "app password shape" ;;
*) notok "app password shape" "$APW" ;;
esac
req "createAppPassword privileged" 200 '"privileged":true' -H "$J" \
    -H "Authorization: Bearer $ACCESS" \
    -d '{"name":"laptop","privileged":true}' "$X.createAppPassword"
req "createAppPassword name taken" 400 '"error":"InvalidRequest"' -H "$J" \
    -H "Authorization: Bearer $ACCESS" -d '{"name":"phone"}' \
    "$X.createAppPassword"
req "createAppPassword without auth" 401 '"error":"AuthMissing"' -H "$J" \
    -d '{"name":"x"}' "$X.createAppPassword"

st=$(login alice.test "$APW")
[ "$st" = 200 ] && ok "createSession with an app password" ||
    notok "app password login" "$st $(cat "$T/body")"
AACCESS=$(jget accessJwt)
AREFRESH=$(jget refreshJwt)
[ "$(claim "$AACCESS" scope)" = com.atproto.appPass ] &&
    ok "app password session scope" ||
    notok "app password scope" "$(claim "$AACCESS" scope)"
req "app password session cannot create app passwords" 400 \
    '{"error":"InvalidToken","message":"Bad token scope"}' -H "$J" \
    -H "Authorization: Bearer $AACCESS" -d '{"name":"more"}' \
    "$X.createAppPassword"
for m in deactivateAccount requestAccountDelete; do
	req "app password session cannot $m" 400 \
	    '{"error":"InvalidToken","message":"Bad token scope"}' -H "$J" \
	    -H "Authorization: Bearer $AACCESS" -d '{"name":"phone"}' "$X.$m"
done
req "listAppPasswords" 200 '"name":"phone"' \
    -H "Authorization: Bearer $AACCESS" "$X.listAppPasswords"
case $(cat "$T/body") in *"$APW"*) notok "list shows no secrets" ;;
*) ok "list shows no secrets" ;; esac

req "revokeAppPassword" 200 '' -H "$J" -H "Authorization: Bearer $ACCESS" \
    -d '{"name":"phone"}' "$X.revokeAppPassword"
req "its sessions end" 400 '"error":"ExpiredToken"' -X POST \
    -H "Authorization: Bearer $AREFRESH" "$X.refreshSession"
st=$(login alice.test "$APW")
[ "$st" = 401 ] && ok "a revoked app password no longer logs in" ||
    notok "revoked app password" "$st"

# Stored with the limits they were derived at.
case $(sqlite3 "$T/data/pdsd.db" "SELECT password_hash FROM app_password
    WHERE name = 'laptop'") in
'm12t3$'????????????????????????????????????????????????????????????????)
	ok "app password hash names its limits" ;;
*)	notok "app password hash names its limits" ;;
esac
# One made before the limits changed (bare hex: argon2id t=2, 64 MiB,
# salt the DID's SHA-256) still logs in, next to a new one.
sqlite3 "$T/data/pdsd.db" <<SQL || notok "insert an old app password"
.timeout 5000
INSERT INTO app_password (did, name, password_hash, created_at) VALUES
 ('$ALICE', 'old',
  '9fdad499de004151d58b12b0196606ba91b2a86ada691ab74ce2fb6952a424ad',
  '2024-01-01T00:00:00.000Z');
SQL
st=$(login alice.test abcd-efgh-ijkl-mnop)
[ "$st" = 200 ] && [ "$(claim "$(jget accessJwt)" scope)" = \
    com.atproto.appPass ] && ok "an old app password logs in" ||
    notok "old app password login" "$st $(cat "$T/body")"
st=$(login alice.test abcd-efgh-ijkl-mnoq)
[ "$st" = 401 ] && ok "a wrong one is refused after both hashes" ||
    notok "wrong app password with old ones" "$st"

# The key survives a restart: tokens made before still work.
kill -TERM "$PID"
wait_gone "$PID" 50
PID=
if start_pdsd; then
	req "access token valid after a restart" 200 '"did":"'$ALICE'"' \
	    -H "Authorization: Bearer $ACCESS" "$X.getSession"
	kill -TERM "$PID"
	wait_gone "$PID" 50
	PID=
else
	notok "restart" "$(tail -5 "$T/log")"
fi
done_testing
