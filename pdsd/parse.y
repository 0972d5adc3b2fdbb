/*
 * pdsd.conf: the grammar, its lexer (macros, includes, keywords) and the
 * checks on every value.  Errors are printed as "file:line: message",
 * counted, and parsing goes on at the next line so that one run shows
 * every problem; parse_config() then returns NULL.
 */

%{
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "blob.h"
#include "pdsd.h"
#include "syntax.h"

#define CONF_MAXSTR	4096	/* longest token or macro value */
#define CONF_MAXUNGET	(CONF_MAXSTR + 16)
#define CONF_MAXDEPTH	8	/* include nesting */
#define CONF_MAXMACRO	64	/* longest macro name */
#define CONF_TOKTEXT	40	/* of a token, quoted in errors */

/* Where a character given back by lgetc() came from. */
enum origin {
	ORIG_FILE,
	ORIG_MACRO,	/* a macro's value: "$" in it is not expanded */
	ORIG_SYNTH,	/* the newline that starts an included file */
};

struct unget {
	short	 c;
	char	 origin;
};

struct file {
	TAILQ_ENTRY(file)	 entry;
	FILE			*stream;
	char			*name;
	int			 lineno;
	int			 eolpending;	/* '\n' seen, count it */
	int			 eof;
	size_t			 nunget;
	struct unget		 unget[CONF_MAXUNGET];
};
TAILQ_HEAD(files, file);

struct sym {
	TAILQ_ENTRY(sym)	 entry;
	int			 persist;	/* from -D, fixed */
	char			*name;
	char			*val;
};
TAILQ_HEAD(syms, sym);

/* Every string the lexer hands the parser, freed after the parse. */
struct lstr {
	SLIST_ENTRY(lstr)	 entry;
	char			 s[];
};
SLIST_HEAD(lstrs, lstr);

enum seen {
	SEEN_HOSTNAME =		1 << 0,
	SEEN_DATADIR =		1 << 1,
	SEEN_KEYDIR =		1 << 2,
	SEEN_CTLSOCK =		1 << 3,
	SEEN_USER =		1 << 4,
	SEEN_SIGNER =		1 << 5,
	SEEN_DOMAINS =		1 << 6,
	SEEN_REGISTRATION =	1 << 7,
	SEEN_PLC =		1 << 8,
	SEEN_RATE =		1 << 9,
	SEEN_ADMIN =		1 << 10,
	SEEN_RETENTION =	1 << 11,
	SEEN_BLOB_MAX =		1 << 12,
	SEEN_BLOB_EXPIRY =	1 << 13,
	SEEN_BLOB_QUOTA =	1 << 14,
	SEEN_APPVIEW =		1 << 15,
};

typedef struct {
	union {
		long long	 number;
		char		*string;
	} v;
} YYSTYPE;
#define YYSTYPE_IS_DECLARED 1

static struct files	 files = TAILQ_HEAD_INITIALIZER(files);
static struct file	*file;
static struct syms	 symhead = TAILQ_HEAD_INITIALIZER(symhead);
static struct lstrs	 lstrs = SLIST_HEAD_INITIALIZER(lstrs);
static struct pdsd_conf	*conf;
static struct conf_str_list pdomains = TAILQ_HEAD_INITIALIZER(pdomains);
static int		 errors;
static int		 seen;
static int		 ndomains;	/* given in this handle domains */

/* What the lexer last saw, for "unknown keyword" and "syntax error at". */
static struct {
	enum origin	 origin;	/* of the last character read */
	int		 lexerr;	/* the lexer reported this error */
	int		 ntok;		/* tokens on this line */
	int		 newline;	/* last token was '\n' */
	int		 firstword;	/* first: unquoted, unknown */
	int		 varset;	/* second token: '=' */
	int		 quoted;	/* current token was quoted */
	char		 first[CONF_TOKTEXT];
	char		 last[CONF_TOKTEXT];
} lex;

int		 yyparse(void);
static int	 yylex(void);
static void	 syntax_error(const char *);
static void	 yyerror(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
#define YYERROR_CALL(msg)	syntax_error(msg)

static struct file *pushfile(const char *, struct file *);
static void	 pusherr(struct file *, const char *, const char *);
static int	 popfile(void);
static void	 closefile(struct file *);
static int	 lgetc(void);
static void	 lungetc(int);
static int	 findeol(void);
static int	 lex_token(void);
static int	 lex_quoted(int);
static int	 lex_word(int);
static int	 lex_macro(void);
static int	 isword(int);
static int	 lookup(const char *);
static char	*lstrdup(const char *);
static void	 lstrs_free(void);
static int	 symset(const char *, const char *, int);
static const char *symget(const char *);
static void	 syms_clear(void);
static int	 valid_macro_name(const char *);
static int	 once(int, const char *);
static void	 set_path(int, const char *, char *, size_t, const char *);
static void	 set_user(int, const char *, char *, const char *);
static void	 lowercase(char *);
static void	 set_hostname(char *);
static void	 set_plc(char *);
static void	 set_appview(char *, char *);
static void	 set_admin_password(char *);
static void	 add_listen(const char *, long long);
static void	 add_domain(char *);
static void	 end_domains(void);
static void	 add_relay(char *);
static void	 set_retention(long long, long long);
static long long scaled(const char *);
static void	 set_blob(int, const char *, long long *, long long,
		    long long);
static const char *domain_problem(const char *);
static int	 check_url(const char *, char *);
static int	 in_list(struct conf_str_list *, const char *);
static void	 free_list(struct conf_str_list *);
%}

%token	CLOSED CONTROL DATA DIRECTORY DOMAINS HANDLE HOSTNAME INCLUDE
%token	INVITE KEY LISTEN NONE ON OPEN PLC PORT REGISTRATION RELAY SIGNER
%token	SOCKET USER
%token	LIMITS OFF RATE
%token	ADMIN PASSWORD
%token	APPVIEW DID
%token	DAYS FIREHOSE HOURS RETENTION
%token	BLOB EXPIRY MAX QUOTA SIZE UNREFERENCED
%token	ERROR
%token	<v.string>	STRING
%token	<v.number>	NUMBER
%type	<v.number>	port regmode
%type	<v.string>	user
%type	<v.number>	onoff hours size

%%

grammar		: /* empty */
		| grammar '\n'
		| grammar include '\n'
		| grammar varset '\n'
		| grammar main '\n'
		| grammar error '\n'	{ yyerrok; }
		;

include		: INCLUDE STRING {
			struct file	*nfile;

			if ((nfile = pushfile($2, file)) != NULL) {
				file = nfile;
				/* The grammar wants the include line ended. */
				lex.origin = ORIG_SYNTH;
				lungetc('\n');
			}
		}
		;

varset		: STRING '=' STRING {
			if (!valid_macro_name($1))
				yyerror("bad macro name %s", $1);
			else if (symset($1, $3, 0) == -1)
				fatal("symset");
		}
		;

main		: HOSTNAME STRING		{ set_hostname($2); }
		| LISTEN ON STRING port		{ add_listen($3, $4); }
		| DATA DIRECTORY STRING {
			set_path(SEEN_DATADIR, "data directory", conf->datadir,
			    sizeof(conf->datadir), $3);
		}
		| KEY DIRECTORY STRING {
			set_path(SEEN_KEYDIR, "key directory", conf->keydir,
			    sizeof(conf->keydir), $3);
		}
		| CONTROL SOCKET STRING {
			struct sockaddr_un	sun;

			set_path(SEEN_CTLSOCK, "control socket", conf->ctlsock,
			    sizeof(sun.sun_path), $3);
		}
		| USER user {
			set_user(SEEN_USER, "user", conf->user, $2);
		}
		| SIGNER USER user {
			set_user(SEEN_SIGNER, "signer user", conf->signer_user,
			    $3);
		}
		| HANDLE DOMAINS domainset	{ end_domains(); }
		| REGISTRATION regmode {
			if (once(SEEN_REGISTRATION, "registration") == 0 &&
			    $2 != -1)
				conf->registration = $2;
		}
		| PLC DIRECTORY NONE {
			if (once(SEEN_PLC, "plc directory") == 0)
				conf->plc[0] = '\0';
		}
		| PLC DIRECTORY STRING		{ set_plc($3); }
		| APPVIEW NONE {
			if (once(SEEN_APPVIEW, "appview") == 0)
				conf->appview[0] = conf->appview_did[0] = '\0';
		}
		| APPVIEW STRING DID STRING	{ set_appview($2, $4); }
		| RELAY STRING			{ add_relay($2); }
		| ADMIN PASSWORD STRING		{ set_admin_password($3); }
		| FIREHOSE RETENTION NUMBER hours {
			if (once(SEEN_RETENTION, "firehose retention") == 0)
				set_retention($3, $4);
		}
		| RATE LIMITS onoff {
			if (once(SEEN_RATE, "rate limits") == 0)
				conf->ratelimit_off = !$3;
		}
		| BLOB MAX SIZE size {
			set_blob(SEEN_BLOB_MAX, "blob max size",
			    &conf->blob_max_size, $4, BLOB_MAX_SIZE_LIMIT);
		}
		| BLOB UNREFERENCED EXPIRY NUMBER {
			set_blob(SEEN_BLOB_EXPIRY, "blob unreferenced expiry",
			    &conf->blob_expiry, $4, BLOB_EXPIRY_LIMIT);
		}
		| BLOB QUOTA size {
			set_blob(SEEN_BLOB_QUOTA, "blob quota",
			    &conf->blob_quota, $3, BLOB_MAX_SIZE_LIMIT);
		}
		| BLOB QUOTA NONE {
			if (once(SEEN_BLOB_QUOTA, "blob quota") == 0)
				conf->blob_quota = 0;
		}
		;

size		: NUMBER			{ $$ = $1; }
		| STRING			{ $$ = scaled($1); }
		;

hours		: HOURS				{ $$ = 1; }
		| DAYS				{ $$ = 24; }
		;

onoff		: ON				{ $$ = 1; }
		| OFF				{ $$ = 0; }
		;

port		: /* empty */		{ $$ = PDSD_DEFAULT_PORT; }
		| PORT NUMBER {
			if ($2 < 1 || $2 > 65535) {
				yyerror("bad port %lld: 1 to 65535 expected",
				    $2);
				$$ = -1;
			} else
				$$ = $2;
		}
		| PORT STRING {
			const char	*errstr;

			$$ = strtonum($2, 1, 65535, &errstr);
			if (errstr != NULL) {
				yyerror("bad port %s: 1 to 65535 expected",
				    $2);
				$$ = -1;
			}
		}
		;

user		: STRING			{ $$ = $1; }
		| NONE				{ $$ = lstrdup(""); }
		;

domainset	: '{' optnl domainlist '}'
		| STRING			{ add_domain($1); }
		;

domainlist	: /* empty */
		| domainlist STRING optcommanl	{ add_domain($2); }
		;

optcommanl	: /* empty */
		| ',' optnl
		| '\n' optnl
		;

optnl		: /* empty */
		| optnl '\n'
		;

regmode		: OPEN				{ $$ = REG_OPEN; }
		| INVITE			{ $$ = REG_INVITE; }
		| CLOSED			{ $$ = REG_CLOSED; }
		| STRING {
			if (strcmp($1, "open") == 0)
				$$ = REG_OPEN;
			else if (strcmp($1, "invite") == 0)
				$$ = REG_INVITE;
			else if (strcmp($1, "closed") == 0)
				$$ = REG_CLOSED;
			else {
				yyerror("bad registration %s: open, invite or "
				    "closed expected", $1);
				$$ = -1;
			}
		}
		;

%%

static void
yyerror(const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	errors++;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("yyerror");
	va_end(ap);
	log_warnx("%s:%d: %s", file->name, file->lineno, msg);
	free(msg);
}

/* yacc's own complaints: say which token, or which word is unknown. */
static void
syntax_error(const char *msg)
{
	if (strcmp(msg, "syntax error") != 0) {
		yyerror("%s", msg);
		return;
	}
	if (lex.lexerr) {
		/* The lexer has already said what was wrong. */
		lex.lexerr = 0;
		return;
	}
	if (lex.firstword && !lex.varset)
		yyerror("unknown keyword %s", lex.first);
	else
		yyerror("syntax error at %s", lex.last);
}

/*
 * Open a file; an include is looked for next to the file naming it and
 * must be a regular file (so no device can feed the parser forever).
 */
static struct file *
pushfile(const char *name, struct file *parent)
{
	struct file	*nf;
	struct stat	 st;
	const char	*slash;
	char		 path[PATH_MAX];
	int		 depth = 0, n;

	TAILQ_FOREACH(nf, &files, entry)
		depth++;
	if (depth >= CONF_MAXDEPTH) {
		pusherr(parent, name, "nested too deeply");
		return NULL;
	}
	slash = parent != NULL ? strrchr(parent->name, '/') : NULL;
	if (name[0] != '/' && slash != NULL)
		n = snprintf(path, sizeof(path), "%.*s/%s",
		    (int)(slash - parent->name), parent->name, name);
	else
		n = snprintf(path, sizeof(path), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		pusherr(parent, name, "path too long");
		return NULL;
	}
	if ((nf = calloc(1, sizeof(*nf))) == NULL ||
	    (nf->name = strdup(path)) == NULL)
		fatal("%s", __func__);
	if ((nf->stream = fopen(path, "r")) == NULL ||
	    fstat(fileno(nf->stream), &st) == -1) {
		pusherr(parent, path, strerror(errno));
		closefile(nf);
		return NULL;
	}
	if (S_ISDIR(st.st_mode) || (parent != NULL && !S_ISREG(st.st_mode))) {
		pusherr(parent, path, "not a regular file");
		closefile(nf);
		return NULL;
	}
	nf->lineno = 1;
	TAILQ_INSERT_TAIL(&files, nf, entry);
	return nf;
}

static void
pusherr(struct file *parent, const char *path, const char *why)
{
	if (parent == NULL) {
		errors++;
		log_warnx("%s: %s", path, why);
	} else
		yyerror("cannot read include file %s: %s", path, why);
}

/* Back to the including file; EOF when the top file ends. */
static int
popfile(void)
{
	struct file	*prev;

	if ((prev = TAILQ_PREV(file, files, entry)) == NULL)
		return EOF;
	TAILQ_REMOVE(&files, file, entry);
	closefile(file);
	file = prev;
	return 0;
}

static void
closefile(struct file *f)
{
	if (f->stream != NULL)
		fclose(f->stream);
	free(f->name);
	free(f);
}

/*
 * Next character: given-back ones first, then the file with backslash-
 * newline joined and one newline made up at the end, so that the last
 * line needs none.
 */
static int
lgetc(void)
{
	struct unget	*u;
	int		 c, next;

	if (file->nunget > 0) {
		u = &file->unget[--file->nunget];
		lex.origin = u->origin;
		return u->c;
	}
	lex.origin = ORIG_FILE;
	if (file->eof)
		return EOF;
	for (;;) {
		c = getc(file->stream);
		if (c != '\\')
			break;
		if ((next = getc(file->stream)) != '\n') {
			if (next != EOF)
				ungetc(next, file->stream);
			break;
		}
		file->lineno++;
	}
	if (c == EOF) {
		file->eof = 1;
		return '\n';
	}
	return c;
}

static void
lungetc(int c)
{
	struct unget	*u;

	if (c == EOF)
		return;
	if (file->nunget >= CONF_MAXUNGET)
		fatalx("%s: pushback buffer full", __func__);
	u = &file->unget[file->nunget++];
	u->c = c;
	u->origin = lex.origin;
}

/* Skip to the end of the line, leave the '\n' for error recovery. */
static int
findeol(void)
{
	int	 c;

	while ((c = lgetc()) != '\n' && c != EOF)
		;
	lungetc(c);
	lex.lexerr = 1;
	return ERROR;
}

static int
yylex(void)
{
	int	 tok;

	if (lex.newline) {
		lex.ntok = 0;
		lex.firstword = lex.varset = 0;
		lex.newline = 0;
	}
	lex.quoted = 0;
	tok = lex_token();
	switch (tok) {
	case '\n':
		strlcpy(lex.last, "end of line", sizeof(lex.last));
		lex.newline = 1;
		lex.lexerr = 0;
		break;
	case STRING:
		snprintf(lex.last, sizeof(lex.last), "%s%s%s",
		    lex.quoted ? "\"" : "", yylval.v.string,
		    lex.quoted ? "\"" : "");
		break;
	case NUMBER:
		snprintf(lex.last, sizeof(lex.last), "%lld", yylval.v.number);
		break;
	case 0:
		strlcpy(lex.last, "end of file", sizeof(lex.last));
		break;
	default:
		if (tok > 32 && tok < 127)
			snprintf(lex.last, sizeof(lex.last), "'%c'", tok);
		/* keywords keep the text lex_word() left. */
		break;
	}
	if (lex.ntok == 0 && tok == STRING && !lex.quoted) {
		lex.firstword = 1;
		strlcpy(lex.first, yylval.v.string, sizeof(lex.first));
	}
	if (lex.ntok == 1 && tok == '=')
		lex.varset = 1;
	lex.ntok++;
	return tok;
}

static int
lex_token(void)
{
	int	 c;

top:
	if (file->eolpending) {
		file->lineno++;
		file->eolpending = 0;
	}
	while ((c = lgetc()) == ' ' || c == '\t')
		;
	if (c == '#')
		while ((c = lgetc()) != '\n' && c != EOF)
			;
	if (c == '$' && lex.origin != ORIG_MACRO) {
		if (lex_macro() == -1)
			return findeol();
		goto top;
	}
	switch (c) {
	case '"':
	case '\'':
		return lex_quoted(c);
	case EOF:
		if (popfile() == EOF)
			return 0;
		goto top;
	case '\n':
		if (lex.origin != ORIG_SYNTH)
			file->eolpending = 1;
		return '\n';
	case '\0':
		yyerror("NUL character in input");
		return findeol();
	}
	if (isword(c))
		return lex_word(c);
	return c;
}

/* A quoted string; backslash escapes the quote and itself. */
static int
lex_quoted(int quote)
{
	char	 buf[CONF_MAXSTR];
	size_t	 len = 0;
	int	 c;

	for (;;) {
		if ((c = lgetc()) == '\n' || c == EOF) {
			lungetc(c);
			yyerror("unterminated quoted string");
			return findeol();
		}
		if (c == quote)
			break;
		if (c == '\0') {
			yyerror("NUL character in input");
			return findeol();
		}
		if (c == '\\') {
			c = lgetc();
			if (c != quote && c != '\\') {
				lungetc(c);
				c = '\\';
			}
		}
		if (len >= sizeof(buf) - 1) {
			yyerror("string too long");
			return findeol();
		}
		buf[len++] = c;
	}
	buf[len] = '\0';
	lex.quoted = 1;
	yylval.v.string = lstrdup(buf);
	return STRING;
}

/* An unquoted word: a number, a keyword or a string. */
static int
lex_word(int c)
{
	char		 buf[CONF_MAXSTR];
	const char	*errstr;
	size_t		 len = 0;
	int		 kw;

	do {
		if (len >= sizeof(buf) - 1) {
			yyerror("string too long");
			return findeol();
		}
		buf[len++] = c;
	} while (isword(c = lgetc()));
	lungetc(c);
	buf[len] = '\0';
	strlcpy(lex.last, buf, sizeof(lex.last));
	if (strspn(buf + (buf[0] == '-'), "0123456789") ==
	    len - (buf[0] == '-') && len > (size_t)(buf[0] == '-')) {
		yylval.v.number = strtonum(buf, LLONG_MIN, LLONG_MAX, &errstr);
		if (errstr == NULL)
			return NUMBER;
		/* Out of range: a string, which the grammar refuses. */
	}
	if ((kw = lookup(buf)) != 0)
		return kw;
	yylval.v.string = lstrdup(buf);
	return STRING;
}

/* $name: push the value back to be read; its own "$" stays literal. */
static int
lex_macro(void)
{
	char		 name[CONF_MAXMACRO + 1];
	const char	*val;
	size_t		 len = 0, i;
	int		 c;

	while ((c = lgetc()) != EOF && c >= 0 && c < 128 &&
	    (isalnum(c) || c == '_')) {
		if (len >= CONF_MAXMACRO) {
			yyerror("macro name too long");
			return -1;
		}
		name[len++] = c;
	}
	lungetc(c);
	name[len] = '\0';
	if (len == 0) {
		yyerror("macro name expected after '$'");
		return -1;
	}
	if ((val = symget(name)) == NULL) {
		yyerror("undefined macro %s", name);
		return -1;
	}
	len = strlen(val);
	if (file->nunget + len > CONF_MAXUNGET) {
		yyerror("macro %s: value too long", name);
		return -1;
	}
	lex.origin = ORIG_MACRO;
	for (i = len; i > 0; i--)
		lungetc((unsigned char)val[i - 1]);
	return 0;
}

static int
isword(int c)
{
	if (c == EOF || c < 0 || c >= 128)
		return 0;
	if (isalnum(c))
		return 1;
	return ispunct(c) && strchr("(){}<>!=#,\"'", c) == NULL;
}

struct keyword {
	const char	*name;
	int		 token;
};

static int
kw_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct keyword *)e)->name);
}

