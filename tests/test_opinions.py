"""The statistical second opinions: Naive Bayes itself, what it is trained on, and how the
understander weighs the department model against the rules' matter."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from bot.intents import Understander
from bot.intents.naive_bayes import NaiveBayes, features, prepare
from bot.intents.opinions import train


def _best(scores: dict[str, float]) -> str:
    return max(scores, key=scores.__getitem__)


def test_naive_bayes_learns_what_each_label_says() -> None:
    nb = NaiveBayes(
        [("楼道灯坏了", "repair"), ("路灯坏了没人修", "repair"), ("楼上往下扔垃圾", "complaint"), ("又往下扔东西", "complaint")],
        min_count=1,
    )
    assert _best(nb.scores("单元门口的灯坏了")) == "repair"
    assert _best(nb.scores("有人往下扔")) == "complaint"



@pytest.mark.parametrize("text", ["单元门口的灯坏了", "灯灯灯坏了坏了", "有人往下扔 $^ 灯", "", "好"])
def test_the_automaton_finds_every_known_gram(text: str) -> None:
    """The rows the automaton hands over are those of ``features`` that have one, an occurrence
    each (the marks, and "^" or "$" typed in a message, add none of their own)."""
    nb = NaiveBayes([("单元门口的灯坏了", "a"), ("灯坏了", "a"), ("往下扔", "b"), ("^$", "b")], min_count=1)
    wanted = sorted(filter(None, map(nb._packed.get, features(text))))  # type: ignore[attr-defined]
    assert sorted(nb._rows(prepare(text))) == wanted  # type: ignore[attr-defined]


@pytest.mark.parametrize("prior_from", [(), None], ids=["uniform", "by docs"])
def test_likeliest_ranks_as_the_scores_do(prior_from: tuple[str, ...] | None) -> None:
    """``likeliest`` (the packed fields alone, for equal priors) ranks labels as ``scores`` does,
    ties to the label listed first, and with no known gram gives the first labels."""
    docs = [("物业费不交会怎样", "a"), ("公共收益归谁", "b"), ("公共收益怎么公示", "c"), ("维修资金怎么用", "d"), ("维修资金谁交", "d")]
    nb = NaiveBayes(docs, prior_from=prior_from, min_count=1)
    for text in ("公共收益归谁啊", "维修资金", "收益公示", "物业费", "丙丁", "公共"):
        scores = nb.scores(text)
        ranked = sorted(nb.labels, key=lambda c: (-scores[c], nb.labels.index(c)))
        assert nb.likeliest(text, 2) == ranked[:2], text


def test_prior_counts_only_the_messages() -> None:
    """Phrase lists teach words, not how often a label comes up: with no known gram, the
    messages named in ``prior_from`` decide."""
    docs = [("甲甲", "x"), ("乙乙", "y"), ("乙乙乙", "y"), ("乙乙乙乙", "y")]
    plain = NaiveBayes(docs, min_count=1)
    assert _best(plain.scores("丙")) == "y"  # three docs of y against one of x
    messages = NaiveBayes(docs, prior_from=["x", "x", "x", "y"], min_count=1)
    assert _best(messages.scores("丙")) == "x"


def test_department_model_knows_only_routable_departments(understander: Understander) -> None:
    opinions = understander.opinions
    assert opinions.department is not None
    with_matters = {m.department for m in understander.knowledge.matters}
    assert set(opinions.department.labels) == with_matters
    assert set(opinions.matter_by_department) == with_matters
    for code, model in opinions.matter_by_department.items():
        assert {understander.knowledge.matter[m].department for m in model.labels} == {code}


def test_no_examples_no_opinions(understander: Understander) -> None:
    bare = train(understander.knowledge.model_copy(update={"examples": []}), understander.normalize)
    assert bare.intent is None and bare.department is None and bare.matter_by_department == {}


# -- how the department model is weighed ----------------------------------------------------

TWO_MATTERS = "小区门口天天乱停车 还有小商贩摆摊"  # stall_vending (urban_mgmt), parking_disorder (police)


def _forged(understander: Understander, best: str, ours: str, gap: float) -> dict[str, float]:
    """Department scores in which ``best`` leads the rules' department ``ours`` by ``gap`` and
    every other department by more."""
    labels = understander.opinions.department.labels  # type: ignore[union-attr]
    return {code: 0.0 if code == best else -gap if code == ours else -100.0 for code in labels}


@pytest.mark.parametrize(("gap", "routed"), [(25.0, True), (15.0, False)])
def test_a_clear_gap_takes_the_rules_other_candidate(understander: Understander, gap: float, routed: bool) -> None:
    u, ctx = understander.rules(TWO_MATTERS)
    assert ctx is not None and u.matter == "stall_vending" and u.department == "urban_mgmt"
    assert "parking_disorder" in [c.matter for c in u.candidates]
    got = understander._route(u, ctx, _forged(understander, "police", "urban_mgmt", gap))
    if routed:
        assert (got.matter, got.department) == ("parking_disorder", "police")
        assert "police" not in got.also
    else:
        assert got == u


def test_a_department_the_rules_did_not_consider_gets_its_likeliest_matter(understander: Understander) -> None:
    u, ctx = understander.rules("楼道扶手松了 晃得厉害")
    assert ctx is not None and u.department and u.department != "health"
    assert "health" not in {c.department for c in u.candidates}
    got = understander._route(u, ctx, _forged(understander, "health", u.department, 30.0))
    assert got.department == "health"
    assert understander.knowledge.matter[got.matter].department == "health"  # type: ignore[index]


def test_the_matter_and_department_stay_together(understander: Understander) -> None:
    """Whatever the model says, a complaint's department is its matter's (or, for equipment
    reported broken, the property company's repair)."""
    for text in ["物业收电动车充电费 还没有收费公示", "保洁把树叶垃圾在小区里点了烧", "楼道扶手松了 晃得厉害", TWO_MATTERS]:
        u = understander.understand(text)
        if u.intent in ("complaint", "repair") and u.matter:
            matter = understander.knowledge.matter[u.matter]
            assert u.department in (matter.department, "property_company"), (text, u.matter, u.department)


def test_a_report_the_rules_missed_gets_options_not_a_ticket(understander: Understander) -> None:
    """No phrase of any matter, but the intent model hears a repair: the department model's
    likeliest departments are offered as numbered options (confidence below the gate)."""
    u, ctx = understander.rules("大门的道闸杆子抬不起来了 车都堵在外头")
    assert ctx is not None and u.matter is None and u.intent == "other"
    got = understander.understand("大门的道闸杆子抬不起来了 车都堵在外头")
    assert got.intent == "repair"
    assert got.department == understander.knowledge.matter[got.matter].department  # type: ignore[index]
    assert got.confidence < understander.gates.confidence
    assert [c.matter for c in got.candidates][0] == got.matter and len(got.candidates) == 3
    assert len({c.department for c in got.candidates}) == 3  # one matter from each likeliest department


@pytest.mark.parametrize(("lead", "filled"), [(8.0, True), (3.0, False)])
def test_filling_needs_a_clear_department(understander: Understander, lead: float, filled: bool) -> None:
    u, ctx = understander.rules("大门的道闸杆子抬不起来了 车都堵在外头")
    assert ctx is not None and ctx.matter is None
    u = dataclasses.replace(u, intent="repair")
    labels = understander.opinions.department.labels  # type: ignore[union-attr]
    scores = {code: -50.0 for code in labels} | {"property_company": 0.0, "urban_mgmt": -lead}
    got = understander._route(u, ctx, scores)
    if filled:
        assert got.department == "property_company" and got.matter is not None
        assert [c.department for c in got.candidates][:2] == ["property_company", "urban_mgmt"]
    else:
        assert got == u and ctx.matter is None


# -- emergencies the rules have no phrase for ----------------------------------------------------


def _intent_scores(understander: Understander, emergency_lead: float) -> dict[str, float]:
    labels = understander.opinions.intent.labels  # type: ignore[union-attr]
    return {label: -100.0 for label in labels} | {"complaint": 0.0, "emergency": emergency_lead}


@pytest.mark.parametrize(("lead", "called"), [(8.0, True), (3.0, False)])
def test_the_model_may_call_an_emergency_where_the_rules_saw_no_sign(
    understander: Understander, lead: float, called: bool
) -> None:
    text = "对门那家男的拎着菜刀在楼道里追他媳妇"
    u, ctx = understander.rules(text)
    assert ctx is not None and ctx.unmarked and u.intent != "emergency"
    got = understander._combine(u, ctx, _intent_scores(understander, lead))
    if called:
        assert got.intent == "emergency" and got.emergency is not None
        assert got.department == understander._emergencies[got.emergency].department
    else:
        assert got.intent == u.intent


def test_the_model_never_overrules_a_denial(understander: Understander) -> None:
    """An emergency the rules ruled out by a denial or by words that settle it stays ruled out,
    however sure the model is."""
    for text in ["2号楼电梯停了 里面没人 显示故障", "电梯按钮没反应 人都在外头 没困住"]:
        u, ctx = understander.rules(text)
        assert ctx is not None, text
        assert understander._combine(u, ctx, _intent_scores(understander, 500.0)).intent != "emergency", text


@pytest.mark.parametrize(("lead", "called"), [(40.0, False), (50.0, True)])
def test_a_time_gone_by_needs_a_wide_lead(understander: Understander, lead: float, called: bool) -> None:
    """A phrase said with a time gone by ("上次") is called back only by a lead wider than any
    past event's in the golden files and training batches (emergency_gap)."""
    u, ctx = understander.rules("上次楼道着火那事后来怎么处理的")
    assert ctx is not None and ctx.suspect == "fire" and ctx.past
    assert 40.0 < understander.blend.emergency_gap < 50.0  # the message is short: the gap is not scaled
    assert (understander._combine(u, ctx, _intent_scores(understander, lead)).intent == "emergency") is called


def test_another_emergencys_negative_words_do_not_silence_the_model(understander: Understander) -> None:
    """"电梯" rules out a person locked in a car or room, not one trapped in a lift: where no
    emergency phrase was found, the model may still call the lift."""
    u, ctx = understander.rules("里头有个娃娃 电梯门一关就不动了 娃一直哭")
    assert ctx is not None and ctx.unmarked and "locked_in" in ctx.ruled_out
    got = understander._combine(u, ctx, _intent_scores(understander, 50.0))
    assert got.intent == "emergency" and got.emergency == "elevator_trapped"


def test_a_place_says_where_not_what(understander: Understander) -> None:
    """The model's lead for an emergency must come from what the message says beside its place:
    号楼 and 单元 are in many emergencies ("3号楼着火了"), a bare address is none."""
    u, ctx = understander.rules("锦绣城8栋3单元")
    assert ctx is not None and ctx.unmarked
    assert understander._combine(u, ctx, _intent_scores(understander, 50.0)).intent != "emergency"


def test_a_greeting_is_no_call_for_help(understander: Understander) -> None:
    u, ctx = understander.rules("在不在")
    assert ctx is not None and not ctx.unmarked
    # but a polite greeting before an account of something happening leaves the model its say
    _, polite = understander.rules("您好 打扰一下 我们楼道那边一直有人在哭喊 听着像是出事了")
    assert polite is not None and polite.unmarked
    assert understander._combine(u, ctx, _intent_scores(understander, 50.0)).intent != "emergency"


def test_the_emergency_model_tells_the_kinds_apart(understander: Understander) -> None:
    model = understander.opinions.emergency
    assert model is not None and set(model.labels) <= {e.id for e in understander.knowledge.emergencies}
    for text, kind in [("老人在楼下晕过去了 叫不醒", "injury"), ("两伙人在小区门口动手 拿着棍子", "violence"), ("厨房一股煤气味", "gas_leak")]:
        assert _best(model.scores(understander.normalize(text))) == kind, text


@pytest.mark.parametrize(("lead", "called"), [(20.0, True), (10.0, False)])
def test_a_phrase_ruled_out_only_by_topic_words_needs_a_wider_margin(
    understander: Understander, lead: float, called: bool
) -> None:
    """"烟道" rules a fire out (kitchen fumes), but not a flue throwing sparks when the model is sure."""
    u, ctx = understander.rules("楼下饭店烟道冒火星子 火苗子直往上蹿 我们三楼窗户玻璃都烤烫了")
    assert ctx is not None and u.intent != "emergency" and ctx.contested == "fire" and not ctx.unmarked
    got = understander._combine(u, ctx, _intent_scores(understander, lead))
    assert (got.intent == "emergency") is called


@pytest.mark.parametrize(("lead", "called"), [(20.0, True), (10.0, False)])
def test_the_models_kind_ruled_out_by_topic_words_needs_a_wider_margin(
    understander: Understander, lead: float, called: bool
) -> None:
    """No emergency phrase, and the model's kind is one that only its topic words (烟道) rule out:
    it is called as a contested phrase would be, on a wider margin, where the writer cries for
    help (赶紧来); else the topic words win ("院子里熏腊肉 烟大得")."""
    u, ctx = understander.rules("一楼麻辣烫店后厨烟道里面着了 楼上住户还不晓得 赶紧来")
    assert ctx is not None and ctx.unmarked and "fire" in ctx.ruled_out and "fire" not in ctx.settled
    got = understander._combine(u, ctx, _intent_scores(understander, lead))
    assert (got.intent == "emergency") is called
    if called:
        assert got.emergency == "fire"
    u, ctx = understander.rules("三号楼一楼在院子里熏腊肉 烟大得 整栋楼都是味")
    assert ctx is not None and ctx.unmarked and "fire" in ctx.ruled_out
    assert understander._combine(u, ctx, _intent_scores(understander, lead)).intent != "emergency"


def test_a_long_complaints_emergency_clause_is_read_on_its_own(understander: Understander) -> None:
    """A long message that does not cry for help: the rules leave its smoke to the model, which
    reads the clause that tells it and the next, not the complaint around them."""
    text = (
        "物业费的事我们家早就反映过 一直没个说法 停车位也乱收钱 保安天天在岗亭里玩手机 "
        "垃圾也好几天没人收 三单元楼道里全是烟 呛得睁不开眼 也不知道是哪家的 我们都跑到楼下了"
    )
    u, ctx = understander.rules(text)
    assert ctx is not None and u.intent != "emergency" and ctx.suspect == "fire"
    assert ctx.told == "3单元楼道里全是烟 呛得睁不开眼"
    got = understander._combine(u, ctx, _intent_scores(understander, -50.0))  # the whole: a complaint
    assert (got.intent, got.emergency) == ("emergency", "fire")
    # a time gone by leaves nothing for the clause to tell
    _, past = understander.rules(text.replace("早就", "去年"))
    assert past is not None and past.told is None


@pytest.mark.parametrize(
    ("text", "called"),
    [
        ("整个小区停电 快三个钟头了", False),  # a matter by a strong phrase, nobody urges: the margin is wider
        ("有个小娃陷到井里 井盖没了 拉不上来 快叫人来", True),  # a matter too (井盖), but urged
    ],
)
def test_a_matter_the_rules_found_asks_the_model_for_more_unless_urged(
    understander: Understander, text: str, called: bool
) -> None:
    u, ctx = understander.rules(text)
    assert ctx is not None and ctx.unmarked and u.candidates and u.candidates[0].score >= 1.0
    got = understander._combine(u, ctx, _intent_scores(understander, 8.0))
    assert (got.intent == "emergency") is called


def test_packed_sums_hold_any_length(understander: Understander) -> None:
    """Rows are summed as packed integers; past what one sum can hold they are summed in parts,
    with the same scores as one sum (to the packing's rounding)."""
    model = understander.opinions.intent
    assert model is not None
    text = understander.normalize("楼上天天往下扔垃圾 物业也不管 " * 20)
    whole = model.scores(text)
    model_in_parts = copy.copy(model)
    model_in_parts._max_grams = 7  # type: ignore[attr-defined]
    parts = model_in_parts.scores(text)
    assert whole.keys() == parts.keys()
    assert all(abs(whole[k] - parts[k]) < 1e-6 for k in whole)
    assert _best(whole) == "complaint"


@pytest.mark.parametrize(
    "text",
    ["单元门口的灯坏了", "楼上天天往下扔垃圾 物业也不管？", "", "好", "楼上天天往下扔垃圾 物业也不管 " * 20],
)
def test_panel_reads_as_each_model(understander: Understander, text: str) -> None:
    """The shared automaton (the models' rows side by side) gives each model the scores its own
    rows give, also when a long message is summed in parts."""
    opinions = understander.opinions
    in_parts = copy.copy(opinions.panel)
    in_parts._step = 7  # type: ignore[attr-defined]
    normalized = understander.normalize(text)
    for panel in (opinions.panel, in_parts):
        sums = panel.read(prepare(normalized))
        for name, model in (("intent", opinions.intent), ("department", opinions.department)):
            assert model is not None
            own, shared = model.scores(normalized), panel.scores(name, sums)
            assert own.keys() == shared.keys()
            assert all(abs(own[k] - shared[k]) < 1e-6 for k in own), name
