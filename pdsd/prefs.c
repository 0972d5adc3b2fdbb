/*
 * app.bsky.actor.getPreferences and putPreferences: the reference PDS
 * keeps an account's app.bsky preferences itself (they are private, not
 * in the repository) even when an AppView answers every other app.bsky
 * call.  Its rules: putPreferences replaces the whole app.bsky set and
 * refuses other namespaces; personalDetailsPref (the birth date) is
 * for the account's own password only, never an app password;
 * declaredAgePref is computed from the birth date on reading and never
 * stored.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>
#include <sqlite3.h>

#include "auth.h"
#include "http.h"
#include "log.h"
#include "pdsd.h"
#include "xrpc.h"

#define PREFS_NS		"app.bsky"
#define PERSONAL_DETAILS	"app.bsky.actor.defs#personalDetailsPref"
#define DECLARED_AGE		"app.bsky.actor.defs#declaredAgePref"
#define GET_AUTH		(AUTH_ACCESS_APP | AUTH_SCOPE_TAKENDOWN)
#define PUT_AUTH		(AUTH_ACCESS_APP | AUTH_CHECK_TAKEDOWN)

static void	prefs_get(struct http_request *);
static void	prefs_put(struct http_request *);

const struct xrpc_method xrpc_prefs_methods[] = {
	{ "app.bsky.actor.getPreferences", XRPC_QUERY, prefs_get },
	{ "app.bsky.actor.putPreferences", XRPC_PROCEDURE, prefs_put },
	{ NULL, 0, NULL },
};

static int
in_namespace(const char *type)
{
	size_t	 n = strlen(PREFS_NS);

	return strncmp(type, PREFS_NS, n) == 0 &&
	    (type[n] == '\0' || type[n] == '.');
}

/* An app password neither sees nor sets the birth date. */
static int
allowed(const char *type, int full)
{
	return full || strcmp(type, PERSONAL_DETAILS) != 0;
}

/*
 * Whole years since a birth date ("YYYY-MM-DD..."), in UTC; -1 if it
 * does not start with a date.
 */
static int
age_of(const char *date)
{
	struct tm	 now;
	time_t		 t = time(NULL);
	int		 y, m, d, age;

	if (sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 ||
	    d < 1 || d > 31)
		return -1;
	gmtime_r(&t, &now);
	age = now.tm_year + 1900 - y;
	if (now.tm_mon + 1 < m || (now.tm_mon + 1 == m && now.tm_mday < d))
		age--;
	return age;
}

static struct json_object *
declared_age(const char *birth)
{
	struct json_object	*o = json_object_new_object();
	int			 age = age_of(birth);

	json_object_object_add(o, "$type", json_object_new_string(DECLARED_AGE));
	json_object_object_add(o, "isOverAge13",
	    json_object_new_boolean(age >= 13));
	json_object_object_add(o, "isOverAge16",
	    json_object_new_boolean(age >= 16));
	json_object_object_add(o, "isOverAge18",
	    json_object_new_boolean(age >= 18));
	return o;
}

static void
prefs_get(struct http_request *req)
{
	static sqlite3_stmt	*c;
	sqlite3_stmt		*st;
	struct auth		 a;
	struct json_object	*list, *o, *v, *age = NULL;
	const char		*name, *birth;
	int			 rc, full;

	if (auth_check(req, GET_AUTH, &a) == -1)
		return;
	full = a.scope == AUTH_SCOPE_ACCESS;
	st = db_stmt(fe->db, &c, "SELECT name, value_json FROM account_pref "
	    "WHERE did = ? ORDER BY id");
	if (db_bind_strs(st, 1, a.did, NULL) == -1) {
		xrpc_internal_error(req);
		return;
	}
	list = json_object_new_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		if (!in_namespace(name) || (v = json_tokener_parse(
		    (const char *)sqlite3_column_text(st, 1))) == NULL)
			continue;
		if (strcmp(name, PERSONAL_DETAILS) == 0 && age == NULL &&
		    (birth = xrpc_json_str(v, "birthDate")) != NULL)
			age = declared_age(birth);
		if (allowed(name, full))
			json_object_array_add(list, v);
		else
			json_object_put(v);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("getPreferences: %s", sqlite3_errmsg(fe->db));
		json_object_put(list);
		json_object_put(age);
		xrpc_internal_error(req);
		return;
	}
	if (age != NULL)
		json_object_array_add(list, age);
	o = json_object_new_object();
	json_object_object_add(o, "preferences", list);
	xrpc_reply_json(req, 200, o);
}

