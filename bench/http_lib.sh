# Shell helpers for the benchmarks that serve over HTTP (sourced, not run).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_http URL: until it answers 2xx (30 s), else say so and fail
wait_http() { for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer at $1" >&2; return 1; }
peak_kib() { # PID: peak resident memory of the process and its children (nginx's workers)
  local sum=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    sum=$(( sum + $(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0) ))
  done
  echo "$sum"
}
