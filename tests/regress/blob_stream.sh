#!/bin/sh
# Large uploads streamed through the HTTP layer (read in large pieces,
# gathered before they are written): a few MB with Content-Length and
# chunked, stored byte for byte under their CID.  The quota against
# uploads in progress: two at once that each fit but together pass it,
# with a declared length or chunked: one is refused with 413, and what
# they held is free again afterwards.
. "$(dirname "$0")/lib.subr"

NODE=$top/tests/node/node_modules/.bin/node
J='Content-Type: application/json'
QUOTA=7000000

write_conf
cat >>"$T/pdsd.conf" <<CONF
blob max size 8000000
blob quota $QUOTA
CONF
must_start_pdsd
X=$URL/xrpc
R=$X/com.atproto.repo
BLOBS=$T/data/blobs

ctl() {
	"$PDSCTL" -s "$SOCK" "$@" >"$T/out" 2>&1
}

# race mode file...: the statuses, sorted, in $race.
race() {
	_mode=$1
	shift
	race=$("$NODE" "$top/tests/node/upload_race.mjs" "$PORT" "$tok" "$_mode" \
	    "$@" 2>&1 | tr ' ' '\n' | sort | tr '\n' ' ')
}

# stored handle: the "blobs:" line of pdsctl account show.
stored() {
	ctl account show "$1"
	sed -n 's/^blobs: //p' "$T/out"
}

account big.test || notok "createAccount big" "$st $(cat "$T/body")"
mkfile a 89504e470d0a1a0a 3000000
mkfile b 00 3000001
for f in a b; do
	if [ $f = a ]; then
		call -H "Authorization: Bearer $tok" -H 'Content-Type: image/png' \
		    --data-binary "@$T/$f" "$R.uploadBlob"
		how="with Content-Length"
	else
		call -H "Authorization: Bearer $tok" -H 'Content-Type: image/png' \
		    -H 'Transfer-Encoding: chunked' --data-binary "@$T/$f" \
		    "$R.uploadBlob"
		how="chunked"
	fi
	c=$(rawcid "$T/$f")
	[ "$st" = 200 ] && [ "$(jx o.blob.ref.\$link)" = "$c" ] &&
	    [ "$(jx o.blob.size)" = "$(wc -c <"$T/$f" | tr -d ' ')" ] &&
	    cmp -s "$T/$f" "$BLOBS/$c" &&
	    ok "$(wc -c <"$T/$f" | tr -d ' ') bytes $how: stored whole under its CID" ||
	    notok "upload $how" "$st $(head -c 300 "$T/body")"
done
[ "$(find "$BLOBS/tmp" -type f | wc -l)" -eq 0 ] &&
    ok "no temporary file left" || notok "tmp" "$(ls -la "$BLOBS/tmp")"

mkfile r1 00 4000000
mkfile r2 00 4000001
mkfile r3 00 2999999
mkfile r4 00 4000002
mkfile r5 00 4000003
mkfile r6 00 2990000

# Declared lengths: the second head is read while the first upload holds
# its 4 MB, so it is answered 413 before its body is read.
account race1.test || notok "createAccount race1" "$st $(cat "$T/body")"
race length "$T/r1" "$T/r2"
[ "$race" = "200 413 " ] &&
    ok "two uploads at once, 4 MB each with a quota of 7 MB: one 200, one 413" ||
    notok "race with Content-Length" "$race"
s=$(stored race1.test)
case $s in
"1, 400000"[01]" bytes of a quota of $QUOTA "*)
	ok "one of them is stored: $s" ;;
*)	notok "stored after the race" "$s" ;;
esac
call -H "Authorization: Bearer $tok" -H 'Content-Type: image/png' \
    --data-binary "@$T/r3" "$R.uploadBlob"
[ "$st" = 200 ] && ok "what the refused upload held is free again: 3 MB more fit" ||
    notok "upload after the race" "$st $(cat "$T/body")"
call -H "Authorization: Bearer $tok" -H 'Content-Type: image/png' \
    --data-binary "@$T/a" "$R.uploadBlob"
[ "$st" = 413 ] && [ "$(jx o.message)" = "blob storage quota exceeded" ] &&
    ok "and then the quota is full" || notok "quota full" "$st $(cat "$T/body")"

# Chunked: held as they come; whichever piece takes the sum past the
# quota is refused, and the other upload completes.
account race2.test || notok "createAccount race2" "$st $(cat "$T/body")"
race chunked "$T/r4" "$T/r5"
[ "$race" = "200 413 " ] &&
    ok "two chunked uploads at once, 4 MB each with a quota of 7 MB: one 200, one 413" ||
    notok "race chunked" "$race"
s=$(stored race2.test)
case $s in
"1, 400000"[23]" bytes of a quota of $QUOTA "*)
	ok "one of them is stored: $s" ;;
*)	notok "stored after the chunked race" "$s" ;;
esac
call -H "Authorization: Bearer $tok" -H 'Content-Type: image/png' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$T/r6" "$R.uploadBlob"
[ "$st" = 200 ] && ok "chunked: what the refused upload held is free again" ||
    notok "chunked upload after the race" "$st $(cat "$T/body")"
[ "$(find "$BLOBS/tmp" -type f | wc -l)" -eq 0 ] &&
    ok "no temporary file left after the races" || notok "tmp" "$(ls -la "$BLOBS/tmp")"

done_testing
