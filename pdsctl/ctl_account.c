/*
 * pdsctl account and pdsctl invite: accounts and invite codes through
 * the running daemon.  Text for people; with -j, one JSON object (or
 * one array, for the lists) on one line, for scripts.
 */
#include <sys/types.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json.h>
#include <readpassphrase.h>

#include "imsgev.h"
#include "pds_imsg.h"
#include "pdsctl.h"

#define ACCOUNT_USAGE \
	"usage: pdsctl account create [-j] [-e email] [-p -] handle\n" \
	"       pdsctl account list [-j]\n" \
	"       pdsctl account show [-j] handle | did\n" \
	"       pdsctl account disable | enable [-j] handle | did\n" \
	"       pdsctl account password [-j] [-p -] handle | did\n" \
	"       pdsctl account delete-token [-j] handle | did\n" \
	"       pdsctl account delete [-j] handle | did\n"
#define INVITE_USAGE \
	"usage: pdsctl invite create [-j] [-n uses]\n" \
	"       pdsctl invite list [-j]\n"
#define INVITE_USES_MAX	1000000

/* One reply of any kind the account and invite requests get. */
union ctl_reply {
	struct ctl_account	 a;
	struct ctl_token	 t;
	struct ctl_invite	 i;
};

struct outcome {
	int			 json;
	int			 many;		/* a list: print an array */
	size_t			 n;
	struct json_object	*all;
	void			(*text)(const union ctl_reply *, size_t);
	struct json_object	*(*tojson)(const union ctl_reply *);
};

__dead static void
usage_account(void)
{
	fputs(ACCOUNT_USAGE, stderr);
	exit(1);
}

__dead static void
usage_invite(void)
{
	fputs(INVITE_USAGE, stderr);
	exit(1);
}

#define TERM(f)	((f)[sizeof(f) - 1] = '\0')

/* Strings from the daemon are terminated whatever it sent. */
static void
terminate(int type, union ctl_reply *r)
{
	switch (type) {
	case IMSG_CTL_ACCOUNT_INFO:
		TERM(r->a.did); TERM(r->a.handle); TERM(r->a.email);
		TERM(r->a.status); TERM(r->a.created_at); TERM(r->a.rev);
		TERM(r->a.commit);
		break;
	case IMSG_CTL_ACCOUNT_TOKEN:
		TERM(r->t.did); TERM(r->t.handle); TERM(r->t.token);
		break;
	case IMSG_CTL_INVITE_INFO:
		TERM(r->i.code); TERM(r->i.for_account); TERM(r->i.created_by);
		TERM(r->i.created_at);
		break;
	}
}

/*
 * Replies of type want up to IMSG_CTL_END, each printed (text) or kept
 * (JSON).  A refusal is one line on stderr and exit status 1.
 */
