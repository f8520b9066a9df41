// The nghttp2 server session's options and SETTINGS; see server_settings.h.
#include "proxy/h2/server_settings.h"

namespace proxy::h2 {

nghttp2_session* newServerSession(const nghttp2_session_callbacks* callbacks, void* user, const config::Http2Config& cfg) {
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) return nullptr;
  nghttp2_option_set_no_auto_window_update(opt, 1);  // request bodies are acknowledged as the upstream takes them
  nghttp2_option_set_max_outbound_ack(opt, kMaxOutboundAcks);
  nghttp2_option_set_max_settings(opt, kMaxSettingsEntries);
  nghttp2_option_set_max_continuations(opt, kMaxContinuations);
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_session* ng = nullptr;
  int rc = nghttp2_session_server_new2(&ng, callbacks, user, opt);
  nghttp2_option_del(opt);
  if (rc != 0) return nullptr;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, cfg.initial_window_bytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, cfg.max_header_list_bytes},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},  // WebSocket over HTTP/2 (RFC 8441)
  };
  rc = nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, settings, sizeof(settings) / sizeof(settings[0]));
  if (rc == 0 && cfg.connection_window_bytes > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
    rc = nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, 0, static_cast<int32_t>(cfg.connection_window_bytes));
  if (rc != 0) {
    nghttp2_session_del(ng);
    return nullptr;
  }
  return ng;
}

}  // namespace proxy::h2