static int
lookup(const char *s)
{
	/* Sorted: bsearch finds nothing in a table out of order. */
	static const struct keyword keywords[] = {
		{ "admin",		ADMIN },
		{ "appview",		APPVIEW },
		{ "blob",		BLOB },
		{ "closed",		CLOSED },
		{ "control",		CONTROL },
		{ "data",		DATA },
		{ "day",		DAYS },
		{ "days",		DAYS },
		{ "did",		DID },
		{ "directory",		DIRECTORY },
		{ "domains",		DOMAINS },
		{ "expiry",		EXPIRY },
		{ "firehose",		FIREHOSE },
		{ "handle",		HANDLE },
		{ "hostname",		HOSTNAME },
		{ "hour",		HOURS },
		{ "hours",		HOURS },
		{ "include",		INCLUDE },
		{ "invite",		INVITE },
		{ "key",		KEY },
		{ "limits",		LIMITS },
		{ "listen",		LISTEN },
		{ "max",		MAX },
		{ "none",		NONE },
		{ "off",		OFF },
		{ "on",			ON },
		{ "open",		OPEN },
		{ "password",		PASSWORD },
		{ "plc",		PLC },
		{ "port",		PORT },
		{ "quota",		QUOTA },
		{ "rate",		RATE },
		{ "registration",	REGISTRATION },
		{ "relay",		RELAY },
		{ "retention",		RETENTION },
		{ "signer",		SIGNER },
		{ "size",		SIZE },
		{ "socket",		SOCKET },
		{ "unreferenced",	UNREFERENCED },
		{ "user",		USER },
	};
	const struct keyword	*k;

	k = bsearch(s, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), kw_cmp);
	return k != NULL ? k->token : 0;
}

