#!/bin/sh
# Started as root with users: each child chroots and drops to its user,
# signerd sandboxed.  Without root only the refusal can be tested.
. "$(dirname "$0")/lib.subr"

write_conf
cat >>"$T/pdsd.conf" <<CONF
user "nobody"
signer user "nobody"
CONF

if [ "$(id -u)" -ne 0 ]; then
	out=$("$PDSD" -d -f "$T/pdsd.conf" 2>&1)
	[ $? -eq 1 ] && echo "$out" | grep -q "need root privileges" &&
	    ok "a user in the config needs root" || notok "needs root" "$out"
	echo "ok 2 # SKIP not root: chroot and privilege drop untested"
	exit 0
fi

if ! start_pdsd; then
	notok "pdsd starts as root with users" "$(tail -5 "$T/log")"
	done_testing
	exit 1
fi
ok "pdsd starts as root with users"
FE=$(pgrep -P "$PID" -f "pdsd: frontend")
SG=$(pgrep -P "$PID" signerd)

for p in "$FE" "$SG"; do
	u=$(ps -o user= -p "$p" | tr -d ' ')
	[ "$u" = nobody ] && ok "child $p runs as nobody" || notok "child user" "$u"
	nuid=$(id -u nobody)
	ngid=$(id -g nobody)
	uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$p/status")
	gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$p/status")
	[ "$uids" = "$nuid $nuid $nuid $nuid" ] &&
	    [ "$gids" = "$ngid $ngid $ngid $ngid" ] &&
	    ok "child $p has dropped real, effective and saved ids" ||
	    notok "saved ids" "$uids / $gids"
	g=$(awk '/^Groups:/ { print $2 }' "/proc/$p/status")
	[ "$g" = "$ngid" ] && ok "child $p has only its own group" ||
	    notok "groups" "$g"
done
r=$(readlink "/proc/$FE/root")
[ "$r" = "$T/data" ] && ok "frontend chrooted into the data directory" ||
    notok "frontend chroot" "$r"
r=$(readlink "/proc/$SG/root")
[ "$r" = "$T/keys" ] && ok "signerd chrooted into the key directory" ||
    notok "signerd chroot" "$r"
[ "$(stat -c %U "$T/keys/rotation.key")" = nobody ] &&
    ok "key file belongs to the signer user" || notok "key owner"
[ "$(stat -c %U "$T/data/pdsd.db")" = nobody ] &&
    ok "database belongs to the frontend user" || notok "db owner"
nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$SG/status")
[ "$nnp" = 1 ] && ok "signerd has no-new-privileges" || notok "NoNewPrivs" "$nnp"
sc=$(awk '/^Seccomp:/ { print $2 }' "/proc/$SG/status")
if [ "$PDSD_BUILD" = plain ]; then
	[ "$sc" = 2 ] && ok "signerd runs under a seccomp filter" ||
	    notok "seccomp filter" "$sc"
else
	ok "sanitizer build: seccomp left off (LeakSanitizer needs ptrace)"
fi
check "_health as an unprivileged frontend" curl -fsS "$URL/xrpc/_health"
out=$("$PDSCTL" -s "$SOCK" status 2>&1)
case $out in *"rotation key: did:key:z"*) ok "pdsctl status" ;;
*) notok "pdsctl status" "$out" ;; esac
grp=$(stat -c %G "$SOCK")
[ "$grp" = "$(id -gn nobody)" ] && ok "control socket group is the user's" ||
    notok "socket group" "$grp"
out=$(su nobody -s /bin/sh -c "'$PDSCTL' -s '$SOCK' status" 2>&1)
case $out in *"cannot connect"*) ok "nobody cannot reach the 0660 socket in a 0700 dir" ;;
*) notok "socket access" "$out" ;; esac

kill -TERM "$PID"
wait_gone "$PID" 20 && [ "$STATUS" -eq 0 ] && ok "SIGTERM stops it" ||
    notok "stop" "$STATUS"
PID=

# Not root but a user configured: refused at once.
chmod 755 "$T"
out=$(su nobody -s /bin/sh -c "'$PDSD' -d -f '$T/pdsd.conf'" 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q "need root privileges" &&
    ok "a user in the config needs root" || notok "needs root" "$out"
done_testing
