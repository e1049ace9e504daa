"""Promotion: the winning prompt on a branch ``maia/promote/<id>``, reviewed as a pull request.

On the current branch the experiment is completed with the winner and the branch name (and the
queue starts the next one). On the promotion branch, built on top of that commit without touching
the user's checkout, the agent's prompt file holds the treatment, the experiment is marked
promoted and the analysis is saved beside it. Merging the pull request is the promotion.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from maia_git import crash
from maia_git.core import messages, summary, summary_arms
from maia_git.core.decide import decide
from maia_git.core.ids import check_id, check_text
from maia_git.core.lifecycle import Transition, apply
from maia_git.core.models import Experiment, QueueEntry, Status
from maia_git.errors import MaiaError, PartialFailure, TransitionError, UsageError
from maia_git.storage import branch as plumbing
from maia_git.storage import git, state
from maia_git.usecases import pins
from maia_git.usecases.remote import require_remote
from maia_git.workspace import Transaction, Workspace, utcnow


@dataclass
class Promotion:
    experiment_id: str
    branch: str
    winner: str = "treatment"
    commit: str | None = None
    reused: bool = False
    forced: bool = False
    dry_run: bool = False
    pushed: bool = False
    pull_request: dict[str, Any] | None = None
    pull_request_created: bool = False
    analysis: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    transitions: list[Transition] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        pr = self.pull_request or {}
        return {
            "experiment_id": self.experiment_id,
            "winner": self.winner,
            "branch": self.branch,
            "commit": self.commit,
            "reused": self.reused,
            "forced": self.forced,
            "dry_run": self.dry_run,
            "pushed": self.pushed,
            "pull_request": {
                "number": pr.get("number"),
                "url": pr.get("html_url"),
                "created": self.pull_request_created,
            }
            if pr
            else None,
            "decision": self.analysis.get("decision"),
        }


@dataclass(frozen=True)
class FixedTime:
    """The time a CI promotion records, taken from the analysed commit, so that a rerun of the
    same commit rebuilds the very same commits (same ids) instead of new ones."""

    now: str  # RFC 3339, for the queue entries
    git_date: str  # "<epoch> +0000", for the commits

    @classmethod
    def of_commit(cls, repo: git.Repo, rev: str = "HEAD") -> FixedTime:
        from datetime import UTC, datetime

        epoch = int(git.run(repo, "show", "-s", "--format=%ct", rev).strip())
        when = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return cls(when, f"{epoch} +0000")


def branch_name(exp_id: str) -> str:
    return f"maia/promote/{exp_id}"


def promote(
    ws: Workspace,
    exp_id: str,
    *,
    push: bool = False,
    open_pr: bool = False,
    dry_run: bool = False,
    force: bool = False,
    reason: str | None = None,
    environ: Mapping[str, str] = os.environ,
    fixed: FixedTime | None = None,
    arm: str | None = None,
) -> Promotion:
    """Promote the winner: the treatment, or with several treatments the arm the analysis
    names (``arm`` must agree with it, unless ``force``: then it chooses the arm)."""
    check_id(exp_id)
    if force and not (reason and reason.strip()):
        raise UsageError("--force needs a reason: --note TEXT (kept in the commit and the PR)")
    if reason is not None:
        check_text(reason, "reason")
    # What the push and the pull request need is checked before anything changes.
    client = _client(ws, environ) if open_pr else None
    if push or open_pr:
        require_remote(ws)
    with ws.transaction() as tx:
        promotion = _promote_locally(ws, tx, exp_id, dry_run, force, reason, fixed, arm)
    if dry_run:
        return promotion
    crash.point("after_promote_local")
    try:
        if push or open_pr:
            with ws.transaction():  # every git write inside the lock
                _push(ws, promotion)
            crash.point("after_branch_push")
        if client is not None:
            _open_pull(ws, promotion, client)
    except MaiaError as err:
        again = f"maia exp promote {exp_id} {'--open-pr' if open_pr else '--push'}"
        raise PartialFailure(err, _steps_done(promotion), again) from None
    return promotion


def promote_if_decided(
    ws: Workspace, exp_id: str, *, push: bool = False, open_pr: bool = False
) -> Promotion | None:
    """Promote only if the analysis decides ``promote`` (None otherwise): no refusal to catch."""
    from maia_git.usecases.analysis import analyze_experiment

    if analyze_experiment(ws, exp_id).to_dict()["decision"] != "promote":
        return None
    return promote(ws, exp_id, push=push, open_pr=open_pr)


def _steps_done(promotion: Promotion) -> list[str]:
    """What a promotion that failed on the way to GitHub did before it failed."""
    verb = "reused" if promotion.reused else "built"
    done = [
        f"completed {promotion.experiment_id} on the current branch, {promotion.winner} the winner",
        f"{verb} branch {promotion.branch} ({(promotion.commit or '')[:10]})",
    ]
    if promotion.pushed:
        done.append(f"pushed {promotion.branch}")
    return done


def _client(ws: Workspace, environ: Mapping[str, str]) -> Any:
    from maia_git.github import (
        GitHubClient,
        api_url_from,
        repo_from,
        timeout_from,
        token_from_env,
    )

    token = token_from_env(environ)
    code, url, _ = git.attempt(ws.repo, "remote", "get-url", ws.settings.remote)
    repo = repo_from(environ, url.strip() if code == 0 else None)
    timeout = timeout_from(environ)
    api_url = api_url_from(environ)
    return GitHubClient(api_url, token, repo, timeout=timeout)


def _promote_locally(
    ws: Workspace,
    tx: Transaction,
    exp_id: str,
    dry_run: bool,
    force: bool,
    reason: str | None,
    fixed: FixedTime | None = None,
    arm: str | None = None,
) -> Promotion:
    from maia_git.usecases.analysis import analyze_experiment

    entry = state.load_entry(ws.top, exp_id)
    experiment = state.load_experiment(ws.top, exp_id)
    name = branch_name(exp_id)
    resuming = entry.status is Status.COMPLETED and experiment.promotion_branch == name
    if entry.status not in (Status.ACTIVE, Status.COMPLETED):
        raise TransitionError(
            f"cannot promote {exp_id}: it is {entry.status}; only active or "
            "completed experiments can be promoted"
        )
    if entry.status is Status.COMPLETED and experiment.winner == "control" and not force:
        raise MaiaError(f"not promoting {exp_id}: it was completed with control as the winner")
    _check_arm(experiment, arm, resuming)
    analysis = analyze_experiment(ws, exp_id).to_dict()
    if analysis["decision"] != "promote" and not force and not resuming:
        unmet = "; ".join(r.get("message", r.get("code", "")) for r in analysis["reasons"])
        raise MaiaError(f"not promoting {exp_id} (decision {analysis['decision']}): {unmet}")
    winner = _winner(experiment, analysis, arm, force, resuming)
    if not force:
        _refuse_trampling(ws, exp_id, experiment.control)
    # What was tested is the pinned text, whatever the treatment file holds now.
    pinned = pins.effective(ws.repo, experiment, entry.status).pins.get(winner)
    path = experiment.arm_paths()[winner]
    treatment_blob = pinned.blob if pinned else plumbing.blob_of(ws.repo, "HEAD", path)
    if treatment_blob is None:
        raise MaiaError(f"{winner} prompt {path} is not committed at HEAD; commit it first")
    if (
        plumbing.blob_of(ws.repo, "HEAD", experiment.control) is None
        and (ws.top / experiment.control).exists()
    ):
        raise MaiaError(f"control prompt {experiment.control} is not a committed file at HEAD")
    blocker = plumbing.blocking_ref(ws.repo, name)
    if blocker is not None:
        raise MaiaError(
            f"a branch named {blocker!r} exists, so {name} cannot be created; "
            "rename that branch and promote again"
        )
    forced_by = _identity(ws) if force and not resuming else None
    promotion = Promotion(
        exp_id, name, winner, forced=forced_by is not None, dry_run=dry_run, analysis=analysis
    )
    existing = plumbing.ref_sha(ws.repo, f"refs/heads/{name}")
    if existing is not None:
        _check_existing(ws, existing, experiment, treatment_blob, name)
    if not resuming:
        _complete_here(ws, tx, entry, experiment, promotion, forced_by, reason, fixed)
    if dry_run:
        return promotion
    if existing is not None:
        promotion.commit, promotion.reused = existing, True
        return promotion
    promotion.commit = _build_branch(ws, exp_id, treatment_blob, analysis, forced_by, reason, fixed)
    plumbing.move_branch(ws.repo, name, promotion.commit, None)
    return promotion


def _check_arm(experiment: Experiment, arm: str | None, resuming: bool) -> None:
    """``arm`` (if given) is a treatment, and the one already promoted when resuming."""
    treatments = experiment.arm_names()[1:]
    if arm is not None and arm not in treatments:
        raise UsageError(f"{arm!r} is not a treatment of {experiment.id}: {', '.join(treatments)}")
    promoted = experiment.winner if experiment.several else "treatment"
    if resuming and arm is not None and promoted is not None and arm != promoted:
        raise MaiaError(
            f"not promoting {arm}: {experiment.id} was completed with {promoted} promoted on "
            f"{experiment.promotion_branch}"
        )


def _winner(
    experiment: Experiment, analysis: dict[str, Any], arm: str | None, force: bool, resuming: bool
) -> str:
    """The arm to promote: treatment; with several treatments the analysis's winner, or the
    one recorded by an earlier run, or (forced) the one given."""
    names = experiment.arm_names()
    if not experiment.several:
        return "treatment"
    if resuming and experiment.winner in names[1:]:
        return experiment.winner
    found = analysis.get("winner")
    if arm is not None and arm != found and not force:
        raise MaiaError(
            f"not promoting {arm}: the analysis of {experiment.id} names "
            f"{found or 'no winner'}; use --force --note TEXT to promote {arm} anyway"
        )
    chosen = arm or found
    if chosen is None:
        raise UsageError(
            f"{experiment.id} has several treatments and the analysis names no winner: "
            "choose one with --arm NAME"
        )
    return str(chosen)


def _refuse_trampling(ws: Workspace, exp_id: str, target: str) -> None:
    """Refuse to rewrite a prompt file that a running (active or paused) experiment pinned."""
    for other, entry in sorted(state.load_entries(ws.top, finished=False).items()):
        if other == exp_id or entry.status not in (Status.ACTIVE, Status.PAUSED):
            continue
        if not state.has_experiment(ws.top, other):
            continue
        experiment = state.load_experiment(ws.top, other)
        served = {arm: pin.path for arm, pin in experiment.pins.items()}
        arms = [arm for arm, path in (served or experiment.arm_paths()).items() if path == target]
        if arms:
            raise MaiaError(
                f"not promoting {exp_id}: it would rewrite {target}, the {arms[0]} prompt of "
                f"{other} ({entry.status}); finish {other} first, or use --force --note TEXT"
            )


def _identity(ws: Workspace) -> str:
    ident = git.run(ws.repo, "var", "GIT_AUTHOR_IDENT").rsplit(" ", 2)[0]
    return ident or os.environ.get("USER", "unknown")


def _check_existing(
    ws: Workspace, sha: str, experiment: Experiment, treatment_blob: str, name: str
) -> None:
    if plumbing.blob_of(ws.repo, sha, experiment.control) != treatment_blob or (
        plumbing.blob_of(ws.repo, sha, f"experiments/{experiment.id}/analysis.json") is None
    ):
        raise MaiaError(
            f"branch {name} already exists with other content; inspect it, then "
            f"delete it (`git branch -D {name}`) or rename it, and promote again"
        )


def _complete_here(
    ws: Workspace,
    tx: Transaction,
    entry: QueueEntry,
    experiment: Experiment,
    promotion: Promotion,
    forced_by: str | None,
    reason: str | None,
    fixed: FixedTime | None = None,
) -> None:
    """Complete the experiment on the current branch, naming the winner and the branch."""
    winner = promotion.winner
    outcome = f"{winner} promoted on {promotion.branch}"
    transitions: list[Transition] = []
    if entry.status is Status.ACTIVE:
        entries = state.load_entries(ws.top, finished=False)
        now = fixed.now if fixed else utcnow()
        decision = decide(entries, entry.id, "complete", ws.settings, now, outcome=outcome)
        for changed in decision.changed:
            tx.write(state.queue_rel(changed.id), state.entry_bytes(changed))
        transitions = list(decision.transitions)
    updated = replace(experiment, winner=winner, promotion_branch=promotion.branch)
    tx.write(state.experiment_rel(entry.id), state.experiment_bytes(updated))
    details = [f"Winner: {winner}; review and merge {promotion.branch} to promote it."]
    extra = [("Maia-Promotion", promotion.branch)]
    if forced_by:
        details.append(f"Forced by {forced_by}: {reason}")
        extra.append(("Maia-Forced-By", forced_by))
    if not transitions:
        extra = [("Maia-Experiment", entry.id), *extra]
    promotion.message = messages.transition_message(
        f"complete {entry.id} ({winner} wins)", transitions, details, extra
    )
    promotion.transitions = transitions
    if promotion.dry_run:
        tx.files.clear()
        return
    tx.commit(promotion.message, fixed.git_date if fixed else None)


def _build_branch(
    ws: Workspace,
    exp_id: str,
    treatment_blob: str,
    analysis: dict[str, Any],
    forced_by: str | None,
    reason: str | None,
    fixed: FixedTime | None = None,
) -> str:
    experiment = state.load_experiment(ws.top, exp_id)
    entry = state.load_entry(ws.top, exp_id)
    promoted, transition = apply(entry, "promote", fixed.now if fixed else utcnow())
    control_blob = plumbing.blob_of(ws.repo, "HEAD", experiment.control)
    old = plumbing.read_blob(ws.repo, control_blob) if control_blob else b""
    new = plumbing.read_blob(ws.repo, treatment_blob)
    files = {
        experiment.control: new,
        state.queue_rel(exp_id): state.entry_bytes(promoted),
        f"experiments/{exp_id}/analysis.json": (json.dumps(analysis, indent=2) + "\n").encode(),
    }
    diff = summary.prompt_diff(
        old.decode("utf-8", "replace"),
        new.decode("utf-8", "replace"),
        experiment.control,
        experiment.control,
    )
    arm = str(experiment.winner or analysis.get("winner") or "treatment")  # the arm promoted
    body = pull_request_body(
        analysis, {**experiment.to_dict(), "agent": entry.agent}, diff, arm, forced_by, reason
    )
    trailers = [("Maia-Experiment", exp_id), ("Maia-Transition", transition.arrow)]
    if forced_by:
        trailers.append(("Maia-Forced-By", forced_by))
    subject = messages.one_line(f"promote {exp_id}: {experiment.name}")
    message = f"maia: {subject}\n\n{body}\n" + "".join(
        f"{k}: {messages.one_line(v)}\n" for k, v in trailers
    )
    return plumbing.commit_on(ws.repo, "HEAD", files, message, fixed.git_date if fixed else None)


def pull_request_body(
    analysis: Mapping[str, Any],
    experiment: Mapping[str, Any],
    diff: str,
    arm: str,
    forced_by: str | None,
    reason: str | None,
) -> str:
    """The body of the promotion commit and pull request: two arms as it always was; several
    treatments with the promoted ``arm`` named and every arm's numbers and comparison shown."""
    if "arms" in analysis:
        return summary_arms.promotion_body(analysis, experiment, diff, arm, forced_by, reason)
    return summary.promotion_body(analysis, experiment, diff, forced_by, reason)


