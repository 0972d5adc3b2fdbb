#!/bin/sh
# An account's life against the real daemon: checkAccountStatus,
# deactivate and activate with their firehose events, getServiceAuth
# (the token verified with the key of the account's DID document, by
# @atproto/crypto), the email methods that need mail, and deleteAccount
# with its password and operator token, leaving nothing behind.
. "$(dirname "$0")/lib.subr"

write_conf
must_start_pdsd
X=$URL/xrpc/com.atproto.server
J='Content-Type: application/json'
DB=$T/data/pdsd.db
NODE_DIR=$top/tests/node


q() {
	sqlite3 -cmd '.timeout 5000' "$DB" "$1"
}

# events since seq: the types of the DID's events after it, in order.
events_after() {
	q "SELECT type FROM repo_seq WHERE did = '$DID' AND seq > $1
	    ORDER BY seq" | tr '\n' ' '
}

create() {
	curl -sS -o "$T/body" -w '%{http_code}' -H "$J" -d \
	    "{\"handle\":\"$1\",\"email\":\"$2\",\"password\":\"$3\"}" \
	    "$X.createAccount"
}

st=$(create alice.test alice@example.com pw-alice-123)
[ "$st" = 200 ] && ok "createAccount" || notok "createAccount" "$(cat "$T/body")"
DID=$(jget did)
TOK=$(jget accessJwt)
jget didDoc >"$T/diddoc.json"
A="Authorization: Bearer $TOK"
st=$(create bob.test bob@example.com pw-bob-1234)
BOB=$(jget did)

# checkAccountStatus of a fresh account.
req "checkAccountStatus" 200 '"activated":true,"validDid":true' \
    -H "$A" "$X.checkAccountStatus"
commit=$(q "SELECT commit_cid FROM repo_root WHERE did = '$DID'")
rev=$(q "SELECT rev FROM repo_root WHERE did = '$DID'")
nb=$(q "SELECT count(*) FROM repo_block WHERE did = '$DID'")
case $(cat "$T/body") in
*"\"repoCommit\":\"$commit\",\"repoRev\":\"$rev\",\"repoBlocks\":$nb,\"indexedRecords\":0,\"privateStateValues\":0,\"expectedBlobs\":0,\"importedBlobs\":0"*)
	ok "checkAccountStatus counts the repo" ;;
*) notok "checkAccountStatus counts" "$(cat "$T/body") want $commit $rev $nb" ;;
esac
req "checkAccountStatus needs a session" 401 '"error":"AuthMissing"' \
    "$X.checkAccountStatus"

# Deactivate.
seq0=$(q "SELECT max(seq) FROM repo_seq")
req "deactivateAccount needs a session" 401 '"error":"AuthMissing"' \
    -H "$J" -d '{}' "$X.deactivateAccount"
req "deactivateAccount" 200 '' -H "$A" -H "$J" -d '{}' "$X.deactivateAccount"
[ "$(q "SELECT status FROM account WHERE did = '$DID'")" = deactivated ] &&
    ok "status deactivated" || notok "status deactivated"
[ "$(events_after "$seq0")" = "#account " ] && ok "one #account event" ||
    notok "#account event" "$(events_after "$seq0")"
# The frame: active false (0x66 "active" 0xf4) and the status.
ev=$(q "SELECT hex(payload) FROM repo_seq WHERE did = '$DID' AND seq > $seq0")
case $ev in
*66616374697665F4*"$(printf deactivated | od -An -tx1 | tr -d ' \n' |
    tr a-f A-F)"*) ok "#account active false, status deactivated" ;;
*) notok "#account payload" "$ev" ;;
esac
req "checkAccountStatus: not activated" 200 '"activated":false' \
    -H "$A" "$X.checkAccountStatus"
req "login still works, says deactivated" 200 \
    '"active":false,"status":"deactivated"' -H "$J" \
    -d '{"identifier":"alice.test","password":"pw-alice-123"}' \
    "$X.createSession"
req "getSession says deactivated" 200 '"active":false,"status":"deactivated"' \
    -H "$A" "$X.getSession"

