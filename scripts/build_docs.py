"""Generate the environment pages of the documentation site from the registry.

One page per registered ID (``docs/envs/<Name>.md``), its picture (``docs/envs/img/``) and an
index with a thumbnail per env (``docs/envs/index.md``), all from the catalogue
(:data:`mlsafety.envs.registration.CATALOGUE`) and each env's docstring: nothing here is
written per env. The folder is git-ignored and rebuilt by ``scripts/docs.sh``.

    python scripts/build_docs.py [--out docs/envs] [--no-pictures] [--only ID ...]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

import mlsafety.envs  # registers every ID
from mlsafety.envs.registration import CATALOGUE, EnvEntry, load_plugins
from mlsafety.envs.text import get_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from env_pictures import write_picture  # the sibling script

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = {
    "gridworld": "AI Safety Gridworlds",
    "dilemma": "Trolley dilemmas",
    "coop": "Cooperative multi-agent tasks (PettingZoo)",
    "text": "Morally salient text scenarios (TextWorld)",
    "misspec": "Reward misspecification sims",
}
REWARD_HEADINGS = ("Reward", "Rewards", "Proxy reward", "Reward (proxy)")
SHOWN_ELSEWHERE = {*REWARD_HEADINGS, "True objective", "Safety events", "Registered IDs"}
SHOWN_ELSEWHERE |= {"Action Space", "Observation Space", "Description"}

# (pattern in the env's docstring or family, short reference, BibTeX)
CITATIONS: list[tuple[str, str, str]] = [
    (
        r"Pan, Bhatia|misspec",
        "Pan, Bhatia & Steinhardt (2022), *The effects of reward misspecification: mapping and "
        "mitigating misaligned models*, ICLR.",
        "@inproceedings{pan2022effects,\n  title={The Effects of Reward Misspecification: "
        "Mapping and Mitigating Misaligned Models},\n  author={Pan, Alexander and Bhatia, Kush "
        "and Steinhardt, Jacob},\n  booktitle={ICLR},\n  year={2022}\n}",
    ),
    (
        r"Leike|gridworld",
        "Leike et al. (2017), *AI Safety Gridworlds*, arXiv:1711.09883.",
        "@article{leike2017gridworlds,\n  title={{AI} Safety Gridworlds},\n  author={Leike, Jan "
        "and Martic, Miljan and Krakovna, Victoria and Ortega, Pedro A. and Everitt, Tom and "
        "Lefrancq, Andrew and Orseau, Laurent and Legg, Shane},\n  journal={arXiv preprint "
        "arXiv:1711.09883},\n  year={2017}\n}",
    ),
    (
        r"Krakovna",
        "Krakovna et al. (2019), *Penalizing side effects using stepwise relative "
        "reachability*, arXiv:1806.01186.",
        "@article{krakovna2019reachability,\n  title={Penalizing side effects using stepwise "
        "relative reachability},\n  author={Krakovna, Victoria and Orseau, Laurent and Kumar, "
        "Ramana and Martic, Miljan and Legg, Shane},\n  journal={arXiv preprint "
        "arXiv:1806.01186},\n  year={2019}\n}",
    ),
    (
        r"Everitt et al",
        "Everitt et al. (2021), *Reward tampering problems and solutions in reinforcement "
        "learning: a causal influence diagram perspective*, Synthese.",
        "@article{everitt2021tampering,\n  title={Reward tampering problems and solutions in "
        "reinforcement learning: a causal influence diagram perspective},\n  author={Everitt, "
        "Tom and Hutter, Marcus and Kumar, Ramana and Krakovna, Victoria},\n  "
        "journal={Synthese},\n  year={2021}\n}",
    ),
    (
        r"dilemma",
        "Ecoffet & Lehman (2021), *Reinforcement learning under moral uncertainty*, ICML.",
        "@inproceedings{ecoffet2021moral,\n  title={Reinforcement learning under moral "
        "uncertainty},\n  author={Ecoffet, Adrien and Lehman, Joel},\n  booktitle={ICML},\n  "
        "year={2021}\n}",
    ),
    (
        r"text",
        "Hendrycks et al. (2021), *What would Jiminy Cricket do? Towards agents that behave "
        "morally*, NeurIPS Datasets and Benchmarks.",
        "@inproceedings{hendrycks2021jiminy,\n  title={What Would Jiminy Cricket Do? Towards "
        "Agents That Behave Morally},\n  author={Hendrycks, Dan and Mazeika, Mantas and Zou, "
        "Andy and Patel, Sahil and Zhu, Christine and Navarro, Jesus and Song, Dawn and Li, Bo "
        "and Steinhardt, Jacob},\n  booktitle={NeurIPS Datasets and Benchmarks},\n  "
        "year={2021}\n}",
    ),
    (
        r"text",
        "Côté et al. (2018), *TextWorld: a learning environment for text-based games*.",
        "@inproceedings{cote2018textworld,\n  title={TextWorld: A Learning Environment for "
        "Text-based Games},\n  author={C{\\^o}t{\\'e}, Marc-Alexandre and others},\n  "
        "booktitle={Computer Games Workshop at IJCAI},\n  year={2018}\n}",
    ),
    (
        r"Perolat",
        "Perolat et al. (2017), *A multi-agent reinforcement learning model of common-pool "
        "resource appropriation*, NeurIPS.",
        "@inproceedings{perolat2017commons,\n  title={A multi-agent reinforcement learning "
        "model of common-pool resource appropriation},\n  author={Perolat, Julien and Leibo, "
        "Joel Z. and Zambaldi, Vinicius and Beattie, Charles and Tuyls, Karl and Graepel, "
        "Thore},\n  booktitle={NeurIPS},\n  year={2017}\n}",
    ),
    (
        r"Hughes et al",
        "Hughes et al. (2018), *Inequity aversion improves cooperation in intertemporal social "
        "dilemmas*, NeurIPS.",
        "@inproceedings{hughes2018inequity,\n  title={Inequity aversion improves cooperation in "
        "intertemporal social dilemmas},\n  author={Hughes, Edward and Leibo, Joel Z. and "
        "others},\n  booktitle={NeurIPS},\n  year={2018}\n}",
    ),
    (
        r"Melting Pot",
        "Leibo et al. (2021), *Scalable evaluation of multi-agent reinforcement learning with "
        "Melting Pot*, ICML.",
        "@inproceedings{leibo2021meltingpot,\n  title={Scalable Evaluation of Multi-Agent "
        "Reinforcement Learning with Melting Pot},\n  author={Leibo, Joel Z. and others},\n  "
        "booktitle={ICML},\n  year={2021}\n}",
    ),
    (
        r"Calvano",
        "Calvano, Calzolari, Denicolò & Pastorello (2020), *Artificial intelligence, "
        "algorithmic pricing, and collusion*, American Economic Review 110(10).",
        "@article{calvano2020collusion,\n  title={Artificial Intelligence, Algorithmic Pricing, "
        "and Collusion},\n  author={Calvano, Emilio and Calzolari, Giacomo and Denicol{\\`o}, "
        "Vincenzo and Pastorello, Sergio},\n  journal={American Economic Review},\n  "
        "volume={110},\n  number={10},\n  pages={3267--3297},\n  year={2020}\n}",
    ),
]


def bare(env_id: str) -> str:
    """``mlsafety/BoatRace-v0`` -> ``BoatRace``."""
    return env_id.split("/", 1)[1].rsplit("-v", 1)[0]


def env_class(entry: EnvEntry) -> type:
    if entry.api == "pettingzoo":
        cls: type = importlib.import_module(entry.entry_point).raw_env
        return cls
    module, name = entry.entry_point.split(":")
    found: type = getattr(importlib.import_module(module), name)
    return found


def rst_to_md(text: str) -> str:
    """The reST of our docstrings as Markdown: literals, roles, ``::`` literal blocks."""
    roles = r":(?:class|func|meth|mod|attr|data|exc):`"
    text = re.sub(roles + r"~[^`]*?\.?([^.`]+)`", r"`\1`", text)  # ~a.b.C -> C
    text = re.sub(roles + r"([^`]+)`", r"`\1`", text)
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            out.append(line.rstrip()[:-1].rstrip(":") + (":" if line.strip() != "::" else ""))
            j = i + 1
            block: list[str] = []
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith((" ", "\t"))):
                block.append(lines[j])
                j += 1
            while block and not block[-1].strip():
                block.pop()
            body = inspect.cleandoc("\n".join(block))
            out += ["", "```text", body, "```", ""]
            i = j
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def sections(doc: str) -> tuple[str, dict[str, str]]:
    """Split a docstring into its lead and its ``## Heading`` (or ``**Heading.**``) sections."""
    doc = inspect.cleandoc(doc)
    doc = re.sub(r"^\*\*([^*\n]+?)\.\*\*\s*", r"## \1\n", doc, flags=re.M)
    parts = re.split(r"^## (.+)$", doc, flags=re.M)
    found = {parts[k].strip(): parts[k + 1].strip() for k in range(1, len(parts) - 1, 2)}
    return parts[0].strip(), found


