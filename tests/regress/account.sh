#!/bin/sh
# createAccount against the real daemon: the reference's answers to bad
# input, a real did:plc identity, the first commit and its events.
. "$(dirname "$0")/lib.subr"

write_conf
must_start_pdsd
X=$URL/xrpc

# create 'json' -> status in $st, body in $T/body
create() {
	st=$(curl -sS -o "$T/body" -w '%{http_code}' -H 'content-type: application/json' \
	    -d "$1" "$X/com.atproto.server.createAccount")
}

# refused "desc" json status error message
refused() {
	create "$2"
	want="{\"error\":\"$4\",\"message\":\"$5\"}"
	got=$(cat "$T/body")
	[ "$st" = "$3" ] && [ "$got" = "$want" ] && ok "$1" ||
	    notok "$1" "got $st $got, want $3 $want"
}

refused "handle with bad characters" \
    '{"handle":"bad handle!.test","email":"a@example.com","password":"pw-123456"}' \
    400 InvalidRequest 'Invalid handle (got \"bad handle!.test\") at $.handle'
refused "handle outside our domains" \
    '{"handle":"carol.someotherdomain.com","email":"b@example.com","password":"pw-123456"}' \
    400 UnsupportedDomain "Not a supported handle domain"
refused "handle too short" '{"handle":"ab.test","email":"c@example.com","password":"pw"}' \
    400 InvalidHandle "Handle too short"
refused "handle too long" \
    '{"handle":"abcdefghijklmnopqrstuvwxyz.test","email":"d@example.com","password":"pw"}' \
    400 InvalidHandle "Handle too long"
refused "reserved handle" '{"handle":"admin.test","email":"e@example.com","password":"pw"}' \
    400 HandleNotAvailable "Reserved handle"
refused "handle with a sub-label" '{"handle":"sub.grace.test","email":"f@example.com","password":"pw"}' \
    400 InvalidHandle "Invalid characters in handle"
refused "disposable email" '{"handle":"heidi.test","email":"heidi@mailinator.com","password":"pw"}' \
    400 InvalidRequest "This email address is not supported, please use a different email."
refused "invalid email" '{"handle":"frank.test","email":"not-an-email","password":"pw"}' \
    400 InvalidRequest "This email address is not supported, please use a different email."
refused "missing email" '{"handle":"erin.test","password":"pw"}' \
    400 InvalidRequest "Email is required"
refused "missing handle" '{"email":"x5@example.com","password":"pw"}' \
    400 InvalidRequest 'Missing required key \"handle\" at $'
long=$(printf '%0257d' 0)
refused "password longer than 256 characters" \
    "{\"handle\":\"grace.test\",\"email\":\"g@example.com\",\"password\":\"$long\"}" \
    400 InvalidRequest "Password too long. Maximum length is 256 characters."
# 128 characters outside the BMP are 256 UTF-16 units, as JavaScript counts.
long=$("$top/tests/node/node_modules/.bin/node" -e 'console.log("\u{1f600}".repeat(129))')
refused "password long in UTF-16 units" \
    "{\"handle\":\"grace.test\",\"email\":\"g@example.com\",\"password\":\"$long\"}" \
    400 InvalidRequest "Password too long. Maximum length is 256 characters."
refused "the email is checked before the handle, as the reference" \
    '{"handle":"ab.test","password":"pw-123456"}' \
    400 InvalidRequest "Email is required"
refused "a recovery key that is not a did:key" \
    '{"handle":"grace.test","email":"g@example.com","password":"pw-123456","recoveryKey":"zQ3shabc"}' \
    400 InvalidRequest "Invalid recoveryKey: a did:key is expected"
st=$(curl -sS -o "$T/body" -w '%{http_code}' -H 'content-type: text/plain' \
    -d '{}' "$X/com.atproto.server.createAccount")
[ "$st" = 400 ] && grep -q 'Wrong request encoding (Content-Type): text/plain' "$T/body" &&
    ok "wrong content type" || notok "wrong content type" "$st $(cat "$T/body")"
st=$(curl -sS -o "$T/body" -w '%{http_code}' -H 'content-type: application/json' \
    -d '{"handle": x' "$X/com.atproto.server.createAccount")
[ "$st" = 400 ] && grep -q '"error":"SyntaxError"' "$T/body" &&
    ok "malformed JSON" || notok "malformed JSON" "$st $(cat "$T/body")"

create '{"handle":"Alice.test","email":"alice@example.com","password":"correct-horse-2"}'
body=$(cat "$T/body")
did=$(echo "$body" | sed -n 's/.*"did":"\(did:plc:[a-z2-7]*\)".*/\1/p' | head -1)
if [ "$st" = 200 ] && [ ${#did} -eq 32 ]; then
	ok "createAccount gives a did:plc"
else
	notok "createAccount" "$st $body"
fi
case $body in *'"handle":"alice.test"'*) ok "handle lower-cased" ;;
*) notok "handle lower-cased" "$body" ;; esac
case $body in *'"accessJwt":"ey'*'"refreshJwt":"ey'*) ok "session tokens" ;;
*) notok "session tokens" "$body" ;; esac
case $body in
*'"didDoc":{"@context":["https://www.w3.org/ns/did/v1"'*"\"id\":\"$did\""*'"publicKeyMultibase":"zQ3sh'*"\"serviceEndpoint\":\"http://localhost:$PORT\""*)
	ok "DID document" ;;
