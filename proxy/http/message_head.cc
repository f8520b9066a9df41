// MessageHead: see message_head.h.
#include "proxy/http/message_head.h"

namespace proxy::http {

bool hasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (equalsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view MessageHead::find(std::string_view n, bool* found) const {
  for (size_t i = 0; i < headers_.size(); ++i)
    if (equalsIgnoreCase(name(i), n)) {
      if (found) *found = true;
      return value(i);
    }
  if (found) *found = false;
  return {};
}

void MessageHead::reset() {
  buf_.clear();
  headers_.clear();
  url_off_ = url_len_ = 0;
  authority_off_ = authority_len_ = 0;
  in_name_ = in_value_ = false;
  connection_headers_ = 0;
  method = 0;
  status = 0;
  version_major = version_minor = 1;
  keep_alive = true;
  chunked = has_content_length = upgrade = false;
  content_length = 0;
}

void MessageHead::release() {
  reset();
  std::string().swap(buf_);
  std::vector<HeaderRef>().swap(headers_);
}

void MessageHead::appendUrl(std::string_view piece) {
  if (url_len_ == 0) url_off_ = static_cast<uint32_t>(buf_.size());
  buf_.append(piece);
  url_len_ += static_cast<uint32_t>(piece.size());
}

bool MessageHead::splitAbsoluteForm() {
  std::string_view target = url();
  size_t scheme = 0;
  if (target.size() >= 7 && equalsIgnoreCase(target.substr(0, 7), "http://")) scheme = 7;
  else if (target.size() >= 8 && equalsIgnoreCase(target.substr(0, 8), "https://")) scheme = 8;
  if (scheme == 0) return true;  // origin-form (or asterisk-form): nothing to split
  std::string_view rest = target.substr(scheme);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  authority_off_ = url_off_ + static_cast<uint32_t>(scheme);
  authority_len_ = static_cast<uint32_t>(authority.size());
  std::string_view path = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (!path.empty() && path.front() == '/') {
    url_off_ = authority_off_ + authority_len_;
    url_len_ = static_cast<uint32_t>(path.size());
    return true;
  }
  // "http://host" or "http://host?q": the path is "/" (RFC 9112 3.2.2); written after the head's
  // bytes, which every view addresses by offset.
  uint32_t off = static_cast<uint32_t>(buf_.size());
  std::string origin = "/";
  origin.append(path);
  buf_.append(origin);
  url_off_ = off;
  url_len_ = static_cast<uint32_t>(origin.size());
  return true;
}

void MessageHead::appendName(std::string_view piece) {
  if (!in_name_) {
    headers_.push_back({static_cast<uint32_t>(buf_.size()), 0, 0, 0});
    in_name_ = true;
  }
  buf_.append(piece);
  headers_.back().name_len += static_cast<uint32_t>(piece.size());
}

void MessageHead::endName() {
  in_name_ = false;
  if (!headers_.empty() && headers_.back().name_len == 10 && equalsIgnoreCase(name(headers_.size() - 1), "connection"))
    ++connection_headers_;
  if (!headers_.empty()) headers_.back().value_off = static_cast<uint32_t>(buf_.size());  // empty value
}

void MessageHead::appendValue(std::string_view piece) {
  if (headers_.empty()) return;  // llhttp never sends a value before a name
  HeaderRef& h = headers_.back();
  if (!in_value_) {
    h.value_off = static_cast<uint32_t>(buf_.size());
    in_value_ = true;
  }
  buf_.append(piece);
  h.value_len += static_cast<uint32_t>(piece.size());
}

}  // namespace proxy::http
