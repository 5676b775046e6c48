#!/usr/bin/env bash
# Vigia on a Debian/Ubuntu VPS: Redis (AOF, noeviction), supervisor, a system user, a virtual
# environment from the lock file, and supervisor programs for the worker and the beat (Flower and
# the API optional), each with its own rotated log. Safe to run again: every step checks what is
# there first, never overwrites .env, and rewrites a program file only when its content changes.
#
#   sudo ./deploy/vps/install.sh                        # from a checkout of the repository
#   sudo ./install.sh --repo https://github.com/<you>/vigia --with-flower
#   ./deploy/vps/install.sh --dry-run --root /tmp/vigia-root   # write the files only, as a preview
#
# The programs' commands are read from the installed code's Procfile, the single list of commands.
# Root installs packages and writes only root's files (/etc, the log folder); everything in the
# folders the service user owns (the checkout, .env, the virtualenv) is done as that user.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true  # bash 5.2: keep '&' literal in ${var//x/y}

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

REPO=""
BRANCH="main"
SOURCE=""
APP_HOME="/opt/vigia"
RUN_USER="vigia"
LOG_DIR="/var/log/vigia"
WITH_FLOWER=0
WITH_API=0
FLOWER_PORT=5555
API_PORT=8000
DRY_RUN=0
ROOT=""

usage() {
    cat <<'USAGE'
Usage: install.sh [options]
  --repo URL         git repository to install (default: the checkout this script is in)
  --branch NAME      branch of --repo (default: main)
  --source DIR       a local checkout to install (its committed HEAD) instead of --repo
  --app-home DIR     where the code (DIR/app) and the virtualenv (DIR/venv) live (default: /opt/vigia)
  --user NAME        system user the processes run as (default: vigia)
  --log-dir DIR      where supervisord writes the programs' logs, in folders only root can change
                     (default: /var/log/vigia)
  --with-flower      also run Flower (basic auth; a password is generated into .env)
  --flower-port N    Flower's port (default: 5555)
  --with-api         also run the API (gunicorn; an API key is generated into .env)
  --api-port N       the API's port (default: 8000)
  --dry-run          change nothing on this machine: write the program files and .env under --root
  --root DIR         prefix for every file written (default with --dry-run: a new temporary folder)
  -h, --help         this text
USAGE
}

die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
say() { printf '%s\n' "$*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --repo) REPO="${2:?--repo needs a URL}"; shift 2 ;;
        --branch) BRANCH="${2:?--branch needs a name}"; shift 2 ;;
        --source) SOURCE="${2:?--source needs a folder}"; shift 2 ;;
        --app-home) APP_HOME="${2:?--app-home needs a folder}"; shift 2 ;;
        --user) RUN_USER="${2:?--user needs a name}"; shift 2 ;;
        --log-dir) LOG_DIR="${2:?--log-dir needs a folder}"; shift 2 ;;
        --with-flower) WITH_FLOWER=1; shift ;;
        --flower-port) FLOWER_PORT="${2:?--flower-port needs a number}"; shift 2 ;;
        --with-api) WITH_API=1; shift ;;
        --api-port) API_PORT="${2:?--api-port needs a number}"; shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        --root) ROOT="${2:?--root needs a folder}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done

case "$FLOWER_PORT$API_PORT" in *[!0-9]*) die "ports must be numbers" ;; esac
if [ "$DRY_RUN" = 1 ] && [ -z "$ROOT" ]; then
    ROOT="$(mktemp -d -t vigia-install-XXXXXX)"
fi
if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root (sudo), or preview with --dry-run"
fi
if [ -z "$REPO" ] && [ -z "$SOURCE" ]; then
    candidate="$(cd "$SCRIPT_DIR/../.." && pwd)"
    [ -f "$candidate/Procfile" ] || die "not inside a checkout: pass --repo URL or --source DIR"
    SOURCE="$candidate"
fi
if [ -n "$SOURCE" ]; then
    SOURCE="$(cd "$SOURCE" && pwd)" || die "--source $SOURCE is not a folder"
fi

APP_DIR="$APP_HOME/app"
VENV="$APP_HOME/venv"
CONF_DIR="$ROOT/etc/supervisor/conf.d"
TEMPLATES="$SCRIPT_DIR/supervisor"

# Run a command, or in a dry run only say it would.
run() {
    if [ "$DRY_RUN" = 1 ]; then
        say "  would run: $*"
    else
        "$@"
    fi
}

# Run a command as the service user (in a dry run, as whoever runs this script). Everything inside
# the folders that user owns (the code, .env, the virtualenv) is read and written this way: a
# symlink planted there then leads only where the user could write anyway, never where root can.
as_user() {
    if [ "$DRY_RUN" = 1 ]; then
        "$@"
    else
        (cd / && runuser -u "$RUN_USER" -- "$@")
    fi
}

