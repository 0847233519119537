"""``equipage farm`` and ``equipage crew``: set up a farm and its admins; create, list, pause,
delete crews, and show or change their quotas."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from equipage.cli.common import fail, out, reported
from equipage.config import Settings
from equipage.crewfiles import stored_bytes
from equipage.farm import (
    DEFAULT_TEMPLATE,
    Crew,
    Farm,
    Owner,
    Quotas,
    crew_config,
    init_folder,
    open_farm,
    seed_folder,
)
from equipage.farm.archive import export_crew, import_crew
from equipage.memory import Memory

farm_app = typer.Typer(help="Host many crews on one Redis.", no_args_is_help=True)
admin_app = typer.Typer(
    help="The farm's admins: who may run the crews from chat (/crew ...).", no_args_is_help=True
)
farm_app.add_typer(admin_app, name="admin")
crew_app = typer.Typer(
    help="Create, list, pause and delete the farm's crews.", no_args_is_help=True
)

FarmOption = Annotated[
    Path, typer.Option("--farm", "-f", help="the farm's folder (where 'farm init' ran)")
]
NameArgument = Annotated[str, typer.Argument(help="the crew's name (a-z, 0-9, '-', '_')")]

T = TypeVar("T")


def _run(root: Path, action: Callable[[Farm], Awaitable[T]]) -> T:
    async def run() -> T:
        async with open_farm(root, Settings.from_env()) as farm:
            return await action(farm)

    return asyncio.run(run())


AdminArgument = Annotated[str, typer.Argument(help="the admin as PLATFORM:ID, e.g. console:alice")]


@farm_app.command("init")
def farm_init(
    directory: Annotated[Path, typer.Argument(help="the farm's folder")] = Path("."),
    admin: Annotated[
        list[str] | None,
        typer.Option(help="a farm admin as PLATFORM:ID (repeat for several)"),
    ] = None,
    seed: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="copy farm.yaml and <template>.yaml files from this folder (a ConfigMap)",
        ),
    ] = None,
) -> None:
    """Create templates/ with a default crew template, and record the farm on its Redis."""
    with reported():
        admins = [str(Owner.parse(text)) for text in admin or []]
        written = init_folder(directory)
        written += seed_folder(directory, seed) if seed is not None else []
        written = list(dict.fromkeys(written))

        async def setup(farm: Farm) -> bool:
            first = await farm.record()
            for person in admins:
                await farm.people.add_admin(person)
            return first

        first = _run(directory, setup)
    for path in written:
        out.print(f"[green]wrote[/] {path}")
    if not first:
        out.print(f"{directory} was already a farm; kept its templates.")
    for person in admins:
        out.print(f"{escape(person)} is a farm admin.")
    out.print(
        "Next: [bold]equipage crew new NAME --owner PLATFORM:ID[/] creates a crew "
        f"from templates/{DEFAULT_TEMPLATE}.yaml."
    )


@admin_app.command("add")
def admin_add(person: AdminArgument, farm: FarmOption = Path(".")) -> None:
    """Let PLATFORM:ID run the farm's crews from chat."""
    with reported():
        who = str(Owner.parse(person))
        _run(farm, lambda f: f.people.add_admin(who))
    out.print(f"{escape(who)} is a farm admin.")


@admin_app.command("remove")
def admin_remove(person: AdminArgument, farm: FarmOption = Path(".")) -> None:
    """Take PLATFORM:ID off the farm's admins."""
    with reported():
        was = _run(farm, lambda f: f.people.remove_admin(person))
    out.print(f"{escape(person)} is {'no longer' if was else 'not'} a farm admin.")


@admin_app.command("list")
def admin_list(farm: FarmOption = Path(".")) -> None:
    """The farm's admins."""
    with reported():
        admins = _run(farm, lambda f: f.people.admins())
    if not admins:
        out.print("The farm has no admin; 'equipage farm admin add PLATFORM:ID'.")
    for person in admins:
        out.print(escape(person))


@crew_app.command("new")
def crew_new(
    name: NameArgument,
    owner: Annotated[str, typer.Option(help="the crew's owner as PLATFORM:ID, e.g. console:alice")],
    template: Annotated[str, typer.Option(help="a template in templates/")] = DEFAULT_TEMPLATE,
    owner_name: Annotated[
        str | None, typer.Option(help="how the agents address the owner [default: their ID]")
    ] = None,
    language: Annotated[str, typer.Option(help="the crew's language: fr or en")] = "en",
    farm: FarmOption = Path("."),
) -> None:
    """Create crew NAME from a template, owned by one person."""
    with reported():
        if language not in ("fr", "en"):
            fail(f"--language {language!r}: use fr or en")
        person = Owner.parse(owner, owner_name)

        async def create(f: Farm) -> Crew:
            made = await f.new_crew(name, owner=person, template=template, language=language)
            await f.welcome(made)
            return made

        crew = _run(farm, create)
        config = crew_config(farm, crew.name)
    out.print(f"Crew [bold]{crew.name}[/] is active, owned by {escape(str(crew.owner))}.")
    out.print(f"[green]wrote[/] {config}")
    out.print(f"A welcome waits for {escape(str(crew.owner))} on the crew's outbox.")


@crew_app.command("list")
def crew_list(farm: FarmOption = Path(".")) -> None:
    """Every crew of the farm: its state, owner, template and creation time."""
    with reported():
        crews = _run(farm, lambda f: f.registry.crews())
    if not crews:
        out.print("The farm has no crew yet; 'equipage crew new NAME --owner PLATFORM:ID'.")
        return
    table = Table()
    for column in ("name", "state", "owner", "template", "created"):
        table.add_column(column)
    for crew in crews:
        table.add_row(*_row(crew))
    out.print(table)