/*
 * Why a putPreferences body is refused, in the reference's words, or
 * NULL.  msg has room for the list of refused types.
 */
static const char *
put_refusal(struct json_object *prefs, int full, char *msg, size_t len)
{
	struct json_object	*p;
	const char		*type;
	size_t			 i, n = json_object_array_length(prefs);
	int			 bad = 0;

	for (i = 0; i < n; i++) {
		p = json_object_array_get_idx(prefs, i);
		if (!json_object_is_type(p, json_type_object)) {
			snprintf(msg, len, "Expected object value type (got "
			    "%.64s) at $.preferences[%zu]",
			    json_object_to_json_string(p), i);
			return msg;
		}
		if (xrpc_json_str(p, "$type") == NULL)
			return "Preference is missing a $type";
	}
	for (i = 0; i < n; i++)
		if (!in_namespace(xrpc_json_str(json_object_array_get_idx(
		    prefs, i), "$type")))
			return "Some preferences are not in the " PREFS_NS
			    " namespace";
	snprintf(msg, len, "Do not have authorization to set preferences: ");
	for (i = 0; i < n; i++) {
		type = xrpc_json_str(json_object_array_get_idx(prefs, i),
		    "$type");
		if (allowed(type, full))
			continue;
		if (bad++ > 0)
			strlcat(msg, ", ", len);
		strlcat(msg, type, len);
	}
	return bad > 0 ? msg : NULL;
}

/* Replace the set, in the account's one transaction. */
static int
put_store(const char *did, struct json_object *prefs, int full)
{
	static sqlite3_stmt	*del, *del_app, *ins;
	sqlite3_stmt		*st;
	struct json_object	*p;
	const char		*type, *json;
	size_t			 i;

	if (db_begin(fe->db) == -1)
		return -1;
	/* An app password's put leaves the birth date as it was. */
	if (full)
		st = db_stmt(fe->db, &del, "DELETE FROM account_pref "
		    "WHERE did = ?");
	else
		st = db_stmt(fe->db, &del_app, "DELETE FROM account_pref "
		    "WHERE did = ? AND name <> '" PERSONAL_DETAILS "'");
	if (db_bind_strs(st, 1, did, NULL) == -1 ||
	    db_step_done(fe->db, st) == -1)
		goto fail;
	for (i = 0; i < json_object_array_length(prefs); i++) {
		p = json_object_array_get_idx(prefs, i);
		type = xrpc_json_str(p, "$type");
		if (strcmp(type, DECLARED_AGE) == 0)
			continue;	/* read-only: computed, never kept */
		json = json_object_to_json_string_ext(p,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		st = db_stmt(fe->db, &ins, "INSERT INTO account_pref "
		    "(did, name, value_json) VALUES (?, ?, ?)");
		if (db_bind_strs(st, 1, did, type, json, NULL) == -1 ||
		    db_step_done(fe->db, st) == -1)
			goto fail;
	}
	if (db_commit(fe->db) == -1)
		goto fail;
	return 0;
 fail:
	db_rollback(fe->db);
	return -1;
}

static void
prefs_put_body(struct http_request *req, struct json_object *o)
{
	struct auth		 a;
	struct json_object	*prefs;
	const char		*why;
	char			 msg[1024];
	int			 full;

	if (auth_check(req, PUT_AUTH, &a) == -1)
		goto out;
	full = a.scope == AUTH_SCOPE_ACCESS;
	if (!json_object_object_get_ex(o, "preferences", &prefs) ||
	    prefs == NULL) {
		xrpc_error(req, 400, "InvalidRequest",
		    "Missing required key \"preferences\" at $");
		goto out;
	}
	if (!json_object_is_type(prefs, json_type_array)) {
		xrpc_error(req, 400, "InvalidRequest", "Expected array value "
		    "type (got %.64s) at $.preferences",
		    json_object_to_json_string(prefs));
		goto out;
	}
	if ((why = put_refusal(prefs, full, msg, sizeof(msg))) != NULL) {
		xrpc_error(req, 400, "InvalidRequest", "%s", why);
		goto out;
	}
	if (put_store(a.did, prefs, full) == -1) {
		xrpc_internal_error(req);
		goto out;
	}
	http_reply(req, 200, NULL, NULL, 0);
 out:
	json_object_put(o);
}

static void
prefs_put(struct http_request *req)
{
	xrpc_read_json(req, XRPC_JSON_MAX, prefs_put_body);
}
