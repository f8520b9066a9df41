// Values with variables (`redirect.to`, `respond.body`): "https://$host$request_uri", parsed once
// at load time into literal and variable parts, expanded per request into a caller's buffer.
// Pure: no I/O, no allocation beyond the output string's growth.
//
// Variables: $host (the request's host name, without a port, as nginx's $host), $request_uri (the target as received, path and
// query), $scheme (http or https), $client_ip (the request's client, see docs/configuration.md),
// $request_id (needs request ids on). `$$` is a literal `$`. A name may be written `${host}` when
// letters follow it. Anything else after `$` is an error naming it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace proxy::config {

enum class Var : uint8_t { Literal, Host, RequestUri, Scheme, ClientIp, RequestId };

struct TemplatePart {
  Var var = Var::Literal;
  std::string text;  // Literal only
};

struct Template {
  std::vector<TemplatePart> parts;
  bool uses(Var v) const;
};

// False with `error` set ("unknown variable $hots") when `text` is not a valid template.
bool parseTemplate(std::string_view text, Template& out, std::string& error);

struct TemplateValues {
  std::string_view host, request_uri, scheme, client_ip, request_id;
};

void expandTemplate(const Template& t, const TemplateValues& v, std::string& out);

}  // namespace proxy::config
