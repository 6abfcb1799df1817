"""Normalisation: scripts, legal forms, punctuation and name order."""

from workbench.screening.normalize import INITIAL, LEGAL, NAME, core, normalize, skeleton, tokenize


def test_hikvision_spellings_share_a_core():
    assert core("HIK-VISION") == core("Hikvision") == core("Hik Vision") == "hikvision"


def test_legal_forms_kept_as_low_weight_tokens():
    toks = tokenize("Huawei Technologies Co., Ltd.")
    assert [(t.text, t.kind) for t in toks] == [
        ("huawei", NAME), ("technology", "generic"), ("co", LEGAL), ("ltd", LEGAL)]
    assert normalize("Company Limited") == normalize("Co., Ltd.") == "co ltd"
    assert normalize("LIMITED LIABILITY COMPANY SKY FREIGHT") == "llc sky freight"
    assert normalize("Semiconductor Mfg Intl Corp") == "semiconductor manufacturing international corp"


def test_chinese_legal_forms_and_pinyin():
    assert normalize("华为技术有限公司") == normalize("Huawei Technologies Co., Ltd.")
    toks = tokenize("杭州海康威视数字技术股份有限公司")
    assert toks[0].text == "hangzhou" and toks[-1].kind == LEGAL


def test_cyrillic_and_diacritics_and_width():
    assert normalize("ООО «Ростех»") == "ooo rostekh"
    assert normalize("Müller GmbH & Co. KG") == "muller gmbh and co kg"
    assert normalize("Ｈｕａｗｅｉ") == "huawei"


def test_surname_given_order():
    assert normalize("AL-ZAWAHIRI, Ayman") == "ayman al zawahiri"
    assert normalize("ACHIM DEVELOPMENT, OOO") == "achim development ooo"  # not a person


def test_dotted_abbreviations_and_typo_in_legal_form():
    assert normalize("TNK Trading International S.A.") == "tnk trading international sa"
    assert normalize("EAST STAR COMPNY") == "east star co"


def test_skeleton_folds_transliteration_variants():
    assert skeleton("alexey") == skeleton("aleksei")
    assert skeleton("hikvision") != skeleton("hikvisor")


def test_spelt_out_numbers_titles_and_camel_case():
    assert normalize("Brigade Forty-Four") == normalize("Brigade 44") == "brigade 44"
    assert normalize("1st International Bank") == normalize("First International Bank")
    assert normalize("FridrichBuchenberg") == "fridrich buchenberg"
    assert normalize("McDonald") == "mcdonald"
    assert [t.kind for t in tokenize("Mr. Rami Makhlouf")][0] != NAME
    assert [t.kind for t in tokenize("V. Putin")][0] == INITIAL


def test_more_legal_forms():
    assert normalize("Siemens Aktiengesellschaft") == normalize("Siemens AG")
    assert normalize("Volkswagen Gesellschaft mit beschränkter Haftung") == normalize("Volkswagen GmbH")
    assert normalize("Societatea cu Răspundere Limitată PRO TRAFFIC") == normalize("SRL PRO TRAFFIC")
