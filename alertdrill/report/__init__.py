"""Reports reviewers look at: Allure results per drill, the summary matrix page, one command to HTML.

    attach.py     attach_drill(): one drill's labels, links, tables, plot, rule, evidence, payloads
    plot.py       the alert's expression and its selectors over the drill, fault and states marked
    tables.py     timeline and contract tables (HTML, CSV)
    rules.py      the rule as shipped next to the rule as tested
    matrix.py     the summary page from summary.json: alert x fired / delivered / resolved, coverage
    renderers.py  finding (or installing) Allure 3 via npm, or Allure 2 via Java
    render.py     render_report(): results -> one self-contained HTML report beside the summary page
"""

from alertdrill.report.attach import attach_drill

__all__ = ["attach_drill"]
