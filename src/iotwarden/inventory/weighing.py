"""How knowledge-base evidence is weighed into a conclusion (model.Device.classification): matches grouped by
source, a value's support the noisy-or of its groups, a vendor's confidence its share under Dempster's rule, a
type drawing on its ancestors and a category on its types, the two agreeing; pure functions, for
inventory/classifier.py.
"""

# How evidence is weighed, per classified property (CLASSIFIED_FIELDS):
# * every kb match (kb.match_device over Device.attributes, plus the IEEE registry vendor of a
#   globally administered MAC) proposes values for some properties with a weight in 0..1;
# * matches are grouped by source: one rule counts once however many values or attributes it
#   matched (a cloud name seen in DNS and in TLS SNI is one fact), everything derived from the
#   MAC address is one source, and so is everything read from the device's HTTP User-Agents (text
#   its clients chose, RFC 9110 §10.1.5); a group is worth its strongest match;
# * a value's support is the noisy-or of its groups, 1 - prod(1 - w): independent sources that
#   agree reinforce each other, none alone exceeds its own weight;
# * a device type also draws on the evidence for its ancestors in the taxonomy, and a category on
#   the evidence for every type of that category plus the direct category rules;
# * the best supported value is concluded when its support reaches MIN_CONFIDENCE; below, the
#   property stays unknown (never guessed). Evidence for the other values is kept, marked;
# * component evidence (the MAC registry, and rules recognising an embedded module such as an
#   ESP32: device_type iot_module) names the maker of a part; a value backed by evidence about the
#   product itself wins over it whenever that value reaches the threshold on its own: a vendor, and a
#   device type over the kind a maker's block says (a Roku TV's host name over Roku's block of players);
# * a device type the product states with its model (a rule concluding both: 'AXIS,Network Door
#   Controller,A1001') and that reaches the threshold on such evidence wins over a type only model-less
#   evidence supports, however many such sources agree: a maker's kind-wide signs (an Axis realm, host
#   name, _axis-video) say what most of its products are, the product naming itself says what this one is;
#   but not over a rival type one model-less source alone states more strongly than the model statement
#   (a Mac sharing a printer: the shared queue's Bonjour 'ty=' 0.6 is no match for model=MacBookPro 0.8);
# * conflicting vendor evidence lowers the confidence of the value concluded, never which value
#   it is: the confidence is the value's share under Dempster's rule of combination of the
#   supports of the values product evidence names (simple support functions, Shafer 1976 ch. 4):
#   odds / (1 + sum of their odds), the support itself when nothing conflicts. Below the threshold
#   the vendor stays unknown (a phone reaching many vendors' clouds is none of them).

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from iotwarden.kb.index import Match
from iotwarden.kb.taxonomy import Taxonomy
from iotwarden.model.device import Conclusion

MIN_CONFIDENCE = 0.5  # support a value needs to be concluded; below, the property stays unknown
MAX_EVIDENCE_PER_CONCLUSION = 32  # matches kept with one conclusion (strongest first)
COMPONENT_TYPES = frozenset({"iot_module"})  # device types that describe a part, not the product
MAX_SUPPORT_ODDS = 0.99  # supports are capped here before they become odds (a weight of 1 is not certainty)
USER_AGENT = "http.user_agent"  # the attribute of client-chosen text whose matches are one source (see source)


def source(match: Match) -> str:
    """The independent source a match belongs to: its rule, the MAC address for MAC evidence, the User-Agent for
    User-Agent evidence (text the client chose: the rules reading it, 'Windows NT' and a desktop browser's form in
    one string, are one statement, not two that agree)."""
    if match.attribute.startswith("mac."):
        return "mac"
    return USER_AGENT if match.attribute == USER_AGENT else match.rule_id


def is_component(match: Match) -> bool:
    return match.attribute.startswith("mac.") or match.conclusions.get("device_type") in COMPONENT_TYPES


def noisy_or(weights: Iterable[float]) -> float:
    miss = 1.0
    for w in weights:
        miss *= 1.0 - min(max(w, 0.0), 1.0)
    return 1.0 - miss


def share(value: str, support: dict[str, float]) -> float:
    """Dempster's combination of simple support functions, one per value: the mass left on ``value``."""
    odds = {v: min(s, MAX_SUPPORT_ODDS) / (1.0 - min(s, MAX_SUPPORT_ODDS)) for v, s in support.items()}
    return odds[value] / (1.0 + sum(odds.values())) if len(odds) > 1 else support[value]


def evidence_item(match: Match, prop: str, agrees: bool) -> dict[str, Any]:
    out = {"rule_id": match.rule_id, "attribute": match.attribute, "value": match.value,
           "concludes": match.conclusions.get(prop), "weight": match.weight,
           "reference": match.reference, "agrees": agrees}
    if match.behaviour:  # what the device did, not what it is (kb/schema.py BEHAVIOURS)
        out["behaviour"] = match.behaviour
    return out


