/*
 * fuzz_portal_form.c — what a subscriber's browser (or a bot) can POST to the portal:
 * the urlencoded release form and the token inside it, and, because operators edit
 * them, the page templates and the HTML checker that guards them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portal/form.h"
#include "portal/html_check.h"
#include "portal/template.h"
#include "portal/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct token_key key = { .key = "0123456789abcdef0123456789abcdef", .len = 32 };
	const char *body = (const char *)data;
	char token[TOKEN_TEXT_MAX], small[4], why[256], err[256];
	volatile size_t sum = 0;

	if (form_field(body, size, "token", token, sizeof(token))) {
		for (size_t i = 0; token[i] != '\0'; i++)
			sum += (unsigned char)token[i];
		(void)token_check(&key, "192.0.2.7", 42, token, strlen(token), 1000000);
	}
	(void)form_field(body, size, "t", small, sizeof(small));
	(void)token_check(&key, "192.0.2.7", 42, body, size, 1000000);

	/* The same bytes as an operator's template, rendered if it compiles, and checked. */
	struct tmpl *t = tmpl_parse("fuzz", body, size, NULL, err, sizeof(err));
	tmpl_free(t);
	(void)html_check(body, size, "http://portal.example.net/", 0, why, sizeof(why));
	(void)sum;
	return 0;
}