def _row(crew: Crew) -> tuple[str, ...]:
    created = crew.created.strftime("%Y-%m-%d %H:%M UTC")
    return (crew.name, crew.state.value, escape(str(crew.owner)), crew.template, created)


@crew_app.command("pause")
def crew_pause(name: NameArgument, farm: FarmOption = Path(".")) -> None:
    """Hold crew NAME: it keeps everything and gets no work until resumed."""
    with reported():
        _run(farm, lambda f: f.registry.pause(name))
    out.print(f"Crew [bold]{name}[/] is paused; 'equipage crew resume {name}' serves it again.")


@crew_app.command("resume")
def crew_resume(name: NameArgument, farm: FarmOption = Path(".")) -> None:
    """Serve paused crew NAME again."""
    with reported():
        _run(farm, lambda f: f.registry.resume(name))
    out.print(f"Crew [bold]{name}[/] is active again.")


@crew_app.command("delete")
def crew_delete(
    name: NameArgument,
    farm: FarmOption = Path("."),
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Export crew NAME to exports/, then delete every key of it on Redis, its folder, its entry."""
    if not yes:
        typer.confirm(
            f"Delete crew {name} and everything it holds (memory, threads, audit)? "
            "An archive is written to exports/ first",
            abort=True,
        )
    with reported():
        deleted = _run(farm, lambda f: f.delete_crew(name))
    out.print(f"Crew [bold]{name}[/] is deleted ({deleted.removed} keys removed).")
    if deleted.archive is not None:
        out.print(
            f"Its archive: {deleted.archive} ('equipage crew import {deleted.archive}' "
            "brings it back)."
        )


@crew_app.command("export")
def crew_export(
    name: NameArgument,
    farm: FarmOption = Path("."),
    archive: Annotated[
        Path | None, typer.Option("--out", "-o", help="the archive to write (NAME.tar.gz)")
    ] = None,
) -> None:
    """Write crew NAME (its keys on Redis and its folder) to one archive."""
    target = archive or Path(f"{name}.tar.gz")
    with reported():
        count = _run(
            farm, lambda f: export_crew(f.registry, crew_config(f.root, name).parent, name, target)
        )
    out.print(f"Crew [bold]{name}[/] exported to {target} ({count} keys).")


@crew_app.command("import")
def crew_import(
    archive: Annotated[Path, typer.Argument(help="an archive written by 'crew export'")],
    farm: FarmOption = Path("."),
) -> None:
    """Restore a crew from an archive into this farm."""
    with reported():
        crew = _run(farm, lambda f: import_crew(f.registry, f.root, archive))
    out.print(f"Crew [bold]{crew.name}[/] imported; it is {crew.state.value}.")


@crew_app.command("quota")
def crew_quota(
    name: NameArgument,
    monthly_budget: Annotated[
        float | None, typer.Option(min=0, help="model spend a month (hard stop)")
    ] = None,
    concurrent_runs: Annotated[
        int | None, typer.Option(min=1, max=1000, help="messages handled at once")
    ] = None,
    messages_per_minute: Annotated[
        int | None, typer.Option(min=1, help="messages people may send the crew a minute")
    ] = None,
    files_mb: Annotated[
        int | None, typer.Option(min=0, help="files its workflows may store, in MB")
    ] = None,
    memory_kb: Annotated[
        int | None, typer.Option(min=0, help="facts it may remember, in KB")
    ] = None,
    farm: FarmOption = Path("."),
) -> None:
    """Show crew NAME's quotas and what it uses; change those given as options."""
    changes: dict[str, float | int] = {
        key: value
        for key, value in {
            "monthly_budget": monthly_budget,
            "concurrent_runs": concurrent_runs,
            "messages_per_minute": messages_per_minute,
            "files_bytes": None if files_mb is None else files_mb * 2**20,
            "memory_bytes": None if memory_kb is None else memory_kb * 1024,
        }.items()
        if value is not None
    }

    async def apply(f: Farm) -> tuple[Crew, int, int]:
        crew = await f.registry.get(name)
        if changes:
            quotas = Quotas.model_validate({**crew.quotas.model_dump(), **changes})
            crew = await f.registry.set_quotas(name, quotas)
        memory = await Memory(f.redis, f.keys(name)).size()
        files = await asyncio.to_thread(stored_bytes, crew_config(f.root, name).parent)
        return crew, memory, files

    with reported():
        crew, memory, files = _run(farm, apply)
    q = crew.quotas
    table = Table(title=f"Quotas of crew {crew.name}")
    for column in ("quota", "limit", "used", "change with"):
        table.add_column(column)
    table.add_row("monthly budget", f"{q.monthly_budget:g}", "", "--monthly-budget X")
    table.add_row("concurrent runs", str(q.concurrent_runs), "", "--concurrent-runs N")
    table.add_row("messages a minute", str(q.messages_per_minute), "", "--messages-per-minute N")
    table.add_row("stored files", _mb(q.files_bytes), _mb(files), "--files-mb N")
    table.add_row("memory", _kb(q.memory_bytes), _kb(memory), "--memory-kb N")
    out.print(table)
    if changes:
        out.print(
            f"Crew [bold]{crew.name}[/]'s quotas are changed: messages a minute count at once; "
            "a running farm takes up the others once the crew has nothing running."
        )


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"
