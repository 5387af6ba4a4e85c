"""Agents, presence and capacity, routing, live chat with context, transcripts and webhooks."""

from api.chat.agents import AgentDirectory, AgentIn, CannedIn
from api.chat.runtime import Chat, start_chat
from api.chat.service import ChatService
from api.chat.transcripts import Search, Transcripts
from api.chat.webhooks import WebhookIn, Webhooks, sign, verify

__all__ = [
    "AgentDirectory",
    "AgentIn",
    "CannedIn",
    "Chat",
    "ChatService",
    "Search",
    "Transcripts",
    "WebhookIn",
    "Webhooks",
    "sign",
    "start_chat",
    "verify",
]
