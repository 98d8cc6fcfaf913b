# shellcheck shell=bash
# start_dockerd LOG: start dockerd in the background (as root, where it is installed and not running yet) and wait
# until it answers; on failure print the end of LOG and return 1. Sets DOCKERD_PID to the pid it started ("" when
# it started none).
start_dockerd() {
  local log=$1 _
  DOCKERD_PID=""
  if ! command -v dockerd >/dev/null || docker info >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    return 0
  fi
  echo "starting dockerd (log: $log)"
  nohup dockerd >"$log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 150); do # 30 s
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "dockerd did not come up; the end of $log:" >&2
  tail -n 20 "$log" | sed 's/^/    /' >&2
  return 1
}
