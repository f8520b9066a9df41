// RFC 6455 frame decoding and encoding; see ws_codec.h for the contract.
//
// The decoder parses frames straight from the caller's input and only copies (a) the tail of a
// frame that is not complete yet into pending_ and (b) unmasked payloads into scratch_/message_.
// A frame header announcing more than maxMessageSize bytes is rejected before any payload is
// buffered, which is what keeps memory bounded against a hostile peer.
#include "common/ws_codec.h"

#include <cstring>

namespace common::ws {

bool isValidCloseCode(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  if (code >= 1000 && code <= 1003) return true;
  return code >= 1007 && code <= 1014;
}

const char* decodeErrorName(DecodeError e) {
  switch (e) {
    case DecodeError::None: return "none";
    case DecodeError::ReservedBits: return "reserved_bits";
    case DecodeError::UnknownOpcode: return "unknown_opcode";
    case DecodeError::UnmaskedFrame: return "unmasked_frame";
    case DecodeError::MaskedFrame: return "masked_frame";
    case DecodeError::ControlFrameTooLong: return "control_frame_too_long";
    case DecodeError::FragmentedControlFrame: return "fragmented_control_frame";
    case DecodeError::UnexpectedContinuation: return "unexpected_continuation";
    case DecodeError::ExpectedContinuation: return "expected_continuation";
    case DecodeError::LengthHighBit: return "length_high_bit";
    case DecodeError::MessageTooBig: return "message_too_big";
    case DecodeError::InvalidUtf8: return "invalid_utf8";
    case DecodeError::BadClosePayload: return "bad_close_payload";
  }
  return "unknown";
}

uint16_t closeCodeFor(DecodeError e) {
  switch (e) {
    case DecodeError::InvalidUtf8: return close_code::kInvalidPayload;
    case DecodeError::MessageTooBig: return close_code::kMessageTooBig;
    default: return close_code::kProtocolError;
  }
}

Decoder::Decoder(Role role, size_t maxMessageSize) : role_(role), maxMessageSize_(maxMessageSize) {}

void Decoder::shrink() {
  pending_.shrink_to_fit();
  message_.shrink_to_fit();
  scratch_.clear();
  scratch_.shrink_to_fit();
}

bool Decoder::fail(DecodeError e) {
  error_ = e;
  pending_.clear();
  message_.clear();
  return false;
}

Decoder::Status Decoder::decode(const uint8_t* data, size_t len, Sink& sink) {
  if (error_ != DecodeError::None) return Status::Error;
  if (closed_) return Status::Closed;
  bool stop = false;
  if (!pending_.empty()) {
    // Complete the buffered frame first: append input, decode from the buffer.
    if (len) pending_.append(reinterpret_cast<const char*>(data), len);
    const auto* begin = reinterpret_cast<const uint8_t*>(pending_.data());
    const uint8_t* p = begin;
    const uint8_t* end = begin + pending_.size();
    while (p < end) {
      size_t used = decodeFrame(p, end, sink, stop);
      if (error_ != DecodeError::None) return Status::Error;
      if (used == 0) break;
      p += used;
      if (closed_) { pending_.clear(); return Status::Closed; }
      if (stop) break;
    }
    pending_.erase(0, static_cast<size_t>(p - begin));
    return stop ? Status::Stopped : Status::Ok;
  }
  const uint8_t* p = data;
  const uint8_t* end = data + len;
  while (p < end) {
    size_t used = decodeFrame(p, end, sink, stop);
    if (error_ != DecodeError::None) return Status::Error;
    if (used == 0) break;
    p += used;
    if (closed_) return Status::Closed;
    if (stop) break;
  }
  if (p < end) pending_.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(end - p));
  return stop ? Status::Stopped : Status::Ok;
}

size_t Decoder::decodeFrame(const uint8_t* p, const uint8_t* end, Sink& sink, bool& stop) {
  size_t avail = static_cast<size_t>(end - p);
  if (avail < 2) return 0;
  const bool fin = (p[0] & 0x80) != 0;
  if ((p[0] & 0x70) != 0) return fail(DecodeError::ReservedBits), 0;
  const uint8_t rawOp = p[0] & 0x0F;
  const bool masked = (p[1] & 0x80) != 0;
  const bool control = (rawOp & 0x08) != 0;
  if (!(rawOp <= 0x2 || (rawOp >= 0x8 && rawOp <= 0xA))) return fail(DecodeError::UnknownOpcode), 0;
  if (role_ == Role::Server && !masked) return fail(DecodeError::UnmaskedFrame), 0;
  if (role_ == Role::Client && masked) return fail(DecodeError::MaskedFrame), 0;

  uint64_t payloadLen = p[1] & 0x7F;
  size_t header = 2;
  if (control) {
    if (!fin) return fail(DecodeError::FragmentedControlFrame), 0;
    if (payloadLen > 125) return fail(DecodeError::ControlFrameTooLong), 0;
  }
  if (payloadLen == 126) {
    if (avail < 4) return 0;
    payloadLen = (uint64_t{p[2]} << 8) | p[3];
    header = 4;
  } else if (payloadLen == 127) {
    if (avail < 10) return 0;
    payloadLen = 0;
    for (int i = 0; i < 8; ++i) payloadLen = (payloadLen << 8) | p[2 + i];
    if (payloadLen >> 63) return fail(DecodeError::LengthHighBit), 0;
    header = 10;
  }
  // Reject oversize data before buffering any of it.
  if (!control) {
    uint64_t soFar = inMessage_ && rawOp == 0 ? message_.size() : 0;
    if (payloadLen > maxMessageSize_ || soFar + payloadLen > maxMessageSize_) {
      return fail(DecodeError::MessageTooBig), 0;
    }
    if (rawOp == 0 && !inMessage_) return fail(DecodeError::UnexpectedContinuation), 0;
    if (rawOp != 0 && inMessage_) return fail(DecodeError::ExpectedContinuation), 0;
  }
  const uint8_t* key = nullptr;
  if (masked) {
    if (avail < header + 4) return 0;
    key = p + header;
    header += 4;
  }
  if (avail - header < payloadLen) return 0;
  const size_t n = static_cast<size_t>(payloadLen);
  if (!deliver(static_cast<Opcode>(rawOp), masked, key, p + header, n, fin, sink)) {
    if (error_ != DecodeError::None) return 0;
    stop = true;
  }
  return header + n;
}