static char *
lstrdup(const char *s)
{
	struct lstr	*l;
	size_t		 len;

	len = strlen(s);
	if ((l = malloc(sizeof(*l) + len + 1)) == NULL)
		fatal("%s", __func__);
	memcpy(l->s, s, len + 1);
	SLIST_INSERT_HEAD(&lstrs, l, entry);
	return l->s;
}

static void
lstrs_free(void)
{
	struct lstr	*l;

	while ((l = SLIST_FIRST(&lstrs)) != NULL) {
		SLIST_REMOVE_HEAD(&lstrs, entry);
		free(l);
	}
}

static int
symset(const char *name, const char *val, int persist)
{
	struct sym	*s;
	char		*nval;

	TAILQ_FOREACH(s, &symhead, entry)
		if (strcmp(s->name, name) == 0)
			break;
	if (s != NULL && s->persist)
		return 0;
	if ((nval = strdup(val)) == NULL)
		return -1;
	if (s != NULL) {
		free(s->val);
		s->val = nval;
		s->persist = persist;
		return 0;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->name = strdup(name)) == NULL) {
		free(s);
		free(nval);
		return -1;
	}
	s->val = nval;
	s->persist = persist;
	TAILQ_INSERT_TAIL(&symhead, s, entry);
	return 0;
}

