"""Equipage: a small company's crew of role agents on one Redis state bus.

What users, workflow authors and benchmarks import is here: ``from equipage import Bus``;
a farm's parts are ``equipage.farm``'s (``from equipage.farm import Farm, Pool``).
Names load on first use (PEP 562), so ``import equipage`` stays cheap and a module of the
package can import another without pulling in the rest.

May import: the standard library and third-party packages. Imports ``agents``,
``channels`` and ``workflows`` only through the registries in ``equipage.registry``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS = {
    # A company and its crew
    "CompanyConfig": "equipage.config",
    "Settings": "equipage.config",
    "load_config": "equipage.config",
    "TenderProfile": "equipage.config",
    "write_starter": "equipage.scaffold",
    "build_crew": "equipage.crew",
    "serializer": "equipage.crew",
    "Worker": "equipage.worker",
    "Supervisor": "equipage.supervise",
    "load_key": "equipage.audit.key",
    "Session": "equipage.app",
    "open_session": "equipage.app",
    "serve": "equipage.app",
    "worker_pools": "equipage.app",
    "thread_id": "equipage.agent",
    # The bus and what it carries
    "Bus": "equipage.bus",
    "Delivery": "equipage.bus",
    "Turn": "equipage.bus",
    "Envelope": "equipage.envelope",
    "Event": "equipage.events",
    "EventType": "equipage.events",
    "Kind": "equipage.envelope",
    "Origin": "equipage.envelope",
    "Question": "equipage.envelope",
    "Answer": "equipage.envelope",
    "WorkflowCall": "equipage.envelope",
    "Keys": "equipage.keys",
    "FarmKeys": "equipage.keys",
    "CONSUMER_GROUP": "equipage.keys",
    "GATEWAY_GROUP": "equipage.keys",
    "RedisTarget": "equipage.connection",
    "connect": "equipage.connection",
    "open_target": "equipage.connection",
    "RedisSaver": "equipage.checkpoint",
    "Memory": "equipage.memory",
    "Fact": "equipage.memory",
    # Writing a workflow
    "WorkflowContext": "equipage.workflow",
    "WorkflowState": "equipage.workflow",
    "WorkflowRunner": "equipage.runtime",
    "Command": "equipage.commands",
    "Invocation": "equipage.commands",
    "workflow_inbox": "equipage.tools",
    "question_id": "equipage.tools",
    "OwnerOnly": "equipage.inputs",
    "check_size": "equipage.inputs",
    "Language": "equipage.language",
    "detect": "equipage.language",
    "language_of": "equipage.language",
    "ConfigError": "equipage.errors",
    "InputRejected": "equipage.errors",
    "MissingExtraError": "equipage.errors",
    "OffLimits": "equipage.errors",
    "RuntimeFailure": "equipage.errors",
    "SourceError": "equipage.errors",
    # Models
    "ChatModel": "equipage.llm.base",
    "load_model": "equipage.llm.base",
    "close_model": "equipage.llm.base",
    "close_speech": "equipage.llm.speech",
    "ProviderOptions": "equipage.llm.options",
    "Completion": "equipage.llm.messages",
    "Message": "equipage.llm.messages",
    "ToolCall": "equipage.llm.messages",
    "ToolSpec": "equipage.llm.messages",
    "Usage": "equipage.llm.messages",
    # Chat platforms
    "Platform": "equipage.platform",
    "Capabilities": "equipage.platform",
    "PlatformSetup": "equipage.platform",
    "register_platform": "equipage.registry",
    "Incoming": "equipage.chat",
    "Outgoing": "equipage.chat",
}

__all__ = [
    "CONSUMER_GROUP",
    "GATEWAY_GROUP",
    "Answer",
    "Bus",
    "Capabilities",
    "ChatModel",
    "Command",
    "CompanyConfig",
    "Completion",
    "ConfigError",
    "Delivery",
    "Envelope",
    "Event",
    "EventType",
    "Fact",
    "FarmKeys",
    "Incoming",
    "InputRejected",
    "Invocation",
    "Keys",
    "Kind",
    "Language",
    "Memory",
    "Message",
    "MissingExtraError",
    "OffLimits",
    "Origin",
    "Outgoing",
    "OwnerOnly",
    "Platform",
    "PlatformSetup",
    "ProviderOptions",
    "Question",
    "RedisSaver",
    "RedisTarget",
    "RuntimeFailure",
    "Session",
    "Settings",
    "SourceError",
    "Supervisor",
    "TenderProfile",
    "ToolCall",
    "ToolSpec",
    "Turn",
    "Usage",
    "Worker",
    "WorkflowCall",
    "WorkflowContext",
    "WorkflowRunner",
    "WorkflowState",
    "__version__",
    "build_crew",
    "check_size",
    "close_model",
    "close_speech",
    "connect",
    "detect",
    "language_of",
    "load_config",
    "load_key",
    "load_model",
    "open_session",
    "open_target",
    "question_id",
    "register_platform",
    "serializer",
    "serve",
    "thread_id",
    "worker_pools",
    "workflow_inbox",
    "write_starter",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'equipage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup finds it without coming here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # what type checkers read; at run time, __getattr__ loads them
    from equipage.agent import thread_id
    from equipage.app import Session, open_session, serve, worker_pools
    from equipage.audit.key import load_key
    from equipage.bus import Bus, Delivery, Turn
    from equipage.chat import Incoming, Outgoing
    from equipage.checkpoint import RedisSaver
    from equipage.commands import Command, Invocation
    from equipage.config import CompanyConfig, Settings, TenderProfile, load_config
    from equipage.connection import RedisTarget, connect, open_target
    from equipage.crew import build_crew, serializer
    from equipage.envelope import Answer, Envelope, Kind, Origin, Question, WorkflowCall
    from equipage.errors import (
        ConfigError,
        InputRejected,
        MissingExtraError,
        OffLimits,
        RuntimeFailure,
        SourceError,
    )
    from equipage.events import Event, EventType
    from equipage.inputs import OwnerOnly, check_size
    from equipage.keys import CONSUMER_GROUP, GATEWAY_GROUP, FarmKeys, Keys
    from equipage.language import Language, detect, language_of
    from equipage.llm.base import ChatModel, close_model, load_model
    from equipage.llm.messages import Completion, Message, ToolCall, ToolSpec, Usage
    from equipage.llm.options import ProviderOptions
    from equipage.llm.speech import close_speech
    from equipage.memory import Fact, Memory
    from equipage.platform import Capabilities, Platform, PlatformSetup
    from equipage.registry import register_platform
    from equipage.runtime import WorkflowRunner
    from equipage.scaffold import write_starter
    from equipage.supervise import Supervisor
    from equipage.tools import question_id, workflow_inbox
    from equipage.worker import Worker
    from equipage.workflow import WorkflowContext, WorkflowState
