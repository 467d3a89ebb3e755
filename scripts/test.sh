#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/postgres.sh --drop-test-schemas
swift build --build-tests
if [ $# -gt 0 ]; then
  exec swift test --skip-build "$@"
fi
# The HTTP client's timing tests (cancellation and timeouts "at once") run on their own: beside
# the database suites, whose test code makes blocking ODBC calls on Swift's few cooperative
# threads (two on a 2-core machine), their awaits can wait tens of seconds for a thread.
swift test --skip-build --skip HTTPClientTests
swift test --skip-build --filter HTTPClientTests
