"""WebSocket tunnelling through tether with real peers (npm `ws` client and server): echo of
text, binary, 1 MiB and fragmented messages, ping/pong, close handshake; a refused upgrade reaches
the client as-is; bytes sent with the upgrade request are not lost; a backend closing mid-stream
closes the client; a fast writer with a client that does not read keeps tether's memory flat;
1000 concurrent tunnels; half-close; tunnel_idle.
"""
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.harness import Tether, free_port, recv_until_close  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")


class WebSocketTunnels(unittest.TestCase):
    def scenario(self, name, tether_extra="", timeout=60, during=None):
        backend, port = free_port(), free_port()
        cfg = (f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
               f"upstreams:\n  app: {{servers: ['127.0.0.1:{backend}']}}\n" + tether_extra)
        with Tether(cfg, [port]) as t:
            p = subprocess.Popen(["node", os.path.join(HERE, "ws_peers.js"), str(backend), str(port), name],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            result = during(t, p) if during else None
            out, err = p.communicate(timeout=timeout)
            self.assertIn(f"PASS {name}", out, out + err)
            return result

    def test_echo_text_binary_1mib_fragmented_ping_close(self):
        self.scenario("echo")

    def test_refused_upgrade_reaches_client_and_http_continues(self):
        self.scenario("refused")

    def test_bytes_after_the_upgrade_request_are_forwarded(self):
        self.scenario("early-bytes")

    def test_backend_closing_mid_stream_closes_client(self):
        self.scenario("backend-closes")

    def test_1000_concurrent_tunnels(self):
        self.scenario("many", timeout=90)

    def test_slow_reader_fast_writer_memory_flat(self):
        def watch(t, p):
            self.assertEqual(p.stdout.readline().strip(), "paused")
            base = t.rss_kib()
            peak = base
            for _ in range(25):  # while the client is not reading
                time.sleep(0.1)
                peak = max(peak, t.rss_kib())
            return base, peak
        base, peak = self.scenario("slow-reader", during=watch)
        self.assertLess(peak - base, 2048, f"tether grew by {peak - base} KiB while the client did not read")

    def test_half_close_and_idle_timeout(self):
        # A raw TCP echo "backend" that speaks 101 then echoes and reports EOF.
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen()
        backend = lst.getsockname()[1]
        events = []

        def serve():
            c, _ = lst.accept()
            data = b""
            while b"\r\n\r\n" not in data:
                data += c.recv(4096)
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            while True:
                d = c.recv(4096)
                if not d:
                    events.append("backend saw EOF")
                    c.sendall(b"after-client-eof")  # half-close: this side may still send
                    c.close()
                    return
                c.sendall(d)

        threading.Thread(target=serve, daemon=True).start()
        port = free_port()
        cfg = (f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
               f"upstreams:\n  app: {{servers: ['127.0.0.1:{backend}']}}\ntimeouts: {{tunnel_idle: 1s}}\n")
        with Tether(cfg, [port]):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(UPGRADE)
            head = s.recv(4096)
            self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
            s.sendall(b"raw bytes")
            self.assertEqual(s.recv(100), b"raw bytes")
            s.shutdown(socket.SHUT_WR)
            rest = recv_until_close(s)
            self.assertEqual(rest, b"after-client-eof")
            self.assertEqual(events, ["backend saw EOF"])
            s.close()
            # idle: a silent tunnel is closed after tunnel_idle
            threading.Thread(target=serve, daemon=True).start()
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(UPGRADE)
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 101"))
            start = time.time()
            self.assertEqual(s.recv(100), b"")
            self.assertLess(time.time() - start, 3)
        lst.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
