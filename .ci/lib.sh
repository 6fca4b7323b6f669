# shellcheck shell=bash
# Helpers for .ci/run: section headers, timing, and idempotent set-up of the tools CI needs.
# Sourced, not executed; expects `set -euo pipefail` from the caller.

CI_PG_HOST=127.0.0.1
CI_PG_PORT=5432
CI_PG_USER=postgres

_ci_section_name=""
_ci_section_start=$SECONDS

# Close the previous section (printing its duration) and open a new one.
section() {
    section_end
    _ci_section_name="$1"
    _ci_section_start=$SECONDS
    printf '\n==> %s\n' "$1"
}

section_end() {
    if [[ -n "$_ci_section_name" ]]; then
        printf -- '--- %s: %ss\n' "$_ci_section_name" "$((SECONDS - _ci_section_start))"
        _ci_section_name=""
    fi
}

info() { printf 'ci: %s\n' "$*"; }
die() {
    printf 'ci: error: %s\n' "$*" >&2
    exit 1
}

# Run a command as root (directly, or through sudo when available).
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root to run: $*"
    fi
}

# rustfmt and clippy: `rustup component add` only when missing (it needs the network otherwise).
ensure_rust_components() {
    if ! cargo fmt --version >/dev/null 2>&1; then
        info "installing rustfmt"
        rustup component add rustfmt
    fi
    if ! cargo clippy --version >/dev/null 2>&1; then
        info "installing clippy"
        rustup component add clippy
    fi
    cargo fmt --version
    cargo clippy --version
}

# Debian's Chromium and ChromeDriver, for the browser tests. apt waits for a lock another
# install holds instead of failing at once.
ensure_chromium() {
    if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
        info "chromium and chromedriver already installed"
    else
        info "installing chromium and chromium-driver"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
            chromium chromium-driver fonts-liberation >/dev/null
    fi
    [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] || die "chromium or chromedriver missing after install"
    # Japanese glyphs for the screenshots people look at (the tests read text, not pixels), so
    # best effort: without them Japanese pages are drawn as boxes.
    if ! fc-list :lang=ja 2>/dev/null | grep -q .; then
        info "installing fonts-noto-cjk (Japanese in the browser screenshots)"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends fonts-noto-cjk \
            >/dev/null || info "fonts-noto-cjk could not be installed; Japanese shows as boxes in screenshots"
    fi
    /usr/bin/chromium --version 2>/dev/null || true
    /usr/bin/chromedriver --version 2>/dev/null || true
}

pg_ready() {
    pg_isready -q -h "$CI_PG_HOST" -p "$CI_PG_PORT"
}

# Start the local PostgreSQL cluster if it is not accepting connections, and wait for it (bounded).
ensure_postgres() {
    if ! pg_ready; then
        local version
        version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n1)
        [[ -n "$version" ]] || die "no PostgreSQL cluster under /etc/postgresql"
        info "starting PostgreSQL $version cluster 'main'"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        local i
        for ((i = 0; i < 60; i++)); do
            pg_ready && break
            sleep 0.5
        done
    fi
    pg_ready || die "PostgreSQL is not accepting connections on $CI_PG_HOST:$CI_PG_PORT"
    pg_isready -h "$CI_PG_HOST" -p "$CI_PG_PORT"
}

# The application role the PostgreSQL tests' stores connect as (TEN-2): it may log in, owns
# nothing and cannot bypass row-level security; each test database's migrations grant it the rest.
# The test harness (kura_store::testing) creates it too when missing; here it is made once, up
# front, and its attributes are reset in case an older run left it different.
CI_PG_APP_ROLE=kura_app

ensure_app_role() {
    psql -h "$CI_PG_HOST" -p "$CI_PG_PORT" -U "$CI_PG_USER" -d postgres -v ON_ERROR_STOP=1 -q <<SQL
DO \$\$ BEGIN
    CREATE ROLE $CI_PG_APP_ROLE LOGIN PASSWORD '$CI_PG_APP_ROLE';
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END \$\$;
ALTER ROLE $CI_PG_APP_ROLE LOGIN PASSWORD '$CI_PG_APP_ROLE' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
SQL
    info "PostgreSQL application role $CI_PG_APP_ROLE ready"
}

# Drop databases left behind by earlier (interrupted) PostgreSQL test runs.
drop_test_databases() {
    local dbs db dropped=0
    dbs=$(psql -h "$CI_PG_HOST" -p "$CI_PG_PORT" -U "$CI_PG_USER" -d postgres -Atc \
        "select datname from pg_database where datname like 'kura\_test\_%'")
    for db in $dbs; do
        if dropdb -h "$CI_PG_HOST" -p "$CI_PG_PORT" -U "$CI_PG_USER" --if-exists "$db"; then
            dropped=$((dropped + 1))
        else
            info "warning: could not drop $db (still in use?)"
        fi
    done
    info "dropped $dropped leftover test database(s)"
}

# The Python tools of the API contract check and of the mail tests (.ci/requirements-tools.txt:
# schemathesis and its kin; aiosmtpd, the real SMTP server the mail tests deliver to, and trustme,
# which makes the certificates of their STARTTLS and TLS runs) in .venv-tools, installed
# from PyPI when missing or when the pinned list changed since the last install.
ensure_tools_venv() {
    local venv=.venv-tools reqs=.ci/requirements-tools.txt
    if [[ -x "$venv/bin/python" ]] && cmp -s "$reqs" "$venv/.requirements"; then
        info "python tools already installed in $venv"
        return
    fi
    info "installing python tools into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs"
    cp "$reqs" "$venv/.requirements"
}
