/*
 * The Lexicon documents built into the binary.  The table itself is
 * generated from lexicons/ by tools/embed-lexicons.sh; this file is apart
 * from the rest of the loader so that programs which never call
 * lexicon_load_builtin() do not link the documents in.
 */
#include <stddef.h>

#include "lexicon.h"
#include "log.h"

extern const struct lexicon_src	lexicon_builtin[];
extern const size_t		nlexicon_builtin;

int
lexicon_load_builtin(void)
{
	char	err[256];
	size_t	i;
	int	rv = 0;

	for (i = 0; i < nlexicon_builtin; i++)
		if (lexicon_add_json(lexicon_builtin[i].json,
		    lexicon_builtin[i].len, err, sizeof(err)) == -1) {
			log_warnx("lexicon %s: %s", lexicon_builtin[i].name,
			    err);
			rv = -1;
		}
	return rv;
}