# --- 1. system packages --------------------------------------------------------------------
step_packages() {
    say "1. packages: redis-server, supervisor, python3-venv, git"
    if [ "$DRY_RUN" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends \
            redis-server supervisor python3 python3-venv git ca-certificates >/dev/null
    else
        run apt-get install -y redis-server supervisor python3 python3-venv git ca-certificates
    fi
}

# Set "key value" in a redis.conf-style file; echo "changed" when the file changed.
ensure_conf_line() {
    local file="$1" key="$2" value="$3"
    if grep -qE "^${key}[[:space:]]+${value}\$" "$file"; then
        return 0
    fi
    if grep -qE "^${key}[[:space:]]" "$file"; then
        sed -i -E "s|^${key}[[:space:]].*|${key} ${value}|" "$file"
    else
        printf '%s %s\n' "$key" "$value" >>"$file"
    fi
    echo changed
}

# --- 2. Redis: keep the queue across restarts and never evict a key -------------------------
step_redis() {
    local conf="$ROOT/etc/redis/redis.conf" changed=""
    say "2. redis: appendonly yes, maxmemory-policy noeviction"
    if [ ! -f "$conf" ]; then
        say "  $conf not found; would set both lines there"
        return 0
    fi
    changed+="$(ensure_conf_line "$conf" appendonly yes)"
    changed+="$(ensure_conf_line "$conf" maxmemory-policy noeviction)"
    if [ -n "$changed" ]; then
        say "  $conf updated"
        run service_restart redis-server
    else
        say "  $conf unchanged"
    fi
}

service_restart() {
    systemctl restart "$1" 2>/dev/null || service "$1" restart
}

# --- 3. the system user ---------------------------------------------------------------------
step_user() {
    say "3. user: $RUN_USER (home $APP_HOME)"
    if id -u "$RUN_USER" >/dev/null 2>&1; then
        say "  exists"
    else
        run useradd --system --create-home --home-dir "$APP_HOME" --shell /usr/sbin/nologin "$RUN_USER"
    fi
}

# --- 4. the code ----------------------------------------------------------------------------
# Every git command runs as the service user, who owns the checkout (git refuses a repository
# owned by someone else: "dubious ownership"). A local --source is handed over as a bundle of
# its HEAD in a fresh folder root creates, so the user never needs to read the source folder.
OLD_HEAD=""
NEW_HEAD=""
BUNDLE=""
source_bundle() {
    local dir
    dir="$(mktemp -d -t vigia-source-XXXXXX)"
    # shellcheck disable=SC2064  # expand now: the folder to remove is this one
    trap "rm -rf '$dir'" EXIT
    # Root only reads the source here; safe.directory lets it read a checkout another user owns.
    git -c safe.directory='*' -C "$SOURCE" bundle create --quiet "$dir/source.bundle" HEAD
    chmod 755 "$dir"
    chmod 644 "$dir/source.bundle"
    BUNDLE="$dir/source.bundle"
}

step_code() {
    local origin="${SOURCE:-$REPO}"
    say "4. code: $origin -> $APP_DIR"
    if [ "$DRY_RUN" = 1 ]; then
        say "  would clone or fast-forward $APP_DIR as $RUN_USER"
        return 0
    fi
    [ -n "$SOURCE" ] && source_bundle
    if as_user test -d "$APP_DIR/.git"; then
        OLD_HEAD="$(as_user git -C "$APP_DIR" rev-parse HEAD)"
        if [ -n "$SOURCE" ]; then
            as_user git -C "$APP_DIR" fetch --quiet "$BUNDLE" HEAD
            as_user git -C "$APP_DIR" merge --quiet --ff-only FETCH_HEAD
        else
            as_user git -C "$APP_DIR" pull --quiet --ff-only
        fi
    else
        [ -d "$APP_HOME" ] || install -d -o "$RUN_USER" -g "$RUN_USER" -m 755 "$APP_HOME"
        if [ -n "$SOURCE" ]; then
            as_user git -c advice.detachedHead=false clone --quiet "$BUNDLE" "$APP_DIR"
            as_user git -C "$APP_DIR" switch --quiet -C deploy
            as_user git -C "$APP_DIR" remote remove origin
        else
            as_user git clone --quiet --branch "$BRANCH" "$REPO" "$APP_DIR"
        fi
    fi
    NEW_HEAD="$(as_user git -C "$APP_DIR" rev-parse HEAD)"
    say "  at $NEW_HEAD"
}

# The checkout whose Procfile and .env.example this run uses.
code_dir() {
    if [ "$DRY_RUN" = 1 ]; then
        printf '%s' "${SOURCE:-$SCRIPT_DIR/../..}"
    else
        printf '%s' "$APP_DIR"
    fi
}

# --- 5. the virtual environment (the same build command as render.yaml) ----------------------
step_venv() {
    say "5. virtualenv: $VENV from requirements.lock"
    if [ "$DRY_RUN" = 1 ]; then
        say "  would run: python3 -m venv $VENV && (cd $APP_DIR && pip install uv && uv pip install -r requirements.lock -e .)"
        return 0
    fi
    as_user test -x "$VENV/bin/python" || as_user python3 -m venv "$VENV"
    # shellcheck disable=SC2016  # $1, $2 are the inner shell's arguments
    as_user env PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV" bash -c \
        'cd "$1" && pip install --quiet "uv>=0.5,<1" && uv pip install --quiet --python python -r requirements.lock -e .' \
        _ "$APP_DIR"
}

random_secret() {
    head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32
}

# Give KEY a value in the .env file when it has none; never touch a value someone set. As the
# service user: the file is in a folder that user owns.
env_set_if_empty() {
    local file="$1" key="$2" value="$3"
    if as_user grep -qE "^${key}=.+" "$file"; then
        return 0
    fi
    if as_user grep -qE "^${key}=" "$file"; then
        as_user sed -i -E "s|^${key}=.*|${key}=${value}|" "$file"
    else
        printf '%s=%s\n' "$key" "$value" | as_user tee -a "$file" >/dev/null
    fi
}

# --- 6. the environment file (never overwritten) ---------------------------------------------
step_env() {
    local env_file="$ROOT$APP_DIR/.env"
    say "6. environment: $APP_DIR/.env"
    [ "$DRY_RUN" = 1 ] && mkdir -p "$(dirname "$env_file")"
    if as_user test -L "$env_file"; then
        die "$APP_DIR/.env is a symlink; replace it with the file itself (this installer does not follow links there)"
    fi
    if as_user test -e "$env_file"; then
        say "  exists; left as it is"
    else
        # Private from its first byte (umask), created by the user who reads it.
        # shellcheck disable=SC2016  # $1, $2 are the inner shell's arguments
        as_user sh -c 'umask 077 && cp "$1" "$2"' _ "$(code_dir)/.env.example" "$env_file"
        as_user sed -i -E "s|^ENVIRONMENT=.*|ENVIRONMENT=production|" "$env_file"
        env_set_if_empty "$env_file" REDIS_URL "redis://127.0.0.1:6379/0"
        say "  created from .env.example (ENVIRONMENT=production, local REDIS_URL)"
    fi
    if [ "$WITH_FLOWER" = 1 ]; then env_set_if_empty "$env_file" FLOWER_PASSWORD "$(random_secret)"; fi
    if [ "$WITH_API" = 1 ]; then env_set_if_empty "$env_file" API_KEYS "$(random_secret)"; fi
    as_user chmod 600 "$env_file"
}

# The Procfile's command for one process, as written there.
procfile_entry() {
    local name="$1" command
    command="$(as_user cat "$(code_dir)/Procfile" | sed -n -E "s/^${name}:[[:space:]]*//p" | head -n 1)"
    [ -n "$command" ] || die "the Procfile has no '$name' entry"
    printf '%s' "$command"
}

# The same for supervisor, which runs commands without a shell: one that reads a variable gets
# `/bin/sh -c "exec ..."` (exec, so signals reach the process itself).
procfile_command() {
    local command
    command="$(procfile_entry "$1")"
    case "$command" in
        *'$'*) command="/bin/sh -c \"exec ${command}\"" ;;
    esac
    printf '%s' "${command//%/%%}"  # supervisor expands %(name)s; keep a literal %
}