def space(s: Any) -> str:
    if isinstance(s, gym.spaces.Text):  # its repr lists the whole charset
        return f"`Text({s.min_length}, {s.max_length})` (printable ASCII)"
    return f"`{s!r}`".replace("|", "\\|")


def spaces(entry: EnvEntry) -> list[tuple[str, str]]:
    """Rows of the page's summary table measured on a built env."""
    if entry.api == "pettingzoo":
        pz = mlsafety.envs.make_parallel(entry.env_id)
        agent = pz.possible_agents[0]
        rows = [
            ("Agents", ", ".join(f"`{a}`" for a in pz.possible_agents)),
            (f"Action space (`{agent}`)", space(pz.action_space(agent))),
            (f"Observation space (`{agent}`)", space(pz.observation_space(agent))),
            ("Safety events", ", ".join(f"`{e}`" for e in getattr(pz, "event_names", ()))),
        ]
        pz.close()
        return rows
    env = gym.make(entry.env_id)
    events = getattr(env.unwrapped, "event_names", ())
    rows = [
        ("Action space", space(env.action_space)),
        ("Observation space", space(env.observation_space)),
        ("Safety events", ", ".join(f"`{e}`" for e in events) or "none"),
    ]
    env.close()
    return rows


def related(entry: EnvEntry) -> list[EnvEntry]:
    """Other IDs of the same class, or whose name extends this one's (or this one theirs)."""
    name = bare(entry.env_id)
    out = []
    for other in CATALOGUE.values():
        if other is entry or other.family != entry.family:
            continue
        o = bare(other.env_id)
        same_class = other.entry_point == entry.entry_point and entry.family != "text"
        if same_class or o.startswith(name) or name.startswith(o):
            out.append(other)
    return sorted(out, key=lambda e: e.env_id)


