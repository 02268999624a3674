"""`drg-eligibility policy import-rxnorm`: a site's RxNorm release becomes a new policy version.

Runs on the small release in tests/fixtures/rxnorm (real RRF column layout, made-up product RXCUIs),
in-process for the table and through the real CLI in a fresh process for the end-to-end use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eligibility.errors import PolicyError
from eligibility.policy import _load_directory, load_policy
from eligibility.rxnorm_import import import_rxnorm
from tests.medication_records import one_medication_record

RELEASE = Path(__file__).parent / "fixtures" / "rxnorm"
CLI = [sys.executable, "-c", "from eligibility.cli import main; main()"]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("policies")
    import_rxnorm(RELEASE, load_policy("drg-clinic@1.1.0"), "1.1.0-site1", out_root=root)
    return root


def products(root: Path) -> dict[str, list[str]]:
    data = json.loads((root / "drg-clinic" / "1.1.0-site1" / "valuesets.json").read_text())
    table: dict[str, list[str]] = data["rxnorm_products"]["rxnorm"]
    return table


def test_every_product_kind_maps_down_to_its_ingredients(imported: Path) -> None:
    table = products(imported)
    assert table["9000102"] == ["ibuprofen"]  # SCD -> SCDC -> IN
    assert table["9000103"] == ["ibuprofen"]  # SBD -> SCD
    assert table["9000131"] == ["ibuprofen"]  # GPCK -> SCD
    assert table["9000132"] == ["ibuprofen"]  # BPCK -> SBD / GPCK
    assert table["9000114"] == ["acetaminophen", "hydrocodone"]  # a combination keeps every ingredient
    assert table["9000122"] == ["dabigatran"] and table["9000123"] == ["dabigatran"]  # PIN -> IN
    assert table["9000162"] == ["dalteparin"]  # matched by name; its edge listed in one direction only


def test_products_without_a_policy_ingredient_stay_out_and_hand_entries_stay_in(imported: Path) -> None:
    table = products(imported)
    assert "9000152" not in table  # zzfakeine: no ingredient the policy knows
    assert table["9000142"] == ["nizatidine"]  # a known ingredient without a role still identifies
    assert table["197806"] == ["ibuprofen"]  # the source policy's own entries are kept
    assert not {"5640", "9000101", "9000111"} & set(table)  # ingredients and components are not products


def test_the_new_version_is_sealed_and_loads_with_its_own_hash(imported: Path) -> None:
    policy = _load_directory(imported / "drg-clinic" / "1.1.0-site1")
    assert policy.key == "drg-clinic@1.1.0-site1"
    assert policy.sha256 != load_policy("drg-clinic@1.1.0").sha256
    manifest = json.loads((policy.path / "manifest.json").read_text())
    assert "drg-clinic@1.1.0" in manifest["source"]


def test_a_released_version_is_never_rewritten_and_v1_cannot_import(imported: Path) -> None:
    with pytest.raises(PolicyError, match="never rewritten"):
        import_rxnorm(RELEASE, load_policy("drg-clinic@1.1.0"), "1.1.0-site1", out_root=imported)
    with pytest.raises(PolicyError, match="medication_identity"):
        import_rxnorm(RELEASE, load_policy("drg-clinic@1.0.0"), "1.0.0-site1", out_root=imported)


def test_a_file_that_is_not_rrf_is_refused_with_its_line(tmp_path: Path) -> None:
    release = tmp_path / "rrf"
    release.mkdir()
    (release / "RXNCONSO.RRF").write_text("5640,ENG,ibuprofen\n")
    (release / "RXNREL.RRF").write_text("")
    with pytest.raises(PolicyError, match=r"RXNCONSO.RRF line 1: 1 fields"):
        import_rxnorm(release, load_policy("drg-clinic@1.1.0"), "9.9.9", out_root=tmp_path / "out")


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_a_site_imports_its_release_and_then_decides_with_it(tmp_path: Path) -> None:
    env = {
        "DRG_ELIGIBILITY_POLICY_DIRS": str(tmp_path / "site-policies"),
        "DRG_ELIGIBILITY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
    }
    done = _run(
        ["policy", "import-rxnorm", str(RELEASE), "--from", "drg-clinic@1.1.0", "--version", "1.1.0-site1"], env
    )
    assert done.returncode == 0, done.stderr
    assert "mapped 9 products (BPCK 1, GPCK 1, SBD 2, SCD 5)" in done.stdout
    listed = _run(["policy", "list"], env)
    assert "drg-clinic@1.1.0-site1" in listed.stdout

    # a code only the site's release knows, and no display at all
    record = one_medication_record(
        {
            "medicationCodeableConcept": {
                "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "9000132"}]
            }
        }
    )
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    before = json.loads(_run(["evaluate", str(path), "--as-of", "2026-06-01", "--format", "json"], env).stdout)
    after = json.loads(
        _run(
            ["evaluate", str(path), "--as-of", "2026-06-01", "--format", "json", "--policy", "drg-clinic@1.1.0-site1"],
            env,
        ).stdout
    )
    assert [u["code"] for u in before["unrecognised"]] == ["9000132"]
    assert not any(a["kind"] == "hold_medication" for a in before["actions"])
    assert after["unrecognised"] == []
    hold = next(a for a in after["actions"] if a["kind"] == "hold_medication")
    assert (hold["medication"], hold["days_before"]) == ("ibuprofen", 1)
    assert hold["evidence"][0]["matched_by"] == "product_code"


def test_import_rxnorm_reports_a_missing_release_in_one_line(tmp_path: Path) -> None:
    done = _run(
        [
            "policy",
            "import-rxnorm",
            str(tmp_path),
            "--from",
            "drg-clinic@1.1.0",
            "--version",
            "x",
            "--out",
            str(tmp_path),
        ],
        {},
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("drg-eligibility: error:") and "RXNCONSO.RRF" in done.stderr
    assert "Traceback" not in done.stderr
