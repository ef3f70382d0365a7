"""The knowledge base: load the data files of ``knowledge/``, validate them, reload on demand.

Everything the bot knows about departments, matters, answers and emergencies lives in YAML
files; this module only gives them a shape (pydantic) and checks that they agree with each
other (every department code a matter names exists, ids are unique, ...).
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, field_validator, model_validator

Level = Literal["县", "镇街", "社区", "企业", "法院"]
Tier = Literal["emergency", "utility", "ordinary", "complex"]
MatterIntent = Literal["complaint", "repair"]
Intent = Literal["emergency", "complaint", "repair", "policy_question", "status_query", "other"]


class Source(BaseModel):
    """A clause of one of the two seed documents."""

    doc: Literal["meixian", "panjin"]
    clause: str  # e.g. "三(二)3" for 眉县, "(五)11" for 盘锦


class Department(BaseModel):
    code: str
    name: str
    level: Level
    duties: list[str] = []
    sources: list[Source] = []


class Matter(BaseModel):
    id: str
    name: str
    intent: MatterIntent
    department: str
    cooperating: list[str] = []
    tier: Tier = "ordinary"
    keywords: list[str] = Field(min_length=1)  # strong cues: any one names the matter
    weak: list[str] = []  # cues that only count together with another
    negative: list[str] = []  # cues that rule the matter out
    sources: list[Source] = Field(min_length=1)
    ask_photo: bool = True
    about_company: bool = False  # the property company's own fault, handled by another department (红黑榜)


class Emergency(BaseModel):
    id: str
    name: str
    number: str  # "119", "110", "120", "96333"
    department: str
    keywords: list[str] = []
    # said alone, beside a place and a cry ("火 3栋", "救命啊", "救人救人"): the whole message
    alone: list[str] = []
    negative: list[str] = []  # the words mean something else here (烟道, 燃气费)
    # said of a risk, the past or general knowledge ("应该怎么逃生"): not happening now, and not
    # for the statistical second opinion to call back either
    not_now: list[str] = []
    # said of it whatever a negative word names ("烧纸把被子点着了": the fire has gone beyond the
    # burning paper; "车里出不来": a car, not the lift nearby): the negative words no longer rule
    # it out (the not_now ones still do)
    spreading: list[str] = []
    # what befalls a person, said right after one of the shared people ("老汉" + "倒了"): each
    # pair is one more keyword, so that every person word meets every such word
    befalls: list[str] = []
    pairs: list[str] = []  # the person + befalls keywords (made on loading; matched as keywords)
    advice: str  # one line said after the number


class FaqEntry(BaseModel):
    id: str
    question: str
    phrasings: list[str] = Field(min_length=1)
    keywords: list[str] = []
    answer: str
    sources: list[Source] = Field(min_length=1)
    department: str | None = None  # who to turn to, when the question is "who handles X"
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


class Modifiers(BaseModel):
    """Words the rules read around a phrase or cue: none signals an intent on its own, so they are
    not searched for like the cue families."""

    pseudo_negation: list[str] = []  # a negation character that denies nothing after it ("没人管", "没拴")
    denial: list[str] = []  # before a matter's phrase, the only words that rule it out ("不是")
    embedding: list[str] = []  # not knowing, which makes a question in its clause a doubt ("不知道")
    urgent: list[str] = []  # a cry for help: a long message may still be an emergency ("救命")
    now: list[str] = []  # happening as one writes: a time said in another clause does not make it past ("现在")
    # of today: the latest time said before a phrase, if one of these, brings the account back to
    # now ("上次也是这样 … 这次又来了 …冒烟")
    today: list[str] = []
    # a time since the past, not of today: its now or today word does not count ("到现在没个说法")
    since: list[str] = []
    topic_switch: list[str] = []  # a new matter begins: an earlier time does not reach past it ("先不说这个")
    broken: list[str] = []  # equipment broken down, for a repair ("坏", "失灵")


class IntentCues(BaseModel):
    """Words that signal an intent regardless of the matter."""

    question: list[str]
    status: list[str]
    repair: list[str]
    complaint: list[str]
    greeting: list[str]
    thanks: list[str]
    negation: list[str]
    modal: list[str] = []  # questions about what may, must or will happen ("能…吗", "要不要", "会怎样")
    who: list[str] = []  # "which department handles X" questions
    rhetorical: list[str] = []  # questions that complain or ask for action ("凭啥", "有没有人管", "能不能…一下")
    event: list[str] = []  # narration of a concrete incident ("被…了", "天天", "正在")
    past: list[str] = []  # the emergency is over ("昨天", "已经扑灭", "救出来了")
    offtopic: list[str] = []  # out of the bot's scope ("天气", "外卖")
    grievance: list[str] = []  # indignation, a failure of whoever should act ("干啥吃的", "也没用")
    request: list[str] = []  # asking for someone to come ("麻烦来修下", "派人看看")
    inquiry: list[str] = []  # an explicit wish to learn a rule ("请问", "想咨询")
    plain: list[str] = []  # words that hold a cue and signal nothing ("施工单位" holds 工单)
    modifiers: Modifiers = Modifiers()

    def families(self) -> dict[str, list[str]]:
        """The cue families by name (every list field: the modifiers are not cues)."""
        return {name: value for name, value in self if isinstance(value, list)}


class Example(BaseModel):
    """A message labelled as in the golden sets: what it means and who may handle it."""

    text: str
    intent: Intent
    departments: list[str] = []
    faq: str | None = None  # a policy question: the FAQ entry that answers it
    src: str = ""  # which golden set it comes from


class Knowledge(BaseModel):
    documents: dict[str, str]
    departments: list[Department]
    matters: list[Matter]
    emergencies: list[Emergency]
    faq: list[FaqEntry]
    cues: IntentCues
    texts: dict[str, str]  # reply templates, in Chinese
    userdict: list[str] = []
    dialect: dict[str, str] = {}  # dialect word as typed → Mandarin, folded in before anything reads a message
    examples: list[Example] = []  # labelled messages: the statistical second opinions' training data

    @field_validator("emergencies", mode="before")
    @classmethod
    def _shared_words(cls, value: object) -> object:
        """emergencies.yaml is ``{not_now: [...], people: [...], emergencies: [...]}``: the shared
        not_now words join each emergency's own, and each person word followed by each of an
        emergency's befalls words is one of its keyword pairs."""
        if not isinstance(value, dict):
            return value
        shared = list(value.get("not_now") or [])
        people = list(value.get("people") or [])
        return [
            {
                **e,
                "not_now": [*shared, *e.get("not_now", [])],
                "pairs": [p + b for b in e.get("befalls", []) for p in people],
            }
            for e in value.get("emergencies") or []
        ]

    @model_validator(mode="after")
    def _consistent(self) -> "Knowledge":
        codes = {d.code for d in self.departments}
        for kind, items in (("matter", self.matters), ("emergency", self.emergencies), ("faq", self.faq)):
            ids = [i.id for i in items]
            dupes = {i for i in ids if ids.count(i) > 1}
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {sorted(dupes)}")
        for m in self.matters:
            for code in [m.department, *m.cooperating]:
                if code not in codes:
                    raise ValueError(f"matter {m.id}: unknown department {code!r}")
        for e in self.emergencies:
            if not e.keywords and not e.alone:
                raise ValueError(f"emergency {e.id}: no keywords and no words said alone")
            if e.department not in codes:
                raise ValueError(f"emergency {e.id}: unknown department {e.department!r}")
        for f in self.faq:
            if f.department and f.department not in codes:
                raise ValueError(f"faq {f.id}: unknown department {f.department!r}")
        for item in [*self.departments, *self.matters, *self.faq]:
            for s in item.sources:
                if s.doc not in self.documents:
                    raise ValueError(f"{item}: unknown document {s.doc!r}")
        return self

    @cached_property
    def department(self) -> dict[str, Department]:
        return {d.code: d for d in self.departments}

    @cached_property
    def matter(self) -> dict[str, Matter]:
        return {m.id: m for m in self.matters}

    @cached_property
    def faq_by_id(self) -> dict[str, FaqEntry]:
        return {f.id: f for f in self.faq}

    def cite(self, sources: list[Source]) -> str:
        """'依据《…》三(六)2' for the reply."""
        return "；".join(f"{self.documents[s.doc]}{s.clause}" for s in sources)

    def text(self, key: str, **kw: object) -> str:
        return self.texts[key].format(**kw)


