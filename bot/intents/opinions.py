"""The statistical second opinions the rules are weighed against, trained at start-up from the
knowledge: the labelled messages of ``knowledge/examples.jsonl`` and the matters' own phrases.

- the intent; an emergency only where the rules saw no sign of one either way, and then which
  kind (a model over the emergencies' own words and the labelled emergencies);
- the department a complaint or repair goes to, and, should it differ from the rules', which of
  that department's matters the message is about;
- which FAQ entry a question asks (a model over the entries' phrasings and the labelled
  questions), for the FAQ matcher's pick to be answered only where the two agree.

A labelled message names the departments that may handle it, not its matter: its matter is the
one of those departments' matters that the matters' phrases alone find likeliest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial

from bot.intents.naive_bayes import NaiveBayes, Panel
from bot.intents.normalize import Normalizer
from bot.knowledge import Knowledge

MODEL_INTENTS = ("emergency", "complaint", "repair", "policy_question", "status_query", "other")
TICKET_INTENTS = ("complaint", "repair")
_MIN_COUNT = 3


@dataclass(frozen=True, slots=True)
class Opinions:
    intent: NaiveBayes | None
    department: NaiveBayes | None
    matter_by_department: Mapping[str, NaiveBayes]  # department code → a model over its matters
    emergency: NaiveBayes | None = None  # which emergency (by id)
    faq: NaiveBayes | None = None  # which FAQ entry (by id)
    faq_learnt: frozenset[str] = frozenset()  # the FAQ entries with labelled questions to learn from
    # the intent and department models, read in one pass (every message needs both)
    panel: Panel = field(default_factory=Panel)


def _parts(phrases: Iterable[str]) -> list[str]:
    """The phrases as texts to learn from: an A+B phrase (its parts anywhere) gives each part."""
    return [part for phrase in phrases for part in phrase.split("+") if part.strip()]


def _phrases(knowledge: Knowledge, normalize: Normalizer) -> list[tuple[str, str]]:
    """(phrase, matter id) for every matter's name and keywords."""
    return [(normalize(part), m.id) for m in knowledge.matters for part in _parts((m.name, *m.keywords))]


def _silver(model: NaiveBayes, text: str, allowed: list[str]) -> str:
    """The label among ``allowed`` that ``model`` finds likeliest for the normalised ``text``."""
    scores = model.scores(text)
    return max(allowed, key=scores.__getitem__)


def _emergency_model(knowledge: Knowledge, messages: list[str], normalize: Normalizer) -> NaiveBayes | None:
    # the befalls words alone, not each person with them: the person words (老汉, 我妈) would
    # otherwise make every person an injury ("爸爸喝酒了在打妈妈" is violence)
    words = [(normalize(part), e.id) for e in knowledge.emergencies for part in _parts((*e.keywords, *e.befalls))]
    if not words:
        return None
    by_words = NaiveBayes(words)
    known = set(by_words.labels)
    labelled = []
    for x, text in zip(knowledge.examples, messages):
        if x.intent == "emergency":
            # (an emergency said by its words alone, a bare cry for help, is the rules' to call)
            allowed = [e.id for e in knowledge.emergencies if e.id in known and e.department in x.departments]
            labelled.append((text, _silver(by_words, text, allowed or list(by_words.labels))))
    return NaiveBayes([*words, *labelled], prior_from=[e for _, e in labelled] or None)


def _faq_model(knowledge: Knowledge, messages: list[str], normalize: Normalizer) -> NaiveBayes | None:
    docs = [(normalize(p), f.id) for f in knowledge.faq for p in (f.question, *f.phrasings)]
    # A labelled question whose entry has since been removed (in the console) teaches nothing.
    docs += [(text, x.faq) for x, text in zip(knowledge.examples, messages) if x.faq in knowledge.faq_by_id]
    # Every entry equally likely: how often the golden sets ask one says little about residents.
    # (Bigrams and trigrams only would cost a third less, but answered 3–4 points fewer of the
    # FAQ sets' questions right.)
    return NaiveBayes(docs, prior_from=()) if docs else None


def train(knowledge: Knowledge, normalize: Normalizer) -> Opinions:
    """The models, over texts as ``normalize`` makes them (the form the classifier reads)."""
    examples = knowledge.examples
    messages = [normalize(x.text) for x in examples]
    intent_docs = [(text, x.intent) for x, text in zip(examples, messages) if x.intent in MODEL_INTENTS]
    # Grams in fewer than three messages left out of the two models every message reads: as
    # accurate on the golden files (each scored unseen), a third smaller, and faster to look up.
    intent = NaiveBayes(intent_docs, labels=MODEL_INTENTS, min_count=_MIN_COUNT) if intent_docs else None
    emergency = _emergency_model(knowledge, messages, normalize)
    faq = _faq_model(knowledge, messages, normalize)
    learnt = frozenset(x.faq for x in examples if x.faq in knowledge.faq_by_id)

    phrases = _phrases(knowledge, normalize)
    department_of = {m.id: m.department for m in knowledge.matters}
    by_phrases = NaiveBayes(phrases)
    labelled: list[tuple[str, str]] = []  # (text, matter id) of the labelled complaints and repairs
    for x, text in zip(examples, messages):
        if x.intent not in TICKET_INTENTS or not x.departments:
            continue
        allowed = [m for m in by_phrases.labels if department_of[m] in x.departments]
        if allowed:
            labelled.append((text, _silver(by_phrases, text, allowed)))
    if not labelled:
        return Opinions(intent, None, _Trained({}), emergency, faq, learnt, Panel(intent=intent))

    # Only departments with matters: a complaint goes to a department through one of its matters.
    routable = sorted(set(department_of.values()))
    duties = [(normalize(duty), d.code) for d in knowledge.departments if d.code in routable for duty in d.duties]
    department = NaiveBayes(
        [*((text, department_of[m]) for text, m in phrases), *duties, *((text, department_of[m]) for text, m in labelled)],
        labels=routable,
        prior_from=[department_of[m] for _, m in labelled],
        characters=False,  # as good on unseen files, and half the cost
        min_count=_MIN_COUNT,
    )

    def matter_model(code: str) -> NaiveBayes:
        docs = [(text, m) for text, m in (*phrases, *labelled) if department_of[m] == code]
        return NaiveBayes(docs, prior_from=[m for _, m in labelled if department_of[m] == code])

    by_department = _Trained({code: partial(matter_model, code) for code in routable})
    return Opinions(intent, department, by_department, emergency, faq, learnt, Panel(intent=intent, department=department))


class _Trained(Mapping[str, NaiveBayes]):
    """Models trained the first time they are asked for: a message rarely needs one (only when
    the department model moves it), and start-up need not wait for all seventeen."""

    def __init__(self, makers: dict[str, Callable[[], NaiveBayes]]) -> None:
        self._makers = makers
        self._models: dict[str, NaiveBayes] = {}

    def __getitem__(self, key: str) -> NaiveBayes:
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = self._makers[key]()
        return model

    def __iter__(self) -> Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)
