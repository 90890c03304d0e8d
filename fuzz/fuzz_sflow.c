/*
 * fuzz_sflow.c — libFuzzer target for the sFlow v5 decoder (flow samples, their
 * sampled Ethernet/802.1Q/IPv4/IPv6/TCP/UDP headers): datagrams of that
 * format through flow_decode, saved state round-tripped (fuzz_flow.h says how).
 */
#define FUZZ_FLOW_FORMAT FLOW_FORMAT_SFLOW5
#include "fuzz_flow.h"
