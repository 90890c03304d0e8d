/*
 * ident_hold.h — a test plays the BNG: subscriber sub starts (or stops) holding net at
 * `at`, through the identity layer as RADIUS accounting would tell it. Header-only: each
 * test program that needs it includes it (after cmocka.h).
 */
#ifndef LAZARET_TESTS_IDENT_HOLD_H
#define LAZARET_TESTS_IDENT_HOLD_H

#include <stdbool.h>
#include <string.h>

#include "common/addr.h"
#include "ident/ident.h"

static inline void
ident_hold(struct ident *id, bool start, const char *sub, const char *net, usec_t at)
{
	struct ident_event e = { .start = start, .subscriber = sub, .subscriber_len = strlen(sub), .origin = "bng1",
		.source = IDENT_RADIUS, .at = at };

	assert_int_equal(cidr_parse(net, &e.net), 0);
	assert_int_equal(ident_apply(id, &e), 0);
}

#endif