def by_source(prop: str, matches: list[Match]) -> dict[str, dict[str, float]]:
    """value -> source group -> strongest weight, for the matches concluding ``prop``."""
    groups: dict[str, dict[str, float]] = defaultdict(dict)
    for m in matches:
        value = m.conclusions.get(prop)
        if value:
            g = groups[value]
            g[source(m)] = max(g.get(source(m), 0.0), m.weight)
    return groups


def support_of(prop: str, matches: list[Match]) -> dict[str, float]:
    return {v: noisy_or(g.values()) for v, g in by_source(prop, matches).items()}


def conclude(min_confidence: float, prop: str, support: dict[str, float], matches: list[Match],
             agreeing: frozenset[str] = frozenset(), *, discount: bool = False) -> Conclusion | None:
    """The best supported value of ``prop`` when it reaches the threshold, with its evidence.

    Ties go to the value with more distinct sources, then to the one not resting on the MAC
    registry alone (it names who bought the address block, a module maker for many devices).
    With ``discount``, the confidence is the value's share of the combined support of every
    value (evidence for other values lowers it; see the notes at the top of this module).
    """
    if not support:
        return None

    product = {m.conclusions.get(prop) for m in matches if not is_component(m)}

    def rank(value: str) -> tuple[bool, float, int, str]:
        groups = by_source(prop, matches).get(value, {})
        strong = value in product and support[value] >= min_confidence
        return (strong, round(support[value], 9), len(groups), value)

    best = max(support, key=rank)
    if support[best] < min_confidence:
        return None
    accept = {best} | agreeing
    evidence = [evidence_item(m, prop, m.conclusions[prop] in accept) for m in matches if m.conclusions.get(prop)]
    evidence.sort(key=lambda e: (not e["agrees"], -e["weight"], e["rule_id"], e["value"]))
    confidence = support[best]
    if discount:  # rivals are the other values named by product evidence, not other parts' makers
        confidence = share(best, {v: w for v, w in support.items() if v == best or v in product})
        if confidence < min_confidence:
            return None
    return Conclusion(best, confidence, evidence[:MAX_EVIDENCE_PER_CONCLUSION])


def device_type(taxonomy: Taxonomy, min_confidence: float, matches: list[Match]) -> Conclusion | None:
    """Types gather the evidence for their ancestors. A type the product states with its model up to the
    threshold wins over types only model-less evidence supports (an Axis door controller's product type over
    Axis's camera-wide realm, host name and _axis-video), unless one such source alone states a rival more
    strongly than the model statement does (a Mac's model=MacBookPro over the 'ty=' of a printer it shares);
    a type the product's own evidence (no MAC block's kind, no part's) supports up to the threshold wins over
    one a block's kind carries there (a Roku TV's host name on Roku's block of players), and between two such
    types the product's evidence decides; then ties go to the most specific type."""
    direct = by_source("device_type", matches)
    product = by_source("device_type", [m for m in matches if not is_component(m)])
    named = by_source("device_type", [m for m in matches if not is_component(m) and m.conclusions.get("model")])
    # the strongest single model-less product source naming each type itself (no ancestors): a rival
    # stated this strongly is no mere lean, and a weaker model statement does not override it
    lean = {t: max(g.values()) for t, g in
            by_source("device_type", [m for m in matches if not is_component(m)
                                      and not m.conclusions.get("model")]).items()}
    support: dict[str, float] = {}
    own: dict[str, float] = {}
    model: dict[str, float] = {}
    depth: dict[str, int] = {}
    for tid in direct:
        if taxonomy.get(tid) is None:
            continue
        chain = taxonomy.ancestors(tid)
        merged: dict[str, float] = {}
        stated: dict[str, float] = {}
        with_model: dict[str, float] = {}
        for t in (tid, *chain):
            for group, w in direct.get(t, {}).items():
                merged[group] = max(merged.get(group, 0.0), w)
            for group, w in product.get(t, {}).items():
                stated[group] = max(stated.get(group, 0.0), w)
            for group, w in named.get(t, {}).items():
                with_model[group] = max(with_model.get(group, 0.0), w)
        support[tid] = noisy_or(merged.values())
        own[tid] = noisy_or(stated.values())
        model[tid] = noisy_or(with_model.values())
        depth[tid] = len(chain)
    if not support:
        return None

    def named_first(t: str) -> bool:
        if model[t] < min_confidence:
            return False
        related = {t, *taxonomy.ancestors(t)}
        return all(model[t] >= w for u, w in lean.items()
                   if u not in related and t not in taxonomy.ancestors(u) and taxonomy.get(u) is not None)

    def rank(t: str) -> tuple[bool, bool, bool, float, float, int, str]:
        stated = own[t] >= min_confidence  # between two such types the product's evidence decides, not a block
        return (t not in COMPONENT_TYPES and support[t] >= min_confidence, named_first(t), stated,
                round(own[t] if stated else support[t], 9), round(support[t], 9), depth[t], t)

    best = max(support, key=rank)
    if support[best] < min_confidence:
        return None
    return conclude(min_confidence, "device_type", {best: support[best]}, matches,
                    frozenset(taxonomy.ancestors(best)))


