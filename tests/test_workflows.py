"""Every workflow and the composite action pass actionlint (with shellcheck) and zizmor, expand no
expression inside a script, pin every action by commit SHA, and their scripts do what they say.

Each checker is run once on a known-bad file too, so a checker that silently checks nothing (a
missing shellcheck, say) fails here instead of passing.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import maia_git

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "maia_git" / "templates" / "maia-analyze.yml"
OWN_ANALYZE = ROOT / ".github" / "workflows" / "maia-analyze.yml"
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml")) + sorted(
    (ROOT / "maia_git" / "templates").glob("*.yml")
)
ALL_FILES = [*WORKFLOWS, ACTION]
ZERO_SHA = "0" * 40
IDENTITY = {
    "GIT_AUTHOR_NAME": "Maia Test",
    "GIT_AUTHOR_EMAIL": "maia@example.invalid",
    "GIT_COMMITTER_NAME": "Maia Test",
    "GIT_COMMITTER_EMAIL": "maia@example.invalid",
}
PINNED = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}")
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


# -- the checkers ---------------------------------------------------------------------------


def tool(name: str) -> str:
    """A tool of the test extras: beside this interpreter (an unactivated venv), else on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    # -shellcheck names the binary: left to PATH, a missing one silently skips run: scripts.
    command = [tool("actionlint"), "-oneline", "-no-color", "-shellcheck", tool("shellcheck")]
    command += ["-pyflakes", "", str(path)]
    return subprocess.run(command, cwd=path.parent, capture_output=True, text=True, timeout=600)


def zizmor(path: Path) -> subprocess.CompletedProcess[str]:
    command = [tool("zizmor"), "--offline", "--no-progress", "--color=never", str(path)]
    return subprocess.run(command, cwd=path.parent, capture_output=True, text=True, timeout=600)


def steps_of(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, step) for every step of a workflow's jobs or of a composite action."""
    if "runs" in doc:
        for i, step in enumerate(doc["runs"].get("steps") or []):
            yield f"runs.steps[{i}]", step
    for job_id, job in (doc.get("jobs") or {}).items():
        if "uses" in job:  # a reusable workflow call is pinned like an action
            yield f"jobs.{job_id}", {"uses": job["uses"]}
        for i, step in enumerate(job.get("steps") or []):
            yield f"jobs.{job_id}.steps[{i}]", step


def expressions_in_scripts(doc: dict[str, Any]) -> list[str]:
    """Every ${{ }} written inside a run: script; values must reach scripts through env:."""
    return [
        f"{where}: {expr}"
        for where, step in steps_of(doc)
        for expr in EXPRESSION.findall(str(step.get("run", "")))
    ]


def unpinned_actions(doc: dict[str, Any]) -> list[str]:
    """Every uses: that is neither a local path nor pinned to a full 40-hex commit SHA."""
    found = []
    for where, step in steps_of(doc):
        uses = step.get("uses")
        if uses is None or uses.startswith("./"):
            continue
        if uses.startswith("docker://"):
            pinned = re.search(r"@sha256:[0-9a-f]{64}$", uses) is not None
        else:
            pinned = PINNED.fullmatch(uses) is not None
        if not pinned:
            found.append(f"{where}: {uses}")
    return found


# -- every file passes ----------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_workflow_passes_actionlint_and_shellcheck(path: Path) -> None:
    result = actionlint(path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ALL_FILES, ids=ids(ALL_FILES))
def test_passes_zizmor(path: Path) -> None:
    result = zizmor(path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ALL_FILES, ids=ids(ALL_FILES))
def test_no_expression_is_expanded_inside_a_script(path: Path) -> None:
    doc = load(path)
    assert list(steps_of(doc)), "no steps found: the check would pass vacuously"
    assert expressions_in_scripts(doc) == []


@pytest.mark.parametrize("path", ALL_FILES, ids=ids(ALL_FILES))
def test_every_action_is_pinned_to_a_commit_sha_with_its_tag(path: Path) -> None:
    assert unpinned_actions(load(path)) == []
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.search(r"uses:\s*\S+@[0-9a-f]{40}", line):
            assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), line


