/*
 * evidence.h — one evidence item as JSON, the same in the operator API's answers and in
 * lazaretctl analyze --json: kind, count, first_seen and last_seen (RFC 3339 UTC, null
 * when unknown), summary, and the item's current score.
 */
#ifndef LAZARET_API_EVIDENCE_H
#define LAZARET_API_EVIDENCE_H

#include <jansson.h>

#include "judge/judge.h"

/* The item as a JSON object, or NULL (out of memory: the caller reports it, never drops it). */
json_t *evidence_json(const struct judge *j, const struct evidence_item *e, usec_t now);

/*
 * json_text — free text (reasons, evidence summaries, actors) as a JSON string. Summaries
 * quote mail logs and remote servers' replies, which need not be UTF-8 (a store written
 * by an older lazaretd may hold such bytes), and jansson refuses such a string: bytes
 * that are not UTF-8 become U+FFFD. NULL only when memory runs out.
 */
json_t *json_text(const char *s);

#endif
