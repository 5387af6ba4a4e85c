"""Online scoring: how likely an invitation shown now would be accepted."""

__all__: list[str] = []
