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
from eligibility.batch.scan import Segments, plan_parts, scan_part, unread_files
from eligibility.batch.workdir import ScanLayout
from eligibility.errors import InputError
from eligibility.from_fhir import resolve_policy
from fhir_adapters.read_set import ReadSet


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


@pytest.mark.parametrize("reads", ["everything", "policy"])
def test_groups_hold_exactly_each_patients_resources(reads: str, tmp_path: Path) -> None:
    export = tmp_path / "export"
    write_export(export, 12, seed=5)
    files = find_export_files(export)
    read_set = ReadSet.everything() if reads == "everything" else ReadSet.for_policy(resolve_policy(None))
    unread = unread_files(files, read_set)
    layout = ScanLayout.fresh(tmp_path / "work", files, Segments(3), read_set.key, unread)
    # Many parts per file: numbering across ranges is exercised.
    for part in plan_parts(files, 64 << 10, skip=frozenset(unread)):
        layout.parts.append(scan_part(part, files[part.file_index], layout.runs_dir, layout.segments, read_set))
    assert len(layout.parts) > len(files) - len(unread)
    layout.save()
    assert ScanLayout.load(tmp_path / "work", files, ReadSet.everything().key if reads == "policy" else "x") is None
    layout = ScanLayout.load(tmp_path / "work", files, read_set.key)
    assert layout is not None
    assert [files[i].name for i in layout.unread] == [files[i].name for i in unread]

    medications = {f"Medication/{r['id']}": r for r in shared_resources() if r["resourceType"] == "Medication"}
    expected = {
        f"Patient/{p.resources[0]['id']}": sorted(
            line
            for line in [orjson.dumps(r) for r in p.resources]
            + [orjson.dumps(medications[f"Medication/{m}"]) for m in p.medication_ids]
            if read_set.reads_resource(orjson.loads(line))
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
    if reads == "everything":
        assert unread == [] and layout.not_read() == {}
        assert layout.unlinked() == {"Practitioner": 20, "Organization": 5}
    else:
        never_read = ["Claim", "DiagnosticReport", "DocumentReference", "ExplanationOfBenefit", "Immunization"]
        assert {files[i].name for i in unread} == {f"{t}.ndjson" for t in [*never_read, "Organization", "Practitioner"]}
        assert layout.not_read().keys() == {"Observation", "Encounter"}
        assert layout.unlinked() == {}
    assert shared.unused() == len(medications) - len(shared.used)


def test_a_file_whose_name_does_not_say_its_type_is_scanned(tmp_path: Path) -> None:
    """Only a file named for an unread type whose first line is of that type is left unopened."""
    subject = {"reference": "Patient/p"}
    pain = {"resourceType": "Observation", "code": {"coding": [{"code": "72514-3"}]}, "subject": subject}
    lines = {
        "Claim.ndjson": {"resourceType": "Claim", "patient": {"reference": "Patient/p"}},
        "Claim.2.ndjson": pain,  # mislabelled
        "part-0001.ndjson": {"resourceType": "Claim", "patient": {"reference": "Patient/p"}},  # no type in the name
        "Observation.ndjson": pain,
    }
    for name, resource in lines.items():
        (tmp_path / name).write_bytes(orjson.dumps(resource) + b"\n")
    (tmp_path / "DocumentReference.ndjson").write_bytes(b"")  # empty: nothing to read either
    files = find_export_files(tmp_path)
    read_set = ReadSet.for_policy(resolve_policy(None))
    assert sorted(files[i].name for i in unread_files(files, read_set)) == ["Claim.ndjson", "DocumentReference.ndjson"]
