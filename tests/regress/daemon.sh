#!/bin/sh
# The three processes, for real: start, health, status, reload, signals,
# supervision, control socket abuse, schema versions.
. "$(dirname "$0")/lib.subr"

write_conf
if start_pdsd; then ok "pdsd starts and answers _health"; else
	notok "pdsd starts" "$(tail -5 "$T/log")"
	done_testing
	exit 1
fi

body=$(curl -fsS "$URL/xrpc/_health")
case $body in
*'"version"'*) ok "_health gives a version" ;;
*) notok "_health gives a version" "$body" ;;
esac

kids=$(children_of "$PID" | wc -l)
[ "$kids" -eq 2 ] && ok "parent has two children" || notok "two children" "$kids"
FE=$(pgrep -P "$PID" -f "pdsd: frontend")
SG=$(pgrep -P "$PID" signerd)
[ -n "$FE" ] && [ -n "$SG" ] && ok "frontend and signerd run" ||
    notok "frontend and signerd run" "fe=$FE sg=$SG"

out=$("$PDSCTL" -s "$SOCK" status 2>&1)
case $out in
*"rotation key: did:key:z"*"listen: 127.0.0.1 $PORT"*)
	ok "pdsctl status" ;;
*)	notok "pdsctl status" "$out" ;;
esac
case $out in
*"pid: parent $PID, frontend $FE, signerd $SG"*) ok "status pids" ;;
*) notok "status pids" "$out" ;;
esac
case $out in *"accounts: 0"*) ok "status accounts" ;;
*) notok "status accounts" "$out" ;; esac

mode=$(stat -c %a "$T/keys")
fmode=$(stat -c %a "$T/keys/rotation.key")
[ "$mode" = 700 ] && [ "$fmode" = 600 ] && ok "key directory 0700, key 0600" ||
    notok "key modes" "$mode $fmode"
smode=$(stat -c %a "$SOCK")
[ "$smode" = 660 ] && ok "control socket 0660" || notok "socket mode" "$smode"

