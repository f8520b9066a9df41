// An HTTP/1.x message parser: llhttp plus the limits and checks a proxy needs. Pure: bytes in,
// events out, no I/O, so it is unit-tested and fuzzed alone.
//
// The owner feeds bytes and receives, per message: onHead (the collected head), onBody (decoded
// body bytes: chunked framing already removed; the views point into the fed buffer) and
// onComplete. The trailer fields of a chunked body (llhttp reports them as header fields after
// the last chunk) are not added to the head: they are gathered as a trailer block
// (http/trailers.h: lower-case names, fields that may not be trailers left out), read with
// trailers() from onComplete on, and count against the header-size limit. Either callback may pause the parser; feed() then reports how many bytes it consumed
// and the caller resumes later with the rest.
//
// llhttp is built in strict mode (LLHTTP_STRICT_MODE, cmake/dependencies.cmake) with every
// lenient flag off: it rejects Content-Length with Transfer-Encoding, duplicate Content-Length,
// bad chunk sizes, chunk data not followed by CRLF, and bare LF line ends. On top of it this
// parser rejects, before onHead so that nothing of such a request is ever forwarded: a request
// Transfer-Encoding whose last coding is not chunked (llhttp finds it only after the head),
// missing (HTTP/1.1) or repeated Host headers, an absolute-form target without a usable authority,
// HTTP/0.9 request lines, and versions other than 1.x (VersionNotSupported, 505). It rejects
// responses with a status code below 100 (llhttp reads "HTTP/1.1  200" as status 0),
// obs-fold and bare CR/LF in header values, NUL and the other control bytes in request header
// values, and whitespace in header names; it marks an HTTP/1.0 request with Transfer-Encoding as not keep-alive (RFC 9112 6.1:
// the connection closes after it); it turns absolute-form targets into origin-form plus
// MessageHead::authority(). It enforces the header-size and body-size limits and classifies every
// failure so the caller can answer 400 / 413 / 431 / 505.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/message_head.h"

namespace proxy::http {

enum class ParseStatus : uint8_t {
  Ok,       // everything fed was consumed
  Paused,   // a callback paused; `consumed` bytes were used, call resume() then feed the rest
  Upgrade,  // the message asked to switch protocols; bytes after `consumed` belong to the new one
  Error,
};

enum class ParseError : uint8_t { None, Malformed, HeaderTooLarge, BodyTooLarge, VersionNotSupported };

struct FeedResult {
  ParseStatus status;
  size_t consumed;
};

enum class HeadAction : uint8_t {
  Continue,
  Pause,        // stop right after the head (body bytes stay unconsumed)
  NoBody,       // the message has no body whatever its headers say (response to HEAD, 1xx)
};

class ParserHandler {
 public:
  virtual HeadAction onHead(MessageHead& head) = 0;
  virtual void onBody(std::string_view chunk) = 0;
  // Return true to pause after this message (the next pipelined message stays unconsumed).
  virtual bool onComplete() = 0;

 protected:
  virtual ~ParserHandler() = default;
};

struct ParserLimits {
  uint64_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = UINT64_MAX;
};

class Parser {
 public:
  Parser(llhttp_type_t type, ParserHandler& handler, ParserLimits limits = {});
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  FeedResult feed(const char* data, size_t len);
  // Continues after ParseStatus::Paused (or after Upgrade when the upgrade was refused).
  void resume();
  // The peer closed: completes a close-delimited message. False if a message was cut short.
  bool finish();
  // Starts over for a new connection (or after an error).
  void reset();
  // The body limit from now on (a route's limits.max_body_bytes): the declared Content-Length of
  // the next head is checked against it, and body bytes as they arrive.
  void setMaxBodyBytes(uint64_t n) { limits_.max_body_bytes = n; }

  ParseError error() const { return error_; }
  const char* errorReason() const;
  MessageHead& head() { return head_; }
  bool messageInProgress() const { return in_message_; }
  // The current message's trailer block ("name: value\r\n" lines, http/trailers.h); empty
  // without trailers. Valid until the next message begins.
  std::string_view trailers() const { return trailers_; }
  uint64_t bodyBytes() const { return body_bytes_; }

 private:
  static int onMessageBegin(llhttp_t* p);
  static int onUrl(llhttp_t* p, const char* at, size_t len);
  static int onStatus(llhttp_t* p, const char* at, size_t len);
  static int onHeaderField(llhttp_t* p, const char* at, size_t len);
  static int onHeaderFieldComplete(llhttp_t* p);
  static int onHeaderValue(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueComplete(llhttp_t* p);
  static int onHeadersComplete(llhttp_t* p);
  static int onBodyCb(llhttp_t* p, const char* at, size_t len);
  static int onMessageComplete(llhttp_t* p);
  static Parser& self(llhttp_t* p) { return *static_cast<Parser*>(p->data); }
  int headBytesExceeded();
  uint64_t trailerBytes() const;
  int malformed(const char* reason);
  int checkRequestHead(llhttp_t* p);

  llhttp_t parser_;
  ParserHandler& handler_;
  ParserLimits limits_;
  MessageHead head_;
  ParseError error_ = ParseError::None;
  const char* reason_ = nullptr;
  uint64_t body_bytes_ = 0;
  bool in_message_ = false;
  // Trailer fields: after the head, header callbacks carry them (see trailers()).
  bool in_trailers_ = false;
  std::string trailers_;
  std::string trailer_name_;
  std::string trailer_value_;
  // obs-fold detection (see onHeaderValue)
  const char* feed_begin_ = nullptr;
  const char* feed_end_ = nullptr;
  const char* value_end_ = nullptr;
  bool value_started_ = false;
  bool value_end_was_feed_end_ = false;
  // HTTP/0.9 detection: the request target ended exactly at the end of a feed, so the next
  // feed's first byte tells whether a version follows.
  bool target_at_feed_end_ = false;
};

}  // namespace proxy::http
