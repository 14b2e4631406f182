#!/usr/bin/env bash
# Starts and stops the private MariaDB server that integration tests use.
#
#   mariadb_fixture.sh start DIR   fresh data dir under DIR, server on a free
#                                  127.0.0.1 port; writes DIR/port, DIR/socket
#   mariadb_fixture.sh stop DIR    shuts the server down, removes the data dir
#
# CTest runs these as the setup/cleanup tests of the "mariadb" fixture
# (tests/CMakeLists.txt), so `ctest` alone brings up a real database. The root
# user has an empty password and is reachable over the socket and over TCP on
# 127.0.0.1; tests create their own databases (tests/support/test_database.h).
# Both commands are idempotent, and `start` first stops a server left behind by
# a crashed run. MARIADB_FIXTURE_ARGS adds server options (word-split), e.g.
# the benchmark's larger buffer pool.
set -euo pipefail

# Debian installs mariadbd in /usr/sbin, which is not on every user's PATH.
export PATH="$PATH:/usr/sbin:/sbin"

readonly START_TIMEOUT_S=60
readonly STOP_TIMEOUT_S=30
readonly PORT_ATTEMPTS=5

die() {
  echo "mariadb_fixture: error: $*" >&2
  exit 1
}

log() { echo "mariadb_fixture: $*"; }

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

# Prints the pid from DIR/mysqld.pid if that process is still our mariadbd
# (pids get reused, so check its command line names our data dir).
server_pid() {
  local pid_file="$DIR/mysqld.pid" pid
  [[ -f "$pid_file" ]] || return 1
  pid="$(<"$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--datadir=$DATA_DIR" || return 1
  echo "$pid"
}

server_answers() {
  mariadb-admin --no-defaults --socket="$SOCKET" --user=root \
    --connect-timeout=2 ping >/dev/null 2>&1
}

stop_server() {
  local pid=""
  pid="$(server_pid)" || pid=""
  if server_answers; then
    # A clean shutdown; mariadb-admin waits until the server has exited.
    mariadb-admin --no-defaults --socket="$SOCKET" --user=root \
      --shutdown-timeout="$STOP_TIMEOUT_S" shutdown >/dev/null 2>&1 || true
  fi
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < STOP_TIMEOUT_S * 10)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "mariadbd $pid ignored SIGTERM for ${STOP_TIMEOUT_S}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$DIR/mysqld.pid" "$SOCKET" "$SOCKET.lock" "$DIR/port" "$DIR/socket"
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

init_data_dir() {
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR"
  # auth-root-authentication-method=normal: root gets an empty password instead
  # of unix_socket auth, so tests can log in over TCP as well.
  if ! mariadb-install-db --no-defaults --user=root --datadir="$DATA_DIR" \
    --auth-root-authentication-method=normal --skip-test-db \
    >"$DIR/install.log" 2>&1; then
    tail -n 30 "$DIR/install.log" >&2
    die "mariadb-install-db failed (full output in $DIR/install.log)"
  fi
}

# Starts mariadbd on PORT in its own session so CTest does not wait for it.
# Returns 0 once it answers, 1 if it exited because the port was taken, and
# dies on any other failure.
launch_server() {
  local port="$1" log_offset
  log_offset="$(stat -c %s "$LOG" 2>/dev/null || echo 0)"
  setsid nohup mariadbd --no-defaults --user=root \
    --datadir="$DATA_DIR" --socket="$SOCKET" --pid-file="$DIR/mysqld.pid" \
    --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
    --innodb-flush-log-at-trx-commit=1 --max-connections=500 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    ${MARIADB_FIXTURE_ARGS:-} </dev/null >>"$LOG" 2>&1 &
  local pid=$!
  local deadline=$((SECONDS + START_TIMEOUT_S))
  while ! server_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      if tail -c +"$((log_offset + 1))" "$LOG" |
        grep -qiE 'bind on tcp/ip port|address already in use'; then
        return 1
      fi
      tail -n 30 "$LOG" >&2
      die "mariadbd exited during start-up (log: $LOG)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$LOG" >&2
      kill -KILL "$pid" 2>/dev/null || true
      die "mariadbd did not answer within ${START_TIMEOUT_S}s (log: $LOG)"
    fi
    sleep 0.2
  done
}

start() {
  # Unix socket paths are limited to 107 bytes; fail clearly, not obscurely.
  if ((${#SOCKET} > 100)); then
    die "socket path $SOCKET is too long for a Unix socket; use a shorter build directory"
  fi
  mkdir -p "$DIR"
  stop_server # a server left behind by a crashed run
  init_data_dir
  : >"$LOG"

  local attempt port
  for ((attempt = 1; attempt <= PORT_ATTEMPTS; attempt++)); do
    port="$(free_port)"
    if launch_server "$port"; then
      # mariadb-install-db makes root@localhost (the socket); with
      # --skip-name-resolve TCP clients are 127.0.0.1, so add that account.
      mariadb --no-defaults --socket="$SOCKET" --user=root -e "
        CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
        GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
      echo "$port" >"$DIR/port"
      echo "$SOCKET" >"$DIR/socket"
      log "MariaDB is up on 127.0.0.1:$port (socket $SOCKET, log $LOG)"
      return 0
    fi
    log "port $port was taken before mariadbd bound it; trying another"
    rm -f "$SOCKET" "$SOCKET.lock" "$DIR/mysqld.pid"
  done
  die "could not bind a free port after $PORT_ATTEMPTS attempts (log: $LOG)"
}

stop() {
  [[ -d "$DIR" ]] || return 0
  stop_server
  rm -rf "$DATA_DIR"
  log "MariaDB stopped; removed $DATA_DIR"
}

[[ $# -eq 2 ]] || usage
readonly COMMAND="$1"
DIR="$(realpath -m -- "$2")"
readonly DIR
readonly DATA_DIR="$DIR/data"
readonly SOCKET="$DIR/mysqld.sock"
readonly LOG="$DIR/mariadb.log"

case "$COMMAND" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
