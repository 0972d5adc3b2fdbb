#!/bin/sh
# pdsctl's offline data tools: cbor2json and json2cbor against the interop
# data-model fixtures, their bad-input handling, and inspect on the CAR
# files in tests/data (written by tests/data/gen/mkcars.c).
. "$(dirname "$0")/lib.subr"

: "${PDS_INTEROP:=$top/../shared/interop}"
D=$top/tests/data
KEY=did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme
OTHERKEY=did:key:zQ3shtxV1FrJfhqE1dvxYRcCknWNjHc3c5X1y3ZSoPDi2aur2

# fails "description" expected-stderr-text command...: ok when the command
# exits 1 with nothing on stdout and one line on stderr holding the text.
fails() {
	d=$1
	want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq 1 ] && [ ! -s "$T/out" ] &&
	    [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qF -- "$want" "$T/err"; then
		ok "$d"
	else
		notok "$d" "rc=$rc stderr=$(cat "$T/err") stdout=$(head -c 200 "$T/out")"
	fi
}

# shows "description" file.car line...: ok when inspect succeeds and prints
# every line given; a line given as "!text" must not start any line.
shows() {
	d=$1
	f=$2
	shift 2
	if ! "$PDSCTL" inspect "$f" >"$T/out" 2>&1; then
		notok "$d" "$(cat "$T/out")"
		return
	fi
	for l in "$@"; do
		case $l in
		!*) grep -q "^${l#!}" "$T/out" || continue ;;
		*) grep -qxF -- "$l" "$T/out" && continue ;;
		esac
		notok "$d" "want $l in: $(cat "$T/out")"
		return
	done
	ok "$d"
}

# The fixtures as files: N.json, N.cbor (expected bytes) for each case.
split_fixtures() {
	node -e '
const fs = require("fs"), [src, dir, kind] = process.argv.slice(1);
const f = JSON.parse(fs.readFileSync(src, "utf8"));
f.forEach((c, i) => {
	fs.writeFileSync(`${dir}/${kind}-${i}.json`, JSON.stringify(c.json));
	if (c.cbor_base64 !== undefined)
		fs.writeFileSync(`${dir}/${kind}-${i}.cbor`,
		    Buffer.from(c.cbor_base64, "base64"));
});
console.log(f.length);' "$1" "$T" "$2"
}

# jsoneq a b: the two files hold the same JSON value.
jsoneq() {
	node -e '
const fs = require("fs"), u = require("util");
const [a, b] = process.argv.slice(1).map(p => JSON.parse(fs.readFileSync(p)));
process.exit(u.isDeepStrictEqual(a, b) ? 0 : 1);' "$1" "$2"
}

if [ ! -d "$PDS_INTEROP/data-model" ]; then
	notok "interop fixtures in $PDS_INTEROP/data-model"
	done_testing
	exit 1
fi

# fixture_suite file kind first check description: splits a fixture file
# and runs "check i" for every case from first on; one TAP line.
fixture_suite() {
	nc=$(split_fixtures "$PDS_INTEROP/data-model/$1" "$2")
	i=$3
	bad=
	while [ "$i" -lt "$nc" ]; do
		$4 "$i" || bad="$bad $i"
		i=$((i + 1))
	done
	[ "$nc" -gt "$3" ] && [ -z "$bad" ] && ok "$5 ($((nc - $3)) cases)" ||
	    notok "$5" "$nc cases, failed:$bad"
}

# JSON -> CBOR gives the fixture's bytes; CBOR -> JSON gives its value.
fixture_case() {
	"$PDSCTL" json2cbor <"$T/fix-$1.json" >"$T/got.cbor" &&
	    cmp -s "$T/got.cbor" "$T/fix-$1.cbor" &&
	    "$PDSCTL" cbor2json <"$T/fix-$1.cbor" >"$T/got.json" &&
	    jsoneq "$T/got.json" "$T/fix-$1.json" &&
	    [ "$(wc -l <"$T/got.json")" -eq 1 ]
}
fixture_suite data-model-fixtures.json fix 0 fixture_case \
    "json2cbor and cbor2json match the data-model fixtures"

# Every valid value survives JSON -> CBOR -> JSON -> CBOR byte for byte.
valid_case() {
	"$PDSCTL" json2cbor <"$T/val-$1.json" >"$T/a.cbor" &&
	    "$PDSCTL" cbor2json <"$T/a.cbor" >"$T/a.json" &&
	    "$PDSCTL" json2cbor <"$T/a.json" >"$T/b.cbor" &&
	    cmp -s "$T/a.cbor" "$T/b.cbor" &&
	    jsoneq "$T/a.json" "$T/val-$1.json"
}
fixture_suite data-model-valid.json val 0 valid_case \
    "the valid data-model values round-trip"

