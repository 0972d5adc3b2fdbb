/*
 * The public interop fixtures (../shared/interop), for unit tests.
 * PDS_INTEROP names the directory (tests/run.sh sets it).  A fixture
 * that cannot be read fails the test: it is never a skip.
 * Include after <cmocka.h>.
 */
#ifndef PDS_TEST_INTEROP_H
#define PDS_TEST_INTEROP_H

#include <stdio.h>
#include <stdlib.h>

#include <json.h>

static inline const char *
interop_dir(void)
{
	const char	*d = getenv("PDS_INTEROP");

	return d != NULL ? d : "../shared/interop";
}

static inline void
interop_path(char *buf, size_t len, const char *sub, const char *name)
{
	if (snprintf(buf, len, "%s/%s/%s", interop_dir(), sub, name) >=
	    (int)len)
		fail_msg("fixture path too long: %s/%s", sub, name);
}

/* A fixture file holding a JSON array. */
static inline struct json_object *
interop_json_array(const char *sub, const char *name)
{
	char			 path[1024];
	struct json_object	*j;

	interop_path(path, sizeof(path), sub, name);
	if ((j = json_object_from_file(path)) == NULL)
		fail_msg("missing or bad fixture %s", path);
	assert_true(json_object_is_type(j, json_type_array));
	return j;
}

static inline FILE *
interop_open(const char *sub, const char *name)
{
	char	 path[1024];
	FILE	*f;

	interop_path(path, sizeof(path), sub, name);
	if ((f = fopen(path, "r")) == NULL)
		fail_msg("missing fixture %s", path);
	return f;
}

/* A string field of a fixture case; a missing one fails the test. */
static inline const char *
interop_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		fail_msg("fixture field %s missing", key);
	return json_object_get_string(v);
}

#endif
