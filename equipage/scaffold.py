"""Write a commented starter company.yaml and editable copies of the packaged prompts."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from string import Template

from equipage.config import PACKAGED_ROLES, slugify
from equipage.errors import ConfigError
from equipage.registry import platforms

__all__ = ["write_starter"]

# $placeholders, not braces: the YAML below holds flow mappings like {telegram: "123"}.
_STARTER = Template("""\
# company.yaml: the company that Equipage runs as a crew of role agents.
# Equipage checks this file at start-up; a mistake is reported with its line and field.

company:
  # Short id used in Redis keys: 1-63 characters of a-z, 0-9, '-' or '_'.
  # Leave it out and it is derived from the name.
  id: $company_id
  # The company's name, as the agents write it.
  name: $company_name
  profile:
    # What the company sells, in one line. Every agent reads it.
    sells: "Describe what you sell in one line"
    # Countries where you sell, as ISO codes, e.g. [FR, BE]. Empty means anywhere.
    where: []
    # Languages you work in, as ISO 639-1 codes, e.g. [fr, en]; the first is the default.
    # The agents answer in the language the founder writes in.
    languages: [en]
    # Optional: anything else the agents should know (customers, offers, tone).
    description: ""
    # Optional: the public tenders you answer (the tenders workflow). CPV codes are the
    # EU's procurement vocabulary: 72 = IT services, 48 = software, 30 = office machines.
    # tenders:
    #   cpv: ["72", "48"]
    #   keywords: [cloud, hosting, hébergement, infogérance]
    #   exclude: [travaux, works]      # words that rule a notice out
    #   countries: []                  # empty: the countries in `where`
    #   min_value: 20000               # smallest estimated value worth answering
    #   horizon_days: 90               # deadlines further away are ignored
    #   min_days: 7                    # deadlines closer than this leave no time to bid

# People who may talk to the crew. Exactly one member is the owner: the founder, who
# approves anything that would be published, sent or paid for.
members:
  - id: owner            # short unique id
    name: Founder        # how the agents address you
    role: owner          # owner | member
    # Who you are on each chat platform: platform -> your user id there. Quote the ids,
    # so YAML keeps them as text.
    identities:
      console: $owner_console_id
$identities

# The role agents, by name. Names are free (lowercase, a-z 0-9 - _). Each role has:
#   description   one line the other agents see when they pick whom to delegate to
#   handles       keywords, in any language, that route a request to this role
#   prompt        its system prompt, relative to this file; leave it out to use the
#                 prompt packaged with Equipage for ceo, cto, marketing and support
#   model         offline (templates, no network), anthropic:<model> (needs
#                 ANTHROPIC_API_KEY) or openai:<model> (any OpenAI-compatible endpoint:
#                 OPENAI_API_KEY, and OPENAI_BASE_URL for Mistral, Scaleway, Ollama...)
#   tools         what it may do; leave it out to allow all six:
#                 delegate, reply, remember, recall, ask_human, start_workflow
#   daily_budget  the most it may spend on model calls per day, in the currency of the
#                 model price table; the offline model costs nothing
#   mcp           MCP servers whose tools it may use (needs the 'mcp' extra), e.g.
#                   mcp:
#                     - name: wiki                       # its tools show as wiki__<tool>
#                       url: http://127.0.0.1:8931/mcp   # or command: [program, args...]
#                       allow: [search, get_page, edit_page]
#                       read_only: [search, get_page]    # the others ask you first when
#                                                        # the thread holds outside content
#                       describe: {search: "Search our wiki by keywords"}
#                 The model sees your descriptions, not the server's, and a server's own
#                 "read-only" hints are not believed: this file decides.
roles:
  ceo:
    description: "Runs the company: sets priorities and routes the founder's requests"
    handles: [strategy, plan, priorities, stratégie, priorité]
    prompt: prompts/ceo.md
    model: offline
    tools: [delegate, reply, remember, recall, ask_human, start_workflow]
    daily_budget: 5.0
  cto:
    description: "Hosting, infrastructure, security and the costs they bring"
    handles: [hosting, infrastructure, cloud, cost, architecture, security, hébergement, coût]
    prompt: prompts/cto.md
    model: offline
  marketing:
    description: "Launch posts, announcements, newsletters and social media"
    handles: [launch, post, announcement, social, newsletter, lancement, annonce, réseaux]
    prompt: prompts/marketing.md
    model: offline
  support:
    description: "Customer questions, tickets, complaints and refunds"
    handles: [customer, ticket, complaint, refund, client, réclamation, remboursement]
    prompt: prompts/support.md
    model: offline

