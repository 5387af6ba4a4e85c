"""Answers a frozen config model computes from itself alone, kept on the instance.

Some of them are asked on every collect (a closed site's opening hours text, the bot menu without
its "talk to a person" leaves) and cost more than the rest of the policy. A frozen model cannot
change, so its answers cannot go stale; a copy with changed fields starts without them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Self


class Memo:
    """Mixin for frozen pydantic models (put it before ``BaseModel``)."""

    @functools.cached_property
    def _kept(self) -> dict[str, Any]:
        # A cached property lives in the instance __dict__, which pydantic leaves out of dumps and
        # equality; a private attribute would do too, but reading one costs microseconds.
        return {}

    def _memo(self, key: str, compute: Callable[[], Any]) -> Any:
        kept = self._kept
        if key not in kept:
            kept[key] = compute()
        return kept[key]

    def __copy__(self) -> Self:  # model_copy(update=...) must not inherit the answers
        copied = super().__copy__()  # type: ignore[misc]
        copied.__dict__.pop("_kept", None)
        return copied  # type: ignore[no-any-return]

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        copied = super().__deepcopy__(memo)  # type: ignore[misc]
        copied.__dict__.pop("_kept", None)
        return copied  # type: ignore[no-any-return]
