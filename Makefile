# The two commands of the README: `make test` and `make report`. Each installs what it needs,
# idempotently: a virtualenv from the hashed lock file, then the pinned servers into the tool
# cache (${XDG_CACHE_HOME:-~/.cache}/artifact-conformance/tools).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PHASE := .ci/phase

# Servers the test suite must have: missing or failing to start is an ERROR, never a skip.
# `containers`: the container lane (tests/test_containers.py) must run, on a Docker engine.
export ARTCONF_REQUIRE ?= minio,moto,azurite,fake-gcs,nginx,nginx-mtls,git-http,git-daemon,git-ssh,hdfs,oss,kube,containers
export ARTCONF_ALLOWED_SKIPS ?= tests/allowed_skips.txt

.PHONY: test report bootstrap python-deps webserver gitservers java tools browser engine lint pytest lock clean

test:
	@$(PHASE) bootstrap $(MAKE) --no-print-directory bootstrap
	@$(PHASE) lint $(MAKE) --no-print-directory lint
	@$(PHASE) tests $(MAKE) --no-print-directory pytest

# The main job: measure the servers, then run the full matrix for the reference drivers and
# render its report (also when the run found failures); make exits with the run's status.
# Each line is one plain command, so make runs it without a shell and passes SIGTERM straight
# to it. RUN_ARGS narrows the run, e.g. RUN_ARGS="--backends minio --tls off".
RUN_ARGS ?=
report: bootstrap
	$(BIN)/artconf emulators probe --tls both
	$(BIN)/artconf run --target reference --report $(RUN_ARGS)

bootstrap: python-deps webserver gitservers java tools browser engine

# Debian's nginx for the HTTP and Artifactory backends: the kit runs its own nginx process with
# a generated config under its session directory; the package's own service is never used.
NGINX ?= $(firstword $(shell command -v nginx 2>/dev/null) $(wildcard /usr/sbin/nginx))
webserver:
	@[ -n "$(NGINX)" ] || { \
	  [ "$$(id -u)" -eq 0 ] || { echo "bootstrap: nginx is missing and installing it needs root: run 'sudo apt-get update && sudo apt-get install -y --no-install-recommends nginx'"; exit 1; }; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx; }

# Debian's sshd and fcgiwrap for the git servers (emulators/git_servers.py): the kit runs its own
# processes with generated configs; the packages' services are never used (openssh-server's may
# start on port 22 on a machine with an init system; nothing here relies on it or on its
# absence). sshd must not run as root: a kit running as root runs it as the system user
# artconf-git (login shell git-shell), created here once; a kit run by a user runs it as them.
SSHD ?= $(firstword $(shell command -v sshd 2>/dev/null) $(wildcard /usr/sbin/sshd))
FCGIWRAP ?= $(firstword $(shell command -v fcgiwrap 2>/dev/null) $(wildcard /usr/sbin/fcgiwrap))
gitservers:
	@[ -n "$(SSHD)" ] && [ -n "$(FCGIWRAP)" ] || { \
	  [ "$$(id -u)" -eq 0 ] || { echo "bootstrap: sshd or fcgiwrap is missing and installing them needs root: run 'sudo apt-get update && sudo apt-get install -y --no-install-recommends openssh-server fcgiwrap'"; exit 1; }; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server fcgiwrap; }
	@[ "$$(id -u)" -ne 0 ] || id -u artconf-git >/dev/null 2>&1 || \
	  useradd --system --no-create-home --home-dir / --shell /usr/bin/git-shell artconf-git

# A JDK for the HDFS mini-cluster (emulators/hdfs.py): the tool installer fetches its pinned,
# hashed jars from Maven Central and javac builds the kit's small launcher class beside them.
java:
	@command -v javac >/dev/null || { \
	  [ "$$(id -u)" -eq 0 ] || { echo "bootstrap: a JDK (17+) is missing and installing it needs root: run 'sudo apt-get update && sudo apt-get install -y --no-install-recommends openjdk-17-jdk-headless'"; exit 1; }; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jdk-headless; }

# Debian's Chromium for the report's browser test (never a browser downloaded by a test tool).
browser:
	@command -v chromium >/dev/null || { \
	  [ "$$(id -u)" -eq 0 ] || { echo "bootstrap: chromium is missing and installing it needs root: run 'sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium'"; exit 1; }; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

# Debian's Docker engine for the container launcher: the kit starts its own dockerd (own
# data-root and socket, no change to the machine's network) only when a run asks for
# containers. Without root the container lane cannot run, and says so; nothing else needs it.
engine:
	@command -v dockerd >/dev/null || { \
	  [ "$$(id -u)" -eq 0 ] || { echo "bootstrap: no Docker engine; the container launcher needs one: run 'sudo apt-get update && sudo apt-get install -y --no-install-recommends docker.io'"; exit 0; }; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io; }

python-deps: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "bootstrap: $(PYTHON) not found: install Python 3.11+"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "bootstrap: Python 3.11+ is required"; exit 1; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

tools: python-deps webserver gitservers java
	$(BIN)/artconf tools install

# actionlint (pinned, Go-built into the tool cache by the bootstrap; installing it again is a
# no-op) checks the workflows, the nightly one included; it uses shellcheck when on PATH.
lint: python-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@out=$$($(BIN)/artconf tools install --only actionlint 2>&1) || { echo "$$out" >&2; exit 1; }
	"$$($(BIN)/python -c 'from emulators import tools; print(tools.binary("actionlint"))')" .github/workflows/*.yml

# The tests' temp files live in one directory, removed when every test passed (a failing run
# keeps it, and says where): nothing is left in /tmp.
pytest: python-deps
	@base=$$(mktemp -d -t artconf-tests-XXXXXX); \
	if $(BIN)/python -m pytest -n 2 -p no:cacheprovider --durations=15 --basetemp="$$base" \
		--cov=drivers --cov-report=term:skip-covered; then rm -rf "$$base"; \
	else code=$$?; echo "make: the failing tests' files are in $$base" >&2; exit $$code; fi

# Re-pin the Python dependencies (needs `uv`); commit requirements.lock afterwards.
lock:
	uv pip compile --quiet --python 3.11 --generate-hashes requirements.in -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage
