/*
 * fuzz_subject_text.c — subject names as they come from the network (SASL user names)
 * and from operators (API paths, lazaretctl arguments): the encoding must stay valid
 * UTF-8 with nothing that breaks a key=value log line, and decoding must give back
 * exactly the bytes encoded; decoding any input must stay within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strview.h"
#include "common/subject_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum { MAX = 512 };
	char enc[SUBJECT_TEXT_SIZE(MAX)], dec[MAX + 1], small[8];
	size_t n, len;

	if (size > MAX)
		size = MAX;
	n = subject_text_encode(enc, sizeof(enc), (const char *)data, size);
	if (n != strlen(enc))
		abort();
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)enc[i];
		uint32_t cp;
		size_t k = 1;
		if (c >= 0x80 && ((k = utf8_decode((const unsigned char *)enc + i, n - i, &cp)) == 0 || cp < 0xa0))
			abort();
		if (c < 0x80 && (c <= 0x20 || c == 0x7f || c == '"' || c == '\\'))
			abort();
		i += k;
	}
	if (memchr(data, '\0', size) == NULL) {
		if (subject_text_decode(dec, sizeof(dec), &len, enc, n) != 0 || len != size ||
		    memcmp(dec, data, size) != 0)
			abort();
	}
	/* the input as an operator's text: bounded, whatever it holds */
	(void)subject_text_decode(dec, sizeof(dec), &len, (const char *)data, size);
	(void)subject_text_decode(small, sizeof(small), &len, (const char *)data, size);
	(void)subject_text_encode(small, sizeof(small), (const char *)data, size);
	return 0;
}