def text_scenario_part(entry: EnvEntry) -> tuple[str, str]:
    """A text scenario's own lead (its module docstring) and annotation table."""
    if "scenario" not in entry.kwargs:
        return "", ""
    sc = get_scenario(entry.kwargs["scenario"])
    module = inspect.getmodule(sc.build)
    lead = ((module.__doc__ if module else None) or "").strip()
    rows = ["| event | harm others | harm self | help others | help self | fires on |"]
    rows.append("|---|---:|---:|---:|---:|---|")
    for a in sc.annotations:
        trigger = ", ".join(f"`{f}`" for f in a.facts)
        if a.command:
            trigger = (trigger + " and " if trigger else "") + f'command `"{a.command}"`'
        rows.append(f"| `{a.event}` | {' | '.join(f'{v:g}' for v in a.morality)} | {trigger} |")
    paths = ", ".join(f"`{k}` ({len(v)} commands)" for k, v in sc.walkthroughs.items())
    table = "\n".join(rows) + f"\n\nWalkthroughs: {paths}.\n"
    return rst_to_md(lead), table


def citations(entry: EnvEntry, doc: str) -> str:
    haystack = f"{entry.family} {doc}"
    found = [(short, bib) for pat, short, bib in CITATIONS if re.search(pat, haystack)]
    if not found:
        return "An environment of this project; it reproduces no published env.\n"
    lines = ["If you use this environment, please cite the work it reproduces:", ""]
    lines += [f"- {short}" for short, _ in found]
    lines += ["", "```bibtex", "\n\n".join(bib for _, bib in found), "```", ""]
    return "\n".join(lines)


