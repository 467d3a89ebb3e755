#!/usr/bin/env bash
# The main job on embedded defaults: builds connector-host's development tool and runs
# `connector-dev demo` (the same adapters and engine as the service, plus the simulator), which
# starts the Exchange simulator with two mailboxes, creates and seeds a FlowFact-like database on
# SQLite through ODBC, writes a demo connectors.yaml, runs a full two-way sync, changes records on
# both sides, syncs again and prints the summary. Everything lands in state/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --product connector-host
swift build --product connector-dev
bin=$(swift build --show-bin-path)/connector-dev
schemas="${EWS_SCHEMAS:-../shared/ews-schema}"
"$bin" demo --directory state/demo --schemas "$schemas"
