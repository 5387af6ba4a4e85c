"""What the invitation says: per page pattern, with A/B variants.

The first rule whose path globs match the current page wins; its variants are
split by weight with a deterministic hash of (site, visitor, salt, rule), so a
visitor sees the same wording on every page the rule covers and in a replay.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triggers.hashing import unit_hash
from triggers.targeting import PathGlob, first_match


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    text: str = Field(min_length=1, max_length=500)
    weight: float = Field(default=1.0, gt=0)


def _unique_ids(variants: list[Variant], where: str) -> None:
    ids = [variant.id for variant in variants]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{where}: variant ids must be unique, got {ids}")


class MessageRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: list[PathGlob] = Field(min_length=1)
    variants: list[Variant] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> MessageRule:
        _unique_ids(self.variants, f"message rule {self.paths}")
        return self


class Messages(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[MessageRule] = Field(default_factory=list, description="first matching rule wins")
    default: list[Variant] = Field(
        default_factory=lambda: [Variant(id="default", text="Hi! Can we help you with anything?")],
        min_length=1,
    )

    @model_validator(mode="after")
    def _check(self) -> Messages:
        _unique_ids(self.default, "default messages")
        return self

    def pick(self, path: str | None, site: str, visitor: str, salt: str) -> Variant:
        variants, key = self.default, "default"
        for rule in self.rules:
            matched = first_match(rule.paths, path)
            if matched is not None:
                variants, key = rule.variants, ",".join(rule.paths)
                break
        return split_by_weight(variants, unit_hash("message", salt, site, visitor, key))


def split_by_weight(variants: list[Variant], draw: float) -> Variant:
    total = sum(variant.weight for variant in variants)
    edge = 0.0
    for variant in variants:
        edge += variant.weight / total
        if draw < edge:
            return variant
    return variants[-1]
