// Affinity key extraction: which bytes of a request identify "the same client".
//
// Pure functions of a parsed request head and the client address, kept apart from selection
// (ARCHITECTURE.md lesson 3): ip_hash is "the client address as key" + a hash-ring lookup,
// consistent_hash is "the first present `hash_key` source" + the same lookup. Nothing here
// allocates on the data path; results are views into the head or the address text.
//
// The client address is the TCP peer, unless the listener lists `trusted_proxies` and the peer is
// one of them: then it is the right-most X-Forwarded-For entry that is not itself trusted (the
// left part of that header is whatever the client chose to write, so it cannot be believed).
// Example: peer 10.0.0.2 (trusted 10.0.0.0/8), "X-Forwarded-For: 6.6.6.6, 203.0.113.7, 10.0.0.9"
// -> 203.0.113.7.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/http/message_head.h"

namespace proxy::lb {

// The trusted_proxies of the listener a connection was accepted on, found from the socket's
// local address (a wildcard listener matches any address on its port); nullptr when none.
const std::vector<config::Cidr>* trustedProxiesFor(const config::Config& cfg, const sockaddr_storage& local);

// The client address for affinity (see above). `peer` is the TCP peer's IP text.
std::string_view clientAddress(const http::MessageHead& head, std::string_view peer,
                               std::span<const config::Cidr> trusted);

// The value of cookie `name` in a Cookie header ("a=1; b=2"); found=false when absent.
std::string_view findCookie(std::string_view cookie_header, std::string_view name, bool& found);
// The raw value of query parameter `name` in a request target; found=false when absent.
std::string_view findQuery(std::string_view url, std::string_view name, bool& found);
// The path of a request target, without the query.
std::string_view urlPath(std::string_view url);

// Hash of an address keeping only the first v4/v6 prefix bits (ip_hash with ipv4_prefix: 24
// puts 192.0.2.1 and 192.0.2.200 together, as nginx does). Unparsable text is hashed as bytes.
uint64_t hashAddress(std::string_view ip, uint32_t v4_prefix, uint32_t v6_prefix);

// Hash of a non-address key value (header, cookie, query, path), as extractKey computes it.
uint64_t hashKeyValue(std::string_view value);

// Hash of the first present source; false when none is present.
bool extractKey(std::span<const config::KeySource> sources, const http::MessageHead& head, std::string_view client_ip,
                uint32_t v4_prefix, uint32_t v6_prefix, uint64_t& key);

}  // namespace proxy::lb