def _push(ws: Workspace, promotion: Promotion) -> None:
    """Push the promotion branch; an equivalent branch already on the remote is adopted.

    A rerun after a failure may find the branch that an earlier run pushed. If it promotes the
    same treatment for the same experiment, it is kept (and the local branch follows it), so a
    rerun converges on one branch instead of failing on a non-fast-forward forever.
    """
    from maia_git.usecases.push import rejection

    remote, name = ws.settings.remote, promotion.branch
    code, out, err = git.attempt(
        ws.repo, "push", "--porcelain", remote, f"refs/heads/{name}:refs/heads/{name}"
    )
    if code != 0 and not _adopt(ws, promotion):
        raise MaiaError(
            f"push of {name} to {remote} failed ({rejection(out, err)}); the branch is kept: "
            f"push it with `git push {remote} {name}`"
        )
    promotion.pushed = True


def _adopt(ws: Workspace, promotion: Promotion) -> bool:
    """Take the remote's promotion branch if it promotes the same thing; False otherwise."""
    remote, name = ws.settings.remote, promotion.branch
    tracking = f"refs/remotes/{remote}/{name}"
    code, _, _ = git.attempt(
        ws.repo, "fetch", "--no-tags", "-q", remote, f"+refs/heads/{name}:{tracking}"
    )
    theirs = plumbing.ref_sha(ws.repo, tracking) if code == 0 else None
    ours = promotion.commit
    if theirs is None or ours is None:
        return False
    exp_id = promotion.experiment_id
    control = state.load_experiment(ws.top, exp_id).control
    message = git.run(ws.repo, "show", "-s", "--format=%B", theirs)
    if (
        plumbing.blob_of(ws.repo, theirs, control) != plumbing.blob_of(ws.repo, ours, control)
        or plumbing.blob_of(ws.repo, theirs, f"experiments/{exp_id}/analysis.json") is None
        or f"Maia-Experiment: {exp_id}" not in message.splitlines()
    ):
        return False
    plumbing.move_branch(ws.repo, name, theirs, ours)
    promotion.commit, promotion.reused = theirs, True
    return True


def _open_pull(ws: Workspace, promotion: Promotion, client: Any) -> None:
    base = ws.repo.branch() or "main"
    message = git.run(ws.repo, "log", "-1", "--format=%B", promotion.commit or promotion.branch)
    title, _, body = message.partition("\n")
    body = "\n".join(ln for ln in body.strip().splitlines() if not ln.startswith("Maia-"))
    pull, created = client.open_or_reuse_pull(
        promotion.branch, base, title.removeprefix("maia: ").strip(), body.strip() + "\n"
    )
    promotion.pull_request, promotion.pull_request_created = pull, created
