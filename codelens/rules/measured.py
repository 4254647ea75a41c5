"""What a rule's findings are worth on the model that makes them: its adapter's held-out test scores
(``AdapterMetadata.metrics["test"]``, measured when it was trained) as a markdown section.

``codelens explain CODE`` appends it for the default model, so the numbers a user reads are those of
the model that ships, never ones copied into the prose by hand.
"""

from __future__ import annotations

from typing import Any, Mapping

from codelens.rules import Rule


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _num(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _defect(m: Mapping, thresholds: Mapping) -> list[str]:
    threshold = thresholds.get("defect")
    lines = [f"- at the shipped threshold ({_num(threshold)}): precision {_pct(m.get('precision'))}, recall "
             f"{_pct(m.get('recall'))}, {_num(m.get('false_alarms_per_1000'), 1)} false alarms per 1,000 clean functions",
             f"- ranking buggy above clean functions: ROC-AUC {_num(m.get('roc_auc'))}"]
    if m.get("localisation") is not None:
        lines.append(f"- the suspect token is the bug's: {_pct(m.get('localisation'))} of buggy functions; with the "
                     f"right replacement too: {_pct(m.get('joint'))}")
    if threshold is not None and threshold >= 1.0:
        lines.append("- no threshold reached precision 0.8 on validation, so CL100 is off by default "
                     "(`--defect-threshold` turns it on)")
    return lines


def _clone(m: Mapping, thresholds: Mapping) -> list[str]:
    lines = [f"- retrieval of a function's clones among all others: MAP@R {_num(m.get('map_at_r'))} "
             f"(random order: {_num(m.get('map_at_r_random'), 4)})"]
    if m.get("pair_f1") is not None:
        lines.append(f"- clone pairs at the shipped threshold ({_num(thresholds.get('clone'))}): precision "
                     f"{_pct(m.get('pair_precision'))}, recall {_pct(m.get('pair_recall'))}, F1 {_num(m.get('pair_f1'))}")
    return lines


def _summary(m: Mapping, thresholds: Mapping) -> list[str]:
    lines = [f"- every generated summary against the docstring's first sentence: smoothed BLEU-4 "
             f"{_num(m.get('bleu4'), 2)}, ROUGE-L {_num(m.get('rouge_l'), 2)}"]
    if m.get("shown") is not None:
        gate = thresholds.get("summary")
        shown_bleu, name_bleu = m.get("shown_bleu"), m.get("shown_name_bleu")
        line = f"- through the confidence gate ({_num(gate, 2)}): {_pct(m.get('shown'))} of summaries are suggested"
        if shown_bleu is not None:
            line += (f"; on those, sentence BLEU {_num(shown_bleu, 2)} against {_num(name_bleu, 2)} for the function's "
                     "name read as a sentence")
        lines.append(line)
    return lines


_BY_TASK = {"defect": _defect, "clone": _clone, "summary": _summary}


def measured_section(rule: Rule, metrics: Mapping, thresholds: Mapping, model: str) -> str:
    """A ``## Measured on ...`` markdown section for ``rule`` from an adapter's metrics and thresholds (as
    in its codelens.json); empty when the adapter has no test scores for the rule's task."""
    test = metrics.get("test", {}).get(rule.task)
    if not test:
        return ""
    n = test.get("n")
    lines = [f"## Measured on {model}", "",
             f"On the test split of the adapter's corpus (packages it never trained on{f', {n} examples' if n else ''}):",
             "", *_BY_TASK[rule.task](test, thresholds)]
    return "\n".join(lines) + "\n"


NEAR_ZERO = 0.02
"""A defect recall, clone pair F1 or share of summaries shown below this makes a task unusable: its rule
would report (almost) nothing."""
NEAR_CHANCE = 0.6
"""A ROC-AUC below this: the model barely tells the two classes apart."""


def unusable_tasks(metrics: Mapping, thresholds: Mapping) -> list[str]:
    """One warning per task that came out unusable on the held-out split (test, else validation) of a
    training run, naming the likely cause; empty when every task reports something."""
    split = metrics.get("test") or metrics.get("val") or {}
    out = []
    defect = split.get("defect")
    if defect and (defect.get("recall") or 0.0) < NEAR_ZERO:
        auc = defect.get("roc_auc")
        if (thresholds.get("defect") or 0.0) >= 1.0:
            cause = "no threshold reached precision 0.8 on validation, so CL100 is off by default"
        elif auc is None or auc < NEAR_CHANCE:
            cause = f"the model barely tells buggy from clean functions (ROC-AUC {_num(auc)})"
        else:
            cause = "the threshold fitted for precision 0.8 on validation lets almost nothing through"
        out.append(f"defect recall {_pct(defect.get('recall'))}: CL100 will report almost nothing; {cause}. "
                   "Train longer (--max-steps) or on more code, or lower --defect-threshold when scanning")
    clone = split.get("clone")
    if clone and clone.get("pair_f1") is not None and clone["pair_f1"] < NEAR_ZERO:
        auc = clone.get("pair_roc_auc")
        cause = (f"the clone embeddings barely separate clones from other functions (pair ROC-AUC {_num(auc)})"
                 if auc is None or auc < NEAR_CHANCE else
                 f"the threshold ({_num(thresholds.get('clone'))}) lets almost no clone pair through")
        out.append(f"clone pair F1 {_num(clone['pair_f1'])}: CL200 will find only exact copies; {cause}. "
                   "Train longer, or with more clone variants (--clone-variants)")
    summary = split.get("summary")
    if summary and summary.get("shown") is not None and summary["shown"] < NEAR_ZERO:
        cause = ("no confidence gate let enough validation summaries through that beat the function's own name"
                 if (thresholds.get("summary") or 0.0) >= 0.0 else
                 f"the gate ({_num(thresholds.get('summary'), 2)}) is above nearly every summary's confidence")
        out.append(f"summaries shown {_pct(summary['shown'])}: CL300 will suggest no docstring; {cause}. "
                   "Train longer or on more documented code")
    return out
