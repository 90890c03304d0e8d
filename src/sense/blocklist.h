/*
 * blocklist.h — the C&C and drop lists an operator loads for the cc_contact detector
 * (issue 9): their parsers, pure ((bytes, length) in, entries to a callback, every line
 * accounted for by reason), and the load of one file into a common/lpm table.
 *
 * Formats:
 *   BLOCKLIST_PLAIN       one address or prefix per line; `#` and `;` start comments
 *                         (whole lines, or after the address); blank lines.
 *   BLOCKLIST_DROP_TEXT   Spamhaus DROP/EDROP text: `1.10.16.0/20 ; SBL256894`, `;` comments.
 *   BLOCKLIST_DROP_JSON   Spamhaus drop_v4.json / drop_v6.json: one JSON object a line,
 *                         `{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}`, and a
 *                         last `{"type":"metadata",...}` line; a line that is not an object
 *                         with a valid "cidr" is malformed (no comments in this format).
 *   BLOCKLIST_FEODO_CSV   abuse.ch Feodo Tracker ipblocklist.csv: `#` banner, the header
 *                         "first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware",
 *                         quoted fields. The columns are found by the header's names (dst_ip,
 *                         dst_port, malware), at 2, 3 and 6 without one; the entry is the host,
 *                         its port and its malware family (a word of letters, digits and
 *                         ".+_-", at most BLOCKLIST_FAMILY_MAX - 1 bytes; another is left out).
 *   BLOCKLIST_AUTO        from the first line that is neither blank nor a comment: `{` JSON,
 *                         `"` or a comma Feodo CSV, a `;` after the address DROP text, else plain.
 */
#ifndef LAZARET_SENSE_BLOCKLIST_H
#define LAZARET_SENSE_BLOCKLIST_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/lpm.h"

#define BLOCKLIST_LINE_MAX 1024            /* longer lines are malformed (too_long) */
#define BLOCKLIST_FILE_MAX (64u << 20)     /* a list file larger than this is refused */

enum blocklist_format {
	BLOCKLIST_AUTO,
	BLOCKLIST_PLAIN,
	BLOCKLIST_DROP_TEXT,
	BLOCKLIST_DROP_JSON,
	BLOCKLIST_FEODO_CSV,
};

#define BLOCKLIST_FAMILY_MAX 32            /* a malware family's name and its NUL */
#define BLOCKLIST_FAMILIES 255             /* distinct families a list names, at most */

struct blocklist_entry {
	struct cidr net;          /* masked */
	uint16_t port;            /* the C&C's port (Feodo), 0 for any */
	const char *family;       /* its malware family (Feodo), NUL-ended, valid during the
	                           * callback; NULL when none is named */
};

/*
 * The malware families one loaded list names, each once. A listed prefix's lpm value
 * holds the rest of its entry, so that an entry costs nothing more than its prefix:
 * BLOCKLIST_PORT(value) is the C&C's port (0: any, or the list gives the host on several
 * ports), BLOCKLIST_FAMILY(value) its family's index + 1 here (0: none, or several).
 */
struct blocklist_families {
	char (*name)[BLOCKLIST_FAMILY_MAX];
	size_t count;
};

#define BLOCKLIST_PORT(v)   ((uint16_t)((v) & 0xffffu))
#define BLOCKLIST_FAMILY(v) ((unsigned)((v) >> 16) & 0xffu)

/* Every line falls in exactly one of the counts after lines. */
struct blocklist_stats {
	enum blocklist_format format;   /* the one parsed (detected, for BLOCKLIST_AUTO) */
	size_t lines;                   /* lines seen (a last line without newline counts) */
	size_t entries;                 /* lines that gave an entry */
	size_t blank;
	size_t comment;
	size_t metadata;                /* DROP JSON's metadata line, the Feodo CSV header */
	size_t malformed;               /* not an entry, a comment or metadata of the format */
	size_t too_long;                /* over BLOCKLIST_LINE_MAX, or holding a NUL byte */
	size_t first_error_line;        /* 1-based: the first malformed or too long; 0: none */
};

/* Called with each entry; a negative return stops the parse and is returned by it. */
typedef int (*blocklist_fn)(void *arg, const struct blocklist_entry *e);

/* blocklist_format_name — "plain", "drop", "drop-json", "feodo-csv", "auto". */
const char *blocklist_format_name(enum blocklist_format f);

/* blocklist_format_parse — the format named by name (the names above). 0 or -EINVAL. */
int blocklist_format_parse(const char *name, enum blocklist_format *out);

/*
 * blocklist_parse — the lines of buf[0..len) in format fmt (BLOCKLIST_AUTO: detected),
 * each entry handed to fn, every line counted in *st (zeroed first). Malformed lines are
 * counted and skipped: whether they make the list unusable is the caller's call.
 * Returns 0, -EINVAL for an unknown format, or fn's negative return.
 */
int blocklist_parse(const uint8_t *buf, size_t len, enum blocklist_format fmt, blocklist_fn fn, void *arg,
                    struct blocklist_stats *st);

/*
 * blocklist_load — the list in path, as a new table of its prefixes, each with its port
 * and family as the value (see struct blocklist_families; a lookup matches any port:
 * contact with a listed address on another port is evidence too, the caller says so),
 * indexed (lpm_index), which replaces *t and *fam (the old ones freed) only when the whole
 * file was read and parsed without a malformed line. Families past BLOCKLIST_FAMILIES are
 * left unnamed. Returns 0; -errno for the file (-EFBIG over BLOCKLIST_FILE_MAX); -EBADMSG
 * with st->first_error_line when a line was malformed or too long; -ENOMEM. On any failure
 * *t and *fam are untouched: the list loaded before stays.
 */
int blocklist_load(const char *path, enum blocklist_format fmt, struct lpm *t, struct blocklist_families *fam,
                   struct blocklist_stats *st);

/* blocklist_family — the family name of a listed prefix's lpm value in fam, or NULL. */
const char *blocklist_family(const struct blocklist_families *fam, uint32_t value);

/* blocklist_families_free — the names go; fam is empty and usable again. */
void blocklist_families_free(struct blocklist_families *fam);

#endif
