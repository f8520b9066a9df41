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
  mkdir -p "$work"/{backend,nginx}/logs
  cat > "$work/backend/nginx.conf" <<CONF
worker_processes 1; daemon off; error_log stderr error; pid $work/backend/nginx.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$backend reuseport; location / { return 200 "hello from the backend\n"; } } }
CONF
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
