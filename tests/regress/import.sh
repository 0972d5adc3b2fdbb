#!/bin/sh
# pdsctl unpack, pack and import.  Offline: unpack then pack gives back
# the same MST root (and, with the same key and rev, the same commit)
# for tests/data/good.car and for a generated repository of a few
# thousand records, whose root @atproto/repo computes too.  Online: a
# CAR imported into an account of the running daemon becomes its repo
# (root, rev, record rows, as @atproto/repo reads the file), a later
# local write lands on top, and every bad import changes nothing.
. "$(dirname "$0")/lib.subr"

NODE=$top/tests/node/node_modules/.bin/node
D=$top/tests/data
# The k256 key mkcars.c signs with, and its did:key.
KEYHEX=9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c
KEY=did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme
GOODDID=did:plc:6adr3q2labdllanslzhqkqd3
J='Content-Type: application/json'
echo "$KEYHEX" >"$T/key"

# field name file: the value of a "name: value" line.
field() {
	sed -n "s/^$1: //p" "$2"
}

# fails "description" expected-stderr-text command...: ok when the command
# exits 1 with one line on stderr holding the text.
fails() {
	d=$1
	want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] &&
	    grep -qF -- "$want" "$T/err"; then
		ok "$d"
	else
		notok "$d" "rc=$rc stderr=$(cat "$T/err") stdout=$(head -c 300 "$T/out")"
	fi
}

