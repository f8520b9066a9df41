// CIDR blocks (`trusted_proxies`) and IP literals, parsed and matched. Pure: the config loader
// parses with them, the affinity key extractor (lb/key_extractor.h) matches client addresses.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "proxy/config/config.h"

namespace proxy::config {

// "10.0.0.0/8", "2001:db8::/32", or a bare address (full prefix).
bool parseCidr(std::string_view text, Cidr& out);
// Parses an IPv4/IPv6 literal into bytes (4 or 16 used); returns the family or 0. IPv4-mapped
// IPv6 (::ffff:192.0.2.1, what a dual-stack listener reports) is returned as IPv4.
int parseIp(std::string_view text, uint8_t out[16]);
bool cidrContains(std::span<const Cidr> list, std::string_view ip);

}  // namespace proxy::config
