/*
 * page.h — the portal's four pages, built from the operator's templates and the facts
 * of one visit. Pure: no HTTP, no judge, no store, so the unit tests render every
 * variant with hostile evidence and check the result.
 *
 * Templates (in [portal] templates): notice.html (quarantined, may release),
 * limit.html (quarantined at the self-release limit, or suspended: case number and
 * abuse desk), released.html (after a self-release), ok.html (not restricted).
 * Each is checked with html_check in template mode when loaded; a template that
 * fails is refused with file:line and the reason.
 *
 * Placeholders (all HTML-escaped; times "2025-06-01 14:03 UTC", durations "30 days"):
 *   address subject level since now portal_url support_contact abuse_contact
 *   suspended (flag) error (text of a refused release)
 *   evidence (list of: kind summary count first_seen last_seen), has_evidence (flag)
 *   can_release (flag) token token_expires
 *   releases_used releases_left release_limit release_window grace case
 *   self_release (flag: self_release_limit is above 0)
 *   by_operator (flag: an operator's quarantine the subscriber may not release)
 *   release_later (flag: no button yet) release_at release_wait (when, and how long until)
 *   min_quarantine (duration)
 */
#ifndef LAZARET_PORTAL_PAGE_H
#define LAZARET_PORTAL_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/timeutil.h"
#include "portal/template.h"

enum page_kind { PAGE_NOTICE, PAGE_LIMIT, PAGE_RELEASED, PAGE_OK, PAGE_COUNT };

struct page_evidence {
	const char *kind;
	const char *summary;
	uint64_t count;
	usec_t first_seen;
	usec_t last_seen;
	const char *advice;               /* what to do about the malware it names; NULL: none */
};

struct page_info {
	usec_t now;
	const char *address;              /* the visitor's */
	const char *subject;              /* its host subject ("192.0.2.7", "2001:db8:1:2::/64") */
	int level;                        /* enum level */
	usec_t since;                     /* when the quarantine began; 0 = unknown */
	const struct page_evidence *evidence;
	size_t evidence_count;
	const char *token;                /* NULL: no release button */
	usec_t token_expires;
	unsigned releases_used;           /* self-releases in the window, this one included once done */
	unsigned release_limit;
	usec_t release_window;
	usec_t grace;
	const char *case_id;              /* NULL when there is no case */
	bool by_operator;                 /* an operator's quarantine, not the subscriber's to release */
	bool release_later;               /* the button comes later (min_quarantine) */
	usec_t release_at;                /* when; 0 = not known */
	usec_t min_quarantine;
	const char *error;                /* why a release was refused; NULL otherwise */
	const char *portal_url;
	const char *support_contact;
	const char *abuse_contact;
};

struct pages;

/* File names of the templates in the templates directory, by enum page_kind. */
extern const char *const page_file[PAGE_COUNT];

/*
 * pages_load — read, check and compile the four templates in dir; self_url is the
 * portal's own URL for the link check. NULL with "path:line: problem" in err.
 */
struct pages *pages_load(const char *dir, const char *self_url, char *err, size_t errlen);

/* pages_parse — the same from texts in memory (tests). name is used in messages. */
struct pages *pages_parse(const char *const text[PAGE_COUNT], const char *self_url, char *err, size_t errlen);

void pages_free(struct pages *p);

/*
 * The optional advice.txt beside the templates: one "family: what to do" a line (the
 * family as a report names it, any case; "*" for a family without a line of its own; #
 * comments). pages_load reads it when it is there; pages_parse_advice adds text's lines
 * (0, or -1 with "name:line: problem"). pages_advice: the text for family, "*"'s, or NULL.
 */
#define PAGE_ADVICE_FILE "advice.txt"
int pages_parse_advice(struct pages *p, const char *name, const char *text, size_t len, char *err, size_t errlen);
const char *pages_advice(const struct pages *p, const char *family);

/* page_render — append page kind for info to out. 0 or -ENOMEM. */
int page_render(const struct pages *p, enum page_kind kind, const struct page_info *info, struct tbuf *out);

/* What the portal offers a quarantined visitor. */
enum page_offer {
	PAGE_OFFER_BUTTON,        /* the notice with its release button */
	PAGE_OFFER_LATER,         /* the notice, saying when the button comes */
	PAGE_OFFER_ABUSE_DESK,    /* the limit page: a case number and the abuse desk */
};

/* The facts of one visit that decide it. */
struct page_release_facts {
	bool suspended;
	bool operator_only;       /* an operator's level made without self-release */
	bool automatic;           /* the judge's own quarantine (else an operator's) */
	unsigned releases_used;   /* self-releases within the window */
	unsigned release_limit;   /* [portal] self_release_limit; 0 = never */
	usec_t since;             /* when the quarantine began (history); 0 = not known */
	usec_t min_quarantine;    /* for the judge's own quarantines */
	usec_t now;
};

/*
 * page_release_offer — the button, the button later, or the abuse desk: the abuse desk
 * for a suspension, an operator's quarantine without self-release and a used-up (or
 * zero) limit; later while an automatic quarantine is younger than min_quarantine, or
 * its start is not known (*release_at: when, or 0). An operator's quarantine that allows
 * self-release has no minimum: the operator decided. The portal refuses a POST for
 * anything but PAGE_OFFER_BUTTON, whatever the token.
 */
enum page_offer page_release_offer(const struct page_release_facts *f, usec_t *release_at);

/* "2025-06-01 14:03 UTC" ("-" for 0); returns buf. */
char *page_time(usec_t t, char *buf, size_t size);

/* "30 days", "24 hours", "1 hour 30 minutes", "15 minutes", "45 seconds"; returns buf. */
char *page_duration(usec_t d, char *buf, size_t size);

/*
 * page_case_id — the case number of subject's quarantine that began at `opened`:
 * "LZ-YYYYMMDD-XXXXXXXX", the date and 8 characters of a hash of both, so the same
 * quarantine always gets the same number and the abuse desk can find it in the logs.
 */
void page_case_id(const char *subject, usec_t opened, char *out, size_t size);

#endif
