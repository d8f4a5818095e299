"""alertdrill's pytest plugin (the ``pytest11`` entry point ``alertdrill``): options and fixtures over the
core, which works without pytest. Any repository that installs alertdrill gets them; this repository's
``scenarios/`` is one such user.

    options     the ``alertdrill`` option group, ini keys, settings precedence, markers
    stack       the session's stack (native unless ``--backend`` says otherwise) and its addresses
    scenarios   the catalogue, one test per scenario (``scenario``), observers, coverage
    drill       faults, the ``drill`` fixture (inject, prove, expect, revert), the write-ledger check
    load        steady background load for the session; per-test load runs
    session     SIGTERM ends the session like Ctrl-C; the summary matrix and ``summary.json`` at the end
    workers     parallel drills (pytest -n N): a stack per worker, results merged on the controller

Every fixture can be overridden in a conftest; ``-p no:alertdrill`` disables the plugin.
"""

#: In dependency order: a module is registered (and rewritten by pytest) before a sibling imports it.
pytest_plugins = [
    "alertdrill.plugin.options",
    "alertdrill.plugin.session",
    "alertdrill.plugin.stack",
    "alertdrill.plugin.scenarios",
    "alertdrill.plugin.drill",
    "alertdrill.plugin.load",
    "alertdrill.plugin.workers",
]
