// RFC 6455 WebSocket frame codec: pure, no I/O, no exceptions, no allocation per frame in the
// steady state.
//
// One codec for both ends of a connection. The Decoder is built with a Role: a Server decoder
// requires every incoming frame to be masked (RFC 6455 5.1: "a server MUST close the connection
// upon receiving a frame that is not masked") and a Client decoder rejects masked frames. The
// encoder side is a pair of free functions: encodeHeader() writes only the 2..14 header bytes
// into a small caller buffer so the payload can be handed to uv_write as a second uv_buf_t
// without a copy; a client masks its payload with applyMask() (or uses encodeFrame()).
//
// Decoding is incremental: feed any split of the byte stream (one byte at a time works) and the
// decoder calls the Sink once per complete message or control frame. Fragmented messages are
// reassembled (control frames may arrive between fragments, as the RFC allows), text messages
// are UTF-8 validated when complete, and maxMessageSize bounds both a single frame and the
// reassembled message, so memory held per connection never exceeds about that limit. Only the
// unconsumed tail of a partial frame is copied into the decoder.
//
// Worked example (server side), the masked text frame "Hi" with key 37 fa 21 3d:
//   81 82 37 fa 21 3d 7f 93   -> FIN=1 opcode=1, MASK=1 len=2, key, 'H'^37 'i'^fa
//   sink.onMessage(Opcode::Text, "Hi")
// and the reply header: encodeHeader(buf, Opcode::Text, 2) writes 81 02 (2 bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace common::ws {

enum class Opcode : uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

// Close status codes (RFC 6455 7.4.1) that this project sends.
namespace close_code {
constexpr uint16_t kNormal = 1000;
constexpr uint16_t kGoingAway = 1001;
constexpr uint16_t kProtocolError = 1002;
constexpr uint16_t kUnsupportedData = 1003;
constexpr uint16_t kNoStatus = 1005;  // reported by onClose for an empty close frame; never sent
constexpr uint16_t kAbnormal = 1006;  // never on the wire
constexpr uint16_t kInvalidPayload = 1007;
constexpr uint16_t kPolicyViolation = 1008;
constexpr uint16_t kMessageTooBig = 1009;
constexpr uint16_t kInternalError = 1011;
}  // namespace close_code

// True for codes a peer may put in a close frame (1000-1003, 1007-1014, 3000-4999).
bool isValidCloseCode(uint16_t code);

enum class Role : uint8_t { Server, Client };

enum class DecodeError : uint8_t {
  None,
  ReservedBits,            // RSV1-3 set without a negotiated extension
  UnknownOpcode,           // 0x3-0x7, 0xB-0xF
  UnmaskedFrame,           // server got an unmasked frame
  MaskedFrame,             // client got a masked frame
  ControlFrameTooLong,     // control payload > 125 bytes
  FragmentedControlFrame,  // control frame without FIN
  UnexpectedContinuation,  // continuation with no message in progress
  ExpectedContinuation,    // new data frame while a fragmented message is in progress
  LengthHighBit,           // 64-bit length with the most significant bit set
  MessageTooBig,           // frame or reassembled message over maxMessageSize
  InvalidUtf8,             // text message or close reason is not UTF-8
  BadClosePayload,         // 1-byte close payload or invalid status code
};

const char* decodeErrorName(DecodeError e);
// The close code to send back for a decode error (1002, 1007 or 1009).
uint16_t closeCodeFor(DecodeError e);

// Receives decoded events. Each method returns true to keep decoding the current input or false
// to stop at once (e.g. the owner is about to close the connection); views are valid only
// during the call.
class Sink {
 public:
  virtual ~Sink() = default;
  // A complete Text (UTF-8 validated) or Binary message, reassembled if it was fragmented.
  virtual bool onMessage(Opcode opcode, std::string_view payload) = 0;
  virtual bool onPing(std::string_view payload) = 0;
  virtual bool onPong(std::string_view payload) = 0;
  // The peer's close frame. code is kNoStatus when the frame carried no status. The decoder
  // ignores any later input (RFC 6455 5.5.1: nothing follows a close frame).
  virtual bool onClose(uint16_t code, std::string_view reason) = 0;
};

class Decoder {
 public:
  enum class Status : uint8_t {
    Ok,       // all input consumed (a partial frame may be buffered)
    Stopped,  // a Sink method returned false; the rest of the input is kept and decoded by
              // the next call (decode(nullptr, 0, sink) resumes without new input)
    Closed,   // a close frame was decoded; later input is ignored
    Error,    // protocol violation: see error(), send closeCodeFor(error()) and close
  };

  explicit Decoder(Role role, size_t maxMessageSize = 1 << 20);

  // Decodes `len` bytes. After Error or Closed every later call returns the same status.
  Status decode(const uint8_t* data, size_t len, Sink& sink);
  Status decode(std::string_view bytes, Sink& sink) {
    return decode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), sink);
  }

  DecodeError error() const { return error_; }
  // Bytes held for a partial frame plus the fragments of an unfinished message.
  size_t bufferedBytes() const { return pending_.size() + message_.size(); }
  // Frees the buffers (e.g. after an idle period); decoding state is kept.
  void shrink();

 private:
  // Tries to decode one frame from [p, end). Returns bytes consumed, 0 when the frame is
  // incomplete, or sets done_/error_.
  size_t decodeFrame(const uint8_t* p, const uint8_t* end, Sink& sink, bool& stop);
  bool deliver(Opcode op, bool masked, const uint8_t* key, const uint8_t* payload, size_t len,
               bool fin, Sink& sink);
  bool fail(DecodeError e);

  Role role_;
  size_t maxMessageSize_;
  DecodeError error_ = DecodeError::None;
  bool closed_ = false;
  bool inMessage_ = false;  // a fragmented message is being reassembled
  Opcode messageOpcode_ = Opcode::Text;
  std::string pending_;  // unconsumed bytes of a partial frame
  std::string message_;  // reassembled fragments
  std::string scratch_;  // unmasked payload of a single frame
};

// Largest frame header: 2 + 8 (64-bit length) + 4 (mask key).
constexpr size_t kMaxHeaderSize = 14;

// Writes a frame header for a payload of `payloadLen` bytes into `out` (at least
// kMaxHeaderSize bytes) and returns its length. With `maskKey` (4 bytes; clients must pass one)
// the MASK bit and key are written; the caller then masks the payload with applyMask().
size_t encodeHeader(uint8_t* out, Opcode opcode, uint64_t payloadLen, bool fin = true,
                    const uint8_t* maskKey = nullptr);

// XORs `len` bytes with the 4-byte key, starting at key position `offset` (for payloads masked
// in several pieces). Masking twice unmasks.
void applyMask(uint8_t* data, size_t len, const uint8_t* maskKey, size_t offset = 0);

// Convenience for tests and small frames: header + (masked) payload in one string.
std::string encodeFrame(Opcode opcode, std::string_view payload, bool fin = true,
                        const uint8_t* maskKey = nullptr);

// Close frame payload: 2-byte big-endian code + reason (truncated to fit 125 bytes).
std::string closePayload(uint16_t code, std::string_view reason = {});

// Strict UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view text);

}  // namespace common::ws