# Every invalid value is refused in one line.  The first case is a bare
# string, a valid value (json2cbor converts any value, not only records).
invalid_case() {
	"$PDSCTL" json2cbor <"$T/inv-$1.json" >"$T/out" 2>"$T/err"
	[ $? -eq 1 ] && [ ! -s "$T/out" ] && [ "$(wc -l <"$T/err")" -eq 1 ]
}
fixture_suite data-model-invalid.json inv 1 invalid_case \
    "the invalid data-model records are refused"
"$PDSCTL" json2cbor <"$T/inv-0.json" >"$T/out" &&
    [ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = 64626c6168 ] &&
    ok "json2cbor encodes a bare string" || notok "bare string"

# Bad input: exit 1, one line on stderr, nothing on stdout.
printf '\377' >"$T/bad.cbor"
fails "cbor2json of a lone break byte" "cbor2json: invalid DAG-CBOR: " \
    "$PDSCTL" cbor2json <"$T/bad.cbor"
printf '\242\141b\001\141a\002' >"$T/bad.cbor"
fails "cbor2json of unsorted map keys" "cbor2json: invalid DAG-CBOR: " \
    "$PDSCTL" cbor2json <"$T/bad.cbor"
printf '\001\002' >"$T/bad.cbor"
fails "cbor2json with trailing bytes" "trailing bytes" \
    "$PDSCTL" cbor2json <"$T/bad.cbor"
printf '\371\074\000' >"$T/bad.cbor"
fails "cbor2json of a float" "floats not allowed" \
    "$PDSCTL" cbor2json <"$T/bad.cbor"
printf '\242\141a' >"$T/bad.cbor"
fails "cbor2json of truncated input" "truncated" \
    "$PDSCTL" cbor2json <"$T/bad.cbor"
fails "cbor2json of empty input" "cbor2json: empty input" \
    "$PDSCTL" cbor2json </dev/null
fails "json2cbor of broken JSON" "json2cbor: invalid JSON" \
    sh -c 'echo "{\"a\": " | "$1" json2cbor' sh "$PDSCTL"
fails "json2cbor of a float" "json2cbor: floats not allowed" \
    sh -c 'echo "{\"a\": 1.5}" | "$1" json2cbor' sh "$PDSCTL"
fails "json2cbor of empty input" "json2cbor: empty input" \
    "$PDSCTL" json2cbor </dev/null
head -c $((8 * 1024 * 1024 + 1)) /dev/zero >"$T/big"
fails "cbor2json refuses input over 8 MiB" "input larger than 8388608 bytes" \
    "$PDSCTL" cbor2json <"$T/big"
fails "json2cbor refuses input over 8 MiB" "input larger than 8388608 bytes" \
    "$PDSCTL" json2cbor <"$T/big"
out=$(printf '{"b": {"$bytes": "AAE"}, "a": [1, -2, null, true]}\n' |
    "$PDSCTL" json2cbor | "$PDSCTL" cbor2json)
[ "$out" = '{"a":[1,-2,null,true],"b":{"$bytes":"AAE"}}' ] &&
    ok "json2cbor | cbor2json sorts keys, keeps bytes" ||
    notok "pipe" "$out"

# inspect: the whole output for the good repository.
cat >"$T/good.ok" <<EOF
size: 1455
roots: 1
root: bafyreieiuvq7uyomniqs2u6n2peww5s3xdngayuoggdommptrzrauos2oe
blocks: 7
block bytes: 1133
commit: bafyreieiuvq7uyomniqs2u6n2peww5s3xdngayuoggdommptrzrauos2oe
did: did:plc:6adr3q2labdllanslzhqkqd3
version: 3
rev: 3kxyzabcde222
data: bafyreiazvbgsrwsn5lrzpjcrhszlxv4nrv7c6jr5elq3bt7posw4ojpjam
prev: null
records: 5
collection: app.bsky.feed.like 2
collection: app.bsky.feed.post 3
EOF
"$PDSCTL" inspect "$D/good.car" >"$T/out" 2>"$T/err" &&
    diff -u "$T/good.ok" "$T/out" >"$T/diff" && [ ! -s "$T/err" ] &&
    ok "inspect good.car" || notok "inspect good.car" "$(cat "$T/diff" "$T/err")"

printf 'signature: valid\nverify: ok\n' >>"$T/good.ok"
"$PDSCTL" inspect --verify --key "$KEY" "$D/good.car" >"$T/out" 2>&1 &&
    diff -u "$T/good.ok" "$T/out" >"$T/diff" &&
    ok "inspect --verify --key on good.car" ||
    notok "verify --key good.car" "$(cat "$T/diff")"
"$PDSCTL" inspect --verify --did-doc "$D/did.json" "$D/good.car" >"$T/out" \
    2>&1 && diff -u "$T/good.ok" "$T/out" >"$T/diff" &&
    ok "inspect --verify --did-doc on good.car" ||
    notok "verify --did-doc good.car" "$(cat "$T/diff")"
"$PDSCTL" inspect --verify "$D/good.car" >"$T/out" 2>&1 &&
    tail -2 "$T/out" | tr '\n' ' ' | grep -qx 'signature: not checked verify: ok ' &&
    ok "inspect --verify without a key checks all but the signature" ||
    notok "verify without key" "$(cat "$T/out")"