*) notok "DID document" "$body" ;; esac

refused "handle taken" '{"handle":"alice.test","email":"other@example.com","password":"pw"}' \
    400 InvalidRequest "Handle already taken: alice.test"
refused "email taken" '{"handle":"dave.test","email":"alice@example.com","password":"pw"}' \
    400 InvalidRequest "Email already taken: alice@example.com"

DB=$T/data/pdsd.db
n=$(sqlite3 "$DB" "SELECT count(*) FROM account WHERE did = '$did'")
[ "$n" = 1 ] && ok "account row" || notok "account row" "$n"
h=$(sqlite3 "$DB" "SELECT password_hash FROM account WHERE did = '$did'")
case $h in '$argon2id$'*) ok "password stored as argon2id" ;;
*) notok "argon2id" "$h" ;; esac
r=$(sqlite3 "$DB" "SELECT count(*) FROM repo_root WHERE did = '$did'")
[ "$r" = 1 ] && ok "the repo has a root" || notok "repo root" "$r"
types=$(sqlite3 "$DB" "SELECT type FROM repo_seq WHERE did = '$did' ORDER BY seq" | tr '\n' ' ')
[ "$types" = "#identity #account #commit #sync " ] &&
    ok "events in the reference's order" || notok "events" "$types"
ops=$(sqlite3 "$DB" "SELECT count(*) FROM plc_op WHERE did = '$did'")
[ "$ops" = 1 ] && ok "genesis operation kept" || notok "plc_op" "$ops"
out=$("$PDSCTL" -s "$SOCK" status)
case $out in *"accounts: 1"*) ok "status counts the account" ;;
*) notok "status accounts" "$out" ;; esac

# The DID is the hash of the signed genesis operation, as the spec says.
sqlite3 "$DB" "SELECT hex(op) FROM plc_op WHERE did = '$did'" >"$T/op.hex"
calc=$(node -e '
const c=require("crypto");const h=require("fs").readFileSync(process.argv[1],"utf8").trim();
const d=c.createHash("sha256").update(Buffer.from(h,"hex")).digest();
const a="abcdefghijklmnopqrstuvwxyz234567";let bits=0,v=0,o="";
for(const b of d){v=(v<<8)|b;bits+=8;while(bits>=5){o+=a[(v>>>(bits-5))&31];bits-=5}}
console.log("did:plc:"+o.slice(0,24))' "$T/op.hex")
[ "$calc" = "$did" ] && ok "did = base32(sha256(signed op))[:24]" || notok "did hash" "$calc"

# Resolution.
r=$(curl -sS "$X/com.atproto.identity.resolveHandle?handle=alice.test")
[ "$r" = "{\"did\":\"$did\"}" ] && ok "resolveHandle" || notok "resolveHandle" "$r"
st=$(curl -sS -o "$T/body" -w '%{http_code}' "$X/com.atproto.identity.resolveHandle?handle=nobody.test")
[ "$st" = 400 ] && [ "$(cat "$T/body")" = '{"error":"HandleNotFound","message":"Unable to resolve handle"}' ] &&
    ok "resolveHandle of an unknown handle" || notok "unknown handle" "$st $(cat "$T/body")"
r=$(curl -sS -H 'Host: alice.test' "$URL/.well-known/atproto-did")
[ "$r" = "$did" ] && ok "/.well-known/atproto-did by Host" || notok "well-known did" "$r"
r=$(curl -sS "$URL/.well-known/did.json")
case $r in *'"id":"did:web:localhost"'*) ok "/.well-known/did.json" ;;
*) notok "did.json" "$r" ;; esac

# A second account is independent; both survive a restart.
create '{"handle":"bob.test","email":"bob@example.com","password":"pw-bob-123"}'
[ "$st" = 200 ] && ok "second account" || notok "second account" "$(cat "$T/body")"
kill -TERM "$PID"; wait_gone "$PID" 20; PID=
echo "registration closed" >>"$T/pdsd.conf"
if start_pdsd; then
	r=$(curl -sS "$X/com.atproto.identity.resolveHandle?handle=alice.test")
	[ "$r" = "{\"did\":\"$did\"}" ] && ok "accounts survive a restart" ||
	    notok "after restart" "$r"
	refused "registration closed" \
	    '{"handle":"carl.test","email":"carl@example.com","password":"pw-carl-123"}' \
	    400 InvalidRequest "Account registration is closed on this server"
else
	notok "restart" "$(tail -5 "$T/log")"
fi
kill -TERM "$PID"; wait_gone "$PID" 20; PID=
done_testing
