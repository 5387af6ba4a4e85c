"""Marketer analytics: the decision journal, agent-load sampling, and the report built from the store."""

from api.analytics.journal import DecisionJournal, stage_of
from api.analytics.load import LoadSampler
from api.analytics.report import Analytics

__all__ = ["Analytics", "DecisionJournal", "LoadSampler", "stage_of"]