# Faults: exit 1, one line saying what and where.
fails "--verify fails on a corrupted block, naming it" \
    "CAR block does not match its CID: block 2 at byte 663, cid bafyreicvrrcv6gdjsqfiuemouzx3o4y7kejdvd5b3qfg5owtszk75qb5se" \
    "$PDSCTL" inspect --verify --key "$KEY" "$D/corrupt.car"
fails "inspect fails on a corrupted block even without --verify" \
    "block 2 at byte 663" "$PDSCTL" inspect "$D/corrupt.car"
fails "--verify fails on a truncated CAR, naming the block" \
    "truncated CAR: block 6 at byte 1230" \
    "$PDSCTL" inspect --verify "$D/truncated.car"
fails "--verify fails on a wrong signature" \
    "badsig.car: bad commit signature: commit bafyreihrnwuy7znq2kxjya67krm7rkk4acdqp7laipkjttqxac7gpofn7q" \
    "$PDSCTL" inspect --verify --key "$KEY" "$D/badsig.car"
fails "--verify --did-doc fails on a wrong signature" \
    "bad commit signature" \
    "$PDSCTL" inspect --verify --did-doc "$D/did.json" "$D/badsig.car"
fails "--verify with the wrong key fails" "bad commit signature" \
    "$PDSCTL" inspect --verify --key "$OTHERKEY" "$D/good.car"
"$PDSCTL" inspect --verify --key "$OTHERKEY" "$D/badsig.car" >/dev/null 2>&1 &&
    ok "badsig.car verifies with the key that signed it" ||
    notok "badsig.car with its own key"
sed 's/6adr3q2labdllanslzhqkqd3"/someoneelse234567abcdefg"/' "$D/did.json" \
    >"$T/other.json"
fails "--did-doc of another DID fails" \
    "the DID document is for did:plc:someoneelse234567abcdefg" \
    "$PDSCTL" inspect --verify --did-doc "$T/other.json" "$D/good.car"
sed 's/#atproto"/#other"/' "$D/did.json" >"$T/nokey.json"
fails "--did-doc without an #atproto key fails" \
    "no #atproto verification method" \
    "$PDSCTL" inspect --verify --did-doc "$T/nokey.json" "$D/good.car"
fails "--verify fails when the root is not a commit" \
    "root bafyreicvrrcv6gdjsqfiuemouzx3o4y7kejdvd5b3qfg5owtszk75qb5se is not a commit: " \
    "$PDSCTL" inspect --verify "$D/nocommit.car"
shows "inspect without --verify describes a CAR without a commit" \
    "$D/nocommit.car" "commit: none" "!did:" "!records"
# Partial CARs: described without --verify, refused with it.
shows "inspect counts records whose blocks are not in the CAR" \
    "$D/norecord.car" "blocks: 6" "records: 5" \
    "collection: app.bsky.feed.like 2"
fails "--verify fails on a missing record block, naming it" \
    "record block missing: app.bsky.feed.like/3khuwc44gwc2b, cid bafyreiel2ljqiosyojdfbs45ttebxymyoqswt7jd75lz73xgxdjlxyxz7i" \
    "$PDSCTL" inspect --verify "$D/norecord.car"
shows "inspect says a CAR without its MST is incomplete" \
    "$D/nonode.car" "records: incomplete" "!collection"
fails "--verify fails on a missing MST node, naming it" \
    "MST node missing: cid bafyreiazvbgsrwsn5lrzpjcrhszlxv4nrv7c6jr5elq3bt7posw4ojpjam" \
    "$PDSCTL" inspect --verify "$D/nonode.car"
shows "inspect says a tree with unsorted keys is invalid" \
    "$D/badmst.car" "records: invalid tree" "!collection"
fails "--verify fails on unsorted MST keys, even when signed" \
    "bad MST under data bafyreihtn3otdjpz6s3sewfc2ycbxkcuhlr62i7bahp4ozfdvaabzafi6e" \
    "$PDSCTL" inspect --verify --key "$KEY" "$D/badmst.car"
fails "a bad did:key is refused" "not a k256 or p256 did:key" \
    "$PDSCTL" inspect --verify --key did:key:zzz "$D/good.car"
fails "a key without --verify is refused" "only used with --verify" \
    "$PDSCTL" inspect --key "$KEY" "$D/good.car"
fails "a missing file" "$T/nonexistent.car" \
    "$PDSCTL" inspect "$T/nonexistent.car"
printf 'not a car' >"$T/junk.car"
fails "a file that is not a CAR" "(header at byte 0)" \
    "$PDSCTL" inspect "$T/junk.car"
: >"$T/empty.car"
fails "an empty file" "CAR has no header" "$PDSCTL" inspect "$T/empty.car"
"$PDSCTL" inspect >/dev/null 2>&1
[ $? -eq 1 ] && ok "inspect without a file exits 1" || notok "inspect no file"

done_testing
