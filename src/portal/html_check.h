/*
 * html_check.h — "less is more" as a check: an HTML document passes when it carries
 * no active code and fetches nothing from elsewhere.
 *
 * It fails on: any "<script" (even in a comment); script, link, iframe, frame, frameset,
 * object, embed, applet, base, svg and math elements; any attribute whose name starts
 * with "on"; srcdoc; <meta http-equiv> refresh or set-cookie; a URL in href, src,
 * action, formaction, srcset, ... or in CSS url() that names a scheme or a host
 * (relative paths only, or the portal's own origin); CSS @import, expression(),
 * behavior, -moz-binding, image-set() and escapes. Character references in attribute
 * values are decoded before the URL is judged.
 *
 * With HTML_CHECK_TEMPLATE the input is a page template (template.h): a {{placeholder}}
 * may stand in text and in quoted attribute values only — never in a tag or attribute
 * name, an unquoted value, CSS, or at the start of a URL (except {{portal_url}}) —
 * so no escaped value can ever become markup, a handler or a link elsewhere.
 */
#ifndef LAZARET_PORTAL_HTML_CHECK_H
#define LAZARET_PORTAL_HTML_CHECK_H

#include <stddef.h>

#define HTML_CHECK_TEMPLATE 0x01

/*
 * html_check — 0 when doc (len bytes) passes, -1 with "line N: what" in why otherwise.
 * self_url (may be NULL) is the portal's own URL: absolute links to its origin pass.
 */
int html_check(const char *doc, size_t len, const char *self_url, unsigned flags, char *why, size_t whylen);

#endif
