from shared.detection.text import fold, jaccard, normalise, object_info
from shared.portal.simulator.dataset import CLASSES


def test_it_strips_accents_case_punctuation_numbers_and_stop_words() -> None:
    assert normalise("Aquisição de MATERIAL de expediente, conforme Termo de Referência nº 12/2024") == [
        "aquisicao", "material", "expediente"]


def test_it_gives_the_same_tokens_to_accent_and_case_variants() -> None:
    a = object_info("Reforma e adequação do edifício sede")
    b = object_info("REFORMA E ADEQUACAO DO EDIFICIO SEDE")
    assert a.tokens == b.tokens and a.object_class == b.object_class == "reforma"
    assert a.renovation and a.works


def test_it_classifies_every_simulator_template_into_its_class() -> None:
    for name, (templates, *_rest) in CLASSES.items():
        for text in templates:
            assert object_info(text).object_class == name, text


def test_it_puts_unmatched_text_in_a_deterministic_fallback_group() -> None:
    assert object_info("Aquisição de pneus radiais").object_class == "outros:aquisicao:pneus"
    assert object_info(None).object_class is None and object_info("de para").object_class is None


def test_it_computes_token_set_jaccard() -> None:
    assert jaccard(frozenset("abc"), frozenset("abd")) == 2 / 4
    assert jaccard(frozenset(), frozenset()) == 0.0
    assert fold("  Universidade  Federal do Ceará ") == "universidade federal do ceara"
