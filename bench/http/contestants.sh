# Sourced by bench/http/*.sh: writes the configurations of the HTTP benchmark's contestants, so
# every script measures the same setups. All single-worker, upstream keep-alive 64, loopback only.
#
#   write_contestant_configs WORK BACKEND_PORT TETHER_PORT NGINX_PORT HAPROXY_PORT [NGINX_MASTER=on]
#
# WORK/backend/nginx.conf  the backend: nginx, 1 worker, `return 200`
# WORK/nginx/nginx.conf    nginx as the proxy (NGINX_MASTER=off runs it as one process, for callgrind)
# WORK/haproxy.cfg         HAProxy, nbthread 1, http-reuse always
# WORK/tether.yaml         tether, workers: 1
write_contestant_configs() {
  local work=$1 backend=$2 tether=$3 nginx=$4 haproxy=$5 master=${6:-on}
  mkdir -p "$work"/nginx/logs
  write_backend_config "$work" "$backend"
  cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; master_process $master; error_log stderr error; pid $work/nginx/nginx.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream be { server 127.0.0.1:$backend; keepalive 64; }
  server { listen 127.0.0.1:$nginx;
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; } } }
CONF
  cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 5000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:$haproxy
  default_backend be
backend be
  server s1 127.0.0.1:$backend
CONF
  cat > "$work/tether.yaml" <<CONF
workers: 1
listeners: [{name: web, address: "127.0.0.1:$tether"}]
upstreams:
  be: {strategy: round_robin, keepalive: 64, servers: ["127.0.0.1:$backend"]}
CONF
}

# Turns the contestants' listeners (not the backend) into TLS listeners with CERT/KEY (PEM):
# nginx `listen ... ssl` (with TLS 1.3, which the Debian nginx leaves off by default), HAProxy `bind ... ssl crt` (key and chain in one file, written next to
# CERT), tether `tls: {cert, key}`. Each keeps its own defaults otherwise (session tickets on).
#   make_contestants_tls WORK CERT KEY
make_contestants_tls() {
  local work=$1 cert=$2 key=$3
  sed -i -E "s#listen (127\.0\.0\.1:[0-9]+);#listen \1 ssl; ssl_certificate $cert; ssl_certificate_key $key; ssl_protocols TLSv1.2 TLSv1.3;#" "$work/nginx/nginx.conf"
  cat "$cert" "$key" > "$cert.haproxy.pem"
  sed -i -E "s#^  bind (127\.0\.0\.1:[0-9]+)\$#  bind \1 ssl crt $cert.haproxy.pem#" "$work/haproxy.cfg"
  sed -i -E "s#address: (\"127\.0\.0\.1:[0-9]+\")\}#address: \1, tls: {cert: $cert, key: $key}}#" "$work/tether.yaml"
}

# Offers HTTP/2 by ALPN on the contestants' TLS listeners (after make_contestants_tls): nginx
# `listen ... ssl http2`, HAProxy `alpn h2,http/1.1`, tether `http2: true`.
#   make_contestants_h2 WORK
make_contestants_h2() {
  local work=$1
  sed -i -E "s#listen (127\.0\.0\.1:[0-9]+) ssl;#listen \1 ssl http2;#" "$work/nginx/nginx.conf"
  sed -i -E "s#^  bind (127\.0\.0\.1:[0-9]+ ssl crt [^ ]+)\$#  bind \1 alpn h2,http/1.1#" "$work/haproxy.cfg"
  sed -i -E "s#, tls: \{#, http2: true, tls: {#" "$work/tether.yaml"
}

# A self-signed certificate for 127.0.0.1 of KIND rsa2048 or p256, as DIR/KIND.pem and DIR/KIND.key.
#   make_bench_cert DIR KIND
make_bench_cert() {
  local dir=$1 kind=$2 alg
  case $kind in
    rsa2048) alg=(-newkey rsa:2048) ;;
    p256) alg=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
    *) echo "make_bench_cert: KIND must be rsa2048 or p256" >&2; return 2 ;;
  esac
  openssl req -x509 "${alg[@]}" -nodes -days 30 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$dir/$kind.key" -out "$dir/$kind.pem" 2>/dev/null
}

#   write_backend_config WORK BACKEND_PORT
# WORK/backend/nginx.conf  the backend alone (also for scripts whose proxies differ, as h2.sh's)
write_backend_config() {
  local work=$1 backend=$2
  mkdir -p "$work"/backend/logs
  cat > "$work/backend/nginx.conf" <<CONF
worker_processes 1; daemon off; error_log stderr error; pid $work/backend/nginx.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$backend reuseport; location / { return 200 "hello from the backend\n"; } } }
CONF
}