@pytest.mark.parametrize("path", ALL_FILES, ids=ids(ALL_FILES))
def test_checkout_keeps_no_credentials(path: Path) -> None:
    for where, step in steps_of(load(path)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert (step.get("with") or {}).get("persist-credentials") is False, where


def composite_as_workflow(action: dict[str, Any]) -> dict[str, Any]:
    """The action's steps as a workflow_call job, so actionlint checks their expressions and
    shellcheck their scripts (actionlint reads action.yml only for its metadata)."""
    inputs = {name: {"type": "string", "required": False} for name in action["inputs"]}
    outputs = {name: spec["value"] for name, spec in action["outputs"].items()}
    return {
        "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {},
        "jobs": {
            "composite": {
                "runs-on": "ubuntu-latest",
                "outputs": outputs,
                "steps": action["runs"]["steps"],
            }
        },
    }


def lint_action(action_path: Path, work: Path) -> tuple[bool, str]:
    """actionlint on the action twice over: its steps as a job, and its metadata as used by a
    workflow that passes every input. Returns (passed, findings)."""
    action = load(action_path)
    workflows = work / ".github" / "workflows"
    workflows.mkdir(parents=True)
    # actionlint resolves `uses: ./` from the repository root, which it finds by its .git.
    subprocess.run(["git", "init", "--quiet", str(work)], check=True)
    shutil.copy(action_path, work / "action.yml")
    with_every_input = {name: "x" for name in action["inputs"]}
    caller = {
        "on": "push",
        "permissions": {},
        "jobs": {
            "use": {"runs-on": "ubuntu-latest", "steps": [{"uses": "./", "with": with_every_input}]}
        },
    }
    yaml = YAML()
    for name, doc in (("steps.yml", composite_as_workflow(action)), ("caller.yml", caller)):
        with (workflows / name).open("w") as out:
            yaml.dump(doc, out)
    results = [actionlint(workflows / name) for name in ("steps.yml", "caller.yml")]
    return all(r.returncode == 0 for r in results), "".join(r.stdout + r.stderr for r in results)


def test_composite_action_passes_actionlint_and_shellcheck(tmp_path: Path) -> None:
    passed, findings = lint_action(ACTION, tmp_path)
    assert passed, findings


# -- each checker fails on a bad file (negative controls) -----------------------------------

BAD_WORKFLOW = """\
on: push
permissions: {}
jobs:
  bad:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-python@a309ff8
      - run: echo "${{ github.event.head_commit.message }}"
      - run: |
          files=(a b)
          ls ${files[@]}
"""


@pytest.fixture
def bad_workflow(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yml"
    path.write_text(BAD_WORKFLOW)
    return path


def test_actionlint_runs_shellcheck_on_scripts(bad_workflow: Path) -> None:
    result = actionlint(bad_workflow)
    assert result.returncode != 0
    assert "SC2068" in result.stdout  # ${files[@]} unquoted: found by shellcheck only


def test_actionlint_fails_a_malformed_workflow(tmp_path: Path) -> None:
    path = tmp_path / "malformed.yml"
    path.write_text("on: push\njobs:\n  a:\n    steps:\n      - run: true\n")
    result = actionlint(path)
    assert result.returncode != 0 and '"runs-on" section is missing' in result.stdout


def test_zizmor_fails_template_injection(bad_workflow: Path) -> None:
    result = zizmor(bad_workflow)
    assert result.returncode != 0 and "template-injection" in result.stdout


def test_script_expression_check_finds_github_event(bad_workflow: Path) -> None:
    assert expressions_in_scripts(load(bad_workflow)) == [
        "jobs.bad.steps[2]: ${{ github.event.head_commit.message }}"
    ]


def test_pin_check_finds_tags_and_short_shas(bad_workflow: Path) -> None:
    assert unpinned_actions(load(bad_workflow)) == [
        "jobs.bad.steps[0]: actions/checkout@v5",
        "jobs.bad.steps[1]: actions/setup-python@a309ff8",
    ]


def test_composite_lint_fails_a_bad_action(tmp_path: Path) -> None:
    text = ACTION.read_text(encoding="utf-8")
    bad = text.replace('maia ci analyze "${args[@]}"', "maia ci analyze ${args[@]}")
    bad = bad.replace("steps.analyze.outputs.results", "steps.missing.outputs.results")
    bad = bad.replace("using: composite", "using: compsite")
    assert "steps.missing" in bad and "analyze ${args[@]}" in bad and "compsite" in bad
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "action.yml").write_text(bad)

    passed, findings = lint_action(tmp_path / "src" / "action.yml", tmp_path / "lint")

    assert not passed
    assert "SC2068" in findings  # the script, through the steps-as-a-job workflow
    assert 'property "missing" is not defined' in findings  # an output of no step
    assert 'invalid runner name "compsite"' in findings  # the metadata, through the caller


# -- what the analysis workflow promises ------------------------------------------------------


def analyze_job(path: Path) -> dict[str, Any]:
    job = load(path)["jobs"]["analyze"]
    assert isinstance(job, dict)
    return job


def without_install(doc: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The workflow without its install steps (one a job), and those steps, job by job."""
    installs = []
    for job in doc["jobs"].values():
        (install,) = [s for s in job["steps"] if s.get("name", "").startswith("Install maia-git")]
        job["steps"] = [s for s in job["steps"] if s is not install]
        installs.append(install)
    return doc, installs


def test_own_workflow_is_the_template_installing_this_checkout() -> None:
    template, _ = without_install(load(TEMPLATE))
    own, installs = without_install(load(OWN_ANALYZE))
    assert installs == [
        {"name": "Install maia-git", "run": "python -m pip install ."},
        {
            "name": "Install maia-git with its report extra",
            "run": 'python -m pip install ".[report]"',
        },
    ]
    assert own == template


def test_template_triggers_permissions_and_concurrency() -> None:
    doc = load(TEMPLATE)
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["on"]["push"]["paths"] == ["experiments/*/interactions/**"]
    assert doc["permissions"] == {}
    assert doc["concurrency"]["cancel-in-progress"] is False
    assert "${{ github.ref }}" in doc["concurrency"]["group"]
    job = analyze_job(TEMPLATE)
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    checkout = job["steps"][0]
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}


def test_template_installs_the_current_version() -> None:
    _, installs = without_install(load(TEMPLATE))
    assert [i["env"] for i in installs] == [{"MAIA_VERSION": maia_git.__version__}] * 2
    assert installs[1]["run"] == 'python -m pip install "maia-git[report]==${MAIA_VERSION}"'


def test_report_job_only_reads_and_uploads_the_site() -> None:
    job = load(TEMPLATE)["jobs"]["report"]
    assert job["needs"] == "analyze" and job["permissions"] == {"contents": "read"}
    assert job["steps"][0]["with"] == {"fetch-depth": 0, "persist-credentials": False}
    build, upload = job["steps"][-2:]
    assert build["run"] == "maia report --out maia-report"
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["path"] == "maia-report"


def test_ci_runs_the_test_command_on_both_pythons() -> None:
    doc = load(ROOT / ".github" / "workflows" / "ci.yml")
    assert set(doc["on"]) == {"push", "pull_request"}
    assert doc["permissions"] == {"contents": "read"}
    job = doc["jobs"]["test"]
    assert job["runs-on"] == "ubuntu-latest"
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.12"]
    assert job["steps"][-1]["run"] == "bash scripts/test"


# -- the scripts do what they say (run by bash, maia replaced by a recorder) ----------------


def script(path: Path, step_id: str) -> str:
    for _, step in steps_of(load(path)):
        if step.get("id") == step_id:
            return str(step["run"])
    raise AssertionError(f"no step {step_id} in {path}")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A repository with two commits, and a `maia` on PATH that records what it was given."""
    repo = tmp_path / "repo"
    env = {**os.environ, **IDENTITY}
    subprocess.run(["git", "init", "--quiet", str(repo)], check=True, env=env)
    for n in (1, 2):
        subprocess.run(
            ["git", "commit", "--quiet", "--allow-empty", "-m", f"c{n}"],
            cwd=repo,
            check=True,
            env=env,
        )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    recorder = bin_dir / "maia"
    recorder.write_text(
        "#!/bin/bash\n"
        'printf "%s\\n" "$@" > "$RECORD.args"\n'
        'git config --get-regexp "^http\\..*\\.extraheader$" > "$RECORD.header" || true\n'
        'env | grep "^GIT_AUTHOR_NAME=" > "$RECORD.author" || true\n'
    )
    recorder.chmod(0o755)
    return repo


def run_script(repo: Path, text: str, env: dict[str, str]) -> tuple[int, str, list[str], str]:
    record = repo.parent / "record"
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "GITHUB_", "GH_", "INPUT_"))
    }
    full = {
        **base_env,
        "PATH": f"{repo.parent / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "RECORD": str(record),
        "GITHUB_SERVER_URL": "https://github.example",
        "HOME": str(repo.parent),
        **env,
    }
    done = subprocess.run(
        ["bash", "-c", text], cwd=repo, env=full, capture_output=True, text=True, timeout=600
    )
    args_file = record.with_suffix(".args")
    args = args_file.read_text().split() if args_file.exists() else []
    header_file = record.with_suffix(".header")
    header = header_file.read_text().strip() if header_file.exists() else ""
    return done.returncode, done.stdout + done.stderr, args, header