v=$(sqlite3 "$T/data/pdsd.db" 'PRAGMA user_version')
nmig=$(ls "$top"/sql/*.sql | wc -l)
[ "$v" = "$nmig" ] && ok "schema at version $nmig" || notok "schema version" "$v"
jm=$(sqlite3 "$T/data/pdsd.db" 'PRAGMA journal_mode')
[ "$jm" = wal ] && ok "database in WAL mode" || notok "WAL" "$jm"

# Garbage on the control socket closes that client only.
node -e '
const c=require("net").connect(process.argv[1]);
c.on("connect",()=>{c.write(Buffer.from([1,2,3,4,0xff,0xff,0xff,0x7f,9,9,9,9,9,9,9,9,1,2,3]));});
c.on("close",()=>process.exit(0));c.on("error",()=>process.exit(0));
setTimeout(()=>process.exit(2),3000);' "$SOCK"
[ $? -eq 0 ] && ok "garbage client is disconnected" || notok "garbage client disconnected"
# A well-framed message of an unknown type, and one of a wrong version.
node -e '
const c=require("net").connect(process.argv[1]);
const m=Buffer.alloc(16);m.writeUInt32LE(9999,0);m.writeUInt32LE(16,4);m.writeUInt32LE(1,8);
c.on("connect",()=>c.write(m));let got=0;
c.on("data",()=>{got=1});c.on("close",()=>process.exit(got?0:1));
setTimeout(()=>process.exit(2),3000);' "$SOCK"
[ $? -eq 0 ] && ok "unknown control request answered and closed" ||
    notok "unknown control request"
out=$("$PDSCTL" -s "$SOCK" status 2>&1) && ok "status after garbage" ||
    notok "status after garbage" "$out"
check "_health after garbage" curl -fsS "$URL/xrpc/_health"

out=$("$PDSCTL" -s "$SOCK" log verbose 2>&1)
[ "$out" = "logging verbose" ] && ok "pdsctl log verbose" || notok "log verbose" "$out"
"$PDSCTL" -s "$SOCK" status | grep -q "^log: verbose" && ok "status shows verbose" ||
    notok "status shows verbose"
"$PDSCTL" -s "$SOCK" log brief >/dev/null && ok "pdsctl log brief" || notok "log brief"
out=$("$PDSCTL" -s "$SOCK" log loud 2>&1)
[ $? -eq 1 ] && ok "pdsctl log with a bad level fails" || notok "bad level" "$out"

out=$("$PDSCTL" -s "$SOCK" reload 2>&1)
[ "$out" = "configuration reloaded" ] && ok "pdsctl reload" || notok "reload" "$out"

# SIGHUP with a broken configuration: keep running on the old one.
cp "$T/pdsd.conf" "$T/good.conf"
printf 'hostname "a.example"\nbogus keyword\n' >>"$T/pdsd.conf"
kill -HUP "$PID"
sleep 0.5
if kill -0 "$PID" 2>/dev/null && curl -fsS "$URL/xrpc/_health" >/dev/null; then
	ok "SIGHUP with a broken config keeps pdsd running"
else
	notok "SIGHUP broken config"
fi
grep -q "pdsd.conf:6: " "$T/log" && ok "reload error logged with file:line" ||
    notok "reload error with file:line" "$(tail -3 "$T/log")"
out=$("$PDSCTL" -s "$SOCK" reload 2>&1)
[ $? -eq 1 ] && ok "pdsctl reload of a broken config fails" || notok "reload broken" "$out"
cp "$T/good.conf" "$T/pdsd.conf"

# SIGTERM: all three gone within 2 s, exit 0.
kill -TERM "$PID"
if wait_gone "$PID" 20 && [ "$STATUS" -eq 0 ]; then
	ok "SIGTERM stops pdsd with exit 0 within 2 s"
else
	notok "SIGTERM stop" "status=$STATUS"
fi
sleep 0.1
if kill -0 "$FE" 2>/dev/null || kill -0 "$SG" 2>/dev/null; then
	notok "children gone after SIGTERM"
else
	ok "children gone after SIGTERM"
fi
[ ! -e "$SOCK" ] && ok "control socket removed" || notok "control socket removed"
PID=

# No daemon: one clear line, exit 1.
out=$("$PDSCTL" -s "$SOCK" status 2>&1)
rc=$?
lines=$(echo "$out" | wc -l)
[ $rc -eq 1 ] && [ "$lines" -eq 1 ] && ok "pdsctl without a daemon: one line, exit 1" ||
    notok "pdsctl without daemon" "$rc $out"
"$PDSCTL" -s "$SOCK" frobnicate >/dev/null 2>&1
[ $? -eq 1 ] && ok "pdsctl unknown command exits 1" || notok "unknown command"

# Supervision: kill -9 signerd, pdsd must stop with non-zero status.
: >"$T/log"
if start_pdsd; then
	SG=$(pgrep -P "$PID" signerd)
	FE=$(pgrep -P "$PID" -f "pdsd: frontend")
	kill -9 "$SG"
	if wait_gone "$PID" 30 && [ "$STATUS" -ne 0 ]; then
		ok "pdsd exits non-zero when signerd dies"
	else
		notok "signerd death stops pdsd" "status=$STATUS"
	fi
	grep -q "lost child: signerd terminated by signal 9" "$T/log" &&
	    ok "the lost child is logged" || notok "lost child logged" "$(cat "$T/log")"
	sleep 0.2
	kill -0 "$FE" 2>/dev/null && notok "frontend stopped too" || ok "frontend stopped too"
else
	notok "restart" "$(tail -5 "$T/log")"
fi
PID=

# Kill the frontend too.
: >"$T/log"
if start_pdsd; then
	FE=$(pgrep -P "$PID" -f "pdsd: frontend")
	kill -9 "$FE"
	wait_gone "$PID" 30 && [ "$STATUS" -ne 0 ] && grep -q "lost child: frontend" "$T/log" &&
	    ok "pdsd exits non-zero when the frontend dies" ||
	    notok "frontend death stops pdsd" "$(cat "$T/log")"
else
	notok "restart 2"
fi
PID=

# The key survives a restart.
key1=$(cat "$T/keys/rotation.key" | od -An -tx1 | tr -d ' \n')
: >"$T/log"
if start_pdsd; then
	key2=$(od -An -tx1 "$T/keys/rotation.key" | tr -d ' \n')
	[ "$key1" = "$key2" ] && ok "rotation key kept across restarts" || notok "key kept"
	kill -TERM "$PID"; wait_gone "$PID" 20
else
	notok "restart 3"
fi
PID=

# A database from a newer pdsd is refused.
sqlite3 "$T/data/pdsd.db" 'PRAGMA user_version = 999'
: >"$T/log"
start_pdsd
if wait_gone "$PID" 50 && [ "$STATUS" -ne 0 ] &&
    grep -q "schema version 999 is newer" "$T/log"; then
	ok "a newer database is refused with a clear message"
else
	notok "newer database refused" "$(cat "$T/log")"
fi
PID=

done_testing