bool Decoder::deliver(Opcode op, bool masked, const uint8_t* key, const uint8_t* payload,
                      size_t len, bool fin, Sink& sink) {
  auto view = [](const std::string& s) { return std::string_view(s); };
  // Single-frame data or control: unmask into scratch_ (or use the input as is).
  auto unmasked = [&]() -> std::string_view {
    if (!masked) return {reinterpret_cast<const char*>(payload), len};
    scratch_.assign(reinterpret_cast<const char*>(payload), len);
    applyMask(reinterpret_cast<uint8_t*>(scratch_.data()), len, key);
    return view(scratch_);
  };
  switch (op) {
    case Opcode::Ping: return sink.onPing(unmasked());
    case Opcode::Pong: return sink.onPong(unmasked());
    case Opcode::Close: {
      std::string_view body = unmasked();
      closed_ = true;
      if (body.empty()) return sink.onClose(close_code::kNoStatus, {});
      if (body.size() == 1) return fail(DecodeError::BadClosePayload);
      uint16_t code = static_cast<uint16_t>((uint8_t(body[0]) << 8) | uint8_t(body[1]));
      if (!isValidCloseCode(code)) return fail(DecodeError::BadClosePayload);
      std::string_view reason = body.substr(2);
      if (!isValidUtf8(reason)) return fail(DecodeError::InvalidUtf8);
      return sink.onClose(code, reason);
    }
    case Opcode::Text:
    case Opcode::Binary:
      if (fin) {
        std::string_view body = unmasked();
        if (op == Opcode::Text && !isValidUtf8(body)) return fail(DecodeError::InvalidUtf8);
        return sink.onMessage(op, body);
      }
      inMessage_ = true;
      messageOpcode_ = op;
      message_.clear();
      [[fallthrough]];
    case Opcode::Continuation: {
      size_t at = message_.size();
      message_.append(reinterpret_cast<const char*>(payload), len);
      if (masked) applyMask(reinterpret_cast<uint8_t*>(message_.data()) + at, len, key);
      if (!fin) return true;
      inMessage_ = false;
      if (messageOpcode_ == Opcode::Text && !isValidUtf8(message_)) {
        return fail(DecodeError::InvalidUtf8);
      }
      bool keepGoing = sink.onMessage(messageOpcode_, message_);
      message_.clear();
      return keepGoing;
    }
  }
  return fail(DecodeError::UnknownOpcode);
}

size_t encodeHeader(uint8_t* out, Opcode opcode, uint64_t payloadLen, bool fin,
                    const uint8_t* maskKey) {
  size_t n = 0;
  out[n++] = static_cast<uint8_t>((fin ? 0x80 : 0x00) | static_cast<uint8_t>(opcode));
  const uint8_t maskBit = maskKey ? 0x80 : 0x00;
  if (payloadLen < 126) {
    out[n++] = static_cast<uint8_t>(maskBit | payloadLen);
  } else if (payloadLen <= 0xFFFF) {
    out[n++] = maskBit | 126;
    out[n++] = static_cast<uint8_t>(payloadLen >> 8);
    out[n++] = static_cast<uint8_t>(payloadLen);
  } else {
    out[n++] = maskBit | 127;
    for (int i = 7; i >= 0; --i) out[n++] = static_cast<uint8_t>(payloadLen >> (8 * i));
  }
  if (maskKey) {
    std::memcpy(out + n, maskKey, 4);
    n += 4;
  }
  return n;
}

void applyMask(uint8_t* data, size_t len, const uint8_t* maskKey, size_t offset) {
  for (size_t i = 0; i < len; ++i) data[i] ^= maskKey[(i + offset) & 3];
}

std::string encodeFrame(Opcode opcode, std::string_view payload, bool fin, const uint8_t* maskKey) {
  uint8_t header[kMaxHeaderSize];
  size_t h = encodeHeader(header, opcode, payload.size(), fin, maskKey);
  std::string out(reinterpret_cast<const char*>(header), h);
  out.append(payload);
  if (maskKey) applyMask(reinterpret_cast<uint8_t*>(out.data()) + h, payload.size(), maskKey);
  return out;
}

std::string closePayload(uint16_t code, std::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  if (reason.size() > 123) reason = reason.substr(0, 123);
  // Do not cut a multi-byte character in half.
  while (!reason.empty() && !isValidUtf8(reason)) reason.remove_suffix(1);
  out.append(reason);
  return out;
}

bool isValidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // Fast path for ASCII runs, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    uint8_t c = s[i];
    if (c < 0x80) { ++i; continue; }
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) { need = 2; lo = 0xA0; }
    else if (c == 0xED) { need = 2; hi = 0x9F; }  // no UTF-16 surrogates
    else if (c >= 0xE1 && c <= 0xEF) need = 2;
    else if (c == 0xF0) { need = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c == 0xF4) { need = 3; hi = 0x8F; }  // nothing above U+10FFFF
    else return false;
    if (i + need >= n) return false;  // truncated sequence
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t k = 2; k <= need; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
    }
    i += need + 1;
  }
  return true;
}

}  // namespace common::ws