FILES = {
    "documents": "documents.yaml",
    "departments": "departments.yaml",
    "matters": "matters.yaml",
    "emergencies": "emergencies.yaml",
    "faq": "faq.yaml",
    "cues": "cues.yaml",
    "texts": "texts.yaml",
}


def default_dir() -> Path:
    """``knowledge/`` of the checkout, or the copy installed beside the package in a wheel."""
    return Path(str(resources.files("knowledge")))


# libyaml's parser where PyYAML was built with it (the wheels are): the same documents, read
# about three times faster than PyYAML's own Python parser (0.4 s → 0.12 s of every start-up).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str) -> object:
    """A YAML document as ``yaml.safe_load`` reads it."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


def load(directory: Path | None = None) -> Knowledge:
    directory = directory or default_dir()
    data: dict[str, object] = {}
    for field, name in FILES.items():
        data[field] = read_yaml((directory / name).read_text(encoding="utf-8"))
    userdict = directory / "userdict.txt"
    if userdict.exists():
        data["userdict"] = [
            line.split()[0] for line in userdict.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    dialect = directory / "dialect.yaml"
    if dialect.exists():
        data["dialect"] = {str(k): str(v) for k, v in (read_yaml(dialect.read_text(encoding="utf-8")) or {}).items()}
    examples = directory / "examples.jsonl"
    if examples.exists():
        data["examples"] = [json.loads(ln) for ln in examples.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return Knowledge.model_validate(data)


class FaqOverlay(BaseModel):
    """Edits made in the web console on top of the packaged ``faq.yaml`` (kept in Redis):
    whole entries that replace or add to the packaged ones, and packaged ids taken away."""

    entries: dict[str, FaqEntry] = {}
    deleted: set[str] = set()

    @property
    def empty(self) -> bool:
        return not self.entries and not self.deleted


def merge_faq(packaged: list[FaqEntry], overlay: FaqOverlay) -> list[FaqEntry]:
    """Packaged entries in their order (edited ones replaced, deleted ones dropped), then the
    entries the overlay adds, by id."""
    seen = {f.id for f in packaged}
    out = [overlay.entries.get(f.id, f) for f in packaged if f.id not in overlay.deleted]
    out += [overlay.entries[i] for i in sorted(overlay.entries) if i not in seen]
    return out


def with_overlay(knowledge: Knowledge, overlay: FaqOverlay) -> Knowledge:
    """The knowledge with the overlay applied, checked by the same consistency validator as the
    files (unknown department or document, duplicate ids ...): raises ``ValueError`` when not."""
    if overlay.empty:
        return knowledge
    fields = {name: getattr(knowledge, name) for name in Knowledge.model_fields}
    fields["faq"] = merge_faq(knowledge.faq, overlay)
    return Knowledge.model_validate(fields)
