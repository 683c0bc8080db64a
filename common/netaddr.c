/* netaddr.c: the address ranges a recording fetch must never reach. */
#include "common/netaddr.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

struct v4_range {
	uint32_t net;
	int bits;
};

// Not a public unicast destination (IANA special-purpose registry), loopback apart.
static const struct v4_range v4_blocked[] = {
	{0x00000000, 8},  /* "this network" */
	{0x0a000000, 8},  /* private */
	{0x64400000, 10}, /* carrier-grade NAT */
	{0xa9fe0000, 16}, /* link-local (cloud metadata services) */
	{0xac100000, 12}, /* private */
	{0xc0000000, 24}, /* IETF protocol assignments */
	{0xc0000200, 24}, /* documentation */
	{0xc0a80000, 16}, /* private */
	{0xc6120000, 15}, /* benchmarking */
	{0xc6336400, 24}, /* documentation */
	{0xcb007100, 24}, /* documentation */
	{0xe0000000, 4},  /* multicast */
	{0xf0000000, 4},  /* reserved, broadcast */
};

static int v4_in(uint32_t a, uint32_t net, int bits) {
	uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);

	return (a & mask) == net;
}

static int v4_public(uint32_t a, int allow_loopback) {
	if (v4_in(a, 0x7f000000, 8)) {
		return allow_loopback;
	}
	for (size_t i = 0; i < sizeof(v4_blocked) / sizeof(v4_blocked[0]); i++) {
		if (v4_in(a, v4_blocked[i].net, v4_blocked[i].bits)) {
			return 0;
		}
	}
	return 1;
}

static uint32_t v4_at(const uint8_t *p) {
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int v6_public(const uint8_t *a, int allow_loopback) {
	static const uint8_t loopback[16] = {[15] = 1};
	static const uint8_t unspecified[16] = {0};
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};

	if (memcmp(a, loopback, 16) == 0) {
		return allow_loopback;
	}
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) {
		return v4_public(v4_at(a + 12), allow_loopback);
	}
	if (memcmp(a, unspecified, 16) == 0 || (a[0] & 0xfe) == 0xfc ||	      /* unique local */
	    (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||			      /* link-local */
	    (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) ||			      /* site-local */
	    a[0] == 0xff ||						      /* multicast */
	    (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) || /* documentation */
	    memcmp(a, unspecified, 12) == 0) { /* IPv4-compatible (deprecated) */
		return 0;
	}
	return 1;
}

int netaddr_public(const struct sockaddr *sa, socklen_t len, int allow_loopback) {
	if (sa == NULL) {
		return 0;
	}
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		return v4_public(v4_at((const uint8_t *)&in->sin_addr), allow_loopback);
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		return v6_public(in6->sin6_addr.s6_addr, allow_loopback);
	}
	return 0;
}
