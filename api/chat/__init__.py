"""Agents, presence and capacity, routing, live chat with context, transcripts and webhooks."""

from api.chat.agents import AgentDirectory, AgentIn, CannedIn
from api.chat.bus import ChatBus, MemoryChatBus, RedisChatBus, bus_for
from api.chat.runtime import Chat, start_chat
from api.chat.service import ChatService
from api.chat.transcripts import Search, Transcripts
from api.chat.webhooks import WebhookIn, Webhooks, sign, verify

__all__ = [
    "AgentDirectory",
    "AgentIn",
    "CannedIn",
    "Chat",
    "ChatBus",
    "ChatService",
    "MemoryChatBus",
    "RedisChatBus",
    "Search",
    "Transcripts",
    "WebhookIn",
    "Webhooks",
    "bus_for",
    "sign",
    "start_chat",
    "verify",
]
