"""`zhongtai audit verify`: walk the chain, say which record was edited, deleted, inserted or reordered.

The walk reads the log in order, a page at a time, and checks each record against the one before it: its
number follows, its `prev_hash` names the record before, its content gives its hash. The first record that
does not fit opens a window of the records around it, in which the chain is rebuilt from the hashes the
records hold rather than from their numbers (`_Diagnosis`): a record nothing leads to was inserted, a number
nothing fills was deleted, a record whose content hashes only under another number was moved (reordered,
or renumbered to hide a deletion or an insertion), a record whose content hashes under no number was edited.
After the window the walk goes on, so a log damaged in several places reports each place.

Beyond the chain: every decision a batch record lists must be in the decisions table with the digest the
record holds, a decision made since the log began must be listed by some batch, and the head exported
outside the database (govern/audit_head.py) must still be in the log with the same hash — so a truncated
tail, or a log rewritten from some record on with every hash recomputed, is caught too.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.audit import GENESIS, AuditKind, AuditRecord, decision_digest
from zhongtai.govern.audit_head import Head, read_head
from zhongtai.govern.audit_why import Diagnosis

if TYPE_CHECKING:
    from zhongtai.meta.store import MetadataStore

WINDOW = 32  # records on each side of a break that the diagnosis rebuilds the chain from
MAX_FINDINGS = 100  # kept in the report; more are counted, not listed
_DECISION_CHUNK = 500

Progress = Callable[[int, int], None]  # (records checked, records in the log)


@dataclass(frozen=True)
class Finding:
    """One problem: the record (by number) it is about, that record's kind, what happened, and the evidence."""

    seq: int
    kind: str
    problem: str  # edited | deleted | inserted | reordered | renumbered | truncated | rewritten | decision_*
    detail: str

    def line(self) -> str:
        """The finding in one line, as verify prints it."""
        about = f"record {self.seq}" + (f" ({self.kind})" if self.kind else "")
        return f"{about} {self.problem.replace('_', ' ')}: {self.detail}"


@dataclass
class VerifyReport:
    """What verify found: how much it checked, the exported head it compared with, and every problem."""

    records: int = 0
    decisions: int = 0
    head: Head | None = None
    head_path: Path | None = None
    findings: list[Finding] = field(default_factory=list)
    more_findings: int = 0  # beyond MAX_FINDINGS
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, finding: Finding) -> None:
        if any(
            (f.seq, f.problem, f.detail) == (finding.seq, finding.problem, finding.detail)
            for f in self.findings
        ):
            return
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(finding)
        else:
            self.more_findings += 1

    def to_dict(self) -> dict[str, Any]:
        """The report as `audit verify --json` prints it and the gateway answers it."""
        return {
            "ok": self.ok,
            "records": self.records,
            "decisions": self.decisions,
            "head": None if self.head is None else {"seq": self.head.seq, "hash": self.head.hash},
            "head_file": str(self.head_path) if self.head_path else None,
            "findings": [asdict(f) | {"line": f.line()} for f in self.findings],
            "more_findings": self.more_findings,
            "notes": self.notes,
            "summary": self.summary(),
        }

    def summary(self) -> str:
        """The one-line verdict: why it failed (the first problem and how many there are), or what passed."""
        if not self.ok:
            count = len(self.findings) + self.more_findings
            first = sorted(self.findings, key=lambda f: f.seq)[0]
            return (
                f"audit log FAILED verification ({count} problem{'s' if count > 1 else ''}): {first.line()}"
            )
        head = f"; head at record {self.head.seq} matches" if self.head is not None else ""
        return f"audit log verified: {self.records:,} records, {self.decisions:,} decisions{head}"


def verify(store: MetadataStore, head_path: Path | None, on_progress: Progress | None = None) -> VerifyReport:
    """Check the whole log of `store` against itself, the decisions table and the head at `head_path`."""
    report = VerifyReport(head_path=head_path)
    if head_path is not None:
        try:
            report.head = read_head(head_path)
        except ZhongtaiError as exc:  # read first: a head read after the walk could be ahead of it
            report.add(Finding(0, "", "head_damaged", exc.message))
    started = datetime.now(UTC)
    walker = _Walker(store, report, on_progress or (lambda done, total: None))
    walker.walk()
    _check_head(report, walker)
    walker.walk()  # records appended meanwhile cover the decisions written meanwhile
    walker.check_unlisted_decisions(until=started)
    if (
        report.head is None
        and report.records
        and not any(f.problem == "head_damaged" for f in report.findings)
    ):
        where = head_path or "nowhere (a server database and no ZT_HOME)"
        report.notes.append(f"no exported head found at {where}: a truncated tail cannot be detected")
    return report