render_program() {
    local name="$1" port="$2" content
    content="$(<"$TEMPLATES/vigia-$name.conf.in")"
    content="${content//@COMMAND@/$(procfile_command "$name")}"
    content="${content//@APP_DIR@/$APP_DIR}"
    content="${content//@APP_HOME@/$APP_HOME}"
    content="${content//@VENV@/$VENV}"
    content="${content//@USER@/$RUN_USER}"
    content="${content//@LOG_DIR@/$LOG_DIR}"
    content="${content//@PORT@/$port}"
    printf '%s\n' "$content"
}

# Write a file only when its content differs; say which.
write_if_changed() {
    local path="$1" content="$2"
    if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ]; then
        say "  $path unchanged"
        return 0
    fi
    printf '%s\n' "$content" >"$path"
    say "  $path written"
    CHANGED_PROGRAMS=1
}

# The log folder belongs to root: supervisord, running as root, opens and rotates the programs'
# logs itself, so a folder the service user could write would let it point a log at any file.
log_dir() {
    if [ "$DRY_RUN" = 1 ]; then
        mkdir -p "$ROOT$LOG_DIR"
        return 0
    fi
    [ -L "$LOG_DIR" ] && die "--log-dir $LOG_DIR is a symlink; give the folder itself"
    # Every existing folder above it must be root's alone (so nobody else can swap it later).
    local parent
    parent="$(dirname "$LOG_DIR")"
    while [ "$parent" != / ] && [ ! -e "$parent" ] && [ ! -L "$parent" ]; do parent="$(dirname "$parent")"; done
    while :; do
        if [ -L "$parent" ] || [ "$(stat -c %u "$parent")" != 0 ]; then
            die "--log-dir $LOG_DIR: $parent is a symlink or not owned by root; supervisord writes the logs as root, so pick a folder only root can change (default /var/log/vigia)"
        fi
        [ "$parent" = / ] && break
        parent="$(dirname "$parent")"
    done
    install -d -o root -g root -m 755 "$LOG_DIR"
}

