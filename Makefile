# The two commands: `make run` serves the demo shop, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 5000
# Mails and calendar feeds link here: the address `make run` serves, unless set.
BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run serve test setup axe lint translations bench clean edge vendor-hls

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# axe-core for the browser accessibility gates (tests/browser): the current 4.x release
# from the npm registry, kept in .cache/npm (not committed). Without npm the gates fall
# back to the axe.min.js bundled by axe-playwright-python (a dev dependency).
AXE_STAMP := .cache/npm/node_modules/axe-core/axe.min.js

setup: $(STAMP)
	$(BIN)/flask --app app compile-translations

axe:
	@if command -v npm >/dev/null 2>&1; then \
		test -f $(AXE_STAMP) || npm install --prefix .cache/npm --no-audit --no-fund --silent axe-core@4; \
	else \
		echo "npm not found: the browser gates will use the axe.min.js bundled by axe-playwright-python"; \
	fi

run: setup
	$(BIN)/flask --app app db-upgrade
	$(BIN)/flask --app app demo --if-empty
	@echo ""
	@echo "  Gongfang Live is at http://$(HOST):$(PORT)/"
	@echo "  Sign in as the demo operator: operator@demo.gongfang.cn / gongfang-demo-2026"
	@echo "  (every demo account uses the same password; see README.md)"
	@echo ""
	BASE_URL=$(BASE_URL) EMBEDDED_SCHEDULER=1 $(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 1 \
		--worker-class gevent --worker-connections 4000 --access-logfile - app:app

# Production-like on this machine: PostgreSQL and Redis on 127.0.0.1 (the database
# `gongfang` is created if missing), GONGFANG_ENV=production, migrated by the entry
# script's one-off step, then the scheduler in the background and gunicorn with
# gunicorn.conf.py in the foreground; Ctrl-C stops both. SECRET_KEY: yours, or one made
# once into instance/serve-secret-key. Secure cookies: open http://localhost:PORT/.
SERVE_PORT ?= 8000
SERVE_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/gongfang
SERVE_REDIS_URL ?= redis://127.0.0.1:6379/0
SERVE_KEY := instance/serve-secret-key
serve: setup
	@$(BIN)/python -c 'import sys, psycopg; from sqlalchemy.engine import make_url; \
		url = make_url(sys.argv[1]); name = url.database; \
		server = url.set(drivername="postgresql", database="postgres"); \
		db = psycopg.connect(server.render_as_string(hide_password=False), autocommit=True); \
		found = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone(); \
		found or db.execute(f"CREATE DATABASE \"{name}\""); found or print("created", name)' \
		'$(SERVE_DATABASE_URL)'
	@test -n "$$SECRET_KEY" || test -s $(SERVE_KEY) || (mkdir -p instance && umask 077 && \
		$(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))' > $(SERVE_KEY))
	@export GONGFANG_ENV=production DATABASE_URL='$(SERVE_DATABASE_URL)' \
		REDIS_URL='$(SERVE_REDIS_URL)' HOST=$(HOST) PORT=$(SERVE_PORT) \
		BASE_URL=$${BASE_URL:-http://localhost:$(SERVE_PORT)} \
		SECRET_KEY="$${SECRET_KEY:-$$(cat $(SERVE_KEY))}" FLASK=$(BIN)/flask GUNICORN=$(BIN)/gunicorn; \
	deploy/entrypoint.sh migrate && { \
		deploy/entrypoint.sh scheduler & scheduler=$$!; \
		trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
		echo "  Gongfang Live (production settings) is at http://localhost:$(SERVE_PORT)/"; \
		deploy/entrypoint.sh web; }

# The live edge (nginx with RTMP and Nchan, from Debian: nginx libnginx-mod-rtmp
# libnginx-mod-nchan; ffmpeg for the replays): its config rendered from
# deploy/edge/nginx.conf.j2 into .cache/edge/, nginx in the foreground. Run the app with
# LIVE_EDGE_URL=http://$(HOST):$(EDGE_PORT) and open the shop at that address.
EDGE_PORT ?= 8080
RTMP_PORT ?= 1935
edge: setup
	$(BIN)/flask --app app edge-config --out .cache/edge --http-port $(EDGE_PORT) \
		--rtmp-port $(RTMP_PORT) --app-address $(HOST):$(PORT)
	nginx -p $(CURDIR)/.cache/edge -e $(CURDIR)/.cache/edge/error.log -c nginx.conf

# hls.js plays the edge's HLS in browsers without HLS of their own. It is vendored into
# static/vendor/hls/ (committed, with its licence) from the npm registry by this step.
HLS_VERSION := 1.7.4
vendor-hls:
	rm -rf .cache/hls && mkdir -p .cache/hls static/vendor/hls
	cd .cache/hls && npm pack --silent hls.js@$(HLS_VERSION) && tar xzf hls.js-$(HLS_VERSION).tgz
	sed '/^\/\/# sourceMappingURL=/d' .cache/hls/package/dist/hls.light.min.js \
		> static/vendor/hls/hls.min.js
	cp .cache/hls/package/LICENSE static/vendor/hls/LICENSE

# Four test processes on a 2-core machine: much of the suite's time is spent waiting on
# servers it starts (gunicorn, schedulers, nginx, Chromium), which the extra processes
# fill; 3 and 4 measured in docs/PERFORMANCE.md's test-suite section.
TEST_WORKERS ?= 4
test: setup axe
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=30 $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

translations: setup
	$(BIN)/python -m core.translations_tool

# Benchmarks (never part of the tests): gunicorn on 127.0.0.1 next to a bare Flask route.
bench: setup
	$(BIN)/python bench/catalog_bench.py $(BENCH_ARGS)
	$(BIN)/python bench/flash_purchase.py --backend both
	$(BIN)/python bench/income_dashboard.py

clean:
	rm -rf $(VENV) .pytest_cache .cache test-artifacts
