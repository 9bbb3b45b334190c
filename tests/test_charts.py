"""The server-drawn SVG charts: well-formed, named and described, one mark per value, axes with round
ticks, labels that never touch, and nothing the Content-Security-Policy would refuse."""

import xml.etree.ElementTree as ET

from lobby.charts import (
    Series,
    bars,
    columns,
    fit,
    label_step,
    lines,
    number,
    text_width,
    ticks,
)

NS = {"svg": "http://www.w3.org/2000/svg"}
DAYS = ["Feb 25", "26", "27", "28", "Mar 1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]


def parse(markup):
    return ET.fromstring(str(markup))


def classes(element):
    return element.get("class", "").split()


def marks(svg, kind):
    return [e for e in svg.iter() if kind in classes(e) and "mark" in classes(e)]


def texts(svg, cls):
    return [e for e in svg.iter(f"{{{NS['svg']}}}text") if cls in classes(e)]


def test_round_ticks():
    assert ticks(8) == [0, 2, 4, 6, 8]
    assert ticks(9) == [0, 5, 10]
    assert ticks(46) == [0, 20, 40, 60]
    assert ticks(3) == [0, 1, 2, 3]
    assert ticks(0) == [0, 1] and ticks(None) == [0, 1]
    assert ticks(12.5, percent=True) == [0, 25, 50, 75, 100]


def test_numbers_and_text_widths():
    assert number(57.1, True) == "57.1%" and number(50.0, True) == "50%" and number(None) == "—" and number(7) == "7"
    assert text_width("王芳") == 24 and 20 < text_width("Amy") < 24
    assert fit("A partner store far away", 60).endswith("…") and text_width(fit("A partner store far away", 60)) <= 60
    assert fit("Amy", 60) == "Amy"


def test_label_step_thins_only_when_labels_would_touch():
    assert label_step([30] * 14, 43) == 1
    assert label_step([40] * 14, 43) == 2
    assert label_step([60] * 53, 11) == 6


def test_a_column_chart():
    seen = [7, 7, 7, 8, 8, 7, 7, 7, 7, 7, 8, 8, 7, 7]
    deals = [4, 2, 4, 3, 5, 2, 4, 2, 4, 2, 5, 3, 4, 2]
    svg = parse(columns("c1", DAYS, [Series("Seen", seen, "tone-soft"), Series("Deals", deals)],
                        title="Seen & deals", desc="Two weeks <of> figures"))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-title c1-desc"
    assert (svg.get("width"), svg.get("height"), svg.get("viewBox")) == ("640", "260", "0 0 640 260")
    assert svg.find("svg:title", NS).text == "Seen & deals"
    assert svg.find("svg:desc", NS).text == "Two weeks <of> figures"
    columns_drawn = marks(svg, "column")
    assert len(columns_drawn) == 28
    assert [classes(c)[-1] for c in columns_drawn[:2]] == ["tone-soft", "tone-soft"]
    assert columns_drawn[14].find("svg:title", NS).text == "Feb 25 · Deals: 4"
    assert [t.text for t in texts(svg, "tick") if t.get("text-anchor") == "middle"] == DAYS  # every day named
    assert [t.text for t in texts(svg, "tick") if t.get("text-anchor") == "end"] == ["0", "2", "4", "6", "8"]
    assert [t.text for t in texts(svg, "legend")] == ["Seen", "Deals"]
    # Taller for more: a column of 8 is twice one of 4, from the same baseline.
    heights = {float(c.get("height")) for c, v in zip(columns_drawn[14:], deals, strict=True) if v == 4}
    (four,) = heights
    eight = float(columns_drawn[3].get("height"))
    assert abs(eight - 2 * four) < 0.2
    assert all("style" not in e.attrib for e in svg.iter())  # the CSP allows no inline style


def test_a_line_chart_breaks_where_nobody_was_seen():
    rates = [57.1, None, 28.6, 62.5]
    svg = parse(lines("l1", ["Mar 1", "2", "3", "4"], [Series("Conversion", rates)], title="t", desc="d"))
    assert len(marks(svg, "point")) == 3
    (trace,) = [e for e in svg.iter() if "trace" in classes(e)]
    assert trace.get("d").count("M") == 2 and trace.get("d").count("L") == 1
    assert [t.text for t in texts(svg, "value")] == ["57.1%", "28.6%", "62.5%"]
    assert [t.text for t in texts(svg, "tick") if t.get("text-anchor") == "end"] == ["0%", "25%", "50%", "75%",
                                                                                     "100%"]


def test_several_lines_have_a_legend_and_no_values():
    series = [Series(name, [10.0 * i, 20.0 * i, None]) for i, name in enumerate(["Amy", "Bea", "Cai", "Dan"], 1)]
    svg = parse(lines("l2", ["a", "b", "c"], series, title="t", desc="d"))
    assert len(marks(svg, "point")) == 8 and not texts(svg, "value")
    assert [t.text for t in texts(svg, "legend")] == ["Amy", "Bea", "Cai", "Dan"]
    assert len({classes(p)[-1] for p in marks(svg, "point")}) == 4


def test_day_labels_are_thinned_rather_than_overlapping():
    labels = [f"Jan {d}" for d in range(1, 32)]
    svg = parse(columns("c2", labels, [Series("Seen", list(range(31)))], title="t", desc="d"))
    shown = [t for t in texts(svg, "tick") if t.get("text-anchor") == "middle"]
    assert 1 < len(shown) < 31
    for a, b in zip(shown, shown[1:]):
        room = float(b.get("x")) - float(a.get("x"))
        assert room >= (text_width(a.text, 11) + text_width(b.text, 11)) / 2 + 8


def test_horizontal_bars_with_notes_and_long_names():
    names = ["Amy", "A partner store with a very long name indeed", "王芳"]
    svg = parse(bars("b1", names, [Series("Conversion", [75.0, None, 22.2])], percent=True,
                     notes=["21 of 28", "0 of 0", "4 of 18"], title="t", desc="d"))
    assert len(marks(svg, "hbar")) == 2  # nobody seen: no bar, still a row and a note
    labels = [t.text for t in texts(svg, "label")]
    assert labels[0] == "Amy" and labels[1].endswith("…") and labels[2] == "王芳"
    assert [t.text for t in texts(svg, "note")] == ["21 of 28", "0 of 0", "4 of 18"]
    width = float(svg.get("width"))
    for note in texts(svg, "note"):
        assert float(note.get("x")) + text_width(note.text, 11) <= width
    amy, wang = (float(b.get("width")) for b in marks(svg, "hbar"))
    assert abs(amy / wang - 75 / 22.2) < 0.01


def test_grouped_bars_for_partner_stores():
    svg = parse(bars("b2", ["A-class store", "Ordinary store"], [Series("Visitors", [14, 14], "tone-soft"),
                                                                  Series("Deals", [7, 0])],
                     notes=["50%", "0%"], title="t", desc="d"))
    drawn = marks(svg, "hbar")
    assert len(drawn) == 4
    assert abs(float(drawn[0].get("width")) - 2 * float(drawn[1].get("width"))) < 0.2
    assert float(drawn[3].get("width")) == 0
    assert [t.text for t in texts(svg, "legend")] == ["Visitors", "Deals"]