static int
read_replies(int want, struct outcome *o)
{
	struct imsg		 imsg;
	union ctl_reply		 r;
	char			 msg[512];
	int			 type;

	o->all = json_object_new_array();
	for (;;) {
		ctl_next(&imsg);
		type = imsg_get_type(&imsg);
		if (type == IMSG_CTL_END) {
			imsg_free(&imsg);
			break;
		}
		if (type == IMSG_CTL_FAIL) {
			if (imsg_get_string(&imsg, msg, sizeof(msg)) == -1)
				strlcpy(msg, "request failed", sizeof(msg));
			imsg_free(&imsg);
			fprintf(stderr, "pdsctl: %s\n", msg);
			json_object_put(o->all);
			return 1;
		}
		memset(&r, 0, sizeof(r));
		if (type != want || imsg_get_data(&imsg, &r, want ==
		    IMSG_CTL_ACCOUNT_INFO ? sizeof(r.a) : want ==
		    IMSG_CTL_ACCOUNT_TOKEN ? sizeof(r.t) : sizeof(r.i)) == -1)
			errx(1, "unexpected answer from pdsd");
		imsg_free(&imsg);
		terminate(type, &r);
		if (o->json)
			json_object_array_add(o->all, o->tojson(&r));
		else
			o->text(&r, o->n);
		o->n++;
	}
	if (o->json) {
		if (o->many)
			puts(json_object_to_json_string_ext(o->all,
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE));
		else if (o->n > 0)
			puts(json_object_to_json_string_ext(
			    json_object_array_get_idx(o->all, 0),
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(o->all);
	return 0;
}

static struct json_object *
str_or_null(const char *s)
{
	return s[0] != '\0' ? json_object_new_string(s) : NULL;
}

static struct json_object *
account_json(const union ctl_reply *r)
{
	const struct ctl_account	*a = &r->a;
	struct json_object		*o;

	o = json_object_new_object();
	json_object_object_add(o, "did", json_object_new_string(a->did));
	json_object_object_add(o, "handle", json_object_new_string(a->handle));
	json_object_object_add(o, "email", str_or_null(a->email));
	json_object_object_add(o, "status", json_object_new_string(a->status));
	json_object_object_add(o, "createdAt",
	    json_object_new_string(a->created_at));
	if (a->has_repo) {
		json_object_object_add(o, "rev", str_or_null(a->rev));
		json_object_object_add(o, "commit", str_or_null(a->commit));
		json_object_object_add(o, "records",
		    json_object_new_int64(a->records));
	}
	if (a->blob_count >= 0) {
		json_object_object_add(o, "blobs",
		    json_object_new_int64(a->blob_count));
		json_object_object_add(o, "blobBytes",
		    json_object_new_int64(a->blob_bytes));
		json_object_object_add(o, "blobQuota", a->blob_quota > 0 ?
		    json_object_new_int64(a->blob_quota) : NULL);
	}
	return o;
}

static void
account_row(const union ctl_reply *r, size_t n)
{
	const struct ctl_account	*a = &r->a;

	if (n == 0)
		printf("%-32s %-24s %-28s %-11s %s\n", "DID", "HANDLE",
		    "EMAIL", "STATUS", "CREATED");
	printf("%-32s %-24s %-28s %-11s %s\n", a->did, a->handle,
	    a->email[0] != '\0' ? a->email : "-", a->status, a->created_at);
}

static void
account_detail(const union ctl_reply *r, size_t n)
{
	const struct ctl_account	*a = &r->a;

	printf("did: %s\nhandle: %s\nemail: %s\nstatus: %s\ncreated: %s\n",
	    a->did, a->handle, a->email[0] != '\0' ? a->email : "-",
	    a->status, a->created_at);
	if (a->has_repo)
		printf("rev: %s\ncommit: %s\nrecords: %lld\n", a->rev,
		    a->commit, (long long)a->records);
	else
		printf("repository: none\n");
	if (a->blob_count < 0)
		return;
	printf("blobs: %lld, %lld bytes", (long long)a->blob_count,
	    (long long)a->blob_bytes);
	if (a->blob_quota > 0)
		printf(" of a quota of %lld (%.1f%%)\n",
		    (long long)a->blob_quota,
		    100.0 * (double)a->blob_bytes / (double)a->blob_quota);
	else
		printf(", no quota\n");
}

static void
account_did(const union ctl_reply *r, size_t n)
{
	puts(r->a.did);
}

static const char	*done_word;	/* "disabled", "enabled", ... */

static void
account_done(const union ctl_reply *r, size_t n)
{
	printf("%s (%s): %s\n", r->a.handle, r->a.did, done_word);
}

static struct json_object *
token_json(const union ctl_reply *r)
{
	struct json_object	*o;
	struct tm		 tm;
	time_t			 t = (time_t)r->t.expires_at;
	char			 when[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_object_new_object();
	json_object_object_add(o, "did", json_object_new_string(r->t.did));
	json_object_object_add(o, "handle", json_object_new_string(r->t.handle));
	json_object_object_add(o, "token", json_object_new_string(r->t.token));
	json_object_object_add(o, "expiresAt", json_object_new_string(when));
	return o;
}

static void
token_text(const union ctl_reply *r, size_t n)
{
	puts(r->t.token);
}

static struct json_object *
invite_json(const union ctl_reply *r)
{
	const struct ctl_invite	*i = &r->i;
	struct json_object	*o;

	o = json_object_new_object();
	json_object_object_add(o, "code", json_object_new_string(i->code));
	json_object_object_add(o, "available",
	    json_object_new_int(i->available));
	json_object_object_add(o, "used", json_object_new_int(i->used));
	json_object_object_add(o, "disabled",
	    json_object_new_boolean(i->disabled));
	json_object_object_add(o, "forAccount",
	    json_object_new_string(i->for_account));
	json_object_object_add(o, "createdBy",
	    json_object_new_string(i->created_by));
	json_object_object_add(o, "createdAt",
	    json_object_new_string(i->created_at));
	return o;
}

static void
invite_row(const union ctl_reply *r, size_t n)
{
	const struct ctl_invite	*i = &r->i;
	char			 uses[32];

	if (n == 0)
		printf("%-36s %-11s %-32s %s\n", "CODE", "USED", "FOR",
		    "CREATED");
	snprintf(uses, sizeof(uses), "%d/%d", i->used, i->available);
	printf("%-36s %-11s %-32s %s%s\n", i->code, uses, i->for_account,
	    i->created_at, i->disabled ? " disabled" : "");
}

static void
invite_code(const union ctl_reply *r, size_t n)
{
	puts(r->i.code);
}

/*
 * The password: one line of stdin with "-p -", else asked twice on the
 * terminal.  Never an argument: it would show in ps.
 */
static void
get_password(const char *popt, char *buf, size_t len)
{
	char	 again[CTL_PASSWORD_SIZE];
	size_t	 n;
	int	 c;

	if (popt != NULL) {
		if (strcmp(popt, "-") != 0)
			errx(1, "-p takes only \"-\": the password is read "
			    "from stdin");
		if (fgets(buf, len, stdin) == NULL)
			errx(1, "no password on stdin");
		n = strlen(buf);
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		else if (n == len - 1 && (c = getc(stdin)) != EOF &&
		    c != '\n')
			errx(1, "password too long (%zu bytes at most)",
			    len - 1);
	} else {
		if (!isatty(STDIN_FILENO))
			errx(1, "no terminal to ask the password on: give it "
			    "on stdin with -p -");
		if (readpassphrase("Password: ", buf, len,
		    RPP_REQUIRE_TTY) == NULL ||
		    readpassphrase("Password again: ", again, sizeof(again),
		    RPP_REQUIRE_TTY) == NULL)
			errx(1, "no password");
		c = strcmp(buf, again);
		explicit_bzero(again, sizeof(again));
		if (c != 0)
			errx(1, "the passwords differ");
	}
	if (buf[0] == '\0')
		errx(1, "empty password");
}

/* Options after the subcommand; argv[0] is the subcommand. */
struct acct_opts {
	int		 json;
	const char	*email;
	const char	*pw;
	const char	*uses;
};

static int
parse_opts(int argc, char **argv, const char *optstr, struct acct_opts *o,
    void (*usage)(void))
{
	int	 ch;

	memset(o, 0, sizeof(*o));
	optind = 0;	/* glibc: start over on a new argv */
	while ((ch = getopt(argc, argv, optstr)) != -1) {
		switch (ch) {
		case 'e':
			o->email = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'n':
			o->uses = optarg;
			break;
		case 'p':
			o->pw = optarg;
			break;
		default:
			usage();
		}
	}
	return optind;
}

static void
send_name(int type, const char *name)
{
	if (strlen(name) >= CTL_DID_SIZE)
		errx(1, "name too long: %.40s...", name);
	ctl_send(type, name, strlen(name) + 1);
}

static int
account_create(int argc, char **argv, struct acct_opts *o)
{
	struct ctl_account_req	 r;
	struct outcome		 out = { o->json, 0, 0, NULL, account_did,
				    account_json };

	memset(&r, 0, sizeof(r));
	if (strlcpy(r.who, argv[0], sizeof(r.who)) >= sizeof(r.who) ||
	    (o->email != NULL && strlcpy(r.email, o->email,
	    sizeof(r.email)) >= sizeof(r.email)))
		errx(1, "handle or email too long");
	get_password(o->pw, r.password, sizeof(r.password));
	ctl_send(IMSG_CTL_ACCOUNT_CREATE, &r, sizeof(r));
	explicit_bzero(&r, sizeof(r));
	return read_replies(IMSG_CTL_ACCOUNT_INFO, &out);
}

static int
account_password(int argc, char **argv, struct acct_opts *o)
{
	struct ctl_account_req	 r;
	struct outcome		 out = { o->json, 0, 0, NULL, account_done,
				    account_json };

	memset(&r, 0, sizeof(r));
	if (strlcpy(r.who, argv[0], sizeof(r.who)) >= sizeof(r.who))
		errx(1, "name too long");
	get_password(o->pw, r.password, sizeof(r.password));
	done_word = "password changed";
	ctl_send(IMSG_CTL_ACCOUNT_PASSWORD, &r, sizeof(r));
	explicit_bzero(&r, sizeof(r));
	return read_replies(IMSG_CTL_ACCOUNT_INFO, &out);
}

int
cmd_account(int argc, char **argv)
{
	struct acct_opts	 o;
	struct outcome		 out;
	const char		*sub = argv[1];
	int			 type, n;

	argc--;
	argv++;
	memset(&out, 0, sizeof(out));
	out.tojson = account_json;
	if (strcmp(sub, "create") == 0) {
		n = parse_opts(argc, argv, "e:jp:", &o, usage_account);
		if (argc - n != 1)
			usage_account();
		return account_create(argc - n, argv + n, &o);
	}
	if (strcmp(sub, "password") == 0) {
		n = parse_opts(argc, argv, "jp:", &o, usage_account);
		if (argc - n != 1)
			usage_account();
		return account_password(argc - n, argv + n, &o);
	}
	n = parse_opts(argc, argv, "j", &o, usage_account);
	out.json = o.json;
	if (strcmp(sub, "list") == 0) {
		if (argc - n != 0)
			usage_account();
		out.many = 1;
		out.text = account_row;
		ctl_send(IMSG_CTL_ACCOUNT_LIST, NULL, 0);
		return read_replies(IMSG_CTL_ACCOUNT_INFO, &out);
	}
	if (argc - n != 1)
		usage_account();
	type = IMSG_CTL_ACCOUNT_INFO;
	if (strcmp(sub, "show") == 0) {
		out.text = account_detail;
		send_name(IMSG_CTL_ACCOUNT_SHOW, argv[n]);
	} else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
		out.text = account_done;
		done_word = sub[0] == 'd' ? "disabled" : "enabled";
		send_name(sub[0] == 'd' ? IMSG_CTL_ACCOUNT_DISABLE :
		    IMSG_CTL_ACCOUNT_ENABLE, argv[n]);
	} else if (strcmp(sub, "delete") == 0) {
		out.text = account_done;
		done_word = "deleted";
		send_name(IMSG_CTL_ACCOUNT_DELETE, argv[n]);
	} else if (strcmp(sub, "delete-token") == 0) {
		out.text = token_text;
		out.tojson = token_json;
		type = IMSG_CTL_ACCOUNT_TOKEN;
		send_name(IMSG_CTL_ACCOUNT_DELETE_TOKEN, argv[n]);
	} else
		usage_account();
	return read_replies(type, &out);
}

int
cmd_invite(int argc, char **argv)
{
	struct acct_opts	 o;
	struct outcome		 out;
	const char		*sub = argv[1], *errstr;
	int32_t			 uses = 1;
	int			 n;

	argc--;
	argv++;
	memset(&out, 0, sizeof(out));
	out.tojson = invite_json;
	if (strcmp(sub, "create") == 0) {
		n = parse_opts(argc, argv, "jn:", &o, usage_invite);
		if (argc - n != 0)
			usage_invite();
		if (o.uses != NULL) {
			uses = strtonum(o.uses, 1, INVITE_USES_MAX, &errstr);
			if (errstr != NULL)
				errx(1, "uses %s: %s (1 to %d)", o.uses,
				    errstr, INVITE_USES_MAX);
		}
		out.json = o.json;
		out.text = invite_code;
		ctl_send(IMSG_CTL_INVITE_CREATE, &uses, sizeof(uses));
		return read_replies(IMSG_CTL_INVITE_INFO, &out);
	}
	if (strcmp(sub, "list") != 0)
		usage_invite();
	n = parse_opts(argc, argv, "j", &o, usage_invite);
	if (argc - n != 0)
		usage_invite();
	out.json = o.json;
	out.many = 1;
	out.text = invite_row;
	ctl_send(IMSG_CTL_INVITE_LIST, NULL, 0);
	return read_replies(IMSG_CTL_INVITE_INFO, &out);
}
