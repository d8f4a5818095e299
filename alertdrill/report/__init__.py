"""Reports reviewers look at: Allure results per drill, the summary matrix page, one command to HTML.

    attach.py     attach_drill(): one drill's labels, links, tables, plot, rule, evidence, payloads, load
    labels.py     epic / feature / severity from the rule, the runbook link from its annotation
    tables.py     the timeline and the contract results as tables (HTML, CSV)
    plot.py       the alert's expression and its selectors over the drill, fault and states marked
    rules.py      the rule as shipped next to the rule as tested
    load.py       Locust's stats of the fault window and the write ledger
    matrix.py     the summary page from summary.json: alert x fired / delivered / resolved, coverage
    renderers.py  finding (or installing from npm) Allure 3 on Node.js, or Allure 2 on Java
    render.py     render_report(): results -> one self-contained Allure HTML beside the summary page
    runbook.py    docs/runbook.md as a page next to the report, so runbook links work offline
    markup.py     escaping, tables and the one stylesheet
"""

from alertdrill.report.attach import attach_drill

__all__ = ["attach_drill"]
