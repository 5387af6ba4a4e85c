"""What a visitor is offered when no person can take the chat now.

``bot`` shows a menu tree of quick answers; its "talk to a person" leaves
(``handoff``) appear only when a person could answer at all (open, agents
online), with the expected wait; a menu with nothing left to offer gives way to
the offline message. ``offline`` shows a message with the opening
hours and, optionally, a leave-a-message form. ``suppress`` shows nothing: the
visitor stays a pacing candidate and is invited when a slot frees up.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triggers.memo import Memo

FallbackMode = Literal["bot", "offline", "suppress"]


class MenuItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1, max_length=80)
    answer: str | None = Field(default=None, max_length=1000, description="a quick answer shown in the chat panel")
    url: str | None = Field(default=None, max_length=2048, description="a help page to open")
    handoff: bool = Field(default=False, description="the 'talk to a person' leaf")
    children: list[MenuItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _leaf_or_branch(self) -> MenuItem:
        leaf_parts = self.answer is not None or self.url is not None or self.handoff
        if self.children and leaf_parts:
            raise ValueError(f"menu item {self.label!r} has children, so it cannot also answer or hand off")
        if not self.children and not leaf_parts:
            raise ValueError(f"menu item {self.label!r} needs an answer, a url, handoff or children")
        return self

    def without_handoff(self) -> MenuItem | None:
        if self.handoff:
            return None
        if not self.children:
            return self
        children = [kept for child in self.children if (kept := child.without_handoff()) is not None]
        return self.model_copy(update={"children": children}) if children else None


class BotMenu(Memo, BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    greeting: str = Field(default="Hi! Maybe one of these helps?", max_length=500)
    items: list[MenuItem] = Field(
        default_factory=lambda: [MenuItem(label="Talk to a person", handoff=True)], min_length=1
    )

    def for_visitor(self, person_available: bool) -> BotMenu | None:
        """The menu as shown: handoff leaves only when a person can answer; None if nothing is left."""
        if person_available:
            return self
        return self._memo("without_handoff", self._without_handoff)  # type: ignore[no-any-return]

    def _without_handoff(self) -> BotMenu | None:
        items = [kept for item in self.items if (kept := item.without_handoff()) is not None]
        return self.model_copy(update={"items": items}) if items else None


class OfflineForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    message: str = Field(
        default="We're not online right now. Leave us a message and we'll get back to you.", max_length=500
    )
    leave_message: bool = Field(default=True, description="show the leave-a-message form")


class Fallback(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    when_no_capacity: FallbackMode = Field(
        default="suppress", description="open, but every agent is busy or none is online"
    )
    when_closed: FallbackMode = Field(default="suppress", description="outside business hours")
    bot: BotMenu = Field(default_factory=BotMenu)
    offline: OfflineForm = Field(default_factory=OfflineForm)