# Workflows the agents may start, by name (one module each in Equipage's workflows/):
#   digest      what the crew did over the last hours
#   tenders     public tenders (TED, BOAMP) ranked for you, with drafted answers
#   migration   a plan to move a Google Cloud setup to Scaleway or Hetzner
#   coaching    speaking feedback from a talk's transcript
#   live_assist suggestions while you are in a conversation
# `equipage workflow list` shows them; `equipage workflow run NAME` runs one by hand.
# A workflow may also be listed with settings, its input fields as every run gets them;
# the fields it keeps for you (addresses, URLs) are set only here or on your command line:
#   workflows:
#     digest: {}
#     tenders: {sources: {ted_base_url: "https://api.ted.europa.eu"}}
#     live_assist: {source: websocket, host: 127.0.0.1, port: 8765}
workflows: [digest]

# Workflows run on a schedule. Each names an enabled workflow, e.g.:
#   - name: weekly-tenders
#     cron: "0 8 * * MON"   # minute hour day-of-month month day-of-week
#     workflow: tenders     # must be listed in workflows above
#     input: {}             # passed to the workflow
#     role: marketing       # optional: the role that owns the run
#     notify: $notify$notify_pad# optional: where you get the result (default: your first platform)
# Cron times are read in runtime.timezone.
schedules: []

# How the crew runs. The defaults suit one laptop.
runtime:
  entry_role: ceo           # the role that receives the founder's messages
  max_hops: 8               # hand-offs between agents before a thread is stopped
  max_attempts: 5           # deliveries of a failing message before it is set aside
  visibility_timeout: 60.0  # seconds before a message a crashed worker held is retried
  workers: 2                # messages handled at once by each worker process
  long_runs: 4              # live calls followed at once, in a pool of their own
  timezone: UTC             # time zone of the schedules' cron times, e.g. Europe/Paris
""")


def write_starter(
    target_dir: Path,
    *,
    company_name: str = "My Company",
    owner_console_id: str = "owner",
    force: bool = False,
) -> list[Path]:
    """Write company.yaml and prompts/<role>.md under ``target_dir``; return the paths."""
    config = target_dir / "company.yaml"
    prompts = {target_dir / "prompts" / f"{role}.md": role for role in PACKAGED_ROLES}
    existing = [path for path in (config, *prompts) if path.exists()]
    # Check everything first, so a refusal leaves no half-written starter behind.
    if existing and not force:
        others = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise ConfigError(
            f"already exists{others}; pass --force to overwrite it", path=str(existing[0])
        )
    (target_dir / "prompts").mkdir(parents=True, exist_ok=True)
    notify = next((p.name for p in platforms().values() if p.identity), "console")
    # JSON strings are valid YAML double-quoted scalars, so any name stays one value.
    config.write_text(
        _STARTER.substitute(
            company_id=slugify(company_name) or "my-company",
            company_name=json.dumps(company_name, ensure_ascii=False),
            owner_console_id=json.dumps(owner_console_id, ensure_ascii=False),
            identities=_identities(),
            notify=notify,
            notify_pad=" " * max(1, 14 - len(notify)),
        ),
        encoding="utf-8",
    )
    for path, role in prompts.items():
        packaged = files("agents") / "prompts" / f"{role}.md"
        path.write_text(packaged.read_text(encoding="utf-8"), encoding="utf-8")
    return [config, *prompts]


def _identities() -> str:
    """A commented ``name: "id"  # what it is`` line for each platform that has ids."""
    lines = []
    for platform in platforms().values():
        if platform.identity is not None:
            example, what = platform.identity
            entry = f'# {platform.name}: "{example}"'
            lines.append(f"      {entry.ljust(30)}# {what}")
    return "\n".join(lines)
