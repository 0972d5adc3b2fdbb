#!/bin/sh
# The app.bsky side and the AppView proxy, with @atproto/api against a
# fake AppView on loopback (tests/node/proxy.mjs): first with no
# appview configured (preferences and mutes answered here, the
# atproto-proxy header naming a did:web the fake serves), then with
# "appview ... did ..." set, on the same data.
. "$(dirname "$0")/lib.subr"

FAKE=$(free_port)
write_conf
cp "$T/pdsd.conf" "$T/base.conf"
must_start_pdsd
ok "pdsd starts with no appview"
node_tap proxy-local proxy.mjs local "$URL" "$FAKE"

kill "$PID"
wait_gone "$PID" 100 || notok "pdsd stops"
PID=
cp "$T/base.conf" "$T/pdsd.conf"
echo "appview \"http://127.0.0.1:$FAKE\" did \"did:web:localhost%3A$FAKE\"" \
    >>"$T/pdsd.conf"
if ! start_pdsd; then
	notok "pdsd starts with an appview" "$(tail -5 "$T/log")"
	done_testing
	exit 1
fi
ok "pdsd starts with an appview"
node_tap proxy-proxy proxy.mjs proxy "$URL" "$FAKE"
done_testing
