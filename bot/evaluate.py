"""``wuye eval FILE``: intent and department accuracy, emergency recall/precision, FAQ
correctness, a per-department table and the confusion pairs (in the manner of Rasa's report).

``--unseen`` trains the statistical second opinions without the file's own messages (the
knowledge's examples include the golden sets), so the figures say how the models do on text
they have not seen; the rules were still written with the file in view."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.app import running, understander_for
from bot.classify import classify_one
from bot.config import Settings


@dataclass
class Case:
    text: str
    intent: str
    departments: list[str]
    emergency: bool
    facts: list[list[str]]


@dataclass
class Report:
    n: int = 0
    intent_ok: int = 0
    dept_n: int = 0
    dept_ok: int = 0
    em_tp: int = 0
    em_fn: int = 0
    em_fp: int = 0
    faq_n: int = 0
    faq_ok: int = 0
    intent_confusion: Counter = field(default_factory=Counter)
    dept_confusion: Counter = field(default_factory=Counter)
    per_dept: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    misses: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def _ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    @property
    def intent_accuracy(self) -> float:
        return self._ratio(self.intent_ok, self.n)

    @property
    def department_accuracy(self) -> float:
        return self._ratio(self.dept_ok, self.dept_n)

    @property
    def emergency_recall(self) -> float:
        return self._ratio(self.em_tp, self.em_tp + self.em_fn)

    @property
    def emergency_precision(self) -> float:
        return self._ratio(self.em_tp, self.em_tp + self.em_fp)

    @property
    def faq_correctness(self) -> float:
        return self._ratio(self.faq_ok, self.faq_n)

    def add(self, case: Case, got: dict[str, Any]) -> None:
        self.n += 1
        wrong = []
        if got["intent"] == case.intent:
            self.intent_ok += 1
        else:
            self.intent_confusion[(case.intent, got["intent"])] += 1
            wrong.append("intent")
        if case.departments:
            self.dept_n += 1
            predicted = got["department"] or "null"
            ok = predicted in case.departments
            self.dept_ok += ok
            truth = case.departments[0]
            self.per_dept[truth]["support"] += 1
            self.per_dept[truth]["tp" if ok else "fn"] += 1
            if not ok:
                self.per_dept[predicted]["fp"] += 1
                self.dept_confusion[(truth, predicted)] += 1
                wrong.append("department")
        if case.emergency and got["emergency"]:
            self.em_tp += 1
        elif case.emergency:
            self.em_fn += 1
            wrong.append("emergency-missed")
        elif got["emergency"]:
            self.em_fp += 1
            wrong.append("emergency-false")
        if case.facts:
            self.faq_n += 1
            reply = got["reply"]
            if all(any(alt in reply for alt in group) for group in case.facts):
                self.faq_ok += 1
            else:
                wrong.append("faq")
        if wrong:
            self.misses.append({"text": case.text, "wrong": wrong, "want": [case.intent, case.departments],
                                "got": [got["intent"], got["department"], got.get("matter"), got.get("faq")]})

    def render(self, misses: int = 40) -> str:
        lines = [
            f"messages:             {self.n}",
            f"intent accuracy:      {self.intent_accuracy:.3f}",
            f"department accuracy:  {self.department_accuracy:.3f}  (over {self.dept_n} with a department)",
            f"emergency recall:     {self.emergency_recall:.3f}",
            f"emergency precision:  {self.emergency_precision:.3f}",
            f"FAQ correctness:      {self.faq_correctness:.3f}  (over {self.faq_n} with facts)",
            "",
            f"{'department':<20}{'precision':>10}{'recall':>10}{'f1':>8}{'support':>9}",
        ]
        for dept in sorted(self.per_dept):
            c = self.per_dept[dept]
            p = self._ratio(c["tp"], c["tp"] + c["fp"])
            r = self._ratio(c["tp"], c["tp"] + c["fn"])
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            lines.append(f"{dept:<20}{p:>10.2f}{r:>10.2f}{f1:>8.2f}{c['support']:>9}")
        lines += ["", "intent confusion (truth → predicted):"]
        lines += [f"  {a} → {b}: {n}" for (a, b), n in self.intent_confusion.most_common(15)]
        lines += ["department confusion (truth → predicted):"]
        lines += [f"  {a} → {b}: {n}" for (a, b), n in self.dept_confusion.most_common(15)]
        if self.misses and misses:
            lines += ["", f"first {min(misses, len(self.misses))} of {len(self.misses)} misses:"]
            lines += [f"  {json.dumps(m, ensure_ascii=False)}" for m in self.misses[:misses]]
        return "\n".join(lines)


def load_cases(path: str | Path) -> list[Case]:
    cases = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            # each fact is a phrase the reply must contain, or a list of alternatives
            facts = [[fact] if isinstance(fact, str) else list(fact) for fact in d.get("facts") or []]
            cases.append(Case(d["text"], d["intent"], d.get("departments") or [], bool(d.get("emergency")), facts))
    return cases


async def evaluate_file(settings: Settings, path: str | Path, *, unseen: bool = False) -> Report:
    report = Report()
    cases = load_cases(path)
    async with running(settings) as services:
        if unseen:
            texts = {case.text for case in cases}
            knowledge = services.understander.knowledge
            kept = [x for x in knowledge.examples if x.text not in texts]
            fresh = await asyncio.to_thread(understander_for, settings, knowledge.model_copy(update={"examples": kept}))
            services.understander = services.engine.understander = fresh
        for seq, case in enumerate(cases):
            report.add(case, await classify_one(services.engine, case.text, seq))
    return report
