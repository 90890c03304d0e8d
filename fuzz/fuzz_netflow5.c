/*
 * fuzz_netflow5.c — libFuzzer target for the NetFlow v5 decoder: datagrams of that
 * format through flow_decode, saved state round-tripped (fuzz_flow.h says how).
 */
#define FUZZ_FLOW_FORMAT FLOW_FORMAT_NETFLOW5
#include "fuzz_flow.h"