static const char *
symget(const char *name)
{
	struct sym	*s;

	TAILQ_FOREACH(s, &symhead, entry)
		if (strcmp(s->name, name) == 0)
			return s->val;
	return NULL;
}

/* Forget the file's macros; -D ones live on for a reload. */
static void
syms_clear(void)
{
	struct sym	*s, *next;

	for (s = TAILQ_FIRST(&symhead); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->persist)
			continue;
		TAILQ_REMOVE(&symhead, s, entry);
		free(s->name);
		free(s->val);
		free(s);
	}
}

static int
valid_macro_name(const char *s)
{
	size_t	 i;

	if (s[0] == '\0' || strlen(s) > CONF_MAXMACRO ||
	    isdigit((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* -D name=value: defined before the file is read, which cannot change it. */
int
cmdline_symset(char *s)
{
	char	*eq, *name;
	int	 rv;

	if ((eq = strchr(s, '=')) == NULL)
		return -1;
	if (strlen(eq + 1) >= CONF_MAXSTR || strchr(eq + 1, '\n') != NULL)
		return -1;
	if ((name = strndup(s, eq - s)) == NULL)
		return -1;
	rv = valid_macro_name(name) ? symset(name, eq + 1, 1) : -1;
	free(name);
	return rv;
}

/*
 * Bytes with a binary unit: "64K", "5M", "1G", "1T".  -1, said, if it
 * is no such thing.
 */
static long long
scaled(const char *s)
{
	static const char	 units[] = "KMGT";
	const char		*u, *errstr;
	char			 num[24];
	size_t			 len = strlen(s);
	long long		 n;
	int			 shift;

	if (len < 2 || len - 1 >= sizeof(num) ||
	    (u = strchr(units, toupper((unsigned char)s[len - 1]))) == NULL ||
	    strspn(s, "0123456789") != len - 1)
		goto bad;
	memcpy(num, s, len - 1);
	num[len - 1] = '\0';
	shift = 10 * (int)(u - units + 1);
	n = strtonum(num, 0, LLONG_MAX >> shift, &errstr);
	if (errstr != NULL)
		goto bad;
	return n << shift;
 bad:
	yyerror("bad size %s: bytes, or a number and K, M, G or T expected",
	    s);
	return -1;
}

/* A blob setting of 1 to max (bytes or seconds); -1 was refused. */
static void
set_blob(int bit, const char *what, long long *dst, long long n,
    long long max)
{
	if (once(bit, what) != 0 || n == -1)
		return;
	if (n < 1 || n > max)
		yyerror("bad %s %lld: 1 to %lld expected", what, n, max);
	else
		*dst = n;
}

/* Single-valued statements: the second one is an error. */
/* n units of hours each; bounded so that seconds fit anywhere. */
static void
set_retention(long long n, long long hours)
{
	if (n < 1 || n > PDSD_RETENTION_MAX / hours)
		yyerror("bad firehose retention %lld %s: 1 hour to %d days "
		    "expected", n, hours == 1 ? "hours" : "days",
		    PDSD_RETENTION_MAX / 24);
	else
		conf->fh_retention = n * hours;
}

static int
once(int bit, const char *what)
{
	if (seen & bit) {
		yyerror("duplicate %s", what);
		return -1;
	}
	seen |= bit;
	return 0;
}

static void
set_path(int bit, const char *what, char *dst, size_t size, const char *val)
{
	if (once(bit, what) == -1)
		return;
	if (val[0] == '\0')
		yyerror("empty %s", what);
	else if (strlen(val) >= size)
		yyerror("%s path too long", what);
	else
		strlcpy(dst, val, size);
}

static void
set_user(int bit, const char *what, char *dst, const char *val)
{
	size_t	 i;

	if (once(bit, what) == -1)
		return;
	if (strlen(val) > PDSD_USER_MAX) {
		yyerror("%s name too long: %s", what, val);
		return;
	}
	for (i = 0; val[i] != '\0'; i++) {
		if (!isalnum((unsigned char)val[i]) && val[i] != '_' &&
		    val[i] != '.' && (val[i] != '-' || i == 0)) {
			yyerror("bad %s name %s", what, val);
			return;
		}
	}
	strlcpy(dst, val, PDSD_USER_MAX + 1);
}

/*
 * Why s is no DNS name (NULL if it is one): letters, digits and '-',
 * labels of 1 to 63 characters not starting or ending with '-'.
 */
static const char *
domain_problem(const char *s)
{
	size_t	 i, label = 0;

	if (strlen(s) > PDSD_HOST_MAX)
		return "too long";
	for (i = 0; ; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (label == 0)
				return "empty label";
			if (s[i - 1] == '-')
				return "label ends with '-'";
			if (s[i] == '\0')
				return NULL;
			label = 0;
			continue;
		}
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-')
			return "bad character";
		if (s[i] == '-' && label == 0)
			return "label starts with '-'";
		if (++label > 63)
			return "label longer than 63 characters";
	}
}

static void
lowercase(char *s)
{
	for (; *s != '\0'; s++)
		*s = tolower((unsigned char)*s);
}

static void
set_hostname(char *val)
{
	const char	*why;

	if (once(SEEN_HOSTNAME, "hostname") == -1)
		return;
	lowercase(val);
	if ((why = domain_problem(val)) != NULL)
		yyerror("bad hostname %s: %s", val, why);
	else
		strlcpy(conf->hostname, val, sizeof(conf->hostname));
}

static void
add_listen(const char *host, long long port)
{
	const char	*errstr;

	if (port == -1)
		return;
	if (config_add_listen(conf, host, port, &errstr) == -1)
		yyerror("listen on %s port %lld: %s", host, port, errstr);
}

/*
 * A handle domain is the suffix of every handle: ".example.com".  With
 * one more label in front it must still be a valid handle (253 at most,
 * top-level label starting with a letter).
 */
static void
add_domain(char *val)
{
	const char	*why, *tld;
	char		 handle[PDSD_HOST_MAX + 2];

	ndomains++;
	lowercase(val);
	if (val[0] != '.')
		why = "must start with '.'";
	else if (strlen(val) > PDSD_HOST_MAX - 1)
		why = "too long";
	else if ((why = domain_problem(val + 1)) == NULL) {
		tld = strrchr(val, '.') + 1;
		if (!islower((unsigned char)tld[0]))
			why = "top-level label must start with a letter";
	}
	/* The handle syntax has the last word. */
	if (why == NULL) {
		snprintf(handle, sizeof(handle), "a%s", val);
		if (!syntax_is_handle(handle, strlen(handle)))
			why = "not a valid handle suffix";
	}
	if (why != NULL)
		yyerror("bad handle domain %s: %s", val, why);
	else if (in_list(&pdomains, val))
		yyerror("duplicate handle domain %s", val);
	else if (config_add_str(&pdomains, val) == -1)
		fatal("%s", __func__);
}

static void
end_domains(void)
{
	struct conf_str	*cs;

	if (once(SEEN_DOMAINS, "handle domains") == 0) {
		if (ndomains == 0)
			yyerror("handle domains: empty list");
		while ((cs = TAILQ_FIRST(&pdomains)) != NULL) {
			TAILQ_REMOVE(&pdomains, cs, entry);
			TAILQ_INSERT_TAIL(&conf->domains, cs, entry);
		}
	}
	free_list(&pdomains);
	ndomains = 0;
}

/* An http or https URL; trailing '/' dropped so paths can be appended. */
static int
check_url(const char *what, char *val)
{
	size_t	 len, i;
	int	 skip;

	if (strncmp(val, "https://", 8) == 0)
		skip = 8;
	else if (strncmp(val, "http://", 7) == 0)
		skip = 7;
	else
		skip = 0;
	len = strlen(val);
	while (len > (size_t)skip && val[len - 1] == '/')
		val[--len] = '\0';
	for (i = 0; i < len; i++)
		if (!isgraph((unsigned char)val[i]) || val[i] == '"')
			skip = 0;
	if (skip == 0 || len == (size_t)skip || val[skip] == '/') {
		yyerror("%s must be an http or https URL: %s", what, val);
		return -1;
	}
	if (len >= PDSD_URL_MAX) {
		yyerror("%s URL too long", what);
		return -1;
	}
	return 0;
}

/* HTTP Basic admin:PASSWORD for the admin endpoints (createInviteCode). */
static void
set_admin_password(char *val)
{
	size_t	 i, len = strlen(val);

	if (once(SEEN_ADMIN, "admin password") == -1)
		return;
	for (i = 0; i < len; i++)
		if (iscntrl((unsigned char)val[i]))
			break;
	if (len == 0)
		yyerror("admin password: empty");
	else if (len > PDSD_ADMIN_PW_MAX)
		yyerror("admin password: longer than %d bytes",
		    PDSD_ADMIN_PW_MAX);
	else if (i < len)
		yyerror("admin password: control character");
	else
		strlcpy(conf->admin_password, val,
		    sizeof(conf->admin_password));
	explicit_bzero(val, len);
}

static void
set_plc(char *val)
{
	if (once(SEEN_PLC, "plc directory") == -1)
		return;
	if (check_url("plc directory", val) == 0)
		strlcpy(conf->plc, val, sizeof(conf->plc));
}

/* The AppView app.bsky calls go to, and the DID its tokens are for. */
static void
set_appview(char *url, char *did)
{
	if (once(SEEN_APPVIEW, "appview") == -1 ||
	    check_url("appview", url) == -1)
		return;
	if (strlen(did) >= sizeof(conf->appview_did) ||
	    !syntax_is_did(did, strlen(did))) {
		yyerror("appview did is not a DID: %s", did);
		return;
	}
	strlcpy(conf->appview, url, sizeof(conf->appview));
	strlcpy(conf->appview_did, did, sizeof(conf->appview_did));
}

static void
add_relay(char *val)
{
	if (check_url("relay", val) == -1)
		return;
	if (in_list(&conf->relays, val))
		yyerror("duplicate relay %s", val);
	else if (config_add_str(&conf->relays, val) == -1)
		fatal("%s", __func__);
}

static int
in_list(struct conf_str_list *l, const char *s)
{
	struct conf_str	*cs;

	TAILQ_FOREACH(cs, l, entry)
		if (strcmp(cs->str, s) == 0)
			return 1;
	return 0;
}

static void
free_list(struct conf_str_list *l)
{
	struct conf_str	*cs;

	while ((cs = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, cs, entry);
		free(cs);
	}
}

/*
 * Parse file into a new configuration with defaults for what it leaves
 * out; NULL file means the defaults alone.  NULL after any error, every
 * one of them printed.
 */
struct pdsd_conf *
parse_config(const char *filename)
{
	struct pdsd_conf	*c;
	struct file		*f;

	if ((c = config_new()) == NULL) {
		log_warn("%s", __func__);
		return NULL;
	}
	if (filename == NULL) {
		config_defaults(c);
		return c;
	}
	conf = c;
	errors = 0;
	seen = 0;
	ndomains = 0;
	memset(&lex, 0, sizeof(lex));
	if ((file = pushfile(filename, NULL)) == NULL) {
		config_free(c);
		return NULL;
	}
	if (yyparse() != 0 && errors == 0)
		errors++;
	while ((f = TAILQ_FIRST(&files)) != NULL) {
		TAILQ_REMOVE(&files, f, entry);
		closefile(f);
	}
	file = NULL;
	conf = NULL;
	free_list(&pdomains);
	lstrs_free();
	syms_clear();
	if (errors != 0) {
		config_free(c);
		return NULL;
	}
	config_defaults(c);
	return c;
}
