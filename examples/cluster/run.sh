#!/usr/bin/env bash
# Starts the sample 3-node NATS JetStream cluster (n1.conf, n2.conf,
# n3.conf, as written) in one process until Ctrl-C, storing under
# ./data/n1..n3 of this directory. With nats-server installed, running
# `nats-server -c nN.conf` for each node does the same.
#
# The nodes accept clients presenting $ADGATE_NATS_TOKEN; one is generated
# into ./nats.token (the file queue.token_file names) unless it exists.
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${ADGATE_NATS_TOKEN:-}" ]; then
  if ! [ -s nats.token ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > nats.token)
  fi
  ADGATE_NATS_TOKEN=$(cat nats.token)
fi
export ADGATE_NATS_TOKEN
# Built, then exec'd (not `go run`, which does not pass Ctrl-C or
# SIGTERM on to the program, leaving the nodes running).
bin="$(mktemp -d)/natscluster"
go build -o "$bin" ../../engine/internal/natscluster/cmd/natscluster
exec "$bin" -dir . "$@"
