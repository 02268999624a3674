"""What a run did, as numbers and as the table the command ends with."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from eligibility.decision import OUTCOMES

__all__ = ["BatchSummary", "summary_table"]


@dataclass(slots=True)
class BatchSummary:
    export_dir: Path
    out: Path
    rejected_out: Path
    executor: str  # "4 local processes" / "dask tcp://..."
    run_id: str = ""  # the screening run its decisions are recorded under
    files: int = 0
    export_bytes: int = 0  # on disk
    scan_reused: bool = False
    read_all: bool = False  # --read-all: every line read, not only what the policy reads
    unread_files: dict[str, int] = field(default_factory=dict)  # file name -> bytes, not opened: types never read
    resources: Counter[str] = field(default_factory=Counter)  # by type, in the files that were opened
    not_read: Counter[str] = field(default_factory=Counter)  # ... of them, left out by the read set
    unlinked: Counter[str] = field(default_factory=Counter)  # resources of no patient, by type
    shared: int = 0  # Medication / Substance lines
    shared_unused: int = 0  # ... that no patient referenced
    bad_lines: int = 0
    patients: int = 0  # patient groups in the export (+ unreadable lines), done before or now
    already_done: int = 0
    decided: int = 0  # this run
    rejected: int = 0  # this run (patients and unreadable lines)
    crashed: int = 0  # rejected because their worker process died each time
    decided_total: int = 0  # in the output, this run and earlier ones
    rejected_total: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # over the whole output
    labels: Counter[str] = field(default_factory=Counter)
    unrecognised: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (system, code, text): patients
    recovery: str | None = None  # what was done with an interrupted chunk
    scan_seconds: float = 0.0
    decide_seconds: float = 0.0
    record_seconds: float = 0.0  # part of decide_seconds: audit transactions and output writes

    @property
    def seconds(self) -> float:
        return self.scan_seconds + self.decide_seconds

    @property
    def patients_per_second(self) -> float:
        done = self.decided + self.rejected
        return done / self.seconds if self.seconds else 0.0

    @property
    def megabytes_per_second(self) -> float:
        return self.export_bytes / 1e6 / self.seconds if self.seconds else 0.0


def _share(count: int, total: int) -> str:
    return f"{count / total:.1%}" if total else "-"


def summary_table(summary: BatchSummary) -> Table:
    table = Table(title=f"Batch {summary.export_dir} -> {summary.out}", show_header=True, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    table.add_column("note")
    reused = " (scan reused)" if summary.scan_reused else ""
    table.add_row("export", f"{summary.export_bytes / 1e6:,.1f} MB", "", f"{summary.files} files{reused}")
    if summary.read_all:
        table.add_row("  read", "every line", "", "--read-all")
    else:
        unread_bytes = sum(summary.unread_files.values())
        types = ", ".join(sorted({name.split(".", 1)[0] for name in summary.unread_files}))
        share = _share(unread_bytes, summary.export_bytes)
        table.add_row("  not opened", f"{unread_bytes / 1e6:,.1f} MB", share, types)
    opened = "" if summary.read_all else "in the files opened"
    table.add_row("resources", f"{sum(summary.resources.values()):,}", "", opened)
    if not summary.read_all:
        left_out = ", ".join(f"{kind} {count:,}" for kind, count in summary.not_read.most_common())
        note = f"no code the policy reads: {left_out}" if left_out else ""
        table.add_row("  not read", f"{sum(summary.not_read.values()):,}", "", note)
    unlinked = ", ".join(f"{kind} {count:,}" for kind, count in summary.unlinked.most_common())
    table.add_row("  not per patient", f"{sum(summary.unlinked.values()):,}", "", unlinked or "")
    unused = f"{summary.shared_unused:,} referenced by nobody"
    table.add_row("  shared (Medication...)", f"{summary.shared:,}", "", unused)
    table.add_row("  unreadable lines", f"{summary.bad_lines:,}", "", "rejected, see the rejected file")
    table.add_row("patients", f"{summary.patients:,}", "", f"{summary.already_done:,} done by an earlier run")
    table.add_row("  decided now", f"{summary.decided:,}", "", "")
    table.add_row("  rejected now", f"{summary.rejected:,}", "", f"{summary.crashed:,} after worker crashes")
    table.add_section()
    total = summary.decided_total
    for outcome in OUTCOMES:
        if summary.outcomes[outcome]:
            table.add_row(outcome, f"{summary.outcomes[outcome]:,}", _share(summary.outcomes[outcome], total), "")
    for label, count in sorted(summary.labels.items()):
        table.add_row(label, f"{count:,}", _share(count, total), "")
    if summary.unrecognised:
        common = ", ".join(
            f"{text or code} ({count:,})" for (_, code, text), count in summary.unrecognised.most_common(3)
        )
        table.add_row(
            "unrecognised medications", f"{len(summary.unrecognised):,}", "", f"distinct; most common: {common}"
        )
    table.add_row("rejected (all runs)", f"{summary.rejected_total:,}", "", str(summary.rejected_out))
    table.add_section()
    phases = (
        f"scan {summary.scan_seconds:.1f} s, decide {summary.decide_seconds:.1f} s"
        f" (of which audit + output {summary.record_seconds:.1f} s)"
    )
    table.add_row("time", f"{summary.seconds:,.1f} s", "", phases)
    # MB/s covers the whole export, so it says something only when this run did all of it.
    rate = "" if summary.already_done else f"{summary.megabytes_per_second:,.1f} MB/s "
    table.add_row("throughput", f"{summary.patients_per_second:,.0f} patients/s", "", f"{rate}on {summary.executor}")
    if summary.recovery:
        table.add_row("resumed", "", "", summary.recovery)
    table.add_row("screening run", summary.run_id[:8], "", f"web: /ui/screening/{summary.run_id}")
    return table