# --- 7. supervisor programs ------------------------------------------------------------------
CHANGED_PROGRAMS=0
step_programs() {
    local programs=(worker beat) names=() name port
    [ "$WITH_FLOWER" = 1 ] && programs+=(flower)
    [ "$WITH_API" = 1 ] && programs+=(web)
    say "7. supervisor programs: ${programs[*]}"
    mkdir -p "$CONF_DIR"
    log_dir
    for name in "${programs[@]}"; do
        port=""
        [ "$name" = flower ] && port="$FLOWER_PORT"
        [ "$name" = web ] && port="$API_PORT"
        write_if_changed "$CONF_DIR/vigia-$name.conf" "$(render_program "$name" "$port")"
        names+=("vigia-$name")
    done
    # Programs no longer asked for (e.g. Flower turned off) are removed.
    for name in worker beat flower web; do
        case " ${programs[*]} " in *" $name "*) ;; *)
            if [ -f "$CONF_DIR/vigia-$name.conf" ]; then
                rm -f "$CONF_DIR/vigia-$name.conf"
                say "  $CONF_DIR/vigia-$name.conf removed"
                CHANGED_PROGRAMS=1
            fi ;;
        esac
    done
    local IFS=,
    write_if_changed "$CONF_DIR/vigia.conf" "; Vigia's programs, restarted together with: supervisorctl restart vigia:*
[group:vigia]
programs=${names[*]}"
}

# --- 8. migrations (the Procfile's release) --------------------------------------------------
step_migrate() {
    local env_file="$ROOT$APP_DIR/.env"
    say "8. migrations: the Procfile's release"
    # With DATABASE_URL it applies the migrations; with only SUPABASE_URL and
    # SUPABASE_SERVICE_ROLE_KEY it checks them over the REST API and says how to apply them.
    if ! as_user grep -qE '^(DATABASE_URL|SUPABASE_URL)=.+' "$env_file"; then
        say "  skipped: set DATABASE_URL (or SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY) in $APP_DIR/.env, then run this installer again"
        return 0
    fi
    local release
    release="$(procfile_entry release)"
    if [ "$DRY_RUN" = 1 ]; then
        say "  would run: $release"
        return 0
    fi
    # shellcheck disable=SC2016  # $1, $2 are the inner shell's arguments
    if ! as_user env PATH="$VENV/bin:$PATH" bash -c 'cd "$1" && eval "$2"' _ "$APP_DIR" "$release"; then
        say "  the release failed (its message is above): the programs were not (re)started; fix it and run this installer again"
        exit 1
    fi
}

# --- 9. (re)start what changed ----------------------------------------------------------------
step_supervisor() {
    say "9. supervisor: load the programs"
    if [ "$DRY_RUN" = 1 ]; then
        say "  would run: supervisorctl reread && supervisorctl update"
        return 0
    fi
    systemctl enable --now supervisor >/dev/null 2>&1 || service supervisor start >/dev/null 2>&1 || true
    supervisorctl reread >/dev/null
    supervisorctl update
    if [ -n "$OLD_HEAD" ] && [ "$OLD_HEAD" != "$NEW_HEAD" ] && [ "$CHANGED_PROGRAMS" = 0 ]; then
        supervisorctl restart 'vigia:*'
    fi
}

step_packages
step_redis
step_user
step_code
step_venv
step_env
step_programs
step_migrate
step_supervisor

say ""
if [ "$DRY_RUN" = 1 ]; then
    say "Dry run: nothing on this machine changed; the files are under $ROOT"
else
    say "Done. Next: fill in $APP_DIR/.env (DATABASE_URL or SUPABASE_*, TRANSPARENCY_API_KEY, ...),"
    say "then: supervisorctl restart 'vigia:*' && cd $APP_DIR && sudo -u $RUN_USER $VENV/bin/vigia doctor"
    say "Logs: $LOG_DIR/*.log (rotated by supervisor)"
fi