# Activate: #account, #identity, #sync of the current commit.
seq1=$(q "SELECT max(seq) FROM repo_seq")
req "activateAccount" 200 '' -H "$A" -X POST "$X.activateAccount"
[ "$(q "SELECT status FROM account WHERE did = '$DID'")" = active ] &&
    ok "status active again" || notok "status active"
[ "$(events_after "$seq1")" = "#account #identity #sync " ] &&
    ok "events #account #identity #sync" ||
    notok "activate events" "$(events_after "$seq1")"
ev=$(q "SELECT hex(payload) FROM repo_seq WHERE did = '$DID' AND seq > $seq1
    AND type = '#account'")
case $ev in *66616374697665F5*) ok "#account active true" ;;
*) notok "#account active true" "$ev" ;; esac
ev=$(q "SELECT hex(payload) FROM repo_seq WHERE did = '$DID' AND seq > $seq1
    AND type = '#sync'")
hexrev=$(printf '%s' "$rev" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
case $ev in *"$hexrev"*) ok "#sync carries the current rev" ;;
*) notok "#sync rev" "$ev" ;; esac
req "checkAccountStatus: activated" 200 '"activated":true' \
    -H "$A" "$X.checkAccountStatus"

# getServiceAuth.
now=$(date +%s)
AUD='did:web:api.bsky.app%23bsky_appview'
req "getServiceAuth" 200 '"token":"ey' -H "$A" \
    "$X.getServiceAuth?aud=$AUD&lxm=app.bsky.feed.getTimeline"
