// Parser: see parser.h.
#include "proxy/http/parser.h"

#include <cstring>

#include "proxy/http/trailers.h"

namespace proxy::http {
namespace {

// Position of the first byte that may not appear in a field value (NUL, CR, LF and the other
// control bytes except HTAB, and DEL; RFC 9110 5.5), or `len`. Eight bytes per step: a word with
// no byte below 0x20 and none equal to 0x7f is skipped whole; the first word that may hold one is
// decided byte by byte from there (HTAB is the only allowed byte below 0x20).
size_t forbiddenFieldByte(const char* at, size_t len) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t x;
    std::memcpy(&x, at + i, 8);
    uint64_t below_space = (x - kOnes * 0x20) & ~x & kHigh;
    uint64_t del = x ^ (kOnes * 0x7f);
    del = (del - kOnes) & ~del & kHigh;
    if (below_space | del) break;
  }
  for (; i < len; ++i) {
    unsigned char c = static_cast<unsigned char>(at[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return i;
  }
  return len;
}

}  // namespace

Parser::Parser(llhttp_type_t type, ParserHandler& handler, ParserLimits limits) : handler_(handler), limits_(limits) {
  static llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &Parser::onMessageBegin;
    s.on_url = &Parser::onUrl;
    s.on_status = &Parser::onStatus;
    s.on_header_field = &Parser::onHeaderField;
    s.on_header_field_complete = &Parser::onHeaderFieldComplete;
    s.on_header_value = &Parser::onHeaderValue;
    s.on_header_value_complete = &Parser::onHeaderValueComplete;
    s.on_headers_complete = &Parser::onHeadersComplete;
    s.on_body = &Parser::onBodyCb;
    s.on_message_complete = &Parser::onMessageComplete;
    return s;
  }();
  llhttp_init(&parser_, type, &settings);
  parser_.data = this;
}

void Parser::reset() {
  llhttp_reset(&parser_);
  head_.reset();
  error_ = ParseError::None;
  reason_ = nullptr;
  body_bytes_ = 0;
  in_message_ = false;
  in_trailers_ = false;
  trailers_.clear();
  target_at_feed_end_ = false;
}

FeedResult Parser::feed(const char* data, size_t len) {
  feed_begin_ = data;
  feed_end_ = data + len;
  if (target_at_feed_end_ && len > 0) {
    target_at_feed_end_ = false;
    if (data[0] == '\r' || data[0] == '\n') {
      error_ = ParseError::Malformed;
      reason_ = "HTTP/0.9 request line";
      return {ParseStatus::Error, 0};
    }
  }
  llhttp_errno_t rc = llhttp_execute(&parser_, data, len);
  switch (rc) {
    case HPE_OK: return {ParseStatus::Ok, len};
    case HPE_PAUSED: return {ParseStatus::Paused, static_cast<size_t>(llhttp_get_error_pos(&parser_) - data)};
    case HPE_PAUSED_UPGRADE: return {ParseStatus::Upgrade, static_cast<size_t>(llhttp_get_error_pos(&parser_) - data)};
    default:
      if (error_ == ParseError::None) {
        error_ = ParseError::Malformed;
        reason_ = llhttp_get_error_reason(&parser_);
      }
      return {ParseStatus::Error, 0};
  }
}

void Parser::resume() {
  if (llhttp_get_errno(&parser_) == HPE_PAUSED_UPGRADE) llhttp_resume_after_upgrade(&parser_);
  else llhttp_resume(&parser_);
}

bool Parser::finish() {
  if (!in_message_) return true;
  llhttp_errno_t rc = llhttp_finish(&parser_);  // HPE_PAUSED: our onComplete asked to pause
  return (rc == HPE_OK || rc == HPE_PAUSED) && !in_message_;
}

const char* Parser::errorReason() const {
  switch (error_) {
    case ParseError::None: return "";
    case ParseError::HeaderTooLarge: return "header too large";
    case ParseError::BodyTooLarge: return "body too large";
    case ParseError::VersionNotSupported: return "HTTP version not supported";
    case ParseError::Malformed: return reason_ ? reason_ : "malformed message";
  }
  return "";
}

