/*
 * fuzz_netflow9.c — libFuzzer target for the NetFlow v9 decoder (templates, options,
 * sampling): datagrams of that
 * format through flow_decode, saved state round-tripped (fuzz_flow.h says how).
 */
#define FUZZ_FLOW_FORMAT FLOW_FORMAT_NETFLOW9
#include "fuzz_flow.h"