# refroot dir: the MST root @atproto/repo builds from an unpacked tree.
refroot() {
	(cd "$top/tests/node" && "$NODE" --input-type=module -e '
import { MST, MemoryBlockstore, cidForRecord } from "@atproto/repo"
import { lexParse } from "@atproto/lex-json"
import fs from "fs"
const dir = process.argv[1]
let mst = await MST.create(new MemoryBlockstore())
for (const c of fs.readdirSync(dir)) {
	if (c === "_commit.json") continue
	for (const f of fs.readdirSync(`${dir}/${c}`)) {
		const v = lexParse(fs.readFileSync(`${dir}/${c}/${f}`, "utf8"))
		mst = await mst.add(`${c}/${f.slice(0, -5)}`, await cidForRecord(v))
	}
}
console.log((await mst.getPointer()).toString())' "$1")
}

# reflist file.car: "collection rkey cid" of every record, as
# @atproto/repo reads the file.
reflist() {
	(cd "$top/tests/node" && "$NODE" --input-type=module -e '
import { readCarWithRoot, MST, MemoryBlockstore } from "@atproto/repo"
import { cborDecode } from "@atproto/common"
import fs from "fs"
const car = await readCarWithRoot(fs.readFileSync(process.argv[1]))
const commit = cborDecode(car.blocks.get(car.root))
const mst = MST.load(new MemoryBlockstore(car.blocks), commit.data)
for (const l of await mst.list())
	console.log(l.key.replace("/", " "), l.value.toString())' "$1")
}

#
# Offline: unpack and pack.
#
if "$PDSCTL" unpack "$D/good.car" "$T/u1" >"$T/out" 2>&1 &&
    [ "$(cat "$T/out")" = "records: 5" ] &&
    [ "$(ls "$T/u1/app.bsky.feed.post" | wc -l)" -eq 3 ] &&
    [ "$(ls "$T/u1/app.bsky.feed.like" | wc -l)" -eq 2 ] &&
    grep -qF '"did": "did:plc:6adr3q2labdllanslzhqkqd3"' "$T/u1/_commit.json" &&
    grep -qF '"rev": "3kxyzabcde222"' "$T/u1/_commit.json" &&
    grep -qF '"text": "hello, world 0"' \
    "$T/u1/app.bsky.feed.post/3khuwc44c222b.json"; then
	ok "unpack good.car: a file per record and _commit.json"
else
	notok "unpack good.car" "$(cat "$T/out")"
fi
fails "unpack refuses a directory that is not empty" "directory not empty" \
    "$PDSCTL" unpack "$D/good.car" "$T/u1"
fails "unpack of a corrupted CAR" "CAR block does not match its CID" \
    "$PDSCTL" unpack "$D/corrupt.car" "$T/ubad1"
fails "unpack of a CAR missing a record" "record block missing" \
    "$PDSCTL" unpack "$D/norecord.car" "$T/ubad2"
fails "unpack of a CAR whose root is no commit" "the root is not a commit" \
    "$PDSCTL" unpack "$D/nocommit.car" "$T/ubad3"

"$PDSCTL" inspect "$D/good.car" >"$T/good.info"
if "$PDSCTL" pack "$T/u1" "$T/p1.car" -k "$T/key" >"$T/p1.out" 2>&1 &&
    [ "$(field data "$T/p1.out")" = "$(field data "$T/good.info")" ] &&
    [ "$(field commit "$T/p1.out")" = "$(field commit "$T/good.info")" ] &&
    [ "$(field key "$T/p1.out")" = "$KEY" ]; then
	ok "unpack then pack of good.car: same data root, same commit"
else
	notok "pack good" "$(cat "$T/p1.out")"
fi
"$PDSCTL" inspect --verify --key "$KEY" "$T/p1.car" >"$T/out" 2>&1 &&
    grep -qx 'verify: ok' "$T/out" && grep -qx 'records: 5' "$T/out" &&
    ok "pack output verifies with inspect --verify --key" ||
    notok "pack verify" "$(cat "$T/out")"
fails "pack without -k and no daemon to sign" "cannot connect" \
    "$PDSCTL" -s "$T/no.sock" pack "$T/u1" "$T/nokey.car"
[ ! -e "$T/nokey.car" ] && ok "pack without -k writes nothing" ||
    notok "pack without -k wrote a file"
echo 1234 >"$T/badkey"
fails "pack refuses a malformed key file" "not a k256 private key" \
    "$PDSCTL" pack "$T/u1" "$T/x.car" -k "$T/badkey"
mkdir -p "$T/u5/app.bsky.feed.post"
echo '{"did": "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"}' >"$T/u5/_commit.json"
echo '{"text": 1.5}' >"$T/u5/app.bsky.feed.post/a.json"
fails "pack refuses a record that is not data-model JSON" "a.json" \
    "$PDSCTL" pack "$T/u5" "$T/x.car" -k "$T/key"
rm "$T/u5/app.bsky.feed.post/a.json"
echo '{"text": "x"}' >"$T/u5/app.bsky.feed.post/a.txt"
fails "pack refuses a file that is not <rkey>.json" "not <rkey>.json" \
    "$PDSCTL" pack "$T/u5" "$T/x.car" -k "$T/key"
rm "$T/u5/app.bsky.feed.post/a.txt"
if "$PDSCTL" pack "$T/u5" "$T/empty.car" -k "$T/key" >"$T/out" 2>&1 &&
    [ "$(field data "$T/out")" = "$(refroot "$T/u5")" ] &&
    "$PDSCTL" inspect --verify --key "$KEY" "$T/empty.car" >/dev/null 2>&1
then
	ok "pack of an empty repository: the empty tree's root"
else
	notok "pack empty" "$(cat "$T/out")"
fi

# A larger repository, generated: several collections, TID and other
# rkeys, links, bytes, nesting and non-ASCII text.
"$NODE" -e '
const fs = require("fs"), dir = process.argv[1], did = process.argv[2]
let seed = 12345
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
const cols = ["app.bsky.feed.post", "app.bsky.feed.like",
    "app.bsky.graph.follow", "com.example.x-y.thing"]
const tid = "234567abcdefghijklmnopqrstuvwxyz"
fs.mkdirSync(dir)
fs.writeFileSync(`${dir}/_commit.json`, JSON.stringify({ did, rev: "3lbbbbbbbbb22" }))
for (const c of cols) fs.mkdirSync(`${dir}/${c}`)
for (let i = 0; i < 2500; i++) {
	const c = cols[Math.floor(rnd() * cols.length)]
	let rkey = "3k"
	for (let j = 0; j < 11; j++) rkey += tid[Math.floor(rnd() * 32)]
	if (i % 97 === 0) rkey = `self-${i}:x~y_z.${i}`
	const rec = { $type: c, text: `record ${i} \u00e9\u{1f600}`, n: i - 1000,
	    createdAt: "2024-01-01T00:00:00.000Z",
	    subject: { uri: `at://${did}/${c}/${rkey}`,
	    cid: { $link: "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm" } },
	    tags: i % 3 ? [] : ["a", "b", { deep: [null, true, false] }],
	    raw: { $bytes: Buffer.from([i & 255, 1, 2]).toString("base64") } }
	fs.writeFileSync(`${dir}/${c}/${rkey}.json`, JSON.stringify(rec))
}' "$T/g" "$GOODDID"
NGEN=$(find "$T/g" -name '*.json' ! -name _commit.json | wc -l)
if "$PDSCTL" pack "$T/g" "$T/g1.car" -k "$T/key" >"$T/g1.out" 2>&1 &&
    [ "$(field records "$T/g1.out")" = "$NGEN" ] &&
    [ "$(field data "$T/g1.out")" = "$(refroot "$T/g")" ]; then
	ok "pack of $NGEN generated records: the reference's MST root"
else
	notok "pack generated" "$(cat "$T/g1.out") ref $(refroot "$T/g")"
fi
if "$PDSCTL" unpack "$T/g1.car" "$T/g2" >/dev/null 2>&1 &&
    "$PDSCTL" pack "$T/g2" "$T/g2.car" -k "$T/key" >"$T/g2.out" 2>&1 &&
    [ "$(field data "$T/g2.out")" = "$(field data "$T/g1.out")" ] &&
    [ "$(field commit "$T/g2.out")" = "$(field commit "$T/g1.out")" ] &&
    [ "$(field rev "$T/g2.out")" = 3lbbbbbbbbb22 ]; then
	ok "unpack then pack of the generated repo: same root and commit"
else
	notok "generated round trip" "$(cat "$T/g1.out" "$T/g2.out")"
fi
"$PDSCTL" unpack "$T/g2.car" "$T/g3" >/dev/null 2>&1 &&
    diff -r "$T/g2" "$T/g3" >/dev/null &&
    ok "unpack writes the same files again" || notok "unpack is not stable"
"$PDSCTL" inspect --verify --key "$KEY" "$T/g2.car" >"$T/out" 2>&1 &&
    grep -qx "records: $NGEN" "$T/out" &&
    ok "the generated CAR verifies" || notok "verify generated" "$(cat "$T/out")"
sed 's/"rev": "3lbbbbbbbbb22"/"rev": "3lbbbbbbbbc22"/' "$T/g2/_commit.json" \
    >"$T/c.json" && mv "$T/c.json" "$T/g2/_commit.json"
"$PDSCTL" pack "$T/g2" "$T/g4.car" -k "$T/key" >"$T/g4.out" 2>&1 &&
    [ "$(field rev "$T/g4.out")" = 3lbbbbbbbbc22 ] &&
    [ "$(field data "$T/g4.out")" = "$(field data "$T/g1.out")" ] &&
    ok "pack keeps the rev _commit.json gives" || notok "rev" "$(cat "$T/g4.out")"

#
# Online: import.
#
write_conf
must_start_pdsd
DB=$T/data/pdsd.db
X=$URL/xrpc

sql() {
	sqlite3 -cmd '.timeout 5000' "$DB" "$@"
}

# Every repository row of the database, hashed: "nothing changed".
snap() {
	sql "SELECT did, commit_cid, data_cid, rev FROM repo_root ORDER BY did;
	    SELECT seq, did, type, hex(payload) FROM repo_seq ORDER BY seq;
	    SELECT did, collection, rkey, cid, rev FROM record ORDER BY 1, 2, 3;
	    SELECT did, cid, rev, hex(data) FROM repo_block ORDER BY 1, 2;" |
	    sha256sum
}

# records did: "collection rkey cid" of every record row, sorted.
records() {
	sql "SELECT collection, rkey, cid FROM record WHERE did = '$1'
	    ORDER BY collection, rkey;" | tr '|' ' '
}

# The warning of an import into an account whose key signerd lacks.
NOBIND="warning: signerd did not raise its last signed rev: rev raise: unknown did"

# Alice through createAccount (signerd holds her key); the accounts of
# the fixture's DID and of a bystander as rows.
st=$(curl -sS -o "$T/body" -w '%{http_code}' -H "$J" -d \
    '{"handle":"alice.test","email":"alice@example.com","password":"pw-alice"}' \
    "$X/com.atproto.server.createAccount")
ALICE=$(sed -n 's/.*"did":"\([^"]*\)".*/\1/p' "$T/body")
TOK=$(sed -n 's/.*"accessJwt":"\([^"]*\)".*/\1/p' "$T/body")
[ "$st" = 200 ] && [ -n "$ALICE" ] && ok "createAccount alice" ||
    notok "createAccount alice" "$st $(cat "$T/body")"
BOB=did:plc:bbbbbbbbbbbbbbbbbbbbbbbb
sql "INSERT INTO account (did, handle, email, password_hash, signing_key,
    status, created_at) VALUES
    ('$GOODDID', 'good.test', NULL, NULL, '$KEY', 'active',
    '2024-01-01T00:00:00Z'),
    ('$BOB', 'bob.test', NULL, NULL, 'not-a-key', 'active',
    '2024-01-01T00:00:00Z');" || notok "insert accounts"

"$PDSCTL" -s "$SOCK" import --did "$GOODDID" "$D/good.car" >"$T/out" 2>&1
if [ $? -eq 0 ] && [ "$(cat "$T/out")" = "imported $GOODDID: commit $(field commit "$T/good.info"), rev 3kxyzabcde222, 5 records, 7 blocks
$NOBIND" ] &&
    [ "$(sql "SELECT commit_cid, data_cid, rev FROM repo_root WHERE did = '$GOODDID'")" = \
    "$(field commit "$T/good.info")|$(field data "$T/good.info")|3kxyzabcde222" ]; then
	ok "import good.car: the repo's head is the file's commit, data and rev"
else
	notok "import good.car" "$(cat "$T/out")"
fi
reflist "$D/good.car" >"$T/want"
records "$GOODDID" >"$T/got"
cmp -s "$T/want" "$T/got" && [ -s "$T/got" ] &&
    ok "the record rows are the CAR's records" ||
    notok "records" "$(diff "$T/want" "$T/got")"
[ "$(sql "SELECT count(*) FROM record WHERE did = '$GOODDID' AND rev != '3kxyzabcde222';
    SELECT count(*) FROM repo_block WHERE did = '$GOODDID'")" = "0
7" ] && ok "record rows carry the rev; the blocks are the CAR's" ||
    notok "rows" "$(sql "SELECT * FROM repo_block WHERE did = '$GOODDID'" | cut -c1-120)"

[ "$(sql "SELECT count(*) FROM repo_seq WHERE did = '$GOODDID' AND type = '#sync'")" = 1 ] &&
    ok "the import logged one #sync event" ||
    notok "#sync" "$(sql "SELECT seq, did, type FROM repo_seq")"

# Blocks the tree does not reach are not kept: good.car with the
# sections of another CAR after its own.
"$NODE" -e '
const fs = require("fs")
const skip = b => { let n = 0, s = 0, i = 0
	for (;; i++) { n |= (b[i] & 127) << s; s += 7; if (!(b[i] & 128)) break }
	return b.subarray(i + 1 + n) }
fs.writeFileSync(process.argv[3], Buffer.concat([fs.readFileSync(process.argv[1]),
    skip(fs.readFileSync(process.argv[2]))]))' "$D/good.car" "$T/g1.car" "$T/extra.car"
"$PDSCTL" -s "$SOCK" import --did "$GOODDID" "$T/extra.car" >"$T/out" 2>&1 &&
    grep -q ", 5 records, 7 blocks$" "$T/out" &&
    [ "$(sql "SELECT count(*) FROM repo_block WHERE did = '$GOODDID'")" = 7 ] &&
    [ "$(sql "SELECT count(*) FROM repo_block WHERE rev = ''")" = 0 ] &&
    ok "blocks outside the tree are dropped" || notok "extra blocks" "$(cat "$T/out")"

# A generated repo for alice, by handle, over the repo createAccount made.
mkdir "$T/ga"
cp -r "$T/g2/"* "$T/ga/"
printf '{"did": "%s"}\n' "$ALICE" >"$T/ga/_commit.json"
"$PDSCTL" pack "$T/ga" "$T/ga.car" -k "$T/key" >"$T/ga.out" 2>&1
"$PDSCTL" -s "$SOCK" import --handle alice.test "$T/ga.car" >"$T/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "^imported $ALICE: commit $(field commit "$T/ga.out"), rev $(field rev "$T/ga.out"), $NGEN records" "$T/out" &&
    grep -qx "warning: the commit is not signed by the account's key" "$T/out" &&
    ! grep -q "signerd" "$T/out" &&
    [ "$(sql "SELECT commit_cid, data_cid, rev FROM repo_root WHERE did = '$ALICE'")" = \
    "$(field commit "$T/ga.out")|$(field data "$T/ga.out")|$(field rev "$T/ga.out")" ]; then
	ok "import by handle over an existing repo, with a signature warning"
else
	notok "import alice" "rc=$rc $(cat "$T/out")"
fi
reflist "$T/ga.car" >"$T/want"
records "$ALICE" >"$T/got"
cmp -s "$T/want" "$T/got" && [ "$(wc -l <"$T/got")" -eq "$NGEN" ] &&
    ok "alice's $NGEN record rows are the CAR's" ||
    notok "alice records" "$(diff "$T/want" "$T/got" | head -5)"

# The same CAR with its sections in reverse order (neither tree order nor
# CID order: every block read back alone), its first block twice and a
# block outside the tree: the same records and the same blocks, each
# stored once, and their rows as the first import left them.
blocks() {
	sql "SELECT cid, rev, hex(data) FROM repo_block WHERE did = '$1'
	    ORDER BY cid;" | sha256sum
}
# shuffle in out n: the sections reversed, the first twice, n stray
# blocks halfway.
shuffle() {
	"$NODE" -e '
const fs = require("fs")
const b = fs.readFileSync(process.argv[1])
let o = 0
function varint() {
	let v = 0, s = 0, c
	do { c = b[o++]; v += (c & 0x7f) * 2 ** s; s += 7 } while (c & 0x80)
	return v
}
function enc(n) {
	const out = []
	do { let c = n % 128; n = Math.floor(n / 128); out.push(n ? c | 0x80 : c) } while (n)
	return Buffer.from(out)
}
let start = o, len = varint()
const header = b.subarray(start, o + len)
o += len
const secs = []
while (o < b.length) {
	start = o
	len = varint()
	secs.push(b.subarray(start, o + len))
	o += len
}
const rev = secs.slice().reverse(), half = rev.length >> 1
const out = [header, ...rev.slice(0, half)]
/* Raw blocks no node links to, amid the tree. */
for (let i = 0; i < Number(process.argv[3]); i++) {
	const d = Buffer.from(i ? `stray ${i}` : "stray")
	const stray = Buffer.concat([Buffer.from([0x01, 0x55, 0x12, 0x20]),
	    require("crypto").createHash("sha256").update(d).digest(), d])
	out.push(enc(stray.length), stray)
}
fs.writeFileSync(process.argv[2], Buffer.concat([...out, ...rev.slice(half), secs[0]]))
' "$@"
}
shuffle "$T/ga.car" "$T/shuffled.car" 1
want_blocks=$(blocks "$ALICE")
want_n=$(sql "SELECT count(*) FROM repo_block WHERE did = '$ALICE'")
"$PDSCTL" -s "$SOCK" import --did "$ALICE" "$T/shuffled.car" >"$T/out" 2>&1
rc=$?
records "$ALICE" >"$T/got"
if [ $rc -eq 0 ] && grep -q "^imported $ALICE: .* $NGEN records, $want_n blocks" "$T/out" &&
    [ "$(blocks "$ALICE")" = "$want_blocks" ] && cmp -s "$T/want" "$T/got"; then
	ok "a CAR in reverse order, a block twice, a stray block: the same repo"
else
	notok "shuffled CAR" "rc=$rc $(cat "$T/out") blocks $want_n"
fi

# The same through both stages: a repository with three records of the
# same content (one block, its refs 3), shuffled as above, once with a
# stray block (staged in memory) and once with more stray blocks than
# memory stages (262144) halfway: the first half of the tree moves into
# SQLite's temporary database with the strays, which the log says, the
# other half goes straight there, and every row is the same.
state() {
	sql "SELECT cid, rev, hex(data), refs FROM repo_block WHERE did = '$1'
	    ORDER BY cid; SELECT collection, rkey, cid, rev FROM record
	    WHERE did = '$1' ORDER BY 1, 2;"
	for t in bsky_post bsky_like bsky_follow bsky_repost bsky_tag \
	    bsky_post_ref; do
		cols=$(sql "SELECT group_concat(name) FROM pragma_table_info('$t')
		    WHERE name NOT IN ('id', 'indexed_at')")
		echo "$t $cols"
		sql "SELECT $cols FROM $t WHERE uri LIKE 'at://$1/%' ORDER BY $cols;"
	done
}
spills() {
	grep -c "staged in the temporary database" "$T/log"
}
mkdir "$T/gd"
cp -r "$T/ga/"* "$T/gd/"
for k in 3kdupdupdup22 3kdupdupdup23 3kdupdupdup24; do
	printf '{"$type": "app.bsky.feed.like", "subject": {"uri": "at://%s/app.bsky.feed.post/3kaaaaaaaaa22", "cid": {"$link": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"}}, "createdAt": "2024-01-01T00:00:00.000Z"}\n' \
	    "$ALICE" >"$T/gd/app.bsky.feed.like/$k.json"
done
"$PDSCTL" pack "$T/gd" "$T/gd.car" -k "$T/key" >"$T/gd.out" 2>&1
shuffle "$T/gd.car" "$T/gd1.car" 1
shuffle "$T/gd.car" "$T/gdb.car" 262145
s0=$(spills)
"$PDSCTL" -s "$SOCK" import --did "$ALICE" "$T/gd1.car" >"$T/out1" 2>&1
rc1=$?
s1=$(spills)
state "$ALICE" >"$T/state1"
refs=$(sql "SELECT max(refs) FROM repo_block WHERE did = '$ALICE'")
"$PDSCTL" -s "$SOCK" import --did "$ALICE" "$T/gdb.car" >"$T/out2" 2>&1
rc2=$?
s2=$(spills)
state "$ALICE" >"$T/state2"
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && cmp -s "$T/out1" "$T/out2" &&
    grep -q "^imported $ALICE: .* $((NGEN + 3)) records" "$T/out1" &&
    [ "$refs" = 3 ] && [ "$s1" = "$s0" ] && [ "$s2" = $((s0 + 1)) ] &&
    [ "$(grep -c . "$T/state1")" -gt $((NGEN * 2)) ] &&
    cmp -s "$T/state1" "$T/state2"; then
	ok "staged in memory or in the temporary database: the same rows"
else
	notok "both stages" "rc $rc1 $rc2 refs $refs spills $s0 $s1 $s2
$(cat "$T/out1" "$T/out2") $(diff "$T/state1" "$T/state2" | head -5)"
fi
# A CAR over 8 MiB that memory still stages (200,000 stray blocks):
# read through the window, not mapped; the same rows again.
shuffle "$T/gd.car" "$T/gdw.car" 200000
s3=$(spills)
"$PDSCTL" -s "$SOCK" import --did "$ALICE" "$T/gdw.car" >"$T/outw" 2>&1
rcw=$?
state "$ALICE" >"$T/statew"
if [ $rcw -eq 0 ] && [ "$(wc -c <"$T/gdw.car")" -gt 8388608 ] &&
    cmp -s "$T/out1" "$T/outw" && [ "$(spills)" = "$s3" ] &&
    cmp -s "$T/state1" "$T/statew"; then
	ok "a CAR read through the window, staged in memory: the same rows"
else
	notok "window" "rc $rcw $(cat "$T/outw") $(diff "$T/state1" "$T/statew" | head -5)"
fi

# The import maps the CAR: pdsctl import's file is copied first into a
# scratch file only pdsd holds.  The user's file cut short, then
# rewritten with other bytes, while the import runs (its mapping is in
# the frontend's maps) changes nothing: a mapping of the user's own
# file would fault (SIGBUS) or read the new bytes.
# (150,000 stray blocks: a CAR the import maps, under 8 MiB, that takes
# a while.)
FE=$("$PDSCTL" -s "$SOCK" status | sed -n 's/.*frontend \([0-9]*\),.*/\1/p')
shuffle "$T/gd.car" "$T/victim.car" 150000
size=$(wc -c <"$T/victim.car")
"$PDSCTL" -s "$SOCK" import --did "$ALICE" "$T/victim.car" >"$T/out3" 2>&1 &
ipid=$!
seen=
i=0
while [ $i -lt 1000 ] && [ -z "$seen" ] && kill -0 $ipid 2>/dev/null; do
	seen=$(grep -E 'scratch|victim' "/proc/$FE/maps" 2>/dev/null)
	[ -n "$seen" ] || sleep 0.01
	i=$((i + 1))
done
: >"$T/victim.car"
head -c "$size" /dev/urandom >"$T/victim.car"
wait $ipid
rc3=$?
state "$ALICE" >"$T/state3"
if [ $rc3 -eq 0 ] && cmp -s "$T/out2" "$T/out3" &&
    cmp -s "$T/state2" "$T/state3" && kill -0 "$FE" &&
    echo "$seen" | grep -q 'scratch.* (deleted)$' &&
    ! echo "$seen" | grep -q victim; then
	ok "the file cut short and rewritten during its import: the import is of what it held"
else
	notok "file changed during import" "rc $rc3 maps $seen
$(cat "$T/out3") $(diff "$T/state2" "$T/state3" | head -5)"
fi

# The frontend stopped (SIGSTOP) while pdsctl sends the file, the file
# cut short before it runs again: a clean refusal, nothing changed.
cp "$T/ga.car" "$T/victim.car"
kill -STOP "$FE"
"$PDSCTL" -s "$SOCK" import --did "$ALICE" "$T/victim.car" >"$T/out4" 2>"$T/err4" &
ipid=$!
sleep 0.5
head -c 1000 "$T/ga.car" >"$T/victim.car"
kill -CONT "$FE"
wait $ipid
rc4=$?
state "$ALICE" >"$T/state4"
if [ $rc4 -eq 1 ] && grep -q "bad CAR" "$T/err4" && kill -0 "$FE" &&
    cmp -s "$T/state2" "$T/state4"; then
	ok "the file cut short while pdsd was stopped: refused, nothing changed"
else
	notok "file cut short while stopped" "rc $rc4 $(cat "$T/out4" "$T/err4")"
fi

"$PDSCTL" -s "$SOCK" import --did "$ALICE" "$T/shuffled.car" >"$T/out" 2>&1 &&
    [ "$(blocks "$ALICE")" = "$want_blocks" ] &&
    ok "alice's repository back as it was" || notok "reimport" "$(cat "$T/out")"

# The next local write is a normal commit on top, signed by our key.
st=$(curl -sS -o "$T/body" -w '%{http_code}' -H "$J" \
    -H "Authorization: Bearer $TOK" -d "{\"repo\":\"$ALICE\",\"collection\":\"app.bsky.feed.post\",\"record\":{\"\$type\":\"app.bsky.feed.post\",\"text\":\"after import\",\"createdAt\":\"2024-01-01T00:00:00.000Z\"}}" \
    "$X/com.atproto.repo.createRecord")
newrev=$(sql "SELECT rev FROM repo_root WHERE did = '$ALICE'")
if [ "$st" = 200 ] && [ "$newrev" \> "$(field rev "$T/ga.out")" ] &&
    [ "$(sql "SELECT count(*) FROM record WHERE did = '$ALICE'")" -eq $((NGEN + 1)) ]; then
	ok "a write after the import is a new commit on top"
else
	notok "write after import" "$st $(cat "$T/body") rev $newrev"
fi
curl -sS -o "$T/export.car" "$X/com.atproto.sync.getRepo?did=$ALICE" &&
    "$PDSCTL" inspect --verify "$T/export.car" >"$T/out" 2>&1 &&
    grep -qx "records: $((NGEN + 1))" "$T/out" &&
    ok "the repo exports and verifies after import and write" ||
    notok "export after import" "$(cat "$T/out")"

# Refusals: one line, exit 1, and no row of any repository changed.
before=$(snap)
refuse() {
	d=$1
	fails "$d" "$2" "$PDSCTL" -s "$SOCK" import $3
	[ "$(snap)" = "$before" ] && ok "$d: nothing changed" ||
	    notok "$d: nothing changed"
}
refuse "import of a corrupted CAR" "bad CAR: CAR block does not match its CID" \
    "--did $GOODDID $D/corrupt.car"
refuse "import of a truncated CAR" "bad CAR" "--did $GOODDID $D/truncated.car"
refuse "import of a CAR with a bad MST" "bad MST under data" \
    "--did $GOODDID $D/badmst.car"
refuse "import of a CAR missing an MST node" "MST node missing" \
    "--did $GOODDID $D/nonode.car"
refuse "import of a CAR missing a record" "record block missing" \
    "--did $GOODDID $D/norecord.car"
refuse "import of a CAR whose root is no commit" "is not a commit" \
    "--did $GOODDID $D/nocommit.car"
refuse "import into an unknown account" "no such account: nobody.test" \
    "--handle nobody.test $D/good.car"
head -c 1000 "$T/ga.car" >"$T/short.car"
refuse "import of a CAR cut short" "bad CAR" "--did $ALICE $T/short.car"
# A database failure halfway through a 2000-record walk (one record's
# row refused by a trigger) rolls everything back; so does a record
# that is no map halfway.
mid=$(sql "SELECT collection || '/' || rkey FROM record WHERE did = '$ALICE'
    ORDER BY collection, rkey LIMIT 1 OFFSET $((NGEN / 2))")
sql "CREATE TRIGGER import_boom BEFORE INSERT ON record
    WHEN new.collection || '/' || new.rkey = '$mid'
    BEGIN SELECT RAISE(ABORT, 'boom'); END;"
refuse "a database failure halfway through the walk" "database error" \
    "--did $ALICE $T/ga.car"
sql "DROP TRIGGER import_boom"
(cd "$top/tests/node" && "$NODE" --input-type=module -e '
import { MST, MemoryBlockstore, BlockMap, blocksToCarFile } from "@atproto/repo"
import fs from "fs"
const [out, did] = process.argv.slice(1)
const recs = new BlockMap()
let mst = await MST.create(new MemoryBlockstore())
for (let i = 0; i < 2000; i++) {
	const v = i === 1000 ? [1, 2] : { $type: "app.bsky.feed.post",
	    text: `post ${i}`, createdAt: "2024-01-01T00:00:00.000Z" }
	mst = await mst.add(`app.bsky.feed.post/r${String(i).padStart(6, "0")}`,
	    await recs.add(v))
}
const { root, blocks } = await mst.getUnstoredBlocks()
blocks.addMap(recs)
const commit = await blocks.add({ did, version: 3, data: root,
    rev: "3lbbbbbbbbb22", prev: null, sig: new Uint8Array(64) })
fs.writeFileSync(out, await blocksToCarFile(commit, blocks))' \
    "$T/badmid.car" "$ALICE")
refuse "a record that is no map halfway through the walk" \
    "record app.bsky.feed.post/r001000: not a map" "--did $ALICE $T/badmid.car"

# badsig.car: the same repository signed by another key.
"$PDSCTL" -s "$SOCK" import "$D/badsig.car" >"$T/out" 2>&1 &&
    grep -q "^imported $GOODDID: " "$T/out" &&
    grep -qx "warning: the commit is not signed by the account's key" "$T/out" &&
    ok "import with no account named takes the commit's DID; a bad signature warns" ||
    notok "badsig" "$(cat "$T/out")"
"$PDSCTL" -s "$SOCK" import "$D/good.car" >"$T/out" 2>&1 &&
    [ "$(sed 1d "$T/out")" = "$NOBIND" ] &&
    ok "good.car again: no signature warning" || notok "good again" "$(cat "$T/out")"
# As the reference, another DID's commit is taken, with a warning.
"$PDSCTL" -s "$SOCK" import --did "$BOB" "$T/p1.car" >"$T/out" 2>&1 &&
    grep -q "^imported $BOB: commit $(field commit "$T/p1.out")" "$T/out" &&
    grep -qx "warning: the commit is for $GOODDID, not for $BOB" "$T/out" &&
    [ "$(sql "SELECT commit_cid FROM repo_root WHERE did = '$BOB'")" = \
    "$(field commit "$T/p1.out")" ] &&
    ok "--did of another account: the commit is taken, with a warning" ||
    notok "did mismatch" "$(cat "$T/out")"

fails "import of a file that is not there" "import: $T/none.car" \
    "$PDSCTL" -s "$SOCK" import --did "$GOODDID" "$T/none.car"
fails "import of something not a regular file" "not a regular file" \
    "$PDSCTL" -s "$SOCK" import --did "$GOODDID" /dev/null
# The CAR is copied into blobs/tmp first: where that cannot be made,
# the refusal says why, and nothing changes.
mv "$T/data/blobs/tmp" "$T/data/blobs/tmp.away" && : >"$T/data/blobs/tmp"
before=$(snap)
refuse "import with no room for the copy" \
    "cannot copy the CAR into the data directory: Not a directory" \
    "--did $ALICE $T/ga.car"
rm "$T/data/blobs/tmp" && mv "$T/data/blobs/tmp.away" "$T/data/blobs/tmp"
fails "import of a bad DID" "not a DID" \
    "$PDSCTL" -s "$SOCK" import --did nope "$D/good.car"
fails "import with no daemon" "cannot connect to $T/no.sock" \
    "$PDSCTL" -s "$T/no.sock" import --did "$GOODDID" "$D/good.car"
kill -0 "$PID" && ok "pdsd still running" || notok "pdsd died"

done_testing