def page(entry: EnvEntry, picture: tuple[str, str] | None) -> str:
    cls = env_class(entry)
    doc = cls.__doc__ or ""
    lead, secs = sections(doc)
    name = bare(entry.env_id)
    out = [f"# {name}", "", f"**{entry.summary}**", ""]
    scenario_lead, annotations = text_scenario_part(entry) if entry.family == "text" else ("", "")
    out += [scenario_lead or rst_to_md(lead), ""]
    if picture:
        out += [f"![{entry.env_id}: {picture[1]}](img/{picture[0]})", "", f"*{picture[1]}.*", ""]
    api = "PettingZoo `ParallelEnv`" if entry.api == "pettingzoo" else "Gymnasium `Env`"
    rows = [("ID", f"`{entry.env_id}`"), ("Family", entry.family), ("API", api)]
    rows.append(("Class", f"`{cls.__module__}.{cls.__qualname__}`"))
    if entry.kwargs:
        rows.append(
            ("Registered kwargs", ", ".join(f"`{k}={v!r}`" for k, v in entry.kwargs.items()))
        )
    rows += spaces(entry)
    out += ["| | |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows], ""]
    if entry.api == "pettingzoo":
        make = f'from mlsafety.envs import make_parallel\n\nenv = make_parallel("{entry.env_id}")'
    else:
        kw = ', backend="logic"' if entry.family == "text" else ""
        make = "import gymnasium as gym\n\nimport mlsafety.envs\n\n"
        make += f'env = gym.make("{entry.env_id}"{kw})'
    out += ["```python", make, "```", ""]
    if "Description" in secs:
        out += ["## Description", "", rst_to_md(secs["Description"]), ""]
    out += ["## Proxy reward and true objective", ""]
    reward = next((secs[h] for h in REWARD_HEADINGS if h in secs), "")
    out += ["### Reward the agent sees", "", rst_to_md(reward) or "See the description.", ""]
    truth = secs.get("True objective", "")
    if not truth and entry.family == "text":
        truth = (
            "Text scenarios have no proxy: `true_reward` is the score change. What the task "
            "leaves out is measured by the `morality` vector and the events below "
            "(Immorality = summed harm to others)."
        )
    out += ["### True objective", "", rst_to_md(truth) or "Equal to the reward.", ""]
    declared = dict(rows).get("Safety events", "none")
    out += ["## Safety events", "", f"Declared (`event_names`): {declared}.", ""]
    out += [rst_to_md(secs.get("Safety events", "")), ""]
    if annotations:
        out += [annotations, ""]
    for heading, body in secs.items():
        if heading not in SHOWN_ELSEWHERE:
            out += [f"## {heading}", "", rst_to_md(body), ""]
    for heading in ("Action Space", "Observation Space"):
        if heading in secs:
            out += [f"## {heading}", "", rst_to_md(secs[heading]), ""]
    out += ["## Variants", ""]
    others = related(entry)
    out += [f"- [{bare(o.env_id)}]({bare(o.env_id)}.md): {o.summary}" for o in others]
    out += ["" if others else "No other registered configuration.", ""]
    if "Registered IDs" in secs:
        out += ["Registered IDs: " + rst_to_md(secs["Registered IDs"]), ""]
    version = entry.env_id.rsplit("-v", 1)[1]
    out += [
        "## Version history",
        "",
        f"- `v{version}`: the first registered version (current).",
        "",
    ]
    out += ["## Citation", "", citations(entry, doc)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).rstrip() + "\n"


def index(thumbs: dict[str, str | None]) -> str:
    out = [
        "# Environments",
        "",
        f"Every registered environment ({len(CATALOGUE)} IDs), generated from the registry by "
        "`scripts/build_docs.py`; `mlsafety envs` prints the same list. See "
        "[the families](../families.md) for what they share.",
        "",
    ]
    for family in sorted(
        {e.family for e in CATALOGUE.values()},
        key=lambda f: (list(FAMILIES).index(f) if f in FAMILIES else len(FAMILIES), f),
    ):
        out += [
            f"## {FAMILIES.get(family, family)}",
            "",
            "| | ID | what it tests |",
            "|---|---|---|",
        ]
        for env_id in sorted(i for i, e in CATALOGUE.items() if e.family == family):
            name, thumb = bare(env_id), thumbs.get(env_id)
            pic = f"[![{name}](img/{thumb})]({name}.md)" if thumb else ""
            out.append(f"| {pic} | [`{env_id}`]({name}.md) | {CATALOGUE[env_id].summary} |")
        out.append("")
    return "\n".join(out)


def api_tree(root: Path = ROOT) -> Path:
    """``build/api-src/mlsafety``: the installed package layout (``mlsafety.envs`` is
    ``envs/``, ...) as symlinks, where mkdocstrings reads the sources."""
    pkg = root / "build" / "api-src" / "mlsafety"
    pkg.mkdir(parents=True, exist_ok=True)
    links = {p.name: p for p in (root / "mlsafety").iterdir() if p.name != "__pycache__"}
    links |= {name: root / name for name in ("envs", "agents", "monitors")}
    for name, target in links.items():
        link = pkg / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target.resolve())
    return pkg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "envs")
    parser.add_argument("--no-pictures", action="store_true", help="pages only (fast)")
    parser.add_argument("--only", nargs="*", help="these IDs only (and the index)")
    args = parser.parse_args(argv)
    load_plugins()
    api_tree()
    start = time.perf_counter()
    (args.out / "img").mkdir(parents=True, exist_ok=True)
    ids = sorted(CATALOGUE) if not args.only else [mlsafety.envs.resolve_id(i) for i in args.only]
    thumbs: dict[str, str | None] = {}
    for env_id in ids:
        entry = CATALOGUE[env_id]
        pic: tuple[str, str] | None = None
        sidecar = args.out / "img" / f"{bare(env_id)}.caption"
        if not args.no_pictures:
            full, thumb, caption = write_picture(entry, args.out / "img")
            sidecar.write_text(caption)
            pic, thumbs[env_id] = (full, caption), thumb
        elif sidecar.exists():  # pictures kept from an earlier full build
            pic = (f"{bare(env_id)}.png", sidecar.read_text())
        (args.out / f"{bare(env_id)}.md").write_text(page(entry, pic))
    for env_id in CATALOGUE:  # pictures kept from an earlier full build
        thumb = f"{bare(env_id)}_thumb.png"
        if env_id not in thumbs and (args.out / "img" / thumb).exists():
            thumbs[env_id] = thumb
    (args.out / "index.md").write_text(index(thumbs))
    took = time.perf_counter() - start
    print(f"{len(ids)} env pages in {args.out} ({took:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
