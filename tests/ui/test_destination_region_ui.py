"""The shipment form offers the Part 746 regions of Ukraine by name."""

from __future__ import annotations

from ui.kit.widgets import CountryCombo


def test_region_choices_read_as_words_and_give_the_region_code(qtbot) -> None:
    combo = CountryCombo(regions=True)
    qtbot.addWidget(combo)
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert "Ukraine: Crimea (UA-43)" in labels
    combo.setEditText("Ukraine: Donetsk region (UA-14)")
    assert combo.value() == "UA-14"
    combo.set_value("UA-40")
    assert combo.currentText() == "Ukraine: Sevastopol (UA-40)"
    plain = CountryCombo()
    qtbot.addWidget(plain)
    assert not any("UA-43" in plain.itemText(i) for i in range(plain.count()))
