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
exec go run ../../engine/internal/natscluster/cmd/natscluster -dir . "$@"
