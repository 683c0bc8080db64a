/* netaddr: which resolved addresses a fetch of a stored (provider-supplied) URL may connect
 * to. A host name on the allow-list can still resolve to an internal address (a cloud
 * provider's internal load balancers share its public domain), so the check is made on the
 * address curl is about to connect to, not on the name. */
#ifndef COMMON_NETADDR_H
#define COMMON_NETADDR_H

#include <sys/socket.h>

/* 1 when sa is a public unicast address: not private (RFC 1918, fc00::/7), loopback,
 * link-local, CGNAT, multicast, unspecified, reserved or documentation space; IPv4-mapped and
 * NAT64 IPv6 addresses are judged by the IPv4 address they carry. Loopback passes only with
 * allow_loopback (the test stack's fake provider). Other families never pass. */
int netaddr_public(const struct sockaddr *sa, socklen_t len, int allow_loopback);

#endif
