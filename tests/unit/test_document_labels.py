"""Documents classified as a person reads their caption or file name (issue 8, kind 3)."""

from __future__ import annotations

import itertools

import pytest

from ventas.adapters.reference import ReferenceCatalogue
from ventas.domain import messages
from ventas.domain.catalogue import Service, classify, words

CATALOGUE = ReferenceCatalogue()


def service(code: str) -> Service:
    found = CATALOGUE.service(code)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        # the issue's own examples
        ("factura de luz", "FACTURA_LUZ"),
        ("reverso del carnet", "CI_REVERSO"),
        ("Cédula_reverso_Ñuñez.pdf", "CI_REVERSO"),
        ("foto carnet atras", "CI_REVERSO"),
        # more, as customers write them
        ("CI anverso", "CI_ANVERSO"),
        ("C.I. FRENTE", "CI_ANVERSO"),
        ("carnet parte de adelante", "CI_ANVERSO"),
        ("ATRÁS", "CI_REVERSO"),
        ("carnet-detrás.jpeg", "CI_REVERSO"),
        ("Recibo ELFEC marzo", "FACTURA_LUZ"),
        ("factura del agua SEMAPA", "FACTURA_LUZ"),
        ("CI_ANVERSO", "CI_ANVERSO"),
        ("fotos carnet atrás", "CI_REVERSO"),
        # not sure: left for an agent, never a guess
        ("carnet anverso y reverso", None),
        ("foto del carnet", None),
        ("IMG_2031.jpg", None),
        ("documento", None),
        ("", None),
        ("anverso de la factura", None),
        # a utility's name or "luz"/"agua" alone is not the bill: the document word is needed
        ("foto del carnet, disculpe la poca luz", None),
        ("con poca luz", None),
        ("ELFEC", None),
        ("agua", None),
        ("boleta SEMAPA", "FACTURA_LUZ"),
        ("Aviso de luz de abril", "FACTURA_LUZ"),
    ],
)
def test_captions_map_to_one_requirement_or_to_none(caption: str, expected: str | None) -> None:
    assert classify(service("INTERNET_FTTH_100"), caption) == expected


def test_caption_and_file_name_are_read_each_on_its_own() -> None:
    ftth = service("INTERNET_FTTH_100")
    assert classify(ftth, None, "ci_reverso.pdf") == "CI_REVERSO"
    assert classify(ftth, "mi carnet", "reverso.jpg") == "CI_REVERSO"
    assert classify(ftth, "carnet anverso", "ci_reverso.pdf") is None  # they disagree: unsure


def test_a_requirement_the_service_does_not_need_is_never_chosen() -> None:
    assert classify(service("TV_CABLE"), "factura de luz") is None
    assert classify(service("EMPRESA_FTTH_500_IP_FIJA"), "NIT de la empresa") == "NIT"
    assert classify(service("EMPRESA_FTTH_500_IP_FIJA"), "croquis del domicilio") == "CROQUIS"
    assert classify(service("INTERNET_FTTH_100"), "NIT") is None


def test_words_fold_case_accents_punctuation_plurals_and_extension() -> None:
    assert words("Cédula_reverso_Ñuñez.PDF") == {"cedula", "reverso", "nunez"}
    assert words("C.I. Atrás") == {"ci", "atra"}
    assert words("Fotos  del   CARNET") == {"foto", "del", "carnet"}


@pytest.mark.parametrize("offered", CATALOGUE.services(), ids=lambda s: s.code)
def test_every_requirement_has_a_caption_that_names_only_itself(offered: Service) -> None:
    """The caption the customer is asked to write classifies back to its requirement, and no
    alias of one requirement is contained in another's (that would file a document twice)."""
    for requirement in offered.requirements:
        assert requirement.caption
        assert requirement.aliases
        assert classify(offered, requirement.caption) == requirement.code
        assert classify(offered, requirement.label) in (requirement.code, None)
    for a, b in itertools.permutations(offered.requirements, 2):
        for alias in a.alias_words():
            assert not any(other <= alias for other in b.alias_words()), (a.code, b.code, sorted(alias))


def test_the_requirements_message_says_how_to_label_each_document() -> None:
    ftth = service("INTERNET_FTTH_100")
    text = messages.requirements_request(ftth, ftth.requirements)
    assert "«carnet anverso»" in text
    assert "«carnet reverso»" in text
    assert "«factura de luz»" in text
    assert "escriba en su descripción qué documento es" in text
    assert "«factura de luz»" in messages.requirements_reminder(ftth, ftth.requirements[2:])


DOCUMENT_WORDS = frozenset({"factura", "recibo", "boleta", "aviso"})


@pytest.mark.parametrize("offered", CATALOGUE.services(), ids=lambda s: s.code)
def test_every_alias_of_the_bill_carries_a_document_word(offered: Service) -> None:
    """ "luz", "agua" or a utility's name alone appear in captions about other things ("disculpe
    la poca luz"): an alias of the bill needs factura, recibo, boleta or aviso."""
    bill = offered.requirement("FACTURA_LUZ")
    if bill is None:
        return
    for alias in bill.alias_words():
        assert alias & DOCUMENT_WORDS, sorted(alias)