class _Walker:
    """The sequential walk: each record checked against the authentic record before it."""

    def __init__(self, store: MetadataStore, report: VerifyReport, on_progress: Progress) -> None:
        self.store = store
        self.report = report
        self.on_progress = on_progress
        self.total = store.audit.count()
        newest = store.audit.records(limit=1)
        self.log_end = newest[0].seq if newest else 0
        # The last records of the chain as rebuilt so far, each with its authentic number; the oldest one
        # anchors a diagnosis window.
        self.recent: deque[tuple[AuditRecord, int]] = deque(maxlen=WINDOW + 1)
        self.seen_up_to = 0
        self.head_hash = report.head.hash if report.head else None
        self.head_found = False  # whether some record (renumbered or not) holds the exported head's hash
        self.log_start: datetime | None = None
        self.listed_in_range = 0  # listed decisions made since the log began (and before verify started)
        self.last_progress = 0.0

    def walk(self) -> None:
        """Walk every record numbered above the last one walked."""
        for page in self.store.audit.pages(after=self.seen_up_to):
            for rec in page:
                if rec.seq <= self.seen_up_to:
                    continue  # already read by a diagnosis window
                self._seen(rec)
                if self._fits(rec):
                    self.recent.append((rec, self._position() + 1))
                else:
                    self._diagnose(rec)

    def _position(self) -> int:
        return self.recent[-1][1] if self.recent else 0

    def _fits(self, rec: AuditRecord) -> bool:
        before = self.recent[-1][0].hash if self.recent else GENESIS
        return rec.seq == self._position() + 1 and rec.prev_hash == before and rec.content_hash() == rec.hash

    def _seen(self, rec: AuditRecord) -> None:
        self.seen_up_to = max(self.seen_up_to, rec.seq)
        self.head_found = self.head_found or rec.hash == self.head_hash
        self.report.records += 1
        if self.log_start is None:
            self.log_start = _moment(rec.at)
        if rec.kind == AuditKind.DECISIONS:
            self._check_decisions(rec)
        now = time.monotonic()
        if now - self.last_progress > 0.2 or self.report.records == self.total:
            self.last_progress = now
            self.on_progress(self.report.records, max(self.total, self.report.records))

    def _diagnose(self, rec: AuditRecord) -> None:
        """Rebuild the chain around `rec` from its hashes and report what the rebuild shows."""
        anchor = self.recent[0] if self.recent else None
        before = [r for r, _ in list(self.recent)[1:]]
        ahead = [rec] + [r for r in self.store.audit.between(rec.seq + 1, rec.seq + 2 * WINDOW)]
        for later in ahead[1:]:
            self._seen(later)
        diagnosis = Diagnosis(
            anchor=anchor[0] if anchor else None,
            anchor_position=anchor[1] if anchor else 0,
            window=before + ahead,
            log_end=self.log_end,
            head_seq=self.report.head.seq if self.report.head else None,
        )
        for seq, kind, problem, detail in diagnosis.findings():
            self.report.add(Finding(seq, kind, problem, detail))
        if not diagnosis.chain:
            return
        self.recent.clear()
        self.recent.extend(diagnosis.chain[-(WINDOW + 1) :])

    # -- decisions ------------------------------------------------------------------------------------------

    def _check_decisions(self, rec: AuditRecord) -> None:
        body = rec.parsed_body()
        listed = body.get("decisions") if body else None
        if not isinstance(listed, list):
            return  # an edited body: the record's own hash already says so
        pairs = [(str(p[0]), str(p[1])) for p in listed if isinstance(p, list) and len(p) == 2]
        for chunk in _chunks(pairs, _DECISION_CHUNK):
            stored = {d.id: d for d in self.store.decisions.by_ids([decision_id for decision_id, _ in chunk])}
            for decision_id, digest in chunk:
                found = stored.get(decision_id)
                self.report.decisions += 1
                if found is None:
                    why = f"decision {decision_id} it lists is not in the decisions table (deleted)"
                    self.report.add(Finding(rec.seq, rec.kind, "decision_deleted", why))
                    continue
                if decision_digest(found) != digest:
                    why = f"decision {decision_id} it lists no longer matches its digest (the row was edited)"
                    self.report.add(Finding(rec.seq, rec.kind, "decision_edited", why))
                if self.log_start is not None and found.at >= self.log_start:
                    self.listed_in_range += 1

    def check_unlisted_decisions(self, until: datetime) -> None:
        """Decisions made since the log began (until verify started) that no batch lists were written
        around the log; counted first, and only when the counts differ found by id."""
        if self.log_start is None:
            return
        made = self.store.decisions.count(since=self.log_start, until=until)
        if made <= self.listed_in_range:
            return
        listed = set(self._listed_ids())
        unlisted = [i for i in self.store.decisions.ids_since(self.log_start, until=until) if i not in listed]
        for decision_id in unlisted[:5]:
            why = f"decision {decision_id} is in the decisions table but in no audit batch (written around the log)"
            self.report.add(Finding(0, "", "decision_inserted", why))
        if len(unlisted) > 5:
            why = f"{len(unlisted) - 5} more decisions are in no audit batch"
            self.report.add(Finding(0, "", "decision_inserted", why))

    def _listed_ids(self) -> Iterator[str]:
        for page in self.store.audit.pages():
            for rec in page:
                body = rec.parsed_body() if rec.kind == AuditKind.DECISIONS else None
                for pair in (body or {}).get("decisions", []):
                    if isinstance(pair, list) and pair:
                        yield str(pair[0])


def _check_head(report: VerifyReport, walker: _Walker) -> None:
    """The exported head must still be in the log, holding the hash it was exported with."""
    head = report.head
    if head is None or walker.head_found:
        return  # found under another number: the renumbering is reported where it happened
    if head.seq > walker.seen_up_to:
        end = f"ends at record {walker.seen_up_to}" if walker.seen_up_to else "is empty"
        why = f"the log {end}, but record {head.seq} was exported as its head at {head.at} (records were removed)"
        report.add(Finding(head.seq, "", "truncated", why))
    else:
        why = (
            f"its hash is not the one exported as the head at {head.at}: the log was rewritten up to here "
            "with its hashes recomputed"
        )
        report.add(Finding(head.seq, "", "rewritten", why))


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _chunks(items: list[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
