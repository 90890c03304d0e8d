/*
 * radius_dict.h — RADIUS attribute dictionaries in FreeRADIUS's format, so that an
 * operator writes the attributes lazaretd sends in a CoA-Request as FreeRADIUS does
 * (`Filter-Id = "walled-garden"`, `Cisco-AVPair = "subscriber:service-name=garden"`)
 * and names a vendor's attributes from the dictionary files their BNG's vendor ships
 * (Debian: /usr/share/freeradius/dictionary, which $INCLUDEs the rest).
 *
 * Lines read (FreeRADIUS 3.2 dictionary(5)): ATTRIBUTE name number type [vendor|flags],
 * VALUE attribute name number, VENDOR name number [format=t,l[,c]], BEGIN-VENDOR name
 * [format=...] / END-VENDOR name, BEGIN-TLV / END-TLV, $INCLUDE file (relative to the
 * including file's directory; $INCLUDE- ignores a missing file), '#' comments. A line
 * that is none of these, or is one with a bad field, is refused with "file:line:
 * message". Attributes that exist but cannot be sent from lazaretd (TLVs, extended,
 * abinary, encrypted, tagged) are kept so that files load, and refused by
 * radius_dict_avp_parse when asked for. Names are case-insensitive, as in FreeRADIUS;
 * a later definition of a name hides an earlier one.
 *
 * The RFC attributes a CoA needs (RFC 2865, 2866, 2869, 3162, 4818, 5176, 6911) are
 * built in: a dictionary made by radius_dict_new needs no file for Filter-Id.
 */
#ifndef LAZARET_ACT_RADIUS_DICT_H
#define LAZARET_ACT_RADIUS_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RADIUS_DICT_NAME_MAX 80          /* a name's bytes with its NUL (FreeRADIUS's longest: 64) */
#define RADIUS_DICT_INCLUDE_DEPTH 8
#define RADIUS_AVP_VALUE_MAX 247         /* 253 less a VSA's 6-byte header, at the least */

enum radius_type {
	RADIUS_TYPE_STRING = 1,
	RADIUS_TYPE_OCTETS,
	RADIUS_TYPE_IPADDR,
	RADIUS_TYPE_INTEGER,
	RADIUS_TYPE_DATE,
	RADIUS_TYPE_IPV6ADDR,
	RADIUS_TYPE_IPV6PREFIX,
	RADIUS_TYPE_IPV4PREFIX,
	RADIUS_TYPE_BYTE,
	RADIUS_TYPE_SHORT,
	RADIUS_TYPE_SIGNED,
	RADIUS_TYPE_INTEGER64,
	RADIUS_TYPE_IFID,
	RADIUS_TYPE_ETHER,
	RADIUS_TYPE_COMBO_IP,
	RADIUS_TYPE_OTHER,                   /* tlv, evs, extended, vsa, abinary: not sent */
};

struct radius_dict_vendor {
	char name[RADIUS_DICT_NAME_MAX];
	uint32_t id;
	uint8_t type_len, len_len;           /* format=t,l: 1,1 for most; 4,0 USR; 2,2 Lucent */
	bool continuation;                   /* format=...,c (WiMAX): not sent */
};

struct radius_dict_attr {
	char name[RADIUS_DICT_NAME_MAX];
	uint32_t vendor;                     /* 0: a standard attribute */
	uint32_t number;
	enum radius_type type;
	bool has_tag, encrypted;
	bool nested;                         /* a dotted number, a TLV's child, an extended vendor's */
};

struct radius_dict;

/* A dictionary with the built-in RFC attributes only; NULL on ENOMEM. */
struct radius_dict *radius_dict_new(void);
void radius_dict_free(struct radius_dict *d);

/*
 * radius_dict_load — adds the dictionary file at path and what it $INCLUDEs. 0, or a
 * negative errno with "file:line: message" (or "file: why" when it cannot be read) in
 * err; a failed load may have added the lines before the bad one.
 */
int radius_dict_load(struct radius_dict *d, const char *path, char *err, size_t errlen);

/*
 * radius_dict_parse — adds the dictionary text buf[0..len), named name in messages;
 * $INCLUDE is refused unless dir (the directory it is relative to) is given. 0 or
 * -EINVAL/-ENOMEM/-ELOOP with err as radius_dict_load's. Pure apart from $INCLUDE.
 */
int radius_dict_parse(struct radius_dict *d, const char *name, const char *dir, const char *buf, size_t len,
    char *err, size_t errlen);

/* The attribute called name (case-insensitive), or NULL. */
const struct radius_dict_attr *radius_dict_attr(const struct radius_dict *d, const char *name);
/* The vendor called name, or numbered id (name NULL); NULL if none. */
const struct radius_dict_vendor *radius_dict_vendor(const struct radius_dict *d, const char *name, uint32_t id);
/* VALUE attr name's number; false if there is none. */
bool radius_dict_value(const struct radius_dict *d, const char *attr, const char *name, uint64_t *out);
/* How many attributes, vendors and values it holds (the built-in ones included). */
void radius_dict_counts(const struct radius_dict *d, size_t *attrs, size_t *vendors, size_t *values);

/* An attribute ready to be encoded into a request: its number, its vendor's format, its value. */
struct radius_avp {
	uint32_t vendor;                     /* 0: standard, encoded as itself; else in a Vendor-Specific (26) */
	uint32_t number;
	uint8_t type_len, len_len;           /* the vendor's format (1,1 for most) */
	uint8_t len;
	uint8_t value[RADIUS_AVP_VALUE_MAX];
};

/*
 * radius_dict_avp_parse — one attribute as FreeRADIUS writes it: `Name = value`, the
 * value a "quoted string" (\" \\ \n \r \t and \ooo escapes), a bare word or number, a
 * VALUE name for an integer, an IPv4 or IPv6 address, an IPv6 prefix "addr/len" or
 * 0x-hex octets. 0 and *out, or -EINVAL with a message in err (unknown attribute,
 * value that does not fit its type, an attribute lazaretd cannot send).
 */
int radius_dict_avp_parse(const struct radius_dict *d, const char *text, struct radius_avp *out, char *err,
    size_t errlen);

/*
 * radius_avp_encode — avp as attribute bytes (a standard attribute, or wrapped in a
 * Vendor-Specific), appended at out[0..room). The bytes written, or -ENOSPC.
 */
int radius_avp_encode(const struct radius_avp *avp, uint8_t *out, size_t room);

#endif
