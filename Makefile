# Thin wrappers named in README.md. Each target sets itself up first (scripts/setup.sh is idempotent).
.PHONY: setup test chaos report up down lint

setup:
	bash scripts/setup.sh

# The toolkit's own test suite: unit tests, integration tests against the real native stack,
# promtool rule tests.
test: setup
	.venv/bin/python -m pytest tests

# The main job: every documented alert proven end to end, then the HTML report.
chaos: setup
	.venv/bin/python -m pytest -m chaos scenarios --alluredir reports/allure-results --clean-alluredir \
		--junitxml reports/junit.xml; status=$$?; \
	.venv/bin/alertdrill report || true; exit $$status

up: setup
	.venv/bin/alertdrill up

down:
	.venv/bin/alertdrill down

lint: setup
	.venv/bin/ruff check .