jget token >"$T/token"
verify=$(cd "$NODE_DIR" && node --input-type=module -e '
import { verifySignature } from "@atproto/crypto";
import { readFileSync } from "node:fs";
const [tokf, docf, did, now] = process.argv.slice(1);
const tok = readFileSync(tokf, "utf8").trim();
const doc = JSON.parse(readFileSync(docf, "utf8"));
const [h, p, s] = tok.split(".");
const hdr = JSON.parse(Buffer.from(h, "base64url"));
const pl = JSON.parse(Buffer.from(p, "base64url"));
const key = "did:key:" + doc.verificationMethod[0].publicKeyMultibase;
const good = await verifySignature(key, new TextEncoder().encode(h + "." + p),
    new Uint8Array(Buffer.from(s, "base64url")));
const bad = await verifySignature(key, new TextEncoder().encode(h + "." + p + "x"),
    new Uint8Array(Buffer.from(s, "base64url")));
const checks = [
	JSON.stringify(hdr) === "{\"typ\":\"JWT\",\"alg\":\"ES256K\"}",
	Object.keys(pl).join() === "iat,iss,aud,exp,lxm,jti",
	pl.iss === did, pl.aud === "did:web:api.bsky.app#bsky_appview",
	pl.lxm === "app.bsky.feed.getTimeline", pl.exp - pl.iat === 60,
	Math.abs(pl.iat - Number(now)) < 30, /^[0-9a-f]{32}$/.test(pl.jti),
	good === true, bad === false,
];
console.log(checks.map((c) => c ? 1 : 0).join(""));
' "$T/token" "$T/diddoc.json" "$DID" "$now" 2>&1)
[ "$verify" = 1111111111 ] && ok "service token: claims, and an ES256K signature the DID's key verifies" ||
    notok "service token verification" "$verify"
req "an hour is allowed" 200 '"token"' -H "$A" \
    "$X.getServiceAuth?aud=did:web:x.test&lxm=app.bsky.feed.getTimeline&exp=$((now + 3590))"
req "more than an hour is not" 400 \
    '{"error":"BadExpiration","message":"cannot request a token with an expiration more than an hour in the future"}' \
    -H "$A" "$X.getServiceAuth?aud=did:web:x.test&lxm=app.bsky.feed.getTimeline&exp=$((now + 3700))"
req "no lxm: at most a minute" 400 \
    '{"error":"BadExpiration","message":"cannot request a method-less token with an expiration more than a minute in the future"}' \
    -H "$A" "$X.getServiceAuth?aud=did:web:x.test&exp=$((now + 120))"
req "no lxm, within a minute" 200 '"token"' -H "$A" \
    "$X.getServiceAuth?aud=did:web:x.test&exp=$((now + 50))"
req "expiration in the past" 400 \
    '{"error":"BadExpiration","message":"expiration is in past"}' \
    -H "$A" "$X.getServiceAuth?aud=did:web:x.test&exp=$((now - 10))"
req "protected method refused" 400 \
    '{"error":"InvalidRequest","message":"cannot request a service auth token for the following protected method: com.atproto.server.createAppPassword"}' \
    -H "$A" "$X.getServiceAuth?aud=did:web:x.test&lxm=com.atproto.server.createAppPassword"
req "another protected method" 400 'protected method: com.atproto.identity.updateHandle' \
    -H "$A" "$X.getServiceAuth?aud=did:web:x.test&lxm=com.atproto.identity.updateHandle"
req "aud is required" 400 'Missing required key \"aud\"' -H "$A" \
    "$X.getServiceAuth?lxm=app.bsky.feed.getTimeline"
req "aud must be a DID" 400 'Invalid DID' -H "$A" \
    "$X.getServiceAuth?aud=nope"
req "getServiceAuth needs a session" 401 '"error":"AuthMissing"' \
    "$X.getServiceAuth?aud=did:web:x.test"
req "createAppPassword" 200 '"password"' -H "$A" -H "$J" \
    -d '{"name":"app"}' "$X.createAppPassword"
APW=$(jget password)
req "app password login" 200 '"accessJwt"' -H "$J" \
    -d "{\"identifier\":\"alice.test\",\"password\":\"$APW\"}" "$X.createSession"
AA="Authorization: Bearer $(jget accessJwt)"
req "app password: no token for privileged methods" 400 \
    '"message":"insufficient access to request a service auth token for the following method: com.atproto.server.createAccount"' \
    -H "$AA" "$X.getServiceAuth?aud=did:web:x.test&lxm=com.atproto.server.createAccount"
req "app password: ordinary methods are fine" 200 '"token"' \
    -H "$AA" "$X.getServiceAuth?aud=did:web:x.test&lxm=app.bsky.feed.getTimeline"
req "app password cannot deactivate" 400 '"error":"InvalidToken"' \
    -H "$AA" -H "$J" -d '{}' "$X.deactivateAccount"

# Mail: what is missing is said.
req "requestPasswordReset: no mail" 501 \
    '"error":"MethodNotImplemented","message":"Email is not configured on this server: it has no mail transport' \
    -H "$J" -d '{"email":"alice@example.com"}' "$X.requestPasswordReset"
req "resetPassword names the operator's tool" 501 'pdsctl account password HANDLE' \
    -H "$J" -d '{"token":"x","password":"y"}' "$X.resetPassword"
req "requestEmailConfirmation needs a session first" 401 '"error":"AuthMissing"' \
    -X POST "$X.requestEmailConfirmation"
for m in requestEmailConfirmation confirmEmail requestEmailUpdate updateEmail; do
	req "$m: no mail" 501 'no mail transport' -H "$A" -H "$J" \
	    -d '{"email":"a@example.com","token":"x"}' "$X.$m"
done

# Deletion.
req "requestAccountDelete: the operator has the token" 200 \
    'pdsctl account delete-token' -H "$A" -X POST "$X.requestAccountDelete"
exp=$(($(date +%s) + 900))
q "INSERT OR REPLACE INTO account_delete_token (did, token, expires_at)
    VALUES ('$DID', 'ABCDE-FGH23', $exp)"
req "deleteAccount: wrong password" 401 \
    '{"error":"AuthenticationRequired","message":"Invalid did or password"}' \
    -H "$J" -d "{\"did\":\"$DID\",\"password\":\"nope\",\"token\":\"ABCDE-FGH23\"}" \
    "$X.deleteAccount"
req "deleteAccount: an app password is not the password" 401 \
    'Invalid did or password' -H "$J" \
    -d "{\"did\":\"$DID\",\"password\":\"$APW\",\"token\":\"ABCDE-FGH23\"}" \
    "$X.deleteAccount"
req "deleteAccount: wrong token" 400 \
    '{"error":"InvalidToken","message":"Token is invalid"}' -H "$J" \
    -d "{\"did\":\"$DID\",\"password\":\"pw-alice-123\",\"token\":\"ABCDE-FGH24\"}" \
    "$X.deleteAccount"
req "deleteAccount: another account's token" 400 'Token is invalid' -H "$J" \
    -d "{\"did\":\"$BOB\",\"password\":\"pw-bob-1234\",\"token\":\"ABCDE-FGH23\"}" \
    "$X.deleteAccount"
q "UPDATE account_delete_token SET expires_at = $(($(date +%s) - 1))
    WHERE did = '$DID'"
req "deleteAccount: expired token" 400 \
    '{"error":"ExpiredToken","message":"Token is expired"}' -H "$J" \
    -d "{\"did\":\"$DID\",\"password\":\"pw-alice-123\",\"token\":\"ABCDE-FGH23\"}" \
    "$X.deleteAccount"
q "UPDATE account_delete_token SET expires_at = $exp WHERE did = '$DID'"
req "deleteAccount: unknown account" 400 \
    '{"error":"InvalidRequest","message":"account not found"}' -H "$J" \
    -d '{"did":"did:plc:zzzzzzzzzzzzzzzzzzzzzzzz","password":"x","token":"ABCDE-FGH23"}' \
    "$X.deleteAccount"
req "deleteAccount: token is required" 400 \
    'Missing required key \"token\" at $' -H "$J" \
    -d "{\"did\":\"$DID\",\"password\":\"pw-alice-123\"}" "$X.deleteAccount"
[ "$(q "SELECT count(*) FROM account WHERE did = '$DID'")" = 1 ] &&
    ok "nothing deleted by refusals" || notok "refusals deleted"

bob_blocks=$(q "SELECT count(*) FROM repo_block WHERE did = '$BOB'")
bob_events=$(q "SELECT count(*) FROM repo_seq WHERE did = '$BOB'")
req "deleteAccount (token in any case)" 200 '' -H "$J" \
    -d "{\"did\":\"$DID\",\"password\":\"pw-alice-123\",\"token\":\"abcde-fgh23\"}" \
    "$X.deleteAccount"
left=""
for t in account repo_block record repo_root refresh_token app_password \
    account_delete_token; do
	n=$(q "SELECT count(*) FROM $t WHERE did = '$DID'")
	[ "$n" = 0 ] || left="$left $t=$n"
done
[ -z "$left" ] && ok "the account's rows are gone" || notok "rows left" "$left"
[ "$(q "SELECT type FROM repo_seq WHERE did = '$DID'")" = "#account" ] &&
    ok "only the tombstone event is left" ||
    notok "events left" "$(q "SELECT type FROM repo_seq WHERE did = '$DID'")"
ev=$(q "SELECT hex(payload) FROM repo_seq WHERE did = '$DID'")
case $ev in
*66616374697665F4*"$(printf deleted | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"*)
	ok "#account active false, status deleted" ;;
*) notok "tombstone payload" "$ev" ;;
esac
[ "$(q "SELECT count(*) FROM repo_block WHERE did = '$BOB'")" = "$bob_blocks" ] &&
    [ "$(q "SELECT count(*) FROM repo_seq WHERE did = '$BOB'")" = "$bob_events" ] &&
    ok "another account is untouched" || notok "bob touched"
req "login after deletion" 401 'Invalid identifier or password' -H "$J" \
    -d '{"identifier":"alice.test","password":"pw-alice-123"}' "$X.createSession"
req "the old session's account is gone" 400 'Could not find user info' \
    -H "$A" "$X.getSession"
req "deleting again" 400 'account not found' -H "$J" \
    -d "{\"did\":\"$DID\",\"password\":\"pw-alice-123\",\"token\":\"ABCDE-FGH23\"}" \
    "$X.deleteAccount"

kill -TERM "$PID"; wait_gone "$PID" 20; PID=
done_testing
