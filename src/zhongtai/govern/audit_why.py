"""Why the audit chain breaks where it breaks: the chain rebuilt from hashes, inside a window of records.

Numbers can be changed by anyone with write access; hashes cannot be made to agree without recomputing them.
So the rebuild ignores the numbers: starting from the last record known good (the anchor), the next record
is the one whose `prev_hash` names the current one, and each record's *written* number is the one under
which its content gives its hash (`AuditRecord.content_hash(seq)`). Then:

- a record no chain step reaches was **inserted** (two records naming the same predecessor: the one that
  nothing follows is the insertion);
- when nothing names the current record, the chain resumes at the earliest record naming a hash the window
  does not hold: if its written number skips ahead, the numbers in between were **deleted**; if not, the
  current record was **edited and re-hashed** (or, at the end of the log beyond the exported head, that
  record was **inserted**);
- a record whose content gives its hash under no number was **edited**;
- a record on the chain whose number is not its written number was moved: a set of moved records holding
  each other's numbers were **reordered**; a run shifted together was **renumbered** (to close the gap of a
  deletion or open one for an insertion).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from zhongtai.govern.audit import GENESIS, AuditKind, AuditRecord

_SEARCH = 64  # how far from its number a moved record's written number is searched for

Problem = tuple[int, str, str, str]  # (seq, kind, problem, detail)


@dataclass
class Diagnosis:
    """The chain rebuilt over `window` (records in number order) from `anchor`, the last good record."""

    anchor: AuditRecord | None
    anchor_position: int
    window: list[AuditRecord]
    log_end: int  # the highest number in the log when verify began
    head_seq: int | None  # the exported head's number, if any
    chain: list[tuple[AuditRecord, int]] = field(default_factory=list)  # (record, authentic number)
    _problems: list[Problem] = field(default_factory=list)
    _written: dict[int, int | None] = field(default_factory=dict)  # record number -> number written as

    def findings(self) -> list[Problem]:
        """Every problem in the window (and the anchor, if it was re-hashed), by record number."""
        if not self.window:
            return []
        numbers = range(max(1, self.window[0].seq - _SEARCH), self.window[-1].seq + _SEARCH + 1)
        self._written = {r.seq: _written_as(r, numbers) for r in self.window}
        self._rebuild()
        self._moved()
        first: dict[tuple[int, str], Problem] = {}
        for problem in self._problems:
            first.setdefault((problem[0], problem[2]), problem)
        return sorted(first.values(), key=lambda p: (p[0], p[2]))

    def _rebuild(self) -> None:
        naming: dict[str, list[AuditRecord]] = defaultdict(list)
        for r in self.window:
            naming[r.prev_hash].append(r)
        held = {r.hash for r in self.window} | ({self.anchor.hash} if self.anchor else set())
        visited: set[int] = set()
        current, position = self.anchor, self.anchor_position
        while True:
            current_hash = current.hash if current is not None else GENESIS
            candidates = [r for r in naming.get(current_hash, []) if r.seq not in visited]
            if candidates:
                chosen = _authentic(candidates, naming, self._written)
                for other in candidates:
                    if other is not chosen:
                        visited.add(other.seq)
                        self._add(
                            other,
                            "inserted",
                            f"it names record {position} as its predecessor, as record {chosen.seq} does, "
                            "and no record follows it",
                        )
            else:
                rest = [r for r in self.window if r.seq not in visited and r.prev_hash not in held]
                if not rest:
                    break
                chosen = rest[0]
                written = self._written[chosen.seq]
                if written is not None and written > position + 1:
                    self._deleted(range(position + 1, written), chosen)
                    position = written - 1
                elif written is not None and written <= position:
                    visited.add(chosen.seq)
                    self._add(
                        chosen, "inserted", f"it repeats number {written}, which the chain already holds"
                    )
                    continue
                elif written is not None:
                    self._broken_link(current, chosen, position)
                else:
                    self._add(chosen, "edited", f"its previous hash no longer names record {position}")
            visited.add(chosen.seq)
            position += 1
            self.chain.append((chosen, position))
            current = chosen
        for r in self.window:
            if r.seq not in visited:
                self._add(r, "inserted", "no record of the chain leads to it")

    def _deleted(self, missing: range, following: AuditRecord) -> None:
        """Numbers no record fills: `following` was written right after them."""
        after = f"record {following.seq} ({following.kind}) was written after record {missing[0] - 1}"
        for number in missing:
            self._problems.append((number, "", "deleted", f"it is missing: {after}"))

    def _broken_link(self, current: AuditRecord | None, following: AuditRecord, position: int) -> None:
        """`following` (well formed, next in number) names a hash `current` does not hold."""
        beyond_head = self.head_seq is None or following.seq > self.head_seq
        if current is None or (following.seq == self.log_end and beyond_head):
            detail = (
                f"its previous hash names no record (record {position} holds another); "
                "it was added at the end of the log"
            )
            self._add(following, "inserted", detail)
            return
        self._add(
            current,
            "edited",
            f"its hash was recomputed after a change: record {following.seq} names a different record "
            f"{position} as its predecessor",
        )

    def _moved(self) -> None:
        """Records on the chain whose number is not the one they were written with; edited ones."""
        run: list[tuple[AuditRecord, int]] = []
        for record, _ in self.chain:
            written = self._written[record.seq]
            if written is None:
                self._add(record, "edited", _what_changed(record))
            elif record.seq != written:
                run.append((record, written))
                continue
            self._report_run(run)
            run = []
        self._report_run(run)

    def _report_run(self, run: list[tuple[AuditRecord, int]]) -> None:
        if not run:
            return
        if sorted(r.seq for r, _ in run) == sorted(w for _, w in run):
            for record, written in run:
                self._add(record, "reordered", f"it is out of order: it was written as record {written}")
            return
        first, last = run[0], run[-1]
        if len(run) == 1:
            detail = f"it was written as record {first[1]}"
        else:
            detail = f"records {first[0].seq}–{last[0].seq} were written as {first[1]}–{last[1]}"
        self._add(
            first[0], "renumbered", f"{detail}: numbers were shifted to hide a deletion or an insertion"
        )

    def _add(self, record: AuditRecord, problem: str, detail: str) -> None:
        self._problems.append((record.seq, record.kind, problem, detail))


def _written_as(record: AuditRecord, numbers: range) -> int | None:
    """The number under which the record's content gives its hash: its own, or a nearby one if moved."""
    if record.content_hash() == record.hash:
        return record.seq
    for number in sorted(numbers, key=lambda n: abs(n - record.seq)):
        if number != record.seq and record.content_hash(number) == record.hash:
            return number
    return None


def _authentic(
    candidates: list[AuditRecord], naming: dict[str, list[AuditRecord]], written: dict[int, int | None]
) -> AuditRecord:
    """Of records naming the same predecessor, the one the chain continues through: one that a record
    follows; else one moved (an insertion shifts the records after it, not itself); else the first."""
    followed = [r for r in candidates if naming.get(r.hash)]
    if len(followed) == 1:
        return followed[0]
    moved = [r for r in candidates if written.get(r.seq) not in (None, r.seq)]
    return moved[0] if len(moved) == 1 else candidates[0]


def _what_changed(record: AuditRecord) -> str:
    """What an edited record's content shows, beyond its hash no longer matching."""
    base = "its content no longer gives its hash"
    if record.kind not in {kind.value for kind in AuditKind}:
        return f"{base} (kind '{record.kind[:40]}' is not a kind the log writes)"
    try:
        datetime.fromisoformat(record.at)
    except ValueError:
        return f"{base} (its time is not a time)"
    try:
        json.loads(record.body)
    except ValueError:
        return f"{base} (its body is not JSON)"
    if len(record.hash) != 64 or len(record.prev_hash) != 64:
        return f"{base} (a hash column is not a SHA-256)"
    return f"{base}: one of its columns was changed"
