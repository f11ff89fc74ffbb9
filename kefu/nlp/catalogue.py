"""Product and fault catalogue (``config/catalogue.yml``): loading, validation, look-ups.

Every product/fault has a canonical name and variants customers use (冷气机 -> 空调).
The look-ups here work on raw text, for actions and the service layer; the NLU
pipeline gets the same knowledge through ``kefu.nlp.build``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple

import yaml
from pydantic import BaseModel, Extra, ValidationError, conint, constr

from kefu.nlp import paths
from kefu.nlp.normalize import to_halfwidth

Term = constr(regex=r"^\S+$", min_length=1)
Prefix = constr(regex=r"^[A-Z][A-Z0-9]*$")


class CatalogueError(ValueError):
    """The catalogue file is missing, malformed or ambiguous."""


class _MaintenanceSpec(BaseModel, extra=Extra.forbid):
    item: constr(min_length=1)  # type: ignore[valid-type]  # 更换滤芯, 清洗保养
    every_days: conint(gt=0)  # type: ignore[valid-type]
    remind_days_before: conint(ge=0) = 14  # type: ignore[valid-type]


class _ProductSpec(BaseModel, extra=Extra.forbid):
    variants: List[Term] = []
    model_prefixes: List[Prefix] = []
    maintenance: Optional[_MaintenanceSpec] = None


class _FaultSpec(BaseModel, extra=Extra.forbid):
    variants: List[Term] = []
    emergency: bool = False


class _CatalogueSpec(BaseModel, extra=Extra.forbid):
    products: Dict[Term, _ProductSpec]
    faults: Dict[Term, _FaultSpec]
    not_serviced: List[Term] = []


@dataclass(frozen=True)
class Maintenance:
    """Periodic service or consumable of a registered product (保养/滤芯)."""

    item: str
    every_days: int
    remind_days_before: int = 14


@dataclass(frozen=True)
class Product:
    name: str
    variants: Tuple[str, ...]
    model_prefixes: Tuple[str, ...]
    maintenance: Optional[Maintenance] = None

    @property
    def terms(self) -> Tuple[str, ...]:
        return (self.name, *self.variants)


@dataclass(frozen=True)
class Fault:
    name: str
    variants: Tuple[str, ...]
    emergency: bool

    @property
    def terms(self) -> Tuple[str, ...]:
        return (self.name, *self.variants)


@dataclass(frozen=True)
class TermMatch:
    canonical: str
    text: str
    start: int
    end: int


def _key(term: str) -> str:
    return to_halfwidth(term).strip().lower()


class _TermIndex:
    """Surface term -> canonical value, with longest-match-first scanning."""

    def __init__(self, pairs: List[Tuple[str, str]]) -> None:
        self.by_key: Dict[str, str] = {_key(term): canonical for term, canonical in pairs}
        # Longer alternatives first: at each position the regex takes the longest term.
        alternatives = sorted(self.by_key, key=lambda t: (-len(t), t))
        self.pattern = re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)

    def lookup(self, term: str) -> Optional[str]:
        return self.by_key.get(_key(term))

    def matches(self, text: str) -> List[TermMatch]:
        # to_halfwidth maps one character to one character, so spans fit the input.
        return [
            TermMatch(self.by_key[m.group().lower()], text[m.start() : m.end()], m.start(), m.end())
            for m in self.pattern.finditer(to_halfwidth(text))
        ]

    def find(self, text: str) -> List[str]:
        return list(dict.fromkeys(match.canonical for match in self.matches(text)))


class Catalogue:
    def __init__(self, products: Mapping[str, Product], faults: Mapping[str, Fault],
                 not_serviced: Tuple[str, ...] = ()) -> None:
        self.products: Dict[str, Product] = dict(products)
        self.faults: Dict[str, Fault] = dict(faults)
        self.not_serviced = tuple(not_serviced)
        self._check_unambiguous()
        self._products = _TermIndex([(t, p.name) for p in self.products.values() for t in p.terms])
        self._faults = _TermIndex([(t, f.name) for f in self.faults.values() for t in f.terms])
        self._prefixes = sorted(
            ((prefix, p.name) for p in self.products.values() for prefix in p.model_prefixes),
            key=lambda item: -len(item[0]),
        )

    @classmethod
    def from_dict(cls, data: object) -> "Catalogue":
        try:
            spec = _CatalogueSpec.parse_obj(data)
        except ValidationError as exc:
            raise CatalogueError(f"invalid catalogue: {exc}") from exc
        products = {
            name: Product(name, _unique(p.variants, name), tuple(dict.fromkeys(p.model_prefixes)),
                          Maintenance(**p.maintenance.dict()) if p.maintenance else None)
            for name, p in spec.products.items()
        }
        faults = {
            name: Fault(name, _unique(f.variants, name), f.emergency) for name, f in spec.faults.items()
        }
        return cls(products, faults, tuple(spec.not_serviced))

    @classmethod
    def from_file(cls, path: Path) -> "Catalogue":
        try:
            data = yaml.safe_load(Path(path).read_text("utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise CatalogueError(f"cannot read catalogue {path}: {exc}") from exc
        return cls.from_dict(data)

    def _check_unambiguous(self) -> None:
        owner: Dict[str, str] = {}
        entries = [(t, f"product {p.name}") for p in self.products.values() for t in p.terms]
        entries += [(t, f"fault {f.name}") for f in self.faults.values() for t in f.terms]
        for term, who in entries:
            previous = owner.setdefault(_key(term), who)
            if previous != who:
                raise CatalogueError(f"term {term!r} belongs to both {previous} and {who}")
        prefix_owner: Dict[str, str] = {}
        for product in self.products.values():
            for prefix in product.model_prefixes:
                previous = prefix_owner.setdefault(prefix, product.name)
                if previous != product.name:
                    raise CatalogueError(f"model prefix {prefix} belongs to {previous} and {product.name}")

    # --- look-ups -------------------------------------------------------------

    def not_serviced_product(self, text: str) -> Optional[str]:
        """The appliance the brand does not make that ``text`` names ("电视机开机没画面"), when it
        names no catalogue product; else None."""
        if self.find_products(text):
            return None
        lowered = to_halfwidth(text).lower()
        return next((term for term in sorted(self.not_serviced, key=len, reverse=True) if term.lower() in lowered), None)

    def canonical_product(self, term: str) -> Optional[str]:
        """冷气机 -> 空调; None when the term is not a known product name."""
        return self._products.lookup(term)

    def canonical_fault(self, term: str) -> Optional[str]:
        return self._faults.lookup(term)

    def product_for_model(self, model: str) -> Optional[str]:
        """Guess the product from a model number by its longest known prefix."""
        normalised = to_halfwidth(model).strip().upper()
        for prefix, product in self._prefixes:
            if normalised.startswith(prefix):
                return product
        return None

    def emergency_faults(self) -> FrozenSet[str]:
        return frozenset(f.name for f in self.faults.values() if f.emergency)

    def is_emergency(self, fault: str) -> bool:
        canonical = self.canonical_fault(fault)
        return canonical is not None and self.faults[canonical].emergency

    def find_products(self, text: str) -> List[str]:
        """Canonical products mentioned in free text, in order of first mention."""
        return self._products.find(text)

    def find_faults(self, text: str) -> List[str]:
        return self._faults.find(text)

    def match_products(self, text: str) -> List[TermMatch]:
        return self._products.matches(text)

    def match_faults(self, text: str) -> List[TermMatch]:
        return self._faults.matches(text)


def _unique(variants: List[str], canonical: str) -> Tuple[str, ...]:
    return tuple(v for v in dict.fromkeys(variants) if v != canonical)


def load_catalogue(path: Optional[Path] = None) -> Catalogue:
    """The catalogue at ``path`` (default ``$KEFU_CONFIG_DIR/catalogue.yml``).

    Cached until the file changes, so operators' edits are picked up without a restart.
    """
    path = Path(path or paths.catalogue_path()).resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise CatalogueError(f"cannot read catalogue {path}: {exc}") from exc
    return _cached(path, mtime)


@lru_cache(maxsize=4)
def _cached(path: Path, mtime: int) -> Catalogue:
    return Catalogue.from_file(path)


# Shortcuts on the default catalogue, for actions.


def canonical_product(term: str) -> Optional[str]:
    return load_catalogue().canonical_product(term)


def canonical_fault(term: str) -> Optional[str]:
    return load_catalogue().canonical_fault(term)


def product_for_model(model: str) -> Optional[str]:
    return load_catalogue().product_for_model(model)


def emergency_faults() -> FrozenSet[str]:
    return load_catalogue().emergency_faults()


def find_products(text: str) -> List[str]:
    return load_catalogue().find_products(text)


def find_faults(text: str) -> List[str]:
    return load_catalogue().find_faults(text)
