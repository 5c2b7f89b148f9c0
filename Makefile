# torosdrivers: every target creates the virtual environment it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PREFIX ?= /opt/toros

.PHONY: all venv test demo bench bench-quick install uninstall clean distclean

all: venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

## test: run the whole test suite (what CI runs), on four workers (a file's tests stay on one). Four on two
##       cores: many tests wait on a simulated night, a real-time line or an INDI simulator's own pace, not
##       the CPU (5:55 here, 2026-12-01). Six took 4:19-5:29, but their load found a test race in three of
##       five fresh-clone runs (each fixed): four until six has held for a while.
test: $(STAMP)
	$(BIN)/python -m pytest -n 4 --dist loadfile

## demo: the TOROS Manager end to end: daemons, work orders, simulated observatory, calibrated frames, an alert drill
demo: $(STAMP)
	$(BIN)/toros-demo --output demo-output

## bench: print the speed and memory figures of benchmarks/, each beside its peer, targets judged
bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

## bench-quick: every benchmark in its short mode (small sizes, no target judged), as CI runs them, so none
##              can break unseen (about 100 s)
bench-quick: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b --quick"; $(BIN)/python $$b --quick || exit 1; done

## install: (root) the toros user, a production venv in $(PREFIX) (no test tools), hardened systemd units
##          (or macOS launch daemons) for toros-devices, the three daemons and toros-web, and /etc/toros/toros.conf.yaml
# (cd /: run from here, python -m would import the source tree, not what was installed)
# The venv is built from a system Python (INSTALL_PYTHON=... to choose another, never one in a home directory),
# owns its interpreter, and names $(PREFIX), not $(DESTDIR)$(PREFIX): packaging/stage_venv.py says why.
install:
	$(PYTHON) packaging/stage_venv.py --destdir "$(DESTDIR)" --prefix "$(PREFIX)" $(if $(INSTALL_PYTHON),--python "$(INSTALL_PYTHON)") --pip-args="$(PIP_ARGS)" .
	cd / && "$(DESTDIR)$(PREFIX)/bin/python" -m torosdrivers.daemons.tools.install install --root "$(or $(DESTDIR),/)" --bin "$(PREFIX)/bin"

## uninstall: (root) remove the units and $(PREFIX); data, journals, logs and an edited configuration stay
uninstall:
	cd / && "$(DESTDIR)$(PREFIX)/bin/python" -m torosdrivers.daemons.tools.install uninstall --root "$(or $(DESTDIR),/)"
	test -x "$(DESTDIR)$(PREFIX)/bin/toros-telescope" && rm -rf "$(DESTDIR)$(PREFIX)"

## clean: delete intermediate files (build output, caches, demo output)
clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis demo-output
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

## distclean: clean, and remove the virtual environment
distclean: clean
	rm -rf $(VENV)