def stated_support(taxonomy: Taxonomy, type_id: str, matches: list[Match]) -> float:
    """The support the product's own evidence (no MAC block's kind, no part's) gives ``type_id`` and its ancestors."""
    related = {type_id, *taxonomy.ancestors(type_id)}
    groups = by_source("device_type", [m for m in matches if not is_component(m)
                                       and m.conclusions.get("device_type") in related])
    best: dict[str, float] = {}
    for g in groups.values():
        for group, w in g.items():
            best[group] = max(best.get(group, 0.0), w)
    return noisy_or(best.values())


def category(taxonomy: Taxonomy, min_confidence: float, matches: list[Match],
             prefer: str | None = None, *, stated_type: bool = False) -> Conclusion | None:
    """A category draws on direct category rules and on every type evidence of that category. As for a vendor
    and a type, a category the product's own evidence (no MAC block's kind, no part's) supports up to the
    threshold wins over one only component evidence carries there (a camera maker's block under a host its own
    DHCP client says runs Windows). Among those, ``prefer`` (the concluded type's category) wins when the product's
    own evidence states the type (``stated_type``: the type says what the device is, an Axis door controller
    naming itself among Axis's camera-wide signs), else the better supported one; between equals ``prefer``, then
    more sources."""
    groups: dict[str, dict[str, float]] = defaultdict(dict)
    stated: dict[str, dict[str, float]] = defaultdict(dict)
    for m in matches:
        cats = set()
        if m.conclusions.get("category"):
            cats.add(m.conclusions["category"])
        tid = m.conclusions.get("device_type")
        if tid and taxonomy.get(tid) is not None:
            cats.add(taxonomy.category_of(tid))
        for cat in cats:
            for table in (groups, stated) if not is_component(m) else (groups,):
                g = table[cat]
                g[source(m)] = max(g.get(source(m), 0.0), m.weight)
    support = {c: noisy_or(g.values()) for c, g in groups.items()}
    if not support:
        return None

    def rank(c: str) -> tuple[bool, bool, float, bool, int, str]:
        return (noisy_or(stated[c].values()) >= min_confidence, stated_type and c == prefer, round(support[c], 9),
                c == prefer, len(groups[c]), c)

    best = max(support, key=rank)
    if support[best] < min_confidence:
        return None
    evidence = []
    for m in matches:
        tid = m.conclusions.get("device_type")
        concluded = m.conclusions.get("category") or (
            taxonomy.category_of(tid) if tid and taxonomy.get(tid) is not None else None)
        if concluded is None:
            continue
        item = evidence_item(m, "category", concluded == best)
        item["concludes"] = concluded
        evidence.append(item)
    evidence.sort(key=lambda e: (not e["agrees"], -e["weight"], e["rule_id"], e["value"]))
    return Conclusion(best, support[best], evidence[:MAX_EVIDENCE_PER_CONCLUSION])


def kind(taxonomy: Taxonomy, min_confidence: float,
         matches: list[Match]) -> tuple[Conclusion | None, Conclusion | None]:
    """The device type and the category, which agree with the taxonomy (each type has its category). The category
    follows a type the product's own evidence states (stated_support up to the threshold); a type only a maker's
    block or a part carries there yields to a category the device's own evidence states (category: a camera maker's
    block under a host its own DHCP client says runs Windows is no camera, a printer maker's block answering DNP3 no
    printer), and the best type of that category, if one reaches the threshold, is concluded instead. With no
    category reaching the threshold the category follows the type."""
    dtype = device_type(taxonomy, min_confidence, matches)
    typed = taxonomy.category_of(dtype.value) if dtype is not None and taxonomy.get(dtype.value) else None
    stated = dtype is not None and stated_support(taxonomy, dtype.value, matches) >= min_confidence
    found = category(taxonomy, min_confidence, matches, typed, stated_type=stated)
    if found is None:
        if dtype is None or typed is None:
            return dtype, None
        return dtype, Conclusion(typed, dtype.confidence, dtype.evidence)
    if typed is not None and typed != found.value:  # the type yields to its category's rival
        rest = [m for m in matches if not _types_other(taxonomy, m, found.value)]
        dtype = device_type(taxonomy, min_confidence, rest)
    return dtype, found


def _types_other(taxonomy: Taxonomy, match: Match, category_id: str) -> bool:
    """Whether ``match`` concludes a device type of another category than ``category_id``."""
    tid = match.conclusions.get("device_type")
    return tid is not None and taxonomy.get(tid) is not None and taxonomy.category_of(tid) != category_id
