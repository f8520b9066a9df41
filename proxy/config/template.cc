// Route value templates: see template.h.
#include "proxy/config/template.h"

#include <cctype>

namespace proxy::config {
namespace {

struct Named {
  std::string_view name;
  Var var;
};
constexpr Named kVars[] = {{"host", Var::Host}, {"request_uri", Var::RequestUri}, {"scheme", Var::Scheme},
                           {"client_ip", Var::ClientIp}, {"request_id", Var::RequestId}};

bool nameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

bool Template::uses(Var v) const {
  for (const auto& p : parts)
    if (p.var == v) return true;
  return false;
}

bool parseTemplate(std::string_view text, Template& out, std::string& error) {
  out.parts.clear();
  std::string literal;
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '$') {
      literal.push_back(text[i++]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      literal.push_back('$');
      i += 2;
      continue;
    }
    std::string_view name;
    size_t next;
    if (i + 1 < text.size() && text[i + 1] == '{') {
      size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        error = "unclosed ${ in '" + std::string(text) + "'";
        return false;
      }
      name = text.substr(i + 2, close - i - 2);
      next = close + 1;
    } else {
      size_t end = i + 1;
      while (end < text.size() && nameChar(text[end])) ++end;
      name = text.substr(i + 1, end - i - 1);
      next = end;
    }
    const Named* found = nullptr;
    for (const Named& n : kVars)
      if (n.name == name) found = &n;
    if (!found) {
      error = "unknown variable $" + std::string(name) +
              " (known: $host, $request_uri, $scheme, $client_ip, $request_id; $$ for a literal $)";
      return false;
    }
    if (!literal.empty()) out.parts.push_back({Var::Literal, std::move(literal)});
    literal.clear();
    out.parts.push_back({found->var, {}});
    i = next;
  }
  if (!literal.empty()) out.parts.push_back({Var::Literal, std::move(literal)});
  return true;
}

void expandTemplate(const Template& t, const TemplateValues& v, std::string& out) {
  for (const auto& p : t.parts) {
    switch (p.var) {
      case Var::Literal: out.append(p.text); break;
      case Var::Host: out.append(v.host); break;
      case Var::RequestUri: out.append(v.request_uri); break;
      case Var::Scheme: out.append(v.scheme); break;
      case Var::ClientIp: out.append(v.client_ip); break;
      case Var::RequestId: out.append(v.request_id); break;
    }
  }
}

}  // namespace proxy::config
