"""company.yaml as checked models: the company, its members, roles, channels, schedules.

``equipage.config`` loads the file into ``CompanyConfig`` and reads the environment; these
models say what each field means and turn every mistake into a message that names it.
One module per part of the file:

    fields      the strict base model and checked values (names, tools, countries...)
    profile     the company's identity and what it sells (Company, Profile, TenderProfile)
    roles       a role: prompt, model, tools, MCP servers (RoleConfig, McpServer)
    platforms   channels: one section per registered chat platform (ChannelsConfig)
    speech      the transcriber that turns voice notes into words (SpeechConfig)
    file        the whole file and the checks across sections (CompanyConfig)
"""

from __future__ import annotations

from equipage.company.fields import ConfigModel, slugify
from equipage.company.file import CompanyConfig, Member, RuntimeConfig, Schedule, load_prompt
from equipage.company.platforms import ChannelsConfig, WebConfig, platform_names
from equipage.company.profile import Company, Profile, TenderProfile
from equipage.company.roles import McpServer, RoleConfig, offered_name, packaged_prompt
from equipage.roletools import KNOWN_TOOLS, PACKAGED_ROLES

__all__ = [
    "KNOWN_TOOLS",
    "PACKAGED_ROLES",
    "ChannelsConfig",
    "Company",
    "CompanyConfig",
    "ConfigModel",
    "McpServer",
    "Member",
    "Profile",
    "RoleConfig",
    "RuntimeConfig",
    "Schedule",
    "TenderProfile",
    "WebConfig",
    "load_prompt",
    "offered_name",
    "packaged_prompt",
    "platform_names",
    "slugify",
]