uint64_t Parser::trailerBytes() const { return trailers_.size() + trailer_name_.size() + trailer_value_.size(); }

int Parser::headBytesExceeded() {
  error_ = ParseError::HeaderTooLarge;
  return -1;
}

int Parser::malformed(const char* reason) {
  error_ = ParseError::Malformed;
  reason_ = reason;
  return -1;
}

int Parser::onMessageBegin(llhttp_t* p) {
  Parser& s = self(p);
  s.head_.reset();
  s.body_bytes_ = 0;
  s.in_message_ = true;
  s.in_trailers_ = false;
  s.trailers_.clear();
  s.value_started_ = false;
  return 0;
}

int Parser::onUrl(llhttp_t* p, const char* at, size_t len) {
  Parser& s = self(p);
  // A target followed by the line end instead of " HTTP/1.x" is an HTTP/0.9 request: reject it
  // now rather than wait for headers that such a client never sends.
  const char* end = at + len;
  s.target_at_feed_end_ = end == s.feed_end_;
  if (end < s.feed_end_ && (*end == '\r' || *end == '\n')) return s.malformed("HTTP/0.9 request line");
  s.head_.appendUrl({at, len});
  return s.head_.byteSize() > s.limits_.max_header_bytes ? s.headBytesExceeded() : 0;
}

int Parser::onStatus(llhttp_t* p, const char* at, size_t len) {
  Parser& s = self(p);
  s.head_.appendUrl({at, len});  // the reason phrase shares the target's slot
  return s.head_.byteSize() > s.limits_.max_header_bytes ? s.headBytesExceeded() : 0;
}

int Parser::onHeaderField(llhttp_t* p, const char* at, size_t len) {
  Parser& s = self(p);
  // "Host : x" — whitespace before the colon must be rejected (RFC 9112 5.1); llhttp keeps it.
  if (std::memchr(at, ' ', len) || std::memchr(at, '\t', len)) {
    s.error_ = ParseError::Malformed;
    s.reason_ = "whitespace in a header name";
    return -1;
  }
  if (s.in_trailers_) {
    s.trailer_name_.append(at, len);
    return s.trailerBytes() > s.limits_.max_header_bytes ? s.headBytesExceeded() : 0;
  }
  s.head_.appendName({at, len});
  return s.head_.byteSize() > s.limits_.max_header_bytes ? s.headBytesExceeded() : 0;
}

int Parser::onHeaderFieldComplete(llhttp_t* p) {
  Parser& s = self(p);
  if (!s.in_trailers_) s.head_.endName();
  return 0;
}

int Parser::onHeaderValue(llhttp_t* p, const char* at, size_t len) {
  Parser& s = self(p);
  // obs-fold and bare CR/LF inside a value are request-smuggling shapes (RFC 9112 5.2): reject.
  // A request's values must also be free of NUL and the other control bytes (RFC 9110 5.5), so
  // nothing a client invents reaches the upstream; a response's are the upstream's own business.
  if (p->type == HTTP_REQUEST) {
    if (size_t bad = forbiddenFieldByte(at, len); bad != len)
      return s.malformed(at[bad] == '\r' || at[bad] == '\n' ? "bare CR or LF in a header value" : "control byte in a header value");
  } else if (std::memchr(at, '\r', len) || std::memchr(at, '\n', len)) {
    return s.malformed("bare CR or LF in a header value");
  }
  // llhttp accepts obs-fold ("a\r\n b") by starting a new span after the CRLF. A value's pieces
  // are contiguous unless a read ended between them, so a gap means a fold.
  if (s.value_started_) {
    bool contiguous = at == s.value_end_ || (at == s.feed_begin_ && s.value_end_was_feed_end_);
    if (!contiguous) {
      s.error_ = ParseError::Malformed;
      s.reason_ = "obsolete line folding in a header value";
      return -1;
    }
  }
  s.value_started_ = true;
  s.value_end_ = at + len;
  s.value_end_was_feed_end_ = at + len == s.feed_end_;
  if (s.in_trailers_) {
    s.trailer_value_.append(at, len);
    return s.trailerBytes() > s.limits_.max_header_bytes ? s.headBytesExceeded() : 0;
  }
  s.head_.appendValue({at, len});
  return s.head_.byteSize() > s.limits_.max_header_bytes ? s.headBytesExceeded() : 0;
}

