"""End-user verification checklists: templates, runs, red flags, sign-off.

- :mod:`.templates` loads and validates templates (safe YAML, JSON Schema,
  file/line/reason on refusal);
- :mod:`.runs` holds runs, answers with evidence, sign-offs (four eyes),
  locking, revisions, expiry and applicability;
- ``workbench checklist …`` is :mod:`workbench.cli.checklists`.

Pure Python, no Qt.
"""

from workbench.checklists.runs import (
    RunLocked,
    add_template,
    answer,
    applicable,
    due_for_reverification,
    export_run,
    get_run,
    get_template,
    list_runs,
    list_templates,
    reject,
    revise_run,
    set_validity_months,
    signoff,
    start_run,
)
from workbench.checklists.templates import (
    Template,
    TemplateError,
    builtin_templates,
    load_template_file,
)

__all__ = ["RunLocked", "Template", "TemplateError", "add_template", "answer", "applicable",
           "builtin_templates", "due_for_reverification", "export_run", "get_run",
           "get_template", "list_runs", "list_templates", "load_template_file", "reject",
           "revise_run", "set_validity_months", "signoff", "start_run"]
