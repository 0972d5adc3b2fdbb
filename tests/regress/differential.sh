#!/bin/sh
# Differential test against the reference implementation: random
# sequences of creates, updates and deletes (several seeds, thousands of
# writes in all) through @atproto/api, checked by @atproto/repo after
# each stretch: the same data root, an export it verifies, a CAR it
# writes imported whole.  tests/node/diff.mjs does the work; also pdsctl
# pack signed by the daemon and signerd's rev raise after an import.
# DIFF_OPS (writes per seed) and DIFF_SEEDS may be set to go further.
. "$(dirname "$0")/lib.subr"

NODE=$top/tests/node/node_modules/.bin/node
OPS=${DIFF_OPS:-1500}
SEEDS=${DIFF_SEEDS:-"1 2 3"}

write_conf
echo 'rate limits off' >>"$T/pdsd.conf"
must_start_pdsd

# Bounded: a stuck daemon fails the run instead of hanging it.
(cd "$top/tests/node" && timeout 170 "$NODE" diff.mjs "$URL" "$PDSCTL" \
    "$SOCK" "$T" "$OPS" $SEEDS) >"$T/node.out" 2>&1
nst=$?
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok * - }" ;;
	"not ok "*) notok "${line#not ok * - }" ;;
	"#"*) printf '%s\n' "$line" ;;
	esac
done <"$T/node.out"
[ $nst = 0 ] && ok "diff.mjs ran to the end" ||
    notok "diff.mjs exit $nst" "$(grep -v '^ok ' "$T/node.out" | tail -20)"

kill -0 "$PID" && ok "pdsd still running" || notok "pdsd died" "$(tail -5 "$T/log")"
db=$(sqlite3 "$T/data/pdsd.db" 'PRAGMA integrity_check')
[ "$db" = ok ] && ok "PRAGMA integrity_check after the run" ||
    notok "integrity_check" "$db"

done_testing
