#!/bin/sh
# The account flow driven by the official client, @atproto/api, with
# invite-only registration and pdsctl handing out the invite code and
# the deletion token: tests/node/account.mjs, its TAP lines passed on.
. "$(dirname "$0")/lib.subr"

write_conf
echo 'registration invite' >>"$T/pdsd.conf"
must_start_pdsd

node_tap account.mjs account.mjs "$URL" "$PDSCTL" "$SOCK"
kill -0 "$PID" 2>/dev/null && ok "pdsd still running" || notok "pdsd died"

kill -TERM "$PID"; wait_gone "$PID" 20; PID=
done_testing
