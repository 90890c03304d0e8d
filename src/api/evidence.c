/*
 * evidence.c — see evidence.h.
 */
#include "api/evidence.h"

#include <string.h>

#include "common/strview.h"


static json_t *
evidence_time(usec_t t)
{
	char buf[40];

	return t > 0 ? json_string(time_format(t, buf, sizeof(buf))) : json_null();
}

json_t *
evidence_json(const struct judge *j, const struct evidence_item *e, usec_t now)
{
	return json_pack("{s:s, s:I, s:o, s:o, s:o, s:f}",
	    "kind", judge_kind_name(j, e->kind),
	    "count", (json_int_t)judge_item_count(e),
	    "first_seen", evidence_time(e->first_seen),
	    "last_seen", evidence_time(e->last_seen),
	    "summary", json_text(e->summary),
	    "score", judge_item_score(j, e, now));
}

/*
 * Free text (reasons, evidence summaries, actors) as a JSON string. Summaries quote
 * mail logs and remote servers' replies, which need not be UTF-8, and jansson refuses
 * such a string (the whole answer with it): bytes that are not UTF-8 become U+FFFD.
 */
json_t *
json_text(const char *s)
{
	json_t *v = json_string(s);
	char fixed[3 * STORE_REASON_MAX + 4];
	size_t o = 0;

	if (v != NULL)
		return v;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && o + 4 < sizeof(fixed);) {
		uint32_t cp;
		size_t n = *p < 0x80 ? 1 : utf8_decode(p, strnlen((const char *)p, 4), &cp);
		if (n == 0) {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		} else {
			memcpy(fixed + o, p, n);
			o += n;
			p += n;
		}
	}
	fixed[o] = '\0';
	return json_string(fixed);
}
