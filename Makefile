# torosdrivers: every target creates the virtual environment it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: all venv test demo bench install uninstall clean distclean

all: venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

## test: run the whole test suite (what CI runs)
test: $(STAMP)
	$(BIN)/python -m pytest

## demo: the TOROS Manager end to end: daemons, work orders, simulated observatory, calibrated frames
demo: $(STAMP)
	$(BIN)/toros-demo --output demo-output

## bench: print the speed and memory figures of benchmarks/
bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

## install: (root) systemd units or launchd agents for toros-devices and the three daemons, and /etc/toros/toros.conf.yaml
install: $(STAMP)
	$(BIN)/python -m torosdrivers.daemons.services install --root "$(or $(DESTDIR),/)" --bin "$(abspath $(BIN))"

## uninstall: (root) remove them again (an edited configuration is kept)
uninstall: $(STAMP)
	$(BIN)/python -m torosdrivers.daemons.services uninstall --root "$(or $(DESTDIR),/)"

## clean: delete intermediate files (build output, caches, demo output)
clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis demo-output
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

## distclean: clean, and remove the virtual environment
distclean: clean
	rm -rf $(VENV)