int Parser::onHeaderValueComplete(llhttp_t* p) {
  Parser& s = self(p);
  s.value_started_ = false;
  if (!s.in_trailers_) {
    s.head_.endValue();
    return 0;
  }
  appendTrailer(s.trailers_, s.trailer_name_, s.trailer_value_);  // a field that may not be a trailer is left out
  s.trailer_name_.clear();
  s.trailer_value_.clear();
  return 0;
}

int Parser::onHeadersComplete(llhttp_t* p) {
  Parser& s = self(p);
  MessageHead& h = s.head_;
  h.method = static_cast<uint8_t>(p->method);
  h.status = static_cast<uint16_t>(p->status_code);
  h.version_major = p->http_major;
  h.version_minor = p->http_minor;
  h.keep_alive = llhttp_should_keep_alive(p) != 0;
  h.chunked = (p->flags & F_CHUNKED) != 0;
  h.has_content_length = (p->flags & F_CONTENT_LENGTH) != 0;
  h.content_length = h.has_content_length ? p->content_length : 0;
  h.upgrade = p->upgrade != 0;
  // llhttp reads "HTTP/1.1  200" as status 0 and "HTTP/1.1 20" as 20; relayed, such a status line
  // would reach the client broken, and a response below 100 is neither interim nor final.
  if (p->type == HTTP_RESPONSE && h.status < 100) return s.malformed("status code below 100");
  s.in_trailers_ = true;  // header fields from here on are trailers (a chunked body's)
  s.trailer_name_.clear();
  s.trailer_value_.clear();
  if (p->type == HTTP_REQUEST) {
    if (s.checkRequestHead(p) != 0) return -1;
    if (h.has_content_length && h.content_length > s.limits_.max_body_bytes) {
      s.error_ = ParseError::BodyTooLarge;
      return -1;
    }
  }
  switch (s.handler_.onHead(h)) {
    case HeadAction::Continue: return 0;
    case HeadAction::Pause: return HPE_PAUSED;
    case HeadAction::NoBody: return 1;
  }
  return 0;
}

// The request checks that must pass before anything of the request is forwarded (parser.h).
int Parser::checkRequestHead(llhttp_t* p) {
  MessageHead& h = head_;
  if (h.version_major != 1) {
    if (h.version_major == 0) return malformed("HTTP/0.9 request line");
    error_ = ParseError::VersionNotSupported;
    return -1;
  }
  const bool has_te = (p->flags & F_TRANSFER_ENCODING) != 0;
  if (has_te && !h.chunked) return malformed("Transfer-Encoding whose last coding is not chunked");
  if (has_te && h.has_content_length) return malformed("both Transfer-Encoding and Content-Length");
  if (has_te && h.version_minor == 0) h.keep_alive = false;  // RFC 9112 6.1: close after it
  unsigned hosts = 0;
  for (size_t i = 0; i < h.headerCount(); ++i)
    if (h.name(i).size() == 4 && equalsIgnoreCase(h.name(i), "host")) ++hosts;
  if (hosts > 1) return malformed("more than one Host header");
  if (hosts == 0 && h.version_minor >= 1) return malformed("no Host header in an HTTP/1.1 request");
  if (!h.splitAbsoluteForm()) return malformed("absolute-form target without a usable authority");
  return 0;
}

int Parser::onBodyCb(llhttp_t* p, const char* at, size_t len) {
  Parser& s = self(p);
  s.body_bytes_ += len;
  if (s.body_bytes_ > s.limits_.max_body_bytes) {
    s.error_ = ParseError::BodyTooLarge;
    return -1;
  }
  s.handler_.onBody({at, len});
  return 0;
}

int Parser::onMessageComplete(llhttp_t* p) {
  Parser& s = self(p);
  s.in_message_ = false;
  bool pause = s.handler_.onComplete();
  // An upgrade stops llhttp by itself (HPE_PAUSED_UPGRADE); a plain pause would hide it.
  return pause && !p->upgrade ? HPE_PAUSED : 0;
}

}  // namespace proxy::http
