/*
 * kinds.h — every kind of evidence lazaretd's sensors report, in one static table:
 * its name (the [evidence NAME] section, the store's column, the API's "kind"), its
 * default weight and half-life, and a line saying what it means. A new sensor adds its
 * rows here; lazaretd checks a configuration against the table without building a
 * judge, and each sensor registers its kinds with the judge from it.
 */
#ifndef LAZARET_JUDGE_KINDS_H
#define LAZARET_JUDGE_KINDS_H

#include <stddef.h>

#include "common/config.h"
#include "common/timeutil.h"
#include "judge/judge.h"

struct evidence_kind {
	const char *name;
	double weight;             /* default; [evidence NAME] weight overrides it */
	usec_t half_life;          /* default; [evidence NAME] half_life overrides it */
	const char *description;
};

/* The table, in the order the sensors register their kinds. */
extern const struct evidence_kind evidence_kinds[];
extern const size_t evidence_kind_count;

/* The row for name, or NULL. */
const struct evidence_kind *evidence_kind_find(const char *name);

/* evidence_kind_register — register name's row with j: the kind id, or -1 (not in the table, full). */
int evidence_kind_register(struct judge *j, const char *name);

/*
 * evidence_kinds_check — every [evidence NAME] section of cfg names a kind of the table.
 * 0, or -1 with "file:line: [evidence NAME]: no sensor reports this kind (known: ...)".
 */
int evidence_kinds_check(const struct config *cfg, char *err, size_t errlen);

#endif
