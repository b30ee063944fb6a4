"""A group photo's framing: its members taken together, from the highest head top to the lowest feet.

The members are the subject and their companions (`guide.subject.split_others`):
people of similar size standing next to each other. Passers-by are left out.
The group's `Framing` has the same fields and units as one person's, so the
same profile statistics and guidance apply; the head ratio and tilt are the
members' medians (each person's own proportions and lean).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace

from guide.guidance import Guidance
from guide.measure import Framing, Landmarks, body_tilt, framing, orientation_of
from guide.parse import BodyParse
from guide.subject import pick_subject, split_others


@dataclass
class Group:
    """The members of a group photo (indices into `parse.people`, left to right) and their union.

    Members are numbered left to right (1-based) in the overlay and the advice,
    so a number stays with a place in the picture.
    """

    members: list[int]
    marks: Landmarks  # highest head top, lowest feet; "head"/"feet" cut or missing if anyone's is
    cut: dict[str, list[int]] = field(default_factory=dict)  # "head"/"feet" -> members whose part is cut
    passers_by: int = 0

    def who(self, part: str) -> str:
        """'person 2' / 'persons 1 and 3': whose `part` is cut, numbered as the overlay numbers them (1-based)."""
        numbers = [str(self.members.index(i) + 1) for i in self.cut.get(part, [])]
        if not numbers:
            return ""
        if len(numbers) == 1:
            return f"person {numbers[0]}"
        return f"persons {', '.join(numbers[:-1])} and {numbers[-1]}"


def find_group(
    parse: BodyParse,
    marks: list[Landmarks],
    subject: int | None = None,
    among: list[int] | None = None,
    children: bool = True,
) -> Group | None:
    """The group around `subject` (default: the parse's subject, else the likeliest person); None: nobody.

    With `children`, children beside the adults belong to the group (`guide.subject.is_companion`);
    without, only people of similar size do (calibrating single-person references). `among` (indices into `parse.people`) limits who is considered at all:
    people too small to count are neither members nor passers-by.
    """
    if subject is None:
        subject = parse.subject if parse.subject is not None else pick_subject(parse.people, parse.width, parse.height)
    if subject is None:
        return None
    considered = [parse.people[i] for i in (among if among is not None else range(len(parse.people)))]
    if parse.people[subject] not in considered:
        considered.append(parse.people[subject])
    companions, passers = split_others(considered, considered.index(parse.people[subject]), children)
    chosen = [considered[i].index for i in (considered.index(parse.people[subject]), *companions)]
    members = sorted(chosen, key=lambda i: parse.people[i].bbox[0] + parse.people[i].bbox[2])
    return Group(members, union_marks([marks[i] for i in members]), _cuts(members, marks), len(passers))


def _cuts(members: list[int], marks: list[Landmarks]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for part in ("head", "feet"):
        who = [i for i in members if part in marks[i].cut]
        if who:
            out[part] = who
    return out


def union_marks(members: list[Landmarks]) -> Landmarks:
    """One Landmarks for everyone: the highest head top and chin, the lowest feet; a part is cut or
    missing for the group when it is for anyone (the group's extent is then unknown)."""
    tops = [m.head_top for m in members if m.head_top is not None]
    chins = [m.chin for m in members if m.chin is not None]
    feet = [m.feet for m in members if m.feet is not None]
    cut = [p for p in ("head", "feet") if any(p in m.cut for m in members)]
    missing = [p for p in ("head", "feet") if p not in cut and any(p in m.missing for m in members)]
    return Landmarks(
        head_top=min(tops, key=lambda p: p[1]) if tops else None,
        chin=min(chins, key=lambda p: p[1]) if chins else None,
        feet=max(feet, key=lambda p: p[1]) if feet else None,
        cut=cut,
        missing=missing,
    )


def span_x(parse: BodyParse, members: list[int]) -> tuple[float, float]:
    """Leftmost and rightmost pixel edges of the members' boxes (image pixels)."""
    return min(parse.people[i].bbox[0] for i in members), max(parse.people[i].bbox[2] for i in members)


def group_framing(parse: BodyParse, group: Group, marks: list[Landmarks]) -> Framing:
    """The group's framing in the parse's frame (see the module docstring)."""
    w, h = parse.width, parse.height
    each = [framing(parse, i, marks[i]) for i in group.members]
    top = group.marks.head_top[1] if group.marks.head_top and "head" not in group.marks.cut else None
    feet = group.marks.feet[1] if group.marks.feet and "feet" not in group.marks.cut else None
    base = min(parse.people[i].score for i in group.members)
    conf: dict[str, float] = {}
    headroom = footroom = body_fill = None
    if top is not None:
        headroom, conf["headroom"] = top / h, base
    if feet is not None:
        footroom, conf["footroom"] = (h - feet) / h, base
    if top is not None and feet is not None and feet > top:
        body_fill, conf["body_fill"] = (feet - top) / h, base
    x0, x1 = span_x(parse, group.members)
    conf["center_x"] = base
    ratios = [f.head_ratio for f in each if f.head_ratio is not None]
    tilts = [t[0] for i in group.members if (t := body_tilt(parse.people[i].keypoints)) is not None]
    if ratios:
        conf["head_ratio"] = base
    if tilts:
        conf["tilt_deg"] = base
    return Framing(
        head_ratio=statistics.median(ratios) if ratios and body_fill is not None else None,
        body_fill=body_fill,
        headroom=headroom,
        footroom=footroom,
        center_x=(x0 + x1) / 2 / w,
        tilt_deg=statistics.median(tilts) if tilts else None,
        orientation=orientation_of(w, h),
        aspect_ratio=w / h,
        confidence=conf,
    )


def name_the_cut(guidance: Guidance, group: Group) -> Guidance:
    """The advice with whose head or feet are cut named: "Step back (feet cut: person 2)"."""
    if not group.cut:
        return guidance
    names = {part: group.who(part) for part in ("head", "feet")}
    both = "; ".join(f"{part} cut: {names[part]}" for part in ("head", "feet") if names[part])
    advice = []
    for a in guidance.advice:
        text = a.text.replace("head and feet cut", both)
        for part in ("head", "feet"):
            if names[part] and f"{part} cut: " not in text:
                text = text.replace(f"{part} cut", f"{part} cut: {names[part]}")
        advice.append(replace(a, text=text))
    return replace(guidance, advice=advice)
