#!/usr/bin/env bash
# Installs the system packages the build and the tests need (Debian/Ubuntu), once.
# Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(
  libsqlite3-dev   # SQLite for the state database (GRDB)
  libyaml-dev      # YAML parsing (Yams)
  pkg-config       # finds the C libraries' headers
  libxml2-dev      # XML parsing, writing and XSD validation
  unixodbc-dev     # ODBC driver manager (FlowFact database access)
  libsqliteodbc    # SQLite3 ODBC driver: the embedded FlowFact-like database
  odbc-postgresql  # psqlODBC: PostgreSQL through ODBC in the tests
  postgresql       # the PostgreSQL server the tests use
  libcurl4-openssl-dev  # libcurl: the HTTP client for Exchange (EWS)
  curl             # an independent HTTP/NTLM client the simulator's tests log in with
  python3          # the HTTP client tests' local test server
  radicale         # a CalDAV/CardDAV server the caldav adapter's tests run against
  xandikos         # a second CalDAV/CardDAV server for the same tests
  lighttpd         # asks for HTTP Digest in front of Radicale for the caldav adapter's Digest tests
  php-cgi          # before davical: satisfies its PHP without pulling in Apache (the tests use PHP's own server)
  davical          # a third CalDAV/CardDAV server (PHP on PostgreSQL) for the same tests
  chromium         # the browser the operator's console is tested in (scripts/console-check.sh)
  chromium-driver  # its WebDriver, which Selenium drives
  iproute2         # ip netns: the console check from another address
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q "${missing[@]}"
fi

# sqlglot: its T-SQL parser checks the SQL the FlowFact adapter writes for SQL Server
# (Tests/TestSupport/tsql_bridge.py). Pinned: another version may parse differently.
sqlglot_version=30.31.0
if ! python3 -c "import sqlglot, sys; sys.exit(sqlglot.__version__ != '$sqlglot_version')" 2>/dev/null; then
  echo "installing: sqlglot $sqlglot_version (PyPI)"
  python3 -m pip install --quiet --disable-pip-version-check "sqlglot==$sqlglot_version"
fi
