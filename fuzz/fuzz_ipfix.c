/*
 * fuzz_ipfix.c — libFuzzer target for the IPFIX decoder (templates, withdrawal, options,
 * variable-length and enterprise fields): datagrams of that
 * format through flow_decode, saved state round-tripped (fuzz_flow.h says how).
 */
#define FUZZ_FLOW_FORMAT FLOW_FORMAT_IPFIX
#include "fuzz_flow.h"
