#!/bin/sh
# The image's entry commands (Dockerfile, compose.yaml, `make serve`):
#   migrate     bring the database schema up to date, then exit (a one-off step, run
#               before web and scheduler start; web workers never migrate)
#   web         gunicorn with gunicorn.conf.py
#   scheduler   background jobs; one runs them, any other stands by (core/scheduler.py)
#   edge        the live edge: nginx with RTMP and Nchan, configured by the app
#   anything else is run as given (`deploy/entrypoint.sh flask --app app backup`)
# Run from the project's folder or with GONGFANG_HOME set; FLASK and GUNICORN name the
# programs when they are not on PATH (a virtualenv's bin/).
set -eu

cd "${GONGFANG_HOME:-$(dirname "$0")/..}"
flask=${FLASK:-flask}
gunicorn=${GUNICORN:-gunicorn}

command=${1:-web}
[ "$#" -gt 0 ] && shift

case "$command" in
    migrate)
        exec "$flask" --app app db-upgrade "$@"
        ;;
    web)
        exec "$gunicorn" -c gunicorn.conf.py "$@" app:app
        ;;
    scheduler)
        exec "$flask" --app app scheduler "$@"
        ;;
    edge)
        edge_dir=${EDGE_DIR:-/srv/edge}
        # EDGE_ARGS holds further options, split on spaces on purpose.
        # shellcheck disable=SC2086
        "$flask" --app app edge-config --out "$edge_dir" --listen-host 0.0.0.0 \
            --http-port "${EDGE_HTTP_PORT:-8080}" --rtmp-port "${EDGE_RTMP_PORT:-1935}" \
            --app-address "${APP_ADDRESS:-web:8000}" ${EDGE_ARGS:-}
        exec nginx -p "$edge_dir" -e /dev/stderr -c nginx.conf
        ;;
    *)
        exec "$command" "$@"
        ;;
esac
