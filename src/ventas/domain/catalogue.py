"""Product catalogue entries (entry procedure COM-GCM-P01), and reading a document's caption.

A customer labels what they send over WhatsApp as a person would ("reverso del carnet",
"Cédula_reverso_Ñuñez.pdf", "foto carnet atras", "factura de luz"). `classify` maps such a
caption or file name to one requirement of the service through the aliases the catalogue keeps
per requirement (Spanish as written in Bolivia), case-, accent- and punctuation-insensitive.
When it is not sure (no alias found, or aliases of two requirements), it answers None and the
document waits in the `UNCLASSIFIED` slot for an agent: never a confident wrong slot.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

UNCLASSIFIED = "UNCLASSIFIED"  # the slot of a document nobody could file yet (an agent classifies it)

_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")
_INITIALS_CI = re.compile(r"\bc\s*\.\s*i\b\.?")  # "C.I." is the CI


def words(text: str) -> frozenset[str]:
    """The words of a caption or file name: lower case, accents and ñ folded, plural -s dropped.

    "Cédula_reverso_Ñuñez.pdf" -> {"cedula", "reverso", "nunez"}; the file extension is left out.
    """
    folded = unicodedata.normalize("NFKD", _EXTENSION.sub("", text.strip()))
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    folded = _INITIALS_CI.sub(" ci ", folded)
    return frozenset(_singular(w) for w in re.findall(r"[a-z0-9]+", folded))


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") else word


class Requirement(BaseModel):
    """One document the service needs. `aliases`: phrases that name it (all their words must
    appear in a caption); the code and `caption` count as aliases too."""

    model_config = ConfigDict(frozen=True)
    code: str
    label: str  # shown to the customer, Spanish
    caption: str | None = Field(None, description="what we ask the customer to write with it")
    aliases: tuple[str, ...] = ()

    def alias_words(self) -> list[frozenset[str]]:
        phrases: Iterable[str] = (self.code.replace("_", " "), self.caption or "", *self.aliases)
        return [found for phrase in phrases if (found := words(phrase))]

    @property
    def suggested_caption(self) -> str:
        return self.caption or self.label


class Service(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    name: str
    kind: str  # internet | tv | telephony | bundle
    speed_mbps: int | None = None
    price_bs: float = Field(ge=0)
    technologies: list[str]  # network technologies able to deliver it (FTTH, HFC, ...)
    special_features: list[str] = Field(default_factory=list)  # e.g. static_ip
    requirements: list[Requirement]

    def requirement(self, code: str) -> Requirement | None:
        return next((r for r in self.requirements if r.code == code), None)


def classify(service: Service, *labels: str | None) -> str | None:
    """The requirement code the labels (caption, then file name) name, or None when unsure.

    Each label is read on its own; a label naming two requirements ("carnet anverso y reverso")
    is unsure, and so are two labels naming different requirements.
    """
    found: set[str] = set()
    for label in labels:
        if not label:
            continue
        said = words(label)
        named = {r.code for r in service.requirements if any(alias <= said for alias in r.alias_words())}
        if len(named) > 1:
            return None
        found |= named
    return found.pop() if len(found) == 1 else None


class CoverageZone(BaseModel):
    """A GIS coverage polygon's attributes."""

    model_config = ConfigDict(frozen=True)

    zone_id: str
    name: str
    technology: str
    max_speed_mbps: int
    features: list[str] = Field(default_factory=list)