def head(repo: Path, rev: str = "HEAD") -> str:
    done = subprocess.run(["git", "rev-parse", rev], cwd=repo, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.mark.parametrize("path", [TEMPLATE, OWN_ANALYZE], ids=ids([TEMPLATE, OWN_ANALYZE]))
def test_workflow_script_passes_a_known_base_and_the_token_to_git(
    path: Path, checkout: Path
) -> None:
    before = head(checkout, "HEAD~1")
    code, out, args, header = run_script(
        checkout, script(path, "analyze"), {"BEFORE": before, "GITHUB_TOKEN": "tok3n"}
    )

    assert code == 0, out
    assert args == ["ci", "analyze", "--base", before, "--auto-promote", "--open-pr"]
    basic = base64.b64encode(b"x-access-token:tok3n").decode()
    assert header == f"http.https://github.example/.extraheader AUTHORIZATION: basic {basic}"
    assert f"::add-mask::{basic}" in out
    assert "tok3n" not in (checkout / ".git" / "config").read_text()


@pytest.mark.parametrize("before", ["", ZERO_SHA, "1234567890abcdef1234567890abcdef12345678"])
def test_workflow_script_analyses_everything_without_a_usable_base(
    before: str, checkout: Path
) -> None:
    code, out, args, _ = run_script(
        checkout, script(TEMPLATE, "analyze"), {"BEFORE": before, "GITHUB_TOKEN": "t"}
    )
    assert code == 0, out
    assert args == ["ci", "analyze", "--auto-promote", "--open-pr"]


@pytest.mark.parametrize(
    ("auto_promote", "open_pr", "expected"),
    [
        ("true", "true", ["--auto-promote", "--open-pr"]),
        ("true", "false", ["--auto-promote"]),
        ("false", "false", []),
    ],
)
def test_action_script_maps_inputs_to_flags(
    checkout: Path, auto_promote: str, open_pr: str, expected: list[str]
) -> None:
    base = head(checkout, "HEAD~1")
    env = {"BASE": base, "AUTO_PROMOTE": auto_promote, "OPEN_PR": open_pr, "GITHUB_TOKEN": "t"}
    code, out, args, header = run_script(checkout, script(ACTION, "analyze"), env)
    assert code == 0, out
    assert args == ["ci", "analyze", "--base", base, *expected]
    assert header.startswith("http.https://github.example/.extraheader AUTHORIZATION: basic ")


def test_action_script_refuses_a_flag_that_is_not_true_or_false(checkout: Path) -> None:
    env = {"BASE": "", "AUTO_PROMOTE": "yes", "OPEN_PR": "false", "GITHUB_TOKEN": ""}
    code, out, args, _ = run_script(checkout, script(ACTION, "analyze"), env)
    assert code == 2 and args == []
    assert "::error::input auto-promote must be true or false, not 'yes'" in out


def test_action_script_without_token_configures_no_header(checkout: Path) -> None:
    env = {"BASE": "", "AUTO_PROMOTE": "false", "OPEN_PR": "false", "GITHUB_TOKEN": ""}
    code, out, args, header = run_script(checkout, script(ACTION, "analyze"), env)
    assert code == 0, out
    assert args == ["ci", "analyze"] and header == ""
