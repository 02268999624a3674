"""Reading, routing and grouping: every patient's group is exactly its resources, wherever they were."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from benchmarks.synthetic_export import iter_patients, shared_resources, write_export
from eligibility.batch.export_reader import LineReader, find_export_files, line_starts
from eligibility.batch.grouping import SharedIndex, iter_groups
from eligibility.batch.links import route
from eligibility.batch.scan import Segments, plan_parts, scan_part
from eligibility.batch.workdir import ScanLayout
from eligibility.errors import InputError


@pytest.mark.parametrize(
    ("resource", "kind", "key", "needs"),
    [
        ({"resourceType": "Patient", "id": "p1"}, "patient", "p1", ()),
        ({"resourceType": "Observation", "subject": {"reference": "Patient/p1"}}, "patient", "p1", ()),
        ({"resourceType": "Observation", "subject": {"reference": "Patient/p1/_history/3"}}, "patient", "p1", ()),
        ({"resourceType": "Condition", "subject": {"reference": "urn:uuid:abc"}}, "patient", "abc", ()),
        ({"resourceType": "Claim", "patient": {"reference": "Patient/p2"}}, "patient", "p2", ()),
        ({"resourceType": "Coverage", "beneficiary": {"reference": "Patient/p3"}}, "patient", "p3", ()),
        ({"resourceType": "Observation", "subject": {"reference": "Group/g1"}}, "unlinked", "Observation", ()),
        ({"resourceType": "Practitioner", "id": "dr"}, "unlinked", "Practitioner", ()),
        (
            {
                "resourceType": "MedicationRequest",
                "subject": {"reference": "Patient/p1"},
                "medicationReference": {"reference": "Medication/m1"},
            },
            "patient",
            "p1",
            ("Medication/m1",),
        ),
        (
            {
                "resourceType": "MedicationStatement",
                "subject": {"reference": "Patient/p1"},
                "medicationReference": {"reference": "#c1"},
            },
            "patient",
            "p1",
            (),
        ),
        (
            {
                "resourceType": "Medication",
                "id": "m1",
                "ingredient": [{"itemReference": {"reference": "Substance/s1"}}],
            },
            "shared",
            "Medication/m1",
            ("Substance/s1",),
        ),
        ({"resourceType": "Substance", "id": "s1"}, "shared", "Substance/s1", ()),
    ],
)
def test_route(resource: dict[str, object], kind: str, key: str, needs: tuple[str, ...]) -> None:
    where = route(resource)
    assert (where.kind, where.key, where.needs) == (kind, key, needs)


def test_a_patient_without_id_cannot_be_placed() -> None:
    assert route({"resourceType": "Patient", "name": [{"family": "X"}]}).kind == "invalid"


def test_ranges_of_a_file_read_the_same_lines_as_the_whole_file(tmp_path: Path) -> None:
    lines = [b'{"n": %d, "pad": "%s"}' % (n, b"x" * (n % 37)) for n in range(400)]
    body = b"\xef\xbb\xbf" + b"\r\n".join(lines[:200]) + b"\n\n   \n" + b"\n".join(lines[200:])  # BOM, CRLF, blanks
    (tmp_path / "A.ndjson").write_bytes(body)
    (tmp_path / "B.ndjson.gz").write_bytes(gzip.compress(body))
    plain, packed = find_export_files(tmp_path)
    with LineReader(plain) as reader:
        whole = list(reader)
    with LineReader(packed) as reader:
        assert list(reader) == whole
    assert [line for _, line in whole] == lines
    starts = line_starts(plain, 500)
    assert len(starts) > 5
    pieces: list[tuple[int, bytes]] = []
    before = 0
    for start, end in zip(starts, [*starts[1:], None], strict=True):
        with LineReader(plain, start, end) as reader:
            pieces.extend((before + number, line) for number, line in reader)
            before += reader.lines
    assert pieces == whole


def test_a_truncated_gzip_file_stops_the_scan_with_its_name(tmp_path: Path) -> None:
    data = gzip.compress(b'{"resourceType": "Patient", "id": "p"}\n' * 5000)
    (tmp_path / "Patient.ndjson.gz").write_bytes(data[: len(data) // 2])
    (file,) = find_export_files(tmp_path)
    with pytest.raises(InputError, match=r"Patient\.ndjson\.gz cannot be read"), LineReader(file) as reader:
        list(reader)


def test_groups_hold_exactly_each_patients_resources(tmp_path: Path) -> None:
    export = tmp_path / "export"
    write_export(export, 12, seed=5)
    files = find_export_files(export)
    layout = ScanLayout.fresh(tmp_path / "work", files, Segments(3))
    for part in plan_parts(files, 64 << 10):  # many parts per file: numbering across ranges is exercised
        layout.parts.append(scan_part(part, files[part.file_index], layout.runs_dir, layout.segments))
    assert len(layout.parts) > len(files)
    layout.save()
    layout = ScanLayout.load(tmp_path / "work", files)
    assert layout is not None

    medications = {f"Medication/{r['id']}": r for r in shared_resources() if r["resourceType"] == "Medication"}
    expected = {
        f"Patient/{p.resources[0]['id']}": sorted(
            [orjson.dumps(r) for r in p.resources]
            + [orjson.dumps(medications[f"Medication/{m}"]) for m in p.medication_ids]
        )
        for p in iter_patients(12, seed=5)
    }
    shared = SharedIndex(layout)
    groups = list(iter_groups(layout, shared))
    assert {g.reference: sorted(g.lines) for g in groups} == expected
    # Every entry's source names the export line it came from.
    file_lines = {f.name: f.path.read_bytes().split(b"\n") for f in files}
    for group in groups[:3]:
        for line, (part, number) in zip(group.lines, group.sources, strict=True):
            name, _, at = layout.source(part, number).partition(" line ")
            assert file_lines[name][int(at) - 1] == line
    assert layout.unlinked() == {"Practitioner": 20, "Organization": 5}
    assert shared.unused() == len(medications) - len(shared.used)
