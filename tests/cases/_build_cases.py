"""Regenerate the decision-case JSON files and README of this folder.

    python tests/cases/_build_cases.py

The JSON files are the source of truth (the runner reads only them); this script is how they were
written. Re-running it rewrites every `NNN-*.json` file and README.md; review the diff before committing.
Dates are chosen against the windows of spec §2/§6 (see the timeline comments per case).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _author import (
    DEFAULT_AS_OF,
    PERCENT_RELIEF_CODE,
    PERCENT_RELIEF_SYSTEM,
    POLICY,
    POLICY_V11,
    POLICY_V20,
    RXNORM,
    STANDARD_PREP,
    TRIAL_CRITERIA,
    Case,
    concept,
    expect,
    plus,
    write_case,
)

HERE = Path(__file__).resolve().parent

# --- codes (reference §6) -----------------------------------------------------------------------
CRPS_R_LL = ("icd10", "G90.521", "Complex regional pain syndrome I of right lower limb")
CRPS_L_LL = ("icd10", "G90.522", "Complex regional pain syndrome I of left lower limb")
CRPS_L_UL = ("icd10", "G90.512", "Complex regional pain syndrome I of left upper limb")
CRPS_OTHER = ("icd10", "G90.59", "Complex regional pain syndrome I of other specified site")
CAUSALGIA_R_LL = ("icd10", "G57.71", "Causalgia of right lower limb")

R_FOOT = ("snomed", "7769000", "Structure of right foot")
L_FOOT = ("snomed", "22335008", "Structure of left foot")
FOOT = ("snomed", "56459004", "Foot structure")
CHEST = ("snomed", "51185008", "Thoracic structure")
ABDOMEN = ("snomed", "818983003", "Abdomen")
GROIN = ("snomed", "26893007", "Inguinal region structure")
R_GROIN = ("snomed", "37117007", "Right inguinal region structure")
L_HAND = ("snomed", "85151006", "Structure of left hand")
KNEE = ("snomed", "72696002", "Knee region structure")
LOWER_LIMB = ("snomed", "61685007", "Lower limb structure")
LOWER_BACK = ("snomed", "37822005", "Lower back structure")

GABAPENTIN = ("25480", "gabapentin")
PREGABALIN = ("187832", "pregabalin")
NORTRIPTYLINE = ("7531", "nortriptyline")
AMITRIPTYLINE = ("704", "amitriptyline")
DULOXETINE = ("72625", "duloxetine")
IBUPROFEN = ("5640", "ibuprofen")
NAPROXEN = ("7258", "naproxen")
CELECOXIB = ("140587", "celecoxib")
ASPIRIN = ("1191", "aspirin")
CLOPIDOGREL = ("32968", "clopidogrel")
PRASUGREL = ("613391", "prasugrel")
TICAGRELOR = ("1116632", "ticagrelor")
WARFARIN = ("11289", "warfarin")
APIXABAN = ("1364430", "apixaban")
RIVAROXABAN = ("1114195", "rivaroxaban")
EDOXABAN = ("1599538", "edoxaban")
DABIGATRAN = ("1546356", "dabigatran")

PT_EVAL = ("cpt", "97161", "Physical therapy evaluation, low complexity")
PT_EXERCISE = ("cpt", "97110", "Therapeutic exercise, each 15 minutes")
PT_SNOMED = ("snomed", "91251008", "Physical therapy procedure")
ESI_TF = ("cpt", "64483", "Transforaminal epidural steroid injection, lumbar/sacral, single level, with imaging")
ESI_IL = ("cpt", "62323", "Interlaminar epidural steroid injection, lumbar/sacral, with imaging")
PSYCH_EVAL = ("cpt", "90791", "Psychiatric diagnostic evaluation")
PSYCH_TESTING = ("cpt", "96130", "Psychological testing evaluation services, first hour")
DRG_TRIAL = ("cpt", "63650", "Percutaneous implantation of neurostimulator electrode array, epidural")
IPG = ("cpt", "63685", "Insertion or replacement of spinal neurostimulator pulse generator or receiver")

SUCCESSFUL = ("snomed", "385669000", "Successful")
PARTIAL = ("snomed", "385670004", "Partially successful")
UNSUCCESSFUL = ("snomed", "385671000", "Unsuccessful")

SMOKER = {
    "449868002": "Current every day smoker",
    "428041000124106": "Current some day smoker",
    "428071000124103": "Current heavy tobacco smoker",
    "428061000124105": "Current light tobacco smoker",
    "77176002": "Smoker, current status unknown",
    "8517006": "Former smoker",
}
PREGNANT = ("snomed", "77386006", "Pregnant")
PREGNANT_LA = ("loinc", "LA15173-0", "Pregnant")
NOT_PREGNANT = ("snomed", "60001007", "Not pregnant")

STD = ("medication_reconciliation", "fasting_instructions")  # appended by expect() when eligible

# --- the standard history (as_of 2026-06-01) ----------------------------------------------------
# Windows (calendar days, both ends included; spec §6):
#   gabapentin  MedicationRequest 2024-09-05..2025-01-05 (validityPeriod)  window 2024-10-03..2025-04-05
#   nortriptyline MedicationStatement 2025-02-01..2025-05-31              window 2025-03-01..2025-08-29
#   PT 97161 2025-06-02 + 97110 x8 weekly 2025-06-09..2025-07-28          window 2025-07-14..2026-01-28
#   ESI 64483 2025-09-15                                                   window 2025-09-29..2025-12-08
#   psych eval 90791 2026-02-18 (within 12 months)
#   pain scores: 2024-11-20 8 (gabapentin) | 2025-04-10 7 (nortriptyline) | 2025-08-20 7 (nortriptyline, PT)
#                2025-10-27 8 (PT, ESI) | 2026-05-12 7 (latest in the 90 days before as_of)
BASE_SCORES: dict[str, float] = {
    "2024-11-20": 8,
    "2025-04-10": 7,
    "2025-08-20": 7,
    "2025-10-27": 8,
    "2026-05-12": 7,
}
PT_SESSIONS = [
    "2025-06-09",
    "2025-06-16",
    "2025-06-23",
    "2025-06-30",
    "2025-07-07",
    "2025-07-14",
    "2025-07-21",
    "2025-07-28",
]


def scores_with(**changes: float | None) -> dict[str, float]:
    """BASE_SCORES with edits: scores_with(d2025_10_27=None, d2026_03_03=6)."""
    out = dict(BASE_SCORES)
    for key, value in changes.items():
        date = key[1:].replace("_", "-")
        if value is None:
            out.pop(date)
        else:
            out[date] = value
    return out


def qualifying(
    c: Case,
    codes: list[tuple[str, str, str]] | None = None,
    site: list[tuple[str, str, str]] | None = None,
    onset: str | None = "2024-08-15",
    recorded: str | None = "2024-09-02",
    **kw: Any,
) -> str:
    return c.condition(
        codes or [CRPS_R_LL],
        onset=onset,
        recorded=recorded,
        body_site=[R_FOOT] if site is None else site,
        **kw,
    )


def gabapentin_std(c: Case) -> None:
    c.med_request(
        GABAPENTIN,
        status="completed",
        authored="2024-09-05",
        validity=("2024-09-05", "2025-01-05"),
        dosage="600 mg by mouth three times daily",
    )


def nortriptyline_std(c: Case) -> None:
    c.med_statement(NORTRIPTYLINE, status="completed", start="2025-02-01", end="2025-05-31", dosage="50 mg at night")


def pt_std(c: Case, sessions: list[str] | None = None, evaluation: str | None = "2025-06-02") -> None:
    if evaluation:
        c.procedure([PT_EVAL], performed=evaluation)
    for s in PT_SESSIONS if sessions is None else sessions:
        c.procedure([PT_EXERCISE], performed=s)


def std(
    c: Case,
    *,
    dx: bool = True,
    meds: bool = True,
    pt: bool = True,
    esi: bool = True,
    psych: bool = True,
    scores: dict[str, float] | None = None,
    esi_code: tuple[str, str, str] = ESI_TF,
    esi_date: str = "2025-09-15",
    esi_outcome: tuple[str, str, str] | None = None,
    psych_date: str = "2026-02-18",
) -> None:
    """The standard history; each part can be left out and replaced by the case."""
    if dx:
        qualifying(c)
    if meds:
        gabapentin_std(c)
        nortriptyline_std(c)
    if pt:
        pt_std(c)
    if esi:
        c.procedure([esi_code], performed=esi_date, outcome=esi_outcome)
    if psych:
        c.procedure([PSYCH_EVAL], performed=psych_date)
    for date, value in sorted((BASE_SCORES if scores is None else scores).items()):
        c.pain_score(date, value)


def compressed(c: Case, onset: str, as_of: str) -> None:
    """A history that fits in the 6 months after `onset` (for the pain-duration boundary cases).

    O = onset. gabapentin O+2..O+71 (window O+30..O+161); amitriptyline active from O+45 (window
    O+73..as_of+90); PT 97110 x6 weekly O+35..O+70 (6 sessions: adequate; window from O+70);
    ESI 62323 at O+91 (window O+105..O+175); psych at O+135; scores O+50 = 8, O+119 = 7, as_of-12 = 7.
    """
    qualifying(c, onset=onset, recorded=plus(onset, 3))
    c.med_statement(GABAPENTIN, status="completed", start=plus(onset, 2), end=plus(onset, 71), dosage="600 mg TID")
    c.med_request(AMITRIPTYLINE, status="active", authored=plus(onset, 45), dosage="25 mg at night")
    for week in range(6):
        c.procedure([PT_EXERCISE], performed=plus(onset, 35 + 7 * week))
    c.procedure([ESI_IL], performed=plus(onset, 91))
    c.procedure([PSYCH_EVAL], performed=plus(onset, 135))
    c.pain_score(plus(onset, 50), 8)
    c.pain_score(plus(onset, 119), 7)
    c.pain_score(plus(as_of, -12), 7)


def trial(c: Case, start: str = "2026-04-06", end: str = "2026-04-13") -> None:
    c.procedure(
        [DRG_TRIAL], period=(start, end), note="DRG stimulation trial, percutaneous leads, external pulse generator"
    )


# --- registry -----------------------------------------------------------------------------------
@dataclass
class Built:
    case: Case
    description: str
    expected: dict[str, Any]
    as_of: str = DEFAULT_AS_OF
    tags: list[str] = field(default_factory=list)
    policy: str = POLICY
    # Other policy versions the case runs under, with what changes there (None: a v1.0 case also runs
    # under v1.1 unchanged, see V11_CHANGES).
    under: dict[str, dict[str, Any]] | None = None


CASES: list[Callable[[], Built]] = []


def case(fn: Callable[[], Built]) -> Callable[[], Built]:
    CASES.append(fn)
    return fn


# ================================================================================================
# Trial stage: the standard patient and the body sites of the clinic page
# ================================================================================================
@case
def baseline() -> Built:
    c = Case("baseline-crps-foot-eligible")
    c.patient(birth_date="1971-03-14", gender="female", family="Okafor", given="Maria")
    std(c)
    return Built(
        c,
        "CRPS I of the right lower limb (G90.521, right foot) with two analgesic classes, a PT course and a "
        "transforaminal ESI all failed by inference (a score >= 5 in each window, §2 and §6 windows), psych "
        "evaluation 3 months ago: every criterion met, no condition action -> ELIGIBLE_FOR_TRIAL, ON_LABEL (§3).",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["site:foot", "failure:inferred-medication", "failure:inferred-pt", "failure:inferred-injection"],
    )


@case
def chest() -> Built:
    c = Case("chest-post-thoracotomy-off-label")
    c.patient(birth_date="1963-11-02", gender="male", family="Lindqvist", given="Erik")
    qualifying(c, [("icd10", "G89.22", "Chronic post-thoracotomy pain")], [CHEST], onset="2024-06-20")
    std(c, dx=False, esi=False, psych=False)
    c.procedure(
        [("cpt", "64420", "Injection, anesthetic agent; intercostal nerve, single level")], performed="2025-09-15"
    )
    c.procedure([PSYCH_TESTING], performed="2026-02-18")
    return Built(
        c,
        "Chronic post-thoracotomy pain (G89.22) of the chest (51185008); intercostal nerve block 64420 failed by "
        "a score >= 5 six weeks later (§2 nerve blocks); psych evaluation as CPT 96130 (§6). Chest is a "
        "targeted region but off-label -> ELIGIBLE_FOR_TRIAL, OFF_LABEL (§3 label_status).",
        expect("ELIGIBLE_FOR_TRIAL", label="OFF_LABEL"),
        tags=["site:chest", "failure:inferred-injection"],
    )


@case
def abdomen() -> Built:
    c = Case("abdomen-acnes-explicit-block-failure")
    c.patient(birth_date="1980-07-21", gender="female", family="Haddad", given="Leila")
    qualifying(
        c,
        [("icd10", "G58.8", "Other specified mononeuropathies")],
        [ABDOMEN],
        onset="2024-05-03",
        text="Anterior cutaneous nerve entrapment syndrome (ACNES), right abdominal wall",
    )
    std(c, dx=False, esi=False)
    c.procedure(
        [("cpt", "64450", "Injection, anesthetic agent; other peripheral nerve or branch")],
        performed="2025-09-15",
        outcome=UNSUCCESSFUL,
    )
    return Built(
        c,
        "Abdominal-wall neuropathic pain (G58.8, ACNES) located in the abdomen (818983003); peripheral nerve block "
        "64450 with Procedure.outcome 385671000 Unsuccessful (explicit failure, §2). Off-label site -> "
        "ELIGIBLE_FOR_TRIAL, OFF_LABEL.",
        expect("ELIGIBLE_FOR_TRIAL", label="OFF_LABEL"),
        tags=["site:abdomen", "failure:explicit-procedure-outcome"],
    )


@case
def groin() -> Built:
    c = Case("groin-post-herniorrhaphy-26893007")
    c.patient(birth_date="1969-01-30", gender="male", family="Moreau", given="Julien")
    # The bodySite coding carries the wrong display seen in a public file (§6.7): the code is the
    # inguinal region. Codes match on system+code, never display (§1).
    qualifying(
        c,
        [("icd10", "G89.28", "Other chronic postprocedural pain")],
        [("snomed", "26893007", "Lower back structure")],
        onset="2024-04-11",
        text="Chronic post-herniorrhaphy inguinal pain",
    )
    std(c, dx=False, esi=False)
    c.procedure(
        [("cpt", "64425", "Injection, anesthetic agent; ilioinguinal, iliohypogastric nerves")],
        performed="2025-09-15",
        outcome=PARTIAL,
    )
    return Built(
        c,
        "Post-herniorrhaphy groin pain (G89.28) with bodySite 26893007 whose display wrongly says 'Lower back "
        "structure' (§6.7 trap: the code is the inguinal region, a targeted site); ilioinguinal block 64425 "
        "'Partially successful' 385670004 counts as failed (§2). Not CRPS -> ELIGIBLE_FOR_TRIAL, OFF_LABEL.",
        expect("ELIGIBLE_FOR_TRIAL", label="OFF_LABEL"),
        tags=["site:groin", "trap:26893007-groin", "failure:explicit-procedure-outcome"],
    )


@case
def hand() -> Built:
    c = Case("hand-crps-upper-limb-off-label")
    c.patient(birth_date="1984-09-09", gender="female", family="Nakamura", given="Aiko")
    qualifying(c, [CRPS_L_UL], [L_HAND], onset="2024-07-01")
    std(c, dx=False, esi=False)
    c.procedure(
        [("cpt", "64510", "Injection, anesthetic agent; stellate ganglion (cervical sympathetic)")],
        performed="2025-09-15",
    )
    return Built(
        c,
        "CRPS I of the left upper limb (G90.512), left hand (85151006); stellate ganglion block 64510 "
        "(sympathetic, §2) failed by a score >= 5 at 6 weeks. Hand is targeted but CRPS of an upper limb is "
        "off-label (§3) -> ELIGIBLE_FOR_TRIAL, OFF_LABEL.",
        expect("ELIGIBLE_FOR_TRIAL", label="OFF_LABEL"),
        tags=["site:hand", "failure:inferred-injection"],
    )


@case
def knee() -> Built:
    c = Case("knee-causalgia-on-label-no-gender")
    c.patient(birth_date="1958-04-27", gender=None, family="Adeyemi", given="Sam")
    qualifying(c, [CAUSALGIA_R_LL], [KNEE], onset="2024-03-18", text="CRPS II (causalgia) right knee after TKA")
    std(c, dx=False, esi=False)
    c.procedure(
        [("cpt", "64454", "Injection, anesthetic agent; genicular nerve branches, with imaging")],
        performed="2025-09-15",
    )
    return Built(
        c,
        "CRPS II = causalgia of the right lower limb (G57.71) at the knee (72696002) after knee arthroplasty; "
        "genicular nerve block 64454 failed by inference. The Patient has no gender element, which no criterion "
        "needs -> ELIGIBLE_FOR_TRIAL, ON_LABEL (causalgia of a lower limb, §3).",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["site:knee", "trap:missing-gender"],
    )


@case
def lower_limb() -> Built:
    c = Case("lower-limb-thigh-meralgia")
    c.patient(birth_date="1977-12-05", gender="male", family="Kowalski", given="Piotr")
    qualifying(c, [("icd10", "G57.12", "Meralgia paresthetica, left lower limb")], [LOWER_LIMB], onset="2024-02-14")
    std(c, dx=False)
    return Built(
        c,
        "Meralgia paresthetica of the left thigh (G57.12, a qualifying mononeuropathy) located in the lower limb "
        "(61685007): 'elsewhere in the lower limb' is a targeted region (§2 pain_location) -> ELIGIBLE_FOR_TRIAL, "
        "OFF_LABEL (not CRPS).",
        expect("ELIGIBLE_FOR_TRIAL", label="OFF_LABEL"),
        tags=["site:lower-limb"],
    )


@case
def lower_back() -> Built:
    c = Case("lower-back-only-location-not-met")
    c.patient(birth_date="1966-06-19", gender="female", family="Brennan", given="Siobhan")
    qualifying(
        c, [("icd10", "M96.1", "Postlaminectomy syndrome, not elsewhere classified")], [LOWER_BACK], onset="2023-10-02"
    )
    std(c, dx=False)
    return Built(
        c,
        "Postlaminectomy syndrome (M96.1, qualifying) whose only located pain is the lower back (37822005): all "
        "located pain lies outside the targeted regions -> pain_location not_met (§2) -> NOT_ELIGIBLE, OFF_LABEL.",
        expect("NOT_ELIGIBLE", label="OFF_LABEL", pain_location="not_met"),
        tags=["site:lower-back-only"],
    )


@case
def no_location() -> Built:
    c = Case("pain-location-unknown")
    c.patient(birth_date="1975-08-08", gender="male", family="Osei", given="Kwame")
    qualifying(c, [("icd10", "G89.4", "Chronic pain syndrome")], [], onset="2023-12-01")
    std(c, dx=False)
    return Built(
        c,
        "Chronic pain syndrome (G89.4) with no bodySite anywhere and a code that implies no site: no location "
        "known -> pain_location unknown (§2) -> INSUFFICIENT_INFORMATION, OFF_LABEL.",
        expect("INSUFFICIENT_INFORMATION", label="OFF_LABEL", pain_location="unknown"),
    )


@case
def crps_left_leg_mislabelled() -> Built:
    c = Case("crps-g90522-labelled-upper-limb")
    c.patient(birth_date="1990-02-11", gender="female", family="Santos", given="Beatriz")
    qualifying(
        c,
        [("icd10", "G90.522", "Complex regional pain syndrome I of left upper limb")],
        [L_FOOT],
        text="CRPS type 1 left leg",
    )
    std(c, dx=False)
    return Built(
        c,
        "G90.522 sent with the wrong display 'of left upper limb' (§6.7 trap: G90.521/G90.522 are LOWER limb); "
        "left foot (22335008). Codes match on code, not display -> ON_LABEL, ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["trap:G90.52x-lower-limb", "site:foot"],
    )


# ================================================================================================
# adult
# ================================================================================================
@case
def adult_birthday() -> Built:
    c = Case("adult-eighteenth-birthday")
    c.patient(birth_date="2008-06-01", gender="male", family="Fischer", given="Jonas")
    std(c)
    return Built(
        c,
        "Born 2008-06-01, evaluated on 2026-06-01: 18 on the birthday itself (§6 calendar arithmetic, whole years "
        "on the day) -> adult met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["adult:18th-birthday"],
    )


@case
def adult_minor() -> Built:
    c = Case("adult-one-day-before-eighteen")
    c.patient(birth_date="2008-06-02", gender="female", family="Fischer", given="Lena")
    std(c)
    return Built(
        c,
        "Born 2008-06-02, evaluated 2026-06-01: 17 years old, one day short -> adult not_met (§2) -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", adult="not_met"),
    )


@case
def adult_unknown() -> Built:
    c = Case("adult-unknown-no-birthdate")
    c.patient(birth_date=None, gender="male", family="Unknown-DOB", given="Chris")
    std(c)
    return Built(
        c,
        "Patient without birthDate -> adult unknown (§2), a data request for the date of birth -> "
        "INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", adult="unknown"),
    )


# ================================================================================================
# qualifying_diagnosis (and the coding traps of §6.7)
# ================================================================================================
NO_QUALIFYING_PAIN = (
    "pain_location and pain_duration are about 'the qualifying pain' (§2) and there is none, so both are unknown"
)


@case
def dx_acute_only() -> Built:
    c = Case("dx-acute-pain-only")
    c.patient(birth_date="1961-10-10", gender="female", family="Petrov", given="Irina")
    c.condition(
        [("icd10", "G89.18", "Other acute postprocedural pain")],
        onset="2026-05-10",
        recorded="2026-05-11",
        body_site=[KNEE],
    )
    std(c, dx=False)
    return Built(
        c,
        f"Only acute postprocedural pain G89.18 (G89.1x excluded) -> qualifying_diagnosis not_met (§2); "
        f"{NO_QUALIFYING_PAIN} -> NOT_ELIGIBLE (rule 1 before rule 2), OFF_LABEL.",
        expect(
            "NOT_ELIGIBLE",
            label="OFF_LABEL",
            qualifying_diagnosis="not_met",
            pain_location="unknown",
            pain_duration="unknown",
        ),
        tags=["trap:acute-pain-only"],
    )


@case
def dx_phantom_no_pain() -> Built:
    c = Case("dx-phantom-limb-without-pain")
    c.patient(birth_date="1955-03-03", gender="male", family="Gallagher", given="Sean")
    c.condition([("icd10", "G54.7", "Phantom limb syndrome without pain")], onset="2022-09-01", recorded="2022-09-20")
    c.condition(
        [("icd10", "Z89.511", "Acquired absence of right leg below knee")], onset="2022-08-15", recorded="2022-09-20"
    )
    std(c, dx=False)
    return Built(
        c,
        f"Only phantom limb syndrome WITHOUT pain (G54.7, excluded) plus an amputation status code -> "
        f"qualifying_diagnosis not_met (§2); {NO_QUALIFYING_PAIN} -> NOT_ELIGIBLE, OFF_LABEL.",
        expect(
            "NOT_ELIGIBLE",
            label="OFF_LABEL",
            qualifying_diagnosis="not_met",
            pain_location="unknown",
            pain_duration="unknown",
        ),
        tags=["trap:G54.7-only"],
    )


@case
def dx_phantom_pain() -> Built:
    c = Case("dx-phantom-limb-pain")
    c.patient(birth_date="1957-05-23", gender="male", family="Gallagher", given="Liam")
    qualifying(c, [("icd10", "G54.6", "Phantom limb syndrome with pain")], [R_FOOT], onset="2023-01-10")
    c.condition(
        [("icd10", "Z89.511", "Acquired absence of right leg below knee")], onset="2022-11-02", recorded="2022-11-30"
    )
    std(c, dx=False)
    return Built(
        c,
        "Phantom limb pain (G54.6, qualifying) felt in the (absent) right foot after below-knee amputation -> "
        "ELIGIBLE_FOR_TRIAL, OFF_LABEL (not CRPS).",
        expect("ELIGIBLE_FOR_TRIAL", label="OFF_LABEL"),
    )


@case
def dx_invalid_code() -> Built:
    c = Case("dx-g90531-nonexistent-crps-code")
    c.patient(birth_date="1979-04-04", gender="female", family="Dubois", given="Claire")
    qualifying(c, [("icd10", "G90.531", "Complex regional pain syndrome I of right lower limb")], [R_FOOT])
    std(c, dx=False)
    return Built(
        c,
        "The only diagnosis is G90.531, an invalid code from a public mock (§6.7: no G90.53x exists); it is in no "
        "value set, so the record has no recognised pain diagnosis -> qualifying_diagnosis unknown (not met, and "
        f"not the not_met reserved for excluded codes); {NO_QUALIFYING_PAIN} -> INSUFFICIENT_INFORMATION, OFF_LABEL.",
        expect(
            "INSUFFICIENT_INFORMATION",
            label="OFF_LABEL",
            qualifying_diagnosis="unknown",
            pain_location="unknown",
            pain_duration="unknown",
        ),
        tags=["trap:G90.531"],
    )


@case
def dx_none() -> Built:
    c = Case("dx-no-pain-diagnosis")
    c.patient(birth_date="1968-12-24", gender="male", family="Novak", given="Tomas")
    c.condition([("icd10", "I10", "Essential (primary) hypertension")], onset="2015-02-01", recorded="2015-02-01")
    c.condition([("icd10", "E78.5", "Hyperlipidemia, unspecified")], onset="2016-06-01", recorded="2016-06-01")
    std(c, dx=False)
    return Built(
        c,
        "Pain scores and treatments but no pain diagnosis at all -> qualifying_diagnosis unknown (§2); "
        f"{NO_QUALIFYING_PAIN}; no qualifying diagnosis gives OFF_LABEL (§6) -> INSUFFICIENT_INFORMATION.",
        expect(
            "INSUFFICIENT_INFORMATION",
            label="OFF_LABEL",
            qualifying_diagnosis="unknown",
            pain_location="unknown",
            pain_duration="unknown",
        ),
    )


@case
def dx_no_dot() -> Built:
    c = Case("dx-icd10-without-dot")
    c.patient(birth_date="1972-01-19", gender="female", family="Ivanova", given="Olga")
    qualifying(c, [("icd10", "G90521", "Complex regional pain syndrome I of right lower limb")], [FOOT])
    std(c, dx=False)
    return Built(
        c,
        "CRPS I right lower limb sent without the dot (G90521), foot (56459004): ICD-10-CM matches with or "
        "without the dot (§1) -> ELIGIBLE_FOR_TRIAL, ON_LABEL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["trap:icd-without-dot", "site:foot"],
    )


@case
def dx_snomed_only() -> Built:
    c = Case("dx-snomed-only-postherpetic-chest")
    c.patient(birth_date="1950-10-30", gender="female", family="Andersen", given="Karen")
    qualifying(c, [("snomed", "2177002", "Postherpetic neuralgia")], [CHEST], onset="2024-01-22")
    std(c, dx=False, esi=False)
    c.procedure(
        [("cpt", "64420", "Injection, anesthetic agent; intercostal nerve, single level")], performed="2025-09-15"
    )
    return Built(
        c,
        "Post-herpetic neuralgia coded in SNOMED CT only (2177002) on the chest wall (51185008): the qualifying "
        "value set includes the SNOMED equivalents (§2) -> ELIGIBLE_FOR_TRIAL, OFF_LABEL.",
        expect("ELIGIBLE_FOR_TRIAL", label="OFF_LABEL"),
        tags=["trap:snomed-icd-mixed", "site:chest"],
    )


@case
def dx_mixed() -> Built:
    c = Case("dx-snomed-and-icd10-mixed")
    c.patient(birth_date="1982-03-08", gender="male", family="Rossi", given="Marco")
    qualifying(
        c,
        [
            ("snomed", "734947007", "Complex regional pain syndrome type I"),
            ("icd10", "G90.523", "Complex regional pain syndrome I of lower limb, bilateral"),
        ],
        [LOWER_LIMB],
        category="encounter-diagnosis",
    )
    c.condition([("snomed", "38341003", "Hypertensive disorder")], onset="2019-05-05", recorded="2019-05-05")
    std(c, dx=False)
    return Built(
        c,
        "One Condition coded in both SNOMED (734947007 CRPS type I) and ICD-10-CM (G90.523 bilateral lower limb), "
        "another in SNOMED only; lower limb (61685007) -> ELIGIBLE_FOR_TRIAL, ON_LABEL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["trap:snomed-icd-mixed", "site:lower-limb"],
    )


@case
def dx_ignored_entries() -> Built:
    c = Case("ignored-entered-in-error-refuted-resolved")
    c.patient(birth_date="1970-09-15", gender="female", family="Whitfield", given="Anna")
    std(c)
    # entered-in-error: no clinicalStatus (FHIR con-5), so "absent with no abatement" would read as active
    c.condition(
        [("icd10", "D68.9", "Coagulation defect, unspecified")],
        clinical=None,
        verification="entered-in-error",
        recorded="2025-03-02",
    )
    c.condition(
        [("icd10", "F11.20", "Opioid dependence, uncomplicated")], verification="refuted", recorded="2025-07-07"
    )
    c.condition(
        [("icd10", "A41.9", "Sepsis, unspecified organism")],
        onset="2023-03-01",
        abatement="2023-03-20",
        clinical="resolved",
        recorded="2023-03-01",
    )
    c.condition(
        [("icd10", "C50.911", "Malignant neoplasm of unspecified site of right female breast")],
        onset="2019-04-01",
        clinical="remission",
        recorded="2019-04-01",
    )
    return Built(
        c,
        "Standard eligible record plus a coagulopathy entered-in-error, an opioid dependence refuted (ignored, §1), "
        "a resolved sepsis and a breast cancer in remission (not active, §6) -> no contraindication, no SUD -> "
        "ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["trap:entered-in-error-refuted", "trap:resolved-remission"],
    )


@case
def dx_crps_groin() -> Built:
    c = Case("crps-other-site-groin-on-label")
    c.patient(birth_date="1986-05-30", gender="male", family="Okoye", given="Daniel")
    qualifying(c, [CRPS_OTHER], [R_GROIN], text="CRPS type I, right groin")
    std(c, dx=False)
    return Built(
        c,
        "CRPS I of other specified site (G90.59) located in the right groin (37117007). Spec §3 says ON_LABEL when "
        "the diagnosis is CRPS I/II 'of a lower limb, groin, knee or foot': read literally, CRPS I + groin location "
        "is on-label (reading chosen; reference ON_LABEL_DX lists only G90.52x/G57.7x) -> ELIGIBLE_FOR_TRIAL, "
        "ON_LABEL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["site:groin", "ambiguity:crps-groin-label"],
    )


# ================================================================================================
# pain_duration (compressed histories so that everything fits after the onset)
# ================================================================================================
@case
def duration_six_months() -> Built:
    c = Case("duration-six-months-to-the-day")
    c.patient(birth_date="1974-07-07", gender="female", family="Larsen", given="Ingrid")
    compressed(c, "2025-12-01", "2026-06-01")
    return Built(
        c,
        "Onset 2025-12-01, as_of 2026-06-01: as_of minus 6 calendar months is 2025-12-01 and onset <= it (§6, "
        "both ends included) -> pain_duration met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["duration:6-months-to-the-day"],
    )


@case
def duration_short() -> Built:
    c = Case("duration-one-day-short")
    c.patient(birth_date="1974-07-08", gender="female", family="Larsen", given="Sofie")
    compressed(c, "2025-12-02", "2026-06-01")
    return Built(
        c,
        "Onset 2025-12-02, one day after as_of minus 6 months (2025-12-01) -> pain_duration not_met (§2, §6) -> "
        "NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", pain_duration="not_met"),
    )


@case
def duration_month_end_met() -> Built:
    c = Case("duration-month-end-clamped-met")
    c.patient(birth_date="1981-10-01", gender="male", family="Berg", given="Henrik")
    compressed(c, "2026-02-28", "2026-08-31")
    return Built(
        c,
        "as_of 2026-08-31: 6 calendar months earlier is 2026-02-28 (Feb has no 31st, the day is clamped to the "
        "month's end); onset 2026-02-28 -> pain_duration met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        as_of="2026-08-31",
        tags=["duration:month-end", "ambiguity:month-end-clamp"],
    )


@case
def duration_month_end_not_met() -> Built:
    c = Case("duration-month-end-clamped-not-met")
    c.patient(birth_date="1981-10-02", gender="male", family="Berg", given="Nils")
    compressed(c, "2026-03-01", "2026-08-31")
    return Built(
        c,
        "as_of 2026-08-31, onset 2026-03-01: after the calendar threshold 2026-02-28 (a 182/183-day approximation "
        "would wrongly pass it) -> pain_duration not_met -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", pain_duration="not_met"),
        as_of="2026-08-31",
        tags=["duration:month-end", "ambiguity:month-end-clamp"],
    )


@case
def duration_no_dates() -> Built:
    c = Case("duration-unknown-no-dates")
    c.patient(birth_date="1973-02-17", gender="female", family="Meyer", given="Petra")
    qualifying(c, onset=None, recorded=None)
    std(c, dx=False)
    return Built(
        c,
        "CRPS I right lower limb with neither onset, recordedDate nor asserted date -> pain_duration unknown "
        "(§2) -> INSUFFICIENT_INFORMATION, ON_LABEL.",
        expect("INSUFFICIENT_INFORMATION", pain_duration="unknown"),
    )


@case
def duration_recorded() -> Built:
    c = Case("duration-recorded-date-no-clinical-status")
    c.patient(birth_date="1976-11-29", gender="male", family="Tanaka", given="Kenji")
    qualifying(c, onset=None, recorded="2024-09-02", clinical=None, category="encounter-diagnosis")
    std(c, dx=False)
    return Built(
        c,
        "Qualifying Condition without clinicalStatus and without abatement (counts as active, §1) and without "
        "onset: its recordedDate 2024-09-02 dates the pain (§2 'no onset, recorded or asserted date') -> "
        "pain_duration met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
    )


@case
def duration_earliest() -> Built:
    c = Case("duration-earliest-onset-of-two")
    c.patient(birth_date="1967-08-03", gender="female", family="Costa", given="Ana")
    qualifying(c, onset="2026-03-10", recorded="2026-03-10", text="CRPS type 1 right foot (confirmed by pain clinic)")
    qualifying(c, [("icd10", "G89.29", "Other chronic pain")], [R_FOOT], onset="2024-08-15", recorded="2024-09-02")
    std(c, dx=False)
    return Built(
        c,
        "CRPS I recorded 2026-03-10 (under 6 months) for pain already coded as chronic pain G89.29 of the same "
        "foot since 2024-08-15: the EARLIEST onset of the qualifying pain counts (§2) -> met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
    )


# ================================================================================================
# pain_severity
# ================================================================================================
@case
def severity_boundary() -> Built:
    c = Case("severity-score-exactly-90-days-old")
    c.patient(birth_date="1962-02-02", gender="male", family="Walsh", given="Patrick")
    std(c, scores=scores_with(d2026_05_12=None, d2026_03_03=6))
    return Built(
        c,
        "The only score in the window is 6 on 2026-03-03, exactly 90 days before as_of (windows include both "
        "ends, §6) -> pain_severity met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
    )


@case
def severity_low() -> Built:
    c = Case("severity-latest-score-below-five")
    c.patient(birth_date="1964-04-14", gender="female", family="Murphy", given="Niamh")
    std(c, scores=scores_with(d2026_05_12=None, d2026_04_20=7, d2026_05_25=4))
    return Built(
        c,
        "Scores 7 (2026-04-20) then 4 (2026-05-25): the LATEST score in the 90 days is < 5 -> pain_severity not_met "
        "(§2) -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", pain_severity="not_met"),
    )


@case
def severity_none() -> Built:
    c = Case("severity-no-score-in-window")
    c.patient(birth_date="1983-01-26", gender="female", family="Kim", given="Soo-jin")
    std(c, scores=scores_with(d2026_05_12=None, d2026_03_02=7))
    return Built(
        c,
        "Latest pain score 2026-03-02, 91 days before as_of, just outside the 90-day window -> pain_severity "
        "unknown (§2) -> INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", pain_severity="unknown"),
    )


@case
def severity_float() -> Built:
    c = Case("severity-float-scores-entered-in-error")
    c.patient(birth_date="1978-06-06", gender="male", family="Schmidt", given="Lukas")
    std(c, scores={d: float(v) for d, v in BASE_SCORES.items()})
    c.pain_score("2026-05-28", 2.0, status="entered-in-error")
    return Built(
        c,
        "Pain scores sent as floats (7.0, as Synthea does); a later score 2.0 has status entered-in-error and is "
        "ignored (§1), so the latest valid score is 7.0 -> pain_severity met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["trap:float-pain-score", "trap:entered-in-error-refuted"],
    )


# ================================================================================================
# failed_medications
# ================================================================================================
@case
def meds_status_reason() -> Built:
    c = Case("meds-explicit-stop-status-reason")
    c.patient(birth_date="1969-09-01", gender="female", family="Horvat", given="Mirela")
    qualifying(c)
    c.med_request(
        PREGABALIN,
        status="stopped",
        authored="2024-09-05",
        validity=("2024-09-05", "2024-09-19"),
        status_reason={
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-status-reason",
                    "code": "sintol",
                    "display": "Suspected intolerance",
                }
            ],
            "text": "Dizziness and somnolence",
        },
        dosage="75 mg twice daily",
    )
    nortriptyline_std(c)
    std(c, dx=False, meds=False)
    return Built(
        c,
        "Pregabalin stopped after 2 weeks with a statusReason (intolerance): an explicit failure whatever the "
        "duration (§2.1); nortriptyline failed by inference -> 2 classes -> failed_medications met -> "
        "ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["failure:explicit-status-reason"],
    )


@case
def meds_aspirin() -> Built:
    c = Case("meds-aspirin-is-not-an-analgesic")
    c.patient(birth_date="1956-12-12", gender="male", family="Baker", given="George")
    std(c, meds=False)
    gabapentin_std(c)
    c.med_statement(ASPIRIN, status="active", start="2022-03-01", dosage="81 mg daily (primary prevention)")
    return Built(
        c,
        "Gabapentin failed; the only other 'analgesic' is low-dose aspirin (MedicationStatement, active, pain "
        "scores >= 5 while on it), which is an antiplatelet, not an analgesic class (§6) -> 1 class failed -> "
        "failed_medications not_met -> NOT_ELIGIBLE; the aspirin hold is still listed (§6 Actions, primary "
        "prevention: no cardiac indication on record).",
        expect("NOT_ELIGIBLE", failed_medications="not_met", actions=["hold_medication:aspirin"]),
        tags=["trap:aspirin-not-analgesic", "trap:medication-statement", "hold:aspirin-primary"],
    )


@case
def meds_undocumented() -> Built:
    c = Case("meds-tried-no-outcome-unknown")
    c.patient(birth_date="1971-05-05", gender="female", family="Nguyen", given="Linh")
    std(c, scores=scores_with(d2025_04_10=None, d2025_08_20=None))
    return Built(
        c,
        "Gabapentin failed (score 8 on 2024-11-20); nortriptyline taken 4 months but NO score in its window "
        "(2025-03-01..2025-08-29): failed (1) + undocumented adequate (1) reach 2 -> failed_medications unknown, "
        "asking for the outcome (§6 'Tried, but no outcome') -> INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", failed_medications="unknown"),
        tags=["treatment:no-outcome-on-record"],
    )


@case
def meds_effective() -> Built:
    c = Case("meds-second-class-effective")
    c.patient(birth_date="1960-01-31", gender="male", family="Reyes", given="Carlos")
    std(c, scores=scores_with(d2025_04_10=3, d2025_08_20=3))
    return Built(
        c,
        "Gabapentin failed; nortriptyline's window holds only scores 3 and 3 -> effective, not failed (§6) -> "
        "1 class failed, none undocumented -> failed_medications not_met -> NOT_ELIGIBLE. (PT still fails on the "
        "8 of 2025-10-27.)",
        expect("NOT_ELIGIBLE", failed_medications="not_met"),
        tags=["treatment:effective"],
    )


@case
def meds_none() -> Built:
    c = Case("meds-none-on-record")
    c.patient(birth_date="1988-08-18", gender="female", family="Ali", given="Fatima")
    std(c, meds=False)
    return Built(
        c,
        "No analgesic on record at all -> failed_medications unknown (§2) -> INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", failed_medications="unknown"),
    )


@case
def meds_merged() -> Built:
    c = Case("meds-same-class-merged-span")
    c.patient(birth_date="1965-10-20", gender="female", family="Jensen", given="Mette")
    qualifying(c)
    c.med_statement(GABAPENTIN, status="completed", start="2024-09-05", end="2024-09-26", dosage="300 mg TID")
    c.med_statement(PREGABALIN, status="completed", start="2024-09-26", end="2024-10-20", dosage="150 mg BID")
    nortriptyline_std(c)
    std(c, dx=False, meds=False)
    return Built(
        c,
        "Gabapentin 3 weeks then pregabalin 3.5 weeks, contiguous: neither alone is >= 4 weeks, but records of the "
        "same class merge into one span 2024-09-05..2024-10-20 (§6) whose window holds the 8 of 2024-11-20 -> "
        "gabapentinoid failed; with nortriptyline -> met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["trap:medication-statement", "failure:inferred-medication"],
    )


@case
def meds_supply() -> Built:
    c = Case("meds-exposure-from-supply-duration")
    c.patient(birth_date="1972-12-01", gender="male", family="Petersen", given="Ole")
    qualifying(c)
    c.med_request(GABAPENTIN, status="completed", authored="2024-09-05", supply_days=30, repeats=2, dosage="600 mg TID")
    nortriptyline_std(c)
    std(c, dx=False, meds=False)
    return Built(
        c,
        "Gabapentin order with no period: end = start + expectedSupplyDuration 30 d x (1 + 2 repeats) = "
        "2024-12-04 (§6 exposure), so it is adequate and the 8 of 2024-11-20 fails it -> met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
    )


@case
def meds_unknown_exposure() -> Built:
    c = Case("meds-unknown-exposure-not-adequate")
    c.patient(birth_date="1959-07-19", gender="female", family="Olsen", given="Kari")
    qualifying(c)
    c.med_request(GABAPENTIN, status="completed", authored="2024-09-05", dosage="300 mg TID")
    nortriptyline_std(c)
    std(c, dx=False, meds=False)
    return Built(
        c,
        "Gabapentin order with only authoredOn (no period, validity or supply, not active): exposure unknown -> "
        "not adequate (§6), neither failed nor 'undocumented adequate'; nortriptyline failed -> 1 class -> "
        "failed_medications not_met -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", failed_medications="not_met"),
    )


# ================================================================================================
# failed_physical_therapy
# ================================================================================================
@case
def pt_explicit() -> Built:
    c = Case("pt-explicit-unsuccessful-course")
    c.patient(birth_date="1970-03-03", gender="female", family="Silva", given="Rita")
    std(c, pt=False)
    c.procedure([PT_EVAL], period=("2025-06-02", "2025-08-11"), outcome=UNSUCCESSFUL, note="PT course, no progress")
    return Built(
        c,
        "One PT Procedure (97161) with performedPeriod 2025-06-02..2025-08-11 and outcome 385671000 Unsuccessful "
        "-> explicit failure (§2) -> failed_physical_therapy met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["failure:explicit-procedure-outcome"],
    )


@case
def pt_period_six_weeks() -> Built:
    c = Case("pt-six-week-period-inferred")
    c.patient(birth_date="1977-07-17", gender="male", family="Horne", given="David")
    std(c, pt=False)
    c.procedure([PT_EVAL], period=("2025-06-02", "2025-07-14"))
    return Built(
        c,
        "A single PT Procedure whose performedPeriod spans exactly 6 weeks (2025-06-02..2025-07-14, 42 days) is an "
        "adequate course (§6); its window 2025-07-14..2026-01-14 holds scores 7 and 8 -> failed by inference -> "
        "ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["failure:inferred-pt"],
    )


@case
def pt_short() -> Built:
    c = Case("pt-short-course-not-met")
    c.patient(birth_date="1985-05-15", gender="female", family="Weber", given="Julia")
    std(c, pt=False)
    pt_std(c, sessions=["2025-06-09", "2025-06-16", "2025-06-23"])
    return Built(
        c,
        "PT evaluation + 3 sessions over 3 weeks (4 visits, 21 days), no outcome: not adequate and not failed "
        "explicitly -> failed_physical_therapy not_met (§2, §6 PT course), even though later scores are >= 5 -> "
        "NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", failed_physical_therapy="not_met"),
    )


@case
def pt_success() -> Built:
    c = Case("pt-explicit-success-not-met")
    c.patient(birth_date="1973-09-23", gender="male", family="Lopez", given="Miguel")
    std(c, pt=False, esi_date="2025-03-03", scores=scores_with(d2025_08_20=None, d2025_10_27=None))
    c.procedure([PT_EVAL], period=("2025-06-02", "2025-07-28"), outcome=SUCCESSFUL)
    return Built(
        c,
        "PT course 2025-06-02..2025-07-28 with outcome 385669000 Successful and no score in its window: the course "
        "was explicitly successful -> failed_physical_therapy not_met (§2) -> NOT_ELIGIBLE. (ESI on 2025-03-03 "
        "fails on the 7 of 2025-04-10.)",
        expect("NOT_ELIGIBLE", failed_physical_therapy="not_met"),
        tags=["treatment:effective"],
    )


@case
def pt_effective() -> Built:
    c = Case("pt-effective-by-scores")
    c.patient(birth_date="1968-02-29", gender="female", family="Young", given="Emma")
    std(c, esi_date="2025-03-03", scores=scores_with(d2025_08_20=3, d2025_10_27=4))
    return Built(
        c,
        "Adequate PT course (9 visits, 8 weeks) whose window 2025-07-14..2026-01-28 holds only scores 3 and 4 and "
        "no explicit outcome -> effective/successful (§6) -> failed_physical_therapy not_met -> NOT_ELIGIBLE. "
        "(Born on 29 February: 58 at as_of whichever convention.)",
        expect("NOT_ELIGIBLE", failed_physical_therapy="not_met"),
        tags=["treatment:effective"],
    )


@case
def pt_no_outcome() -> Built:
    c = Case("pt-adequate-no-outcome-unknown")
    c.patient(birth_date="1980-11-11", gender="male", family="Schultz", given="Max")
    std(c, esi_date="2025-03-03", scores=scores_with(d2025_08_20=None, d2025_10_27=None))
    return Built(
        c,
        "Adequate PT course with no explicit outcome and no pain score in its window (2025-07-14..2026-01-28): "
        "tried but no outcome on record -> failed_physical_therapy unknown (§6) -> INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", failed_physical_therapy="unknown"),
        tags=["treatment:no-outcome-on-record"],
    )


@case
def pt_none() -> Built:
    c = Case("pt-none-on-record")
    c.patient(birth_date="1976-04-01", gender="female", family="Clarke", given="Hannah")
    std(c, pt=False)
    return Built(
        c,
        "No PT/OT on record -> failed_physical_therapy unknown (§2) -> INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", failed_physical_therapy="unknown"),
    )


@case
def pt_snomed() -> Built:
    c = Case("pt-snomed-coded-sessions")
    c.patient(birth_date="1963-06-30", gender="male", family="Dimitrov", given="Georgi")
    std(c, pt=False)
    for week in range(7):
        c.procedure([PT_SNOMED], performed=plus("2025-06-09", 7 * week))
    return Built(
        c,
        "Seven PT sessions coded SNOMED 91251008 only (2025-06-09..2025-07-21); window from 2025-07-21 holds 7 and "
        "8 -> failed by inference (§2 PT codes) -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["failure:inferred-pt"],
    )


# ================================================================================================
# failed_interventional
# ================================================================================================
@case
def int_partial() -> Built:
    c = Case("esi-explicit-partial-success")
    c.patient(birth_date="1966-03-21", gender="female", family="Hughes", given="Claire")
    std(c, esi_code=ESI_IL, esi_date="2026-01-20", esi_outcome=PARTIAL)
    return Built(
        c,
        "Interlaminar ESI 62323 on 2026-01-20 with outcome 385670004 Partially successful and no score in "
        "its 2-12 week window: explicit failure alone (§2.1) -> failed_interventional met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["failure:explicit-procedure-outcome"],
    )


@case
def int_sympathetic() -> Built:
    c = Case("sympathetic-block-inferred")
    c.patient(birth_date="1974-10-10", gender="male", family="Mendes", given="Paulo")
    std(c, esi_code=("cpt", "64520", "Injection, anesthetic agent; lumbar or thoracic (paravertebral sympathetic)"))
    return Built(
        c,
        "Lumbar sympathetic block 64520 (sympathetic blocks 64505-64530 are nerve blocks, §2) on 2025-09-15, "
        "score 8 six weeks later -> failed by inference -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["failure:inferred-injection"],
    )


@case
def int_success() -> Built:
    c = Case("esi-successful-only-not-met")
    c.patient(birth_date="1979-01-09", gender="female", family="Price", given="Sarah")
    std(c, esi_outcome=SUCCESSFUL, scores=scores_with(d2025_10_27=None))
    return Built(
        c,
        "Transforaminal ESI with outcome 385669000 Successful and no score >= 5 within 2-12 weeks: a success "
        "(§6) and no failed procedure -> failed_interventional not_met -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", failed_interventional="not_met"),
        tags=["treatment:effective"],
    )


@case
def int_day_84() -> Built:
    c = Case("esi-score-on-day-84-counts")
    c.patient(birth_date="1961-12-19", gender="male", family="Bianchi", given="Luca")
    std(c, scores=scores_with(d2025_10_27=None, d2025_12_08=7))
    return Built(
        c,
        "ESI on 2025-09-15; the only later score is 7 on 2025-12-08, exactly 12 weeks (84 days) after: the window "
        "includes both ends (§6) -> failed -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["failure:inferred-injection"],
    )


@case
def int_outside() -> Built:
    c = Case("esi-scores-outside-window-unknown")
    c.patient(birth_date="1975-05-25", gender="female", family="Khan", given="Ayesha")
    std(c, scores=scores_with(d2025_10_27=None, d2025_09_28=8, d2025_12_09=7))
    return Built(
        c,
        "ESI on 2025-09-15 with scores only on day 13 (2025-09-28) and day 85 (2025-12-09), both outside 2-12 weeks: "
        "done but no outcome evidence -> failed_interventional unknown (§6) -> INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", failed_interventional="unknown"),
        tags=["treatment:no-outcome-on-record"],
    )


@case
def int_obstetric() -> Built:
    c = Case("obstetric-epidural-is-not-an-esi")
    c.patient(birth_date="1991-07-12", gender="female", family="Martin", given="Chloe")
    std(c, esi=False)
    c.procedure(
        [("snomed", "18946005", "Epidural anesthesia")],
        performed="2025-09-15",
        note="Labour epidural, vaginal delivery",
    )
    c.pregnancy("2026-05-12", NOT_PREGNANT)
    return Built(
        c,
        "The only 'epidural' is obstetric epidural anaesthesia (SNOMED 18946005) during labour, which is not an ESI "
        "(§2) -> no ESI or nerve block on record -> failed_interventional unknown -> INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", failed_interventional="unknown"),
        tags=["trap:obstetric-epidural-18946005"],
    )


@case
def int_facet() -> Built:
    c = Case("facet-injection-is-not-a-nerve-block")
    c.patient(birth_date="1958-08-28", gender="male", family="Fraser", given="Ian")
    std(c, esi_code=("cpt", "64493", "Injection, paravertebral facet joint, lumbar/sacral, single level, with imaging"))
    return Built(
        c,
        "The only injection is a lumbar facet/medial-branch injection 64493 (64490-64495 are neither ESI nor nerve "
        "block, §2) -> none on record -> failed_interventional unknown -> INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", failed_interventional="unknown"),
        tags=["trap:facet-64490-64495"],
    )


@case
def int_no_outcome() -> Built:
    c = Case("esi-done-no-outcome-unknown")
    c.patient(birth_date="1970-12-30", gender="female", family="Harris", given="Joanne")
    std(c, esi_date="2026-01-20")
    return Built(
        c,
        "ESI on 2026-01-20 with no outcome and no score from 2026-02-03 to 2026-04-14 -> failed_interventional "
        "unknown (§6 'Tried, but no outcome') -> INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", failed_interventional="unknown"),
        tags=["treatment:no-outcome-on-record"],
    )


@case
def int_success_then_pain() -> Built:
    c = Case("esi-marked-successful-but-pain-recurred")
    c.patient(birth_date="1967-04-16", gender="male", family="Oduya", given="Peter")
    std(c, esi_outcome=SUCCESSFUL)
    return Built(
        c,
        "ESI recorded 385669000 Successful, yet a score 8 six weeks later: §6 defines success as outcome 385669000 "
        "AND no score >= 5 within 2-12 weeks, and §2.2 infers failure from that score; reading chosen: failed -> "
        "failed_interventional met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["ambiguity:success-then-pain", "failure:inferred-injection"],
    )


# ================================================================================================
# psychological_evaluation
# ================================================================================================
@case
def psych_unfavourable() -> Built:
    c = Case("psych-latest-unfavourable")
    c.patient(birth_date="1982-10-05", gender="female", family="Turner", given="Lucy")
    std(c, psych=False)
    c.procedure([PSYCH_EVAL], performed="2025-08-10")
    c.procedure(
        [PSYCH_EVAL], performed="2026-02-18", outcome=UNSUCCESSFUL, note="Not cleared: untreated major depression"
    )
    return Built(
        c,
        "Two psych evaluations in 12 months; the LATEST (2026-02-18) has outcome 385671000 Unsuccessful -> "
        "psychological_evaluation not_met (§2) -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", psychological_evaluation="not_met"),
    )


@case
def psych_old() -> Built:
    c = Case("psych-older-than-twelve-months")
    c.patient(birth_date="1969-11-21", gender="male", family="Collins", given="Mark")
    std(c, psych_date="2025-05-31")
    return Built(
        c,
        "Only psych evaluation on 2025-05-31, one day before as_of minus 12 months (2025-06-01) -> none in the "
        "window -> psychological_evaluation unknown (§2) -> INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", psychological_evaluation="unknown"),
    )


@case
def psych_encounter() -> Built:
    c = Case("psych-encounter-exactly-twelve-months")
    c.patient(birth_date="1972-06-26", gender="female", family="Evans", given="Rachel")
    std(c, psych=False)
    c.encounter([PSYCH_EVAL], start="2025-06-01")
    return Built(
        c,
        "Psych evaluation recorded as an Encounter typed CPT 90791 on 2025-06-01, exactly 12 months before as_of "
        "(both ends included; no outcome = not unfavourable, §6) -> met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
    )


# ================================================================================================
# no_active_substance_use_disorder
# ================================================================================================
@case
def sud_active() -> Built:
    c = Case("sud-active-opioid-dependence")
    c.patient(birth_date="1978-03-13", gender="male", family="Doyle", given="Kevin")
    std(c)
    c.condition([("icd10", "F11.20", "Opioid dependence, uncomplicated")], onset="2025-11-04", recorded="2025-11-04")
    return Built(
        c,
        "Active opioid dependence F11.20 -> no_active_substance_use_disorder not_met (§2) -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", no_active_substance_use_disorder="not_met"),
    )


@case
def sud_remission() -> Built:
    c = Case("sud-remission-code-and-nicotine")
    c.patient(birth_date="1975-01-15", gender="male", family="Byrne", given="Declan")
    std(c)
    c.condition([("icd10", "F11.21", "Opioid dependence, in remission")], onset="2019-06-01", recorded="2021-02-01")
    c.condition(
        [("icd10", "F17.210", "Nicotine dependence, cigarettes, uncomplicated")],
        onset="2000-01-01",
        recorded="2018-01-01",
    )
    c.smoking("2026-05-12", "449868002", SMOKER["449868002"])
    return Built(
        c,
        "F11.21 'in remission' with clinicalStatus active is not an active SUD (§6), and F17.210 nicotine is not an "
        "SUD; the latest 72166-2 is 449868002 current every-day smoker -> smoking_cessation -> "
        "ELIGIBLE_WITH_CONDITIONS.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["smoking_cessation"]),
        tags=["trap:sud-in-remission", "trap:F17-not-sud"],
    )


@case
def sud_snomed() -> Built:
    c = Case("sud-snomed-opioid-abuse")
    c.patient(birth_date="1983-09-03", gender="female", family="Kelly", given="Dawn")
    std(c)
    c.condition([("snomed", "5602001", "Opioid abuse")], onset="2026-01-15", recorded="2026-01-15")
    return Built(
        c,
        "Active SNOMED 5602001 Opioid abuse (the SNOMED equivalent named in §2) -> not_met -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", no_active_substance_use_disorder="not_met"),
        tags=["trap:snomed-icd-mixed"],
    )


@case
def sud_resolved() -> Built:
    c = Case("sud-alcohol-dependence-resolved")
    c.patient(birth_date="1965-02-20", gender="male", family="Sullivan", given="Frank")
    std(c)
    c.condition(
        [("icd10", "F10.20", "Alcohol dependence, uncomplicated")],
        onset="2010-01-01",
        abatement="2017-05-01",
        clinical="resolved",
        recorded="2010-01-01",
    )
    return Built(
        c,
        "Alcohol dependence F10.20 with clinicalStatus resolved and an abatement date: not active (§6) -> met -> "
        "ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["trap:resolved-remission"],
    )


# ================================================================================================
# no_absolute_contraindication
# ================================================================================================
@case
def abs_coagulopathy() -> Built:
    c = Case("coagulopathy-on-warfarin-not-eligible")
    c.patient(birth_date="1954-06-11", gender="male", family="Wright", given="Harold")
    std(c)
    c.condition([("icd10", "D68.9", "Coagulation defect, unspecified")], onset="2025-10-01", recorded="2025-10-01")
    c.condition([("icd10", "I48.91", "Unspecified atrial fibrillation")], onset="2021-01-01", recorded="2021-01-01")
    c.med_request(WARFARIN, status="active", authored="2025-12-01", dosage="5 mg daily, adjust to INR")
    return Built(
        c,
        "Active coagulation defect D68.9 (D65-D68) -> no_absolute_contraindication not_met -> NOT_ELIGIBLE; the "
        "warfarin hold and INR check are listed anyway (§6 Actions: whatever the outcome), standard preparation "
        "is not.",
        expect(
            "NOT_ELIGIBLE",
            no_absolute_contraindication="not_met",
            actions=["hold_medication:warfarin", "lab_check:INR"],
        ),
        tags=["contra:coagulopathy-D68", "hold:warfarin"],
    )


@case
def abs_sepsis() -> Built:
    c = Case("sepsis-not-eligible")
    c.patient(birth_date="1960-09-09", gender="female", family="Green", given="Margaret")
    std(c)
    c.condition(
        [("icd10", "A41.9", "Sepsis, unspecified organism")],
        onset="2026-05-24",
        recorded="2026-05-24",
        category="encounter-diagnosis",
    )
    return Built(
        c,
        "Active sepsis A41.9 (systemic infection A40-A41) -> no_absolute_contraindication not_met (§2) -> "
        "NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", no_absolute_contraindication="not_met"),
        tags=["contra:sepsis-A41.9"],
    )


@case
def abs_pregnant_280() -> Built:
    c = Case("pregnancy-observation-280-days-old")
    c.patient(birth_date="1992-03-30", gender="female", family="Moore", given="Jessica")
    std(c)
    c.pregnancy("2025-08-25", PREGNANT)
    return Built(
        c,
        "Latest 82810-3 = 77386006 Pregnant dated 2025-08-25, exactly 280 days before as_of (<= 280 days, §6) -> "
        "current pregnancy -> no_absolute_contraindication not_met -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", no_absolute_contraindication="not_met"),
        tags=["contra:pregnancy-within-280"],
    )


@case
def abs_pregnant_281() -> Built:
    c = Case("pregnancy-observation-281-days-old")
    c.patient(birth_date="1992-04-30", gender="female", family="Moore", given="Emily")
    std(c)
    c.pregnancy("2025-08-24", PREGNANT)
    return Built(
        c,
        "Latest 82810-3 = Pregnant dated 2025-08-24, 281 days before as_of: older than 280 days, so not a current "
        "pregnancy (§6) -> met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["contra:pregnancy-older-280"],
    )


@case
def abs_pregnant_la() -> Built:
    c = Case("pregnancy-latest-loinc-answer")
    c.patient(birth_date="1994-12-01", gender="female", family="Lewis", given="Amy")
    std(c)
    c.pregnancy("2026-01-10", NOT_PREGNANT)
    c.pregnancy("2026-05-20", PREGNANT_LA)
    return Built(
        c,
        "Earlier 82810-3 'Not pregnant', latest (2026-05-20) = LOINC answer LA15173-0 Pregnant (accepted like "
        "77386006, §6) -> current pregnancy -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", no_absolute_contraindication="not_met"),
        tags=["contra:pregnancy-within-280"],
    )


@case
def abs_not_pregnant_latest() -> Built:
    c = Case("pregnancy-latest-not-pregnant")
    c.patient(birth_date="1990-08-14", gender="female", family="Walker", given="Sophie")
    std(c)
    c.pregnancy("2026-02-01", PREGNANT)
    c.pregnancy("2026-05-25", NOT_PREGNANT)
    return Built(
        c,
        "Pregnant on 2026-02-01, but the LATEST 82810-3 (2026-05-25) says not pregnant: pregnancy status is the "
        "latest observation (§6) -> met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
    )


@case
def abs_z33() -> Built:
    c = Case("pregnant-state-z33-condition")
    c.patient(birth_date="1993-05-05", gender="female", family="Hall", given="Megan")
    std(c)
    c.condition([("icd10", "Z33.1", "Pregnant state, incidental")], onset="2026-04-20", recorded="2026-04-28")
    return Built(
        c,
        "Active Z33.1 pregnant state and no 82810-3 Observation -> current pregnancy (§6) -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", no_absolute_contraindication="not_met"),
        tags=["contra:pregnancy-within-280"],
    )


# ================================================================================================
# no_relative_contraindication / existing neurostimulator
# ================================================================================================
@case
def rel_pacemaker() -> Built:
    c = Case("pacemaker-needs-review")
    c.patient(birth_date="1949-11-11", gender="male", family="King", given="Robert")
    std(c)
    c.condition([("icd10", "Z95.0", "Presence of cardiac pacemaker")], onset="2020-02-02", recorded="2020-02-10")
    return Built(
        c,
        "Cardiac pacemaker Z95.0 -> no_relative_contraindication not_met, everything else met -> NEEDS_REVIEW "
        "(§3 rule 3); no standard preparation.",
        expect("NEEDS_REVIEW", no_relative_contraindication="not_met"),
        tags=["contra:pacemaker-Z95.0"],
    )


@case
def rel_device() -> Built:
    c = Case("existing-neurostimulator-device")
    c.patient(birth_date="1964-01-04", gender="female", family="Scott", given="Helen")
    std(c)
    c.device(
        [
            ("snomed", "25937001", "Neurostimulator, device (physical object)"),
            (
                "hcpcs",
                "C1820",
                "Generator, neurostimulator (implantable), with rechargeable battery and charging system",
            ),
        ],
        name="Spinal cord stimulator IPG (implanted elsewhere, 2019)",
    )
    return Built(
        c,
        "Active Device typed SNOMED 25937001 Neurostimulator + HCPCS C1820 (implantable neurostimulator generator): "
        "an existing neurostimulator "
        "(§6) -> no_relative_contraindication not_met -> NEEDS_REVIEW.",
        expect("NEEDS_REVIEW", no_relative_contraindication="not_met"),
        tags=["contra:neurostimulator-device"],
    )


@case
def rel_z9682() -> Built:
    c = Case("neurostimulator-status-z9682-with-naproxen")
    c.patient(birth_date="1962-07-04", gender="male", family="Adams", given="Paul")
    std(c)
    c.condition([("icd10", "Z96.82", "Presence of neurostimulator")], onset="2018-09-01", recorded="2018-09-01")
    c.med_statement(NAPROXEN, status="active", start="2025-10-01", dosage="Aleve 220 mg twice daily as needed")
    return Built(
        c,
        "Z96.82 presence of neurostimulator -> NEEDS_REVIEW; active naproxen still yields its 4-day hold (condition "
        "actions are listed whatever the outcome, §6) but no standard preparation.",
        expect("NEEDS_REVIEW", no_relative_contraindication="not_met", actions=["hold_medication:naproxen"]),
        tags=["contra:Z96.82", "hold:naproxen"],
    )


@case
def rel_dementia() -> Built:
    c = Case("dementia-needs-review")
    c.patient(birth_date="1948-02-14", gender="female", family="Roberts", given="Dorothy")
    std(c)
    c.condition(
        [("icd10", "F03.90", "Unspecified dementia, unspecified severity, without behavioral disturbance")],
        onset="2024-12-01",
        recorded="2025-01-08",
    )
    return Built(
        c,
        "Active dementia F03.90 (an F-code but not F10-F19, so not an SUD) -> no_relative_contraindication "
        "not_met -> NEEDS_REVIEW.",
        expect("NEEDS_REVIEW", no_relative_contraindication="not_met"),
        tags=["contra:dementia"],
    )


@case
def rel_cancer() -> Built:
    c = Case("active-cancer-needs-review")
    c.patient(birth_date="1959-10-27", gender="female", family="Thompson", given="Linda")
    std(c)
    c.condition(
        [("icd10", "C50.912", "Malignant neoplasm of unspecified site of left female breast")],
        onset="2026-02-10",
        recorded="2026-02-12",
    )
    return Built(
        c,
        "Active breast cancer C50.912 under treatment -> no_relative_contraindication not_met -> NEEDS_REVIEW.",
        expect("NEEDS_REVIEW", no_relative_contraindication="not_met"),
        tags=["contra:active-cancer"],
    )


@case
def rel_immunodeficiency() -> Built:
    c = Case("immunodeficiency-needs-review")
    c.patient(birth_date="1971-12-12", gender="male", family="Baptiste", given="Jean")
    std(c)
    c.condition([("icd10", "D84.9", "Immunodeficiency, unspecified")], onset="2023-03-03", recorded="2023-03-03")
    return Built(
        c,
        "Active immunodeficiency D84.9 -> no_relative_contraindication not_met -> NEEDS_REVIEW.",
        expect("NEEDS_REVIEW", no_relative_contraindication="not_met"),
    )


@case
def rel_with_unknown() -> Built:
    c = Case("relative-contraindication-and-unknown")
    c.patient(birth_date="1952-05-05", gender="male", family="Foster", given="Alan")
    std(c, psych=False)
    c.condition([("icd10", "Z95.0", "Presence of cardiac pacemaker")], onset="2021-06-01", recorded="2021-06-01")
    return Built(
        c,
        "Pacemaker (relative) AND no psych evaluation (unknown): rule 2 comes before rule 3 (§3) -> "
        "INSUFFICIENT_INFORMATION.",
        expect("INSUFFICIENT_INFORMATION", psychological_evaluation="unknown", no_relative_contraindication="not_met"),
        tags=["contra:pacemaker-Z95.0"],
    )


@case
def rel_with_not_met() -> Built:
    c = Case("relative-contraindication-and-active-sud")
    c.patient(birth_date="1957-03-17", gender="male", family="Grant", given="Neil")
    std(c)
    c.condition([("icd10", "Z95.0", "Presence of cardiac pacemaker")], onset="2021-06-01", recorded="2021-06-01")
    c.condition([("icd10", "F11.20", "Opioid dependence, uncomplicated")], onset="2025-09-01", recorded="2025-09-01")
    return Built(
        c,
        "Pacemaker (relative) AND active opioid dependence: rule 1 (any not_met other than the relative criterion) "
        "wins -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", no_active_substance_use_disorder="not_met", no_relative_contraindication="not_met"),
    )


@case
def prior_implant() -> Built:
    c = Case("prior-permanent-implant-63685")
    c.patient(birth_date="1963-03-09", gender="female", family="Ward", given="Susan")
    std(c)
    c.procedure([DRG_TRIAL], period=("2025-01-06", "2025-01-13"))
    c.procedure([IPG], performed="2025-02-03")
    return Built(
        c,
        "Record holds a trial 63650 AND a permanent generator 63685: stage stays trial (§3), and the generator is "
        "an existing neurostimulator (§6) -> no_relative_contraindication not_met -> NEEDS_REVIEW.",
        expect("NEEDS_REVIEW", no_relative_contraindication="not_met"),
        tags=["stage:63685-present"],
    )


@case
def stent_dapt() -> Built:
    c = Case("coronary-stent-aspirin-clopidogrel")
    c.patient(birth_date="1955-09-19", gender="male", family="Cooper", given="Brian")
    std(c)
    c.condition(
        [("icd10", "I25.10", "Atherosclerotic heart disease of native coronary artery without angina pectoris")],
        onset="2024-11-01",
        recorded="2024-11-01",
    )
    c.condition(
        [("icd10", "Z95.5", "Presence of coronary angioplasty implant and graft")],
        onset="2024-11-03",
        recorded="2024-11-03",
    )
    c.med_request(
        ASPIRIN,
        status="active",
        authored="2024-11-03",
        dosage="81 mg daily",
        reason=[("icd10", "Z95.5", "Presence of coronary angioplasty implant and graft")],
    )
    c.med_request(CLOPIDOGREL, status="active", authored="2024-11-03", dosage="75 mg daily")
    return Built(
        c,
        "Coronary stent Z95.5 is not a relative contraindication (§6); aspirin for secondary prevention (stent "
        "indication) -> hold_medication:aspirin with no day count, 'prescriber decision'; clopidogrel 7 d -> "
        "ELIGIBLE_WITH_CONDITIONS.",
        expect(
            "ELIGIBLE_WITH_CONDITIONS",
            actions=["hold_medication:aspirin", "hold_medication:clopidogrel"],
            aspirin_secondary=True,
        ),
        tags=["trap:Z95.5-not-relative", "hold:aspirin-secondary", "hold:clopidogrel"],
    )


# ================================================================================================
# actions: holds, lab checks, smoking, advisories
# ================================================================================================
@case
def hold_ibuprofen() -> Built:
    c = Case("hold-ibuprofen-some-day-smoker")
    c.patient(birth_date="1979-03-27", gender="female", family="Bell", given="Rachel")
    std(c)
    c.med_request(IBUPROFEN, status="active", authored="2025-12-01", dosage="Advil 400 mg every 6 h as needed")
    c.smoking("2026-05-12", "428041000124106", SMOKER["428041000124106"])
    return Built(
        c,
        "Active ibuprofen (1-day hold) and the latest 72166-2 = 428041000124106 current some-day smoker "
        "(smoking_cessation) -> ELIGIBLE_WITH_CONDITIONS (§3 rule 4, §4).",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:ibuprofen", "smoking_cessation"]),
        tags=["hold:ibuprofen"],
    )


@case
def hold_naproxen() -> Built:
    c = Case("hold-naproxen-statement-heavy-smoker")
    c.patient(birth_date="1968-05-08", gender="male", family="Murray", given="Alan")
    std(c)
    c.med_statement(NAPROXEN, status="active", start="2025-10-01", dosage="Aleve 220 mg twice daily")
    c.smoking("2026-04-30", "428071000124103", SMOKER["428071000124103"])
    return Built(
        c,
        "Naproxen reported as an active MedicationStatement (4-day hold) and a current heavy smoker "
        "(428071000124103) -> ELIGIBLE_WITH_CONDITIONS.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:naproxen", "smoking_cessation"]),
        tags=["hold:naproxen", "trap:medication-statement"],
    )


@case
def hold_aspirin_primary() -> Built:
    c = Case("hold-aspirin-primary-former-smoker")
    c.patient(birth_date="1953-01-01", gender="female", family="Palmer", given="Janet")
    std(c)
    c.med_statement(ASPIRIN, status="active", start="2020-01-01", dosage="81 mg daily (self-started)")
    c.smoking("2026-05-12", "8517006", SMOKER["8517006"])
    return Built(
        c,
        "Low-dose aspirin with no coronary, cerebrovascular or stent indication in the record = primary "
        "prevention (6-day hold); former smoker 8517006 -> no smoking_cessation -> ELIGIBLE_WITH_CONDITIONS.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:aspirin"], absent=["smoking_cessation"]),
        tags=["hold:aspirin-primary", "smoking:former"],
    )


@case
def hold_prasugrel() -> Built:
    c = Case("hold-prasugrel-light-smoker")
    c.patient(birth_date="1961-06-16", gender="male", family="Hunt", given="Gary")
    std(c)
    c.condition(
        [("icd10", "I21.4", "Non-ST elevation (NSTEMI) myocardial infarction")],
        onset="2025-12-20",
        recorded="2025-12-20",
    )
    c.med_request(PRASUGREL, status="active", authored="2025-12-22", dosage="10 mg daily")
    c.smoking("2026-05-12", "428061000124105", SMOKER["428061000124105"])
    return Built(
        c,
        "Active prasugrel after NSTEMI (7-day hold) and current light smoker 428061000124105 -> "
        "ELIGIBLE_WITH_CONDITIONS.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:prasugrel", "smoking_cessation"]),
        tags=["hold:prasugrel"],
    )


@case
def hold_ticagrelor() -> Built:
    c = Case("hold-ticagrelor-mislabelled-smoker-status-unknown")
    c.patient(birth_date="1959-12-03", gender="male", family="Stone", given="Roger")
    std(c)
    c.med_request(("1116632", "tiotropium"), status="active", authored="2025-11-15", dosage="90 mg twice daily")
    c.smoking("2026-05-12", "77176002", SMOKER["77176002"])
    return Built(
        c,
        "RxCUI 1116632 is ticagrelor though the display says 'tiotropium' (§6.7): code wins -> 5-day ticagrelor "
        "hold; 72166-2 = 77176002 smoker, current status unknown (a current-smoker answer, §4) -> "
        "ELIGIBLE_WITH_CONDITIONS.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:ticagrelor", "smoking_cessation"]),
        tags=["hold:ticagrelor"],
    )


@case
def hold_warfarin() -> Built:
    c = Case("hold-warfarin-contained-medication")
    c.patient(birth_date="1950-07-07", gender="female", family="Fisher", given="Joan")
    std(c)
    c.condition([("icd10", "I48.91", "Unspecified atrial fibrillation")], onset="2019-01-01", recorded="2019-01-01")
    c.med_request(WARFARIN, status="active", authored="2025-06-01", dosage="5 mg daily", mode="contained")
    return Built(
        c,
        "Warfarin ordered through a CONTAINED Medication (medicationReference '#med1', §1) -> 5-day hold + INR "
        "check (vitamin-K antagonist, §6) -> ELIGIBLE_WITH_CONDITIONS.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:warfarin", "lab_check:INR"]),
        tags=["hold:warfarin", "trap:contained-medication"],
    )


@case
def hold_apixaban() -> Built:
    c = Case("hold-apixaban-no-lab-check")
    c.patient(birth_date="1952-02-22", gender="male", family="Mills", given="Trevor")
    std(c)
    c.med_request(APIXABAN, status="active", authored="2025-08-01", dosage="5 mg twice daily")
    return Built(
        c,
        "Active apixaban -> 3-day hold and NO lab_check (§6: lab checks are not for apixaban, rivaroxaban or "
        "edoxaban) -> ELIGIBLE_WITH_CONDITIONS.",
        expect(
            "ELIGIBLE_WITH_CONDITIONS",
            actions=["hold_medication:apixaban"],
            absent=["lab_check:INR", "lab_check:renal_function"],
        ),
        tags=["hold:apixaban"],
    )


@case
def hold_rivaroxaban() -> Built:
    c = Case("hold-rivaroxaban-no-lab-check")
    c.patient(birth_date="1966-10-16", gender="female", family="Rose", given="Alison")
    std(c)
    c.med_statement(RIVAROXABAN, status="active", start="2025-04-01", dosage="20 mg daily with evening meal")
    return Built(
        c,
        "Active rivaroxaban (MedicationStatement) -> 3-day hold, no lab_check -> ELIGIBLE_WITH_CONDITIONS.",
        expect(
            "ELIGIBLE_WITH_CONDITIONS",
            actions=["hold_medication:rivaroxaban"],
            absent=["lab_check:INR", "lab_check:renal_function"],
        ),
        tags=["hold:rivaroxaban"],
    )


@case
def hold_edoxaban() -> Built:
    c = Case("hold-edoxaban-mislabelled-apixaban")
    c.patient(birth_date="1958-11-30", gender="male", family="Burns", given="Colin")
    std(c)
    c.med_request(
        ("1599538", "apixaban 5 MG Oral Tablet"), status="active", authored="2025-09-10", dosage="60 mg daily"
    )
    return Built(
        c,
        "RxCUI 1599538 is edoxaban though the display says apixaban (§6.7 trap) -> hold_medication:edoxaban "
        "(3 d), no lab_check -> ELIGIBLE_WITH_CONDITIONS.",
        expect(
            "ELIGIBLE_WITH_CONDITIONS",
            actions=["hold_medication:edoxaban"],
            absent=["hold_medication:apixaban", "lab_check:INR", "lab_check:renal_function"],
        ),
        tags=["hold:edoxaban"],
    )


@case
def hold_dabigatran() -> Built:
    c = Case("hold-dabigatran-renal-function")
    c.patient(birth_date="1951-04-09", gender="female", family="Marsh", given="Eileen")
    std(c)
    c.med_request(DABIGATRAN, status="active", authored="2025-07-20", dosage="150 mg twice daily")
    return Built(
        c,
        "Active dabigatran -> hold (4 d, 5-6 d with impaired renal function) and lab_check renal_function, no INR "
        "(§6) -> ELIGIBLE_WITH_CONDITIONS.",
        expect(
            "ELIGIBLE_WITH_CONDITIONS",
            actions=["hold_medication:dabigatran", "lab_check:renal_function"],
            absent=["lab_check:INR"],
        ),
        tags=["hold:dabigatran"],
    )


@case
def wrong_rxcui() -> Built:
    c = Case("wrong-rxcui-42463-is-pravastatin")
    c.patient(birth_date="1960-06-06", gender="male", family="Ellis", given="Roy")
    std(c)
    c.med_request(
        ("42463", "clopidogrel 75 MG Oral Tablet"), status="active", authored="2025-05-05", dosage="one tablet daily"
    )
    return Built(
        c,
        "A MedicationRequest labelled 'clopidogrel' but coded RxCUI 42463, which is pravastatin (§6.7): codes, not "
        "displays, decide -> no hold -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL", absent=["hold_medication:clopidogrel", "hold_medication:pravastatin"]),
        tags=["trap:rxcui-42463"],
    )


@case
def celecoxib() -> Built:
    c = Case("celecoxib-needs-no-hold")
    c.patient(birth_date="1969-04-24", gender="female", family="Carter", given="Nicola")
    std(c)
    c.med_request(CELECOXIB, status="active", authored="2025-11-01", dosage="200 mg daily")
    return Built(
        c,
        "Active celecoxib (COX-2, RxNorm 140587): no hold and no action (§4); it still counts as an NSAID class "
        "for failed_medications -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL", absent=["hold_medication:celecoxib"]),
        tags=["trap:celecoxib-no-hold"],
    )


@case
def duloxetine() -> Built:
    c = Case("duloxetine-bleeding-advisory")
    c.patient(birth_date="1973-08-31", gender="female", family="Parker", given="Louise")
    std(c)
    c.med_statement(DULOXETINE, status="active", start="2025-10-15", dosage="60 mg daily")
    return Built(
        c,
        "Active duloxetine (SNRI, 72625): an advisory note, not a hold (§6); advisories are not condition actions, "
        "so the outcome stays ELIGIBLE_FOR_TRIAL (reading chosen: only holds, lab checks and smoking cessation "
        "are condition actions, §4).",
        expect("ELIGIBLE_FOR_TRIAL", actions=["advisory:duloxetine"], absent=["hold_medication:duloxetine"]),
        tags=["advisory:duloxetine", "ambiguity:advisory-not-condition"],
    )


@case
def smoking_former_latest() -> Built:
    c = Case("smoking-latest-status-former")
    c.patient(birth_date="1970-10-13", gender="male", family="Hayes", given="Tony")
    std(c)
    c.smoking("2024-03-01", "449868002", SMOKER["449868002"])
    c.smoking("2026-04-02", "8517006", SMOKER["8517006"])
    return Built(
        c,
        "Every-day smoker in 2024, former smoker (8517006) on the LATEST 72166-2 (§6: smoking status is the latest) "
        "-> no smoking_cessation -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL", absent=["smoking_cessation"]),
        tags=["smoking:former"],
    )


@case
def stopped_warfarin() -> Built:
    c = Case("warfarin-completed-no-hold")
    c.patient(birth_date="1974-02-28", gender="female", family="Gordon", given="Fiona")
    std(c)
    c.condition(
        [("icd10", "I82.401", "Acute embolism and thrombosis of unspecified deep veins of right lower extremity")],
        onset="2023-12-20",
        abatement="2024-07-10",
        clinical="resolved",
        recorded="2023-12-20",
    )
    c.med_statement(WARFARIN, status="completed", start="2024-01-10", end="2024-07-10", dosage="5 mg daily")
    return Built(
        c,
        "Warfarin for a DVT, completed in July 2024: not active at as_of -> no hold, no INR -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL", absent=["hold_medication:warfarin", "lab_check:INR"]),
    )


@case
def urn_transaction() -> Built:
    c = Case("urn-uuid-transaction-bundle", urn=True, bundle_type="transaction")
    c.patient(birth_date="1976-09-27", gender="female", family="Quinn", given="Bridget")
    std(c)
    return Built(
        c,
        "The standard eligible record as a Synthea-style transaction Bundle: urn:uuid: fullUrls and urn:uuid: "
        "subject references must resolve (§1) -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["trap:urn-uuid"],
    )


@case
def searchset_medication() -> Built:
    c = Case("searchset-referenced-medication-clopidogrel", bundle_type="searchset")
    c.patient(birth_date="1957-01-28", gender="male", family="Hart", given="Derek")
    std(c)
    c.condition(
        [("icd10", "I63.9", "Cerebral infarction, unspecified")],
        onset="2025-03-01",
        abatement="2025-03-15",
        clinical="resolved",
        recorded="2025-03-01",
    )
    c.med_request(CLOPIDOGREL, status="active", authored="2025-03-10", dosage="75 mg daily", mode="reference")
    return Built(
        c,
        "Searchset Bundle; clopidogrel ordered through a referenced Medication resource (Medication/med-1, §1) -> "
        "7-day hold -> ELIGIBLE_WITH_CONDITIONS.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:clopidogrel"]),
        tags=["hold:clopidogrel"],
    )


# ================================================================================================
# Implant stage (trial 63650 on 2026-04-06..2026-04-13, no 63685)
#   baseline window 2026-03-07..2026-04-06; trial window 2026-04-07..2026-05-06 (§6 "Trial window")
# ================================================================================================
def implant_record(
    c: Case,
    *,
    baseline: dict[str, float] | None = None,
    trial_scores: dict[str, float] | None = None,
    later: dict[str, float] | None = None,
    psych_date: str = "2026-02-18",
) -> None:
    std(c, psych_date=psych_date)  # includes the 7 of 2026-05-12 (trial start + 36 days)
    trial(c)
    for date, value in sorted(
        {
            **({"2026-04-01": 8} if baseline is None else baseline),
            **({"2026-04-08": 3, "2026-04-12": 2} if trial_scores is None else trial_scores),
            **(later or {}),
        }.items()
    ):
        c.pain_score(date, value)


@case
def implant_eligible() -> Built:
    c = Case("implant-eligible")
    c.patient(birth_date="1971-03-14", gender="female", family="Okafor", given="Grace")
    implant_record(c)
    return Built(
        c,
        "DRG trial 63650 (2026-04-06..13), no 63685 -> stage implant. Baseline 8 (2026-04-01), trial scores 3 and 2 "
        "-> (8 - 2.5) / 8 = 68.75 % >= 50 % -> trial_response met; pain back to 7 on 2026-05-12 -> "
        "ELIGIBLE_FOR_IMPLANT with standard preparation (§3 implant).",
        expect("ELIGIBLE_FOR_IMPLANT", stage="implant"),
        tags=["implant:trial-63650"],
    )


@case
def implant_failed() -> Built:
    c = Case("implant-trial-failed")
    c.patient(birth_date="1966-06-06", gender="male", family="Roth", given="Stefan")
    implant_record(c, trial_scores={"2026-04-08": 6, "2026-04-12": 5})
    return Built(
        c,
        "Baseline 8, trial scores 6 and 5 -> (8 - 5.5) / 8 = 31.25 % < 50 % -> trial_response not_met -> "
        "TRIAL_FAILED, no actions.",
        expect("TRIAL_FAILED", stage="implant", trial_response="not_met"),
        tags=["implant:trial-63650"],
    )


@case
def implant_failed_actions() -> Built:
    c = Case("implant-trial-failed-holds-still-listed")
    c.patient(birth_date="1972-07-27", gender="female", family="Klein", given="Marta")
    implant_record(c, trial_scores={"2026-04-09": 7, "2026-04-20": 6})
    c.med_request(IBUPROFEN, status="active", authored="2026-01-15", dosage="400 mg three times daily")
    c.smoking("2026-04-01", "449868002", SMOKER["449868002"])
    return Built(
        c,
        "Trial failed ((8 - 6.5) / 8 = 18.75 %) -> TRIAL_FAILED, which comes first even with condition data; the "
        "ibuprofen hold and smoking_cessation are still listed (§6 Actions), standard preparation is not.",
        expect(
            "TRIAL_FAILED",
            stage="implant",
            trial_response="not_met",
            actions=["hold_medication:ibuprofen", "smoking_cessation"],
        ),
    )


@case
def implant_no_baseline() -> Built:
    c = Case("implant-no-baseline-score")
    c.patient(birth_date="1977-02-02", gender="male", family="Vogel", given="Martin")
    implant_record(c, baseline={"2026-03-06": 8})
    return Built(
        c,
        "The only pre-trial score is 2026-03-06, 31 days before the trial start (the baseline window is the 30 days "
        "up to and including the start day, §6) -> baseline missing -> trial_response unknown -> "
        "INSUFFICIENT_INFORMATION at the implant stage.",
        expect("INSUFFICIENT_INFORMATION", stage="implant", trial_response="unknown"),
    )


@case
def implant_no_trial_scores() -> Built:
    c = Case("implant-no-trial-scores")
    c.patient(birth_date="1968-12-08", gender="female", family="Lange", given="Heike")
    implant_record(c, trial_scores={})
    return Built(
        c,
        "Baseline 8 but no score from 2026-04-07 to 2026-05-06 and no percent-relief Observation -> trial side "
        "missing -> trial_response unknown -> INSUFFICIENT_INFORMATION (implant stage).",
        expect("INSUFFICIENT_INFORMATION", stage="implant", trial_response="unknown"),
    )


@case
def implant_sepsis() -> Built:
    c = Case("implant-sepsis-not-eligible")
    c.patient(birth_date="1962-11-19", gender="male", family="Brandt", given="Uwe")
    implant_record(c)
    c.condition(
        [("icd10", "A41.9", "Sepsis, unspecified organism")],
        onset="2026-05-20",
        recorded="2026-05-20",
        category="encounter-diagnosis",
    )
    return Built(
        c,
        "Successful trial (68.75 %) but active sepsis since 2026-05-20: the absolute contraindication is re-checked "
        "before the implant -> NOT_ELIGIBLE (implant stage).",
        expect("NOT_ELIGIBLE", stage="implant", no_absolute_contraindication="not_met"),
    )


@case
def implant_sud() -> Built:
    c = Case("implant-active-sud-not-eligible")
    c.patient(birth_date="1980-05-12", gender="male", family="Hahn", given="Felix")
    implant_record(c)
    c.condition([("icd10", "F11.20", "Opioid dependence, uncomplicated")], onset="2026-04-25", recorded="2026-05-01")
    return Built(
        c,
        "Successful trial but opioid dependence F11.20 diagnosed during follow-up -> active SUD at the implant "
        "re-check -> NOT_ELIGIBLE (implant stage).",
        expect("NOT_ELIGIBLE", stage="implant", no_active_substance_use_disorder="not_met"),
    )


@case
def implant_pacemaker() -> Built:
    c = Case("implant-pacemaker-needs-review")
    c.patient(birth_date="1951-08-08", gender="male", family="Wolf", given="Dieter")
    implant_record(c)
    c.condition([("icd10", "Z95.0", "Presence of cardiac pacemaker")], onset="2022-02-02", recorded="2022-02-02")
    return Built(
        c,
        "Successful trial, cardiac pacemaker Z95.0 (relative) -> NEEDS_REVIEW (implant stage), no standard "
        "preparation.",
        expect("NEEDS_REVIEW", stage="implant", no_relative_contraindication="not_met"),
        tags=["contra:pacemaker-Z95.0"],
    )


@case
def implant_percent_relief() -> Built:
    c = Case("implant-percent-relief-observation")
    c.patient(birth_date="1975-04-19", gender="female", family="Sommer", given="Katrin")
    implant_record(c, trial_scores={})
    c.percent_relief("2026-04-13", 70)
    return Built(
        c,
        f"No trial pain scores, but a patient-reported percent-relief Observation ({PERCENT_RELIEF_SYSTEM}|"
        f"{PERCENT_RELIEF_CODE}) of 70 % at lead removal (§3: 'or an Observation of percent pain relief') -> "
        "trial_response met -> ELIGIBLE_FOR_IMPLANT.",
        expect("ELIGIBLE_FOR_IMPLANT", stage="implant"),
        tags=["implant:percent-relief"],
    )


@case
def implant_percent_relief_failed() -> Built:
    c = Case("implant-percent-relief-below-threshold")
    c.patient(birth_date="1970-01-21", gender="male", family="Keller", given="Andreas")
    implant_record(c, trial_scores={})
    c.percent_relief("2026-04-13", 40)
    return Built(
        c,
        "Percent-relief Observation 40 % (< 50 %), no trial pain scores -> trial_response not_met -> TRIAL_FAILED.",
        expect("TRIAL_FAILED", stage="implant", trial_response="not_met"),
        tags=["implant:percent-relief"],
    )


@case
def implant_window_boundaries() -> Built:
    c = Case("implant-trial-window-boundaries")
    c.patient(birth_date="1964-09-29", gender="female", family="Frank", given="Ulrike")
    implant_record(
        c,
        baseline={"2026-03-07": 5, "2026-04-06": 8},
        trial_scores={"2026-04-07": 5, "2026-05-06": 3},
        later={"2026-05-07": 9},
    )
    return Built(
        c,
        "Trial starts 2026-04-06. Baseline = latest score in 2026-03-07..2026-04-06 = 8 on the start day; trial "
        "scores = 2026-04-07 (5) and 2026-05-06 (3, start + 30, included); 9 on 2026-05-07 is outside -> mean 4 -> "
        "exactly 50 % -> met (>= 50 %) -> ELIGIBLE_FOR_IMPLANT. Counting the start-day score as a trial score, "
        "dropping day +30, adding day +31 or taking the 5 of day -30 as baseline each gives < 50 %.",
        expect("ELIGIBLE_FOR_IMPLANT", stage="implant"),
        tags=["implant:trial-window-boundaries", "implant:trial-63650"],
    )


@case
def implant_conditions() -> Built:
    c = Case("implant-eligible-with-holds-stale-psych")
    c.patient(birth_date="1957-10-10", gender="male", family="Becker", given="Klaus")
    implant_record(c, psych_date="2025-04-10")
    c.condition([("icd10", "I48.91", "Unspecified atrial fibrillation")], onset="2020-01-01", recorded="2020-01-01")
    c.med_request(WARFARIN, status="active", authored="2025-06-01", dosage="5 mg daily")
    c.smoking("2026-05-12", "428041000124106", SMOKER["428041000124106"])
    return Built(
        c,
        "Successful trial; warfarin (hold + INR) and a current some-day smoker -> ELIGIBLE_FOR_IMPLANT with its "
        "condition actions and standard preparation. The psych evaluation is now 14 months old (unknown), but "
        "'the other trial criteria do not change the implant outcome' (§3).",
        expect(
            "ELIGIBLE_FOR_IMPLANT",
            stage="implant",
            psychological_evaluation="unknown",
            actions=["hold_medication:warfarin", "lab_check:INR", "smoking_cessation"],
        ),
        tags=["hold:warfarin"],
    )


@case
def implant_low_severity() -> Built:
    c = Case("implant-pain-controlled-severity-not-met")
    c.patient(birth_date="1973-03-03", gender="female", family="Schreiber", given="Eva")
    std(c, scores=scores_with(d2026_05_12=None))
    trial(c)
    c.pain_score("2026-04-01", 8)
    c.pain_score("2026-04-08", 3)
    c.pain_score("2026-04-12", 2)
    return Built(
        c,
        "Successful trial (68.75 %) and no score after it: the latest score in 90 days is the trial's 2 -> "
        "pain_severity not_met, reported but not changing the implant outcome (§3) -> ELIGIBLE_FOR_IMPLANT.",
        expect("ELIGIBLE_FOR_IMPLANT", stage="implant", pain_severity="not_met"),
    )


# ================================================================================================
# Added after the first review (appended so that earlier case numbers stay stable)
# ================================================================================================
@case
def meds_two_drugs_one_class() -> Built:
    c = Case("meds-two-drugs-one-class-not-met")
    c.patient(birth_date="1966-01-17", gender="female", family="Lambert", given="Sylvie")
    std(c, meds=False)
    gabapentin_std(c)
    c.med_statement(PREGABALIN, status="completed", start="2025-02-01", end="2025-05-31", dosage="150 mg twice daily")
    return Built(
        c,
        "Gabapentin and later pregabalin both failed (scores 8 and 7 in their windows), but both are "
        "gabapentinoids: failed_medications counts CLASSES (>= 2, §2), so 1 class -> not_met -> NOT_ELIGIBLE.",
        expect("NOT_ELIGIBLE", failed_medications="not_met"),
        tags=["failure:inferred-medication"],
    )


@case
def meds_opioid_topical() -> Built:
    c = Case("meds-opioid-and-topical-classes")
    c.patient(birth_date="1962-09-04", gender="male", family="Novak", given="Milan")
    std(c, meds=False)
    c.med_request(
        ("10689", "tramadol"),
        status="completed",
        authored="2024-09-05",
        validity=("2024-09-05", "2025-01-05"),
        dosage="50 mg every 6 h as needed",
    )
    c.med_statement(
        ("6387", "lidocaine"), status="completed", start="2025-02-01", end="2025-05-31", dosage="5% patch daily"
    )
    return Built(
        c,
        "Tramadol (opioid) and lidocaine 5% patch (topical) each failed by inference: two of the §2 analgesic "
        "classes other than gabapentinoid/TCA -> failed_medications met -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["failure:inferred-medication"],
    )


@case
def ssri_advisory() -> Built:
    c = Case("ssri-sertraline-advisory")
    c.patient(birth_date="1979-07-29", gender="female", family="Dupont", given="Marie")
    std(c)
    c.med_statement(("36437", "sertraline"), status="active", start="2023-05-01", dosage="100 mg daily")
    return Built(
        c,
        "Active sertraline (SSRI, 36437): bleeding advisory note, not a hold, not a condition (§6), and not an "
        "analgesic class -> ELIGIBLE_FOR_TRIAL with advisory:sertraline.",
        expect("ELIGIBLE_FOR_TRIAL", actions=["advisory:sertraline"], absent=["hold_medication:sertraline"]),
        tags=["ambiguity:advisory-not-condition"],
    )


@case
def scores_exactly_five() -> Built:
    c = Case("scores-exactly-five")
    c.patient(birth_date="1970-05-05", gender="male", family="Moreno", given="Diego")
    std(c, scores={d: 5 for d in BASE_SCORES})
    return Built(
        c,
        "Every pain score is exactly 5: '>= 5' (§2) makes each treatment failed by inference and the latest score "
        "meets pain_severity -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["failure:inferred-medication", "failure:inferred-pt", "failure:inferred-injection"],
    )


@case
def meds_four_weeks() -> Built:
    c = Case("meds-exactly-four-weeks-adequate")
    c.patient(birth_date="1968-03-22", gender="female", family="Keane", given="Orla")
    std(c, meds=False)
    gabapentin_std(c)
    c.med_statement(NORTRIPTYLINE, status="completed", start="2025-02-01", end="2025-03-01", dosage="25 mg at night")
    return Built(
        c,
        "Nortriptyline 2025-02-01..2025-03-01: end - start = 28 days = 4 weeks, adequate (>= 4 weeks, §2); its "
        "window 2025-03-01..2025-05-30 holds the 7 of 2025-04-10 -> failed; with gabapentin -> met -> "
        "ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        tags=["failure:inferred-medication"],
    )


@case
def aspirin_secondary_stroke() -> Built:
    c = Case("hold-aspirin-secondary-after-stroke")
    c.patient(birth_date="1954-12-09", gender="female", family="Byrne", given="Maureen")
    std(c)
    c.condition(
        [
            (
                "icd10",
                "Z86.73",
                "Personal history of transient ischemic attack, and cerebral infarction without residual deficits",
            )
        ],
        onset="2024-02-10",
        recorded="2024-03-01",
    )
    c.med_request(
        ASPIRIN,
        status="active",
        authored="2024-02-12",
        dosage="81 mg daily",
        reason=[("icd10", "I63.9", "Cerebral infarction, unspecified")],
    )
    return Built(
        c,
        "Aspirin ordered for an ischaemic stroke (reasonCode I63.9; history code Z86.73 on the problem list): a "
        "cerebrovascular indication in the record = secondary prevention -> hold_medication:aspirin with no "
        "day count and the note 'prescriber decision' (§6) -> ELIGIBLE_WITH_CONDITIONS.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:aspirin"], aspirin_secondary=True),
        tags=["hold:aspirin-secondary"],
    )




# ================================================================================================
# Policy v1.1 (spec §7): medications as EHRs code them
# ================================================================================================
# What §7 changes in the v1.0 cases when they run under drg-clinic@1.1.0 (every other v1.0 case must
# decide exactly as before):
# drg-clinic@2.0.0 (the payer profile: pain_duration_min_months 3, require_failed_interventional false):
# what changes for the cases that exercise those two thresholds. Everything else is as under 1.0.0.
_NA = {"failed_interventional": "not_applicable"}
_ELIGIBLE_NOW = {"outcome": "ELIGIBLE_FOR_TRIAL", "actions": list(STANDARD_PREP)}
V20_CHANGES: dict[str, dict[str, Any]] = {
    # already eligible: the injection is no longer asked for, the outcome stays
    "baseline-crps-foot-eligible": {"criteria": _NA},
    "duration-six-months-to-the-day": {"criteria": _NA},
    # the injection or block was the only open or failed criterion: no longer required -> eligible
    "esi-successful-only-not-met": {"criteria": _NA, **_ELIGIBLE_NOW},
    "esi-scores-outside-window-unknown": {"criteria": _NA, **_ELIGIBLE_NOW},
    "obstetric-epidural-is-not-an-esi": {"criteria": _NA, **_ELIGIBLE_NOW},
    "facet-injection-is-not-a-nerve-block": {"criteria": _NA, **_ELIGIBLE_NOW},
    # pain for 5 months and 30 days / 5 months: short of 6 months, at least 3 -> met -> eligible
    "duration-one-day-short": {"criteria": {**_NA, "pain_duration": "met"}, **_ELIGIBLE_NOW},
    "duration-month-end-clamped-not-met": {"criteria": {**_NA, "pain_duration": "met"}, **_ELIGIBLE_NOW},
    # no qualifying pain: the duration stays unknown and the diagnosis still blocks under any profile
    "dx-acute-pain-only": {"criteria": _NA},
    "dx-no-pain-diagnosis": {"criteria": _NA},
}

V11_CHANGES: dict[str, dict[str, Any]] = {
    # §7 label_status: no met qualifying diagnosis -> UNDETERMINED (v1.0 said OFF_LABEL)
    "dx-acute-pain-only": {"label_status": "UNDETERMINED"},
    "dx-phantom-limb-without-pain": {"label_status": "UNDETERMINED"},
    "dx-g90531-nonexistent-crps-code": {"label_status": "UNDETERMINED"},
    "dx-no-pain-diagnosis": {"label_status": "UNDETERMINED"},
    # The code identifies edoxaban (rule 1 wins), but the text names apixaban, a hold-table drug: its
    # hold is recommended too, with the conflict to settle with the prescriber (safety reading, §7).
    "hold-edoxaban-mislabelled-apixaban": expect(
        "ELIGIBLE_WITH_CONDITIONS",
        actions=["hold_medication:edoxaban", "hold_medication:apixaban"],
        absent=["lab_check:INR", "lab_check:renal_function"],
    ),
    # 42463 is pravastatin (known, no role), but the record's text says clopidogrel: the clopidogrel hold
    # is recommended with the conflict named, instead of silently trusting either side.
    "wrong-rxcui-42463-is-pravastatin": expect(
        "ELIGIBLE_WITH_CONDITIONS",
        actions=["hold_medication:clopidogrel"],
        absent=["hold_medication:pravastatin"],
    ),
}
CONFLICT_NOTE = "confirm which drug is taken"
for _slug, _drug in (
    ("hold-edoxaban-mislabelled-apixaban", "apixaban"),
    ("wrong-rxcui-42463-is-pravastatin", "clopidogrel"),
):
    V11_CHANGES[_slug]["action_details"][f"hold_medication:{_drug}"]["note_contains"] = CONFLICT_NOTE


def v11(c: Case, description: str, expected: dict[str, Any], tags: list[str]) -> Built:
    return Built(c, description, expected, tags=tags, policy=POLICY_V11, under={})


def rx_concept(code: str | None, display: str | None, *, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if code:
        coding: dict[str, Any] = {"system": RXNORM, "code": code}
        if display:
            coding["display"] = display
        out["coding"] = [coding]
    if text:
        out["text"] = text
    return out


def scd_history(c: Case) -> None:
    """The standard history with both failed analgesics sent as clinical drugs (SCD), not ingredients."""
    std(c, meds=False)
    c.med_request(
        None,
        medication={"medicationCodeableConcept": rx_concept("310431", "gabapentin 300 MG Oral Capsule")},
        status="completed",
        authored="2024-09-05",
        validity=("2024-09-05", "2025-01-05"),
        dosage="600 mg by mouth three times daily",
    )
    c.med_statement(
        None,
        medication={
            "medicationCodeableConcept": rx_concept(
                "596934", "DULoxetine 60 MG Delayed Release Oral Capsule", text="duloxetine 60 mg DR capsule"
            )
        },
        status="completed",
        start="2025-02-01",
        end="2025-05-31",
        dosage="60 mg daily",
    )


@case
def med_scd_failed_classes() -> Built:
    c = Case("med-scd-gabapentin-duloxetine-failed")
    c.patient(birth_date="1969-02-11", gender="female", family="Nakamura", given="Keiko")
    scd_history(c)
    return v11(
        c,
        "Gabapentin and duloxetine sent as the clinical drugs EHRs send (SCD 'gabapentin 300 MG Oral Capsule', "
        "'DULoxetine 60 MG Delayed Release Oral Capsule', codes not in the policy's tables): identified by their "
        "RxNorm normalized names (§7 rule 3, matched_by name) -> two failed classes -> ELIGIBLE_FOR_TRIAL. "
        "Policy 1.0.0 found no analgesic here.",
        expect("ELIGIBLE_FOR_TRIAL") | {"matched_by": {"MedicationRequest/medrx-1": "name"}},
        ["med:scd", "med:name"],
    )


@case
def med_scd_product_holds() -> Built:
    c = Case("med-scd-ibuprofen-naproxen-product-codes")
    c.patient(birth_date="1962-07-19", gender="male", family="Adeyemi", given="Tunde")
    std(c)
    c.med_request(("197806", "Ibuprofen 600 MG Oral Tablet"), status="active", authored="2026-03-01")
    c.med_statement(("198014", "Naproxen 500 MG Oral Tablet"), status="active", start="2026-02-10")
    return v11(
        c,
        "Active 'Ibuprofen 600 MG Oral Tablet' (SCD 197806) and 'Naproxen 500 MG Oral Tablet' (198014): product "
        "codes of the policy's product table (§7 rule 2, matched_by product_code) -> ibuprofen 1-day and naproxen "
        "4-day holds -> ELIGIBLE_WITH_CONDITIONS. Policy 1.0.0 missed both holds.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:ibuprofen", "hold_medication:naproxen"])
        | {"matched_by": {"MedicationRequest/medrx-2": "product_code", "MedicationStatement/medst-2": "product_code"}},
        ["med:product-code", "hold:ibuprofen", "hold:naproxen"],
    )


@case
def med_sbd_bracketed_brand() -> Built:
    c = Case("med-sbd-eliquis-bracketed-brand")
    c.patient(birth_date="1950-09-02", gender="female", family="Lindqvist", given="Astrid")
    std(c)
    c.med_request(
        None,
        medication={"medicationCodeableConcept": rx_concept("1364447", "apixaban 5 MG Oral Tablet [Eliquis]")},
        status="active",
        authored="2025-12-01",
        dosage="5 mg twice daily",
    )
    return v11(
        c,
        "Branded drug (SBD) 'apixaban 5 MG Oral Tablet [Eliquis]' with a code outside the product table: the "
        "name (and its bracketed brand) identifies apixaban -> 3-day hold, no lab check -> ELIGIBLE_WITH_CONDITIONS.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:apixaban"], absent=["lab_check:INR"]),
        ["med:sbd", "hold:apixaban"],
    )


@case
def med_brand_text_only() -> Built:
    c = Case("med-brand-names-text-only")
    c.patient(birth_date="1957-01-23", gender="male", family="Oyelaran", given="Femi")
    std(c)
    c.med_statement(None, medication={"medicationCodeableConcept": {"text": "Advil 200 mg PRN"}}, status="active",
                    start="2026-01-15")
    c.med_statement(None, medication={"medicationCodeableConcept": {"text": "XARELTO 20MG daily with supper"}},
                    status="active", start="2025-11-03")
    return v11(
        c,
        "Patient-reported medications as text only, by brand ('Advil 200 mg PRN', 'XARELTO 20MG daily with "
        "supper'): the brand table (clinic page: Advil) identifies ibuprofen and rivaroxaban, case-insensitive "
        "whole words -> ibuprofen 1-day and rivaroxaban 3-day holds -> ELIGIBLE_WITH_CONDITIONS.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:ibuprofen", "hold_medication:rivaroxaban"]),
        ["med:brand-text", "med:text-only", "hold:rivaroxaban"],
    )


@case
def med_local_code_with_text() -> Built:
    c = Case("med-local-code-warfarin")
    c.patient(birth_date="1948-05-30", gender="male", family="Brennan", given="Patrick")
    std(c)
    local = "urn:oid:1.2.840.114350.1.13.861.1.7.2.698288"
    c.med_request(
        None,
        medication={"medicationCodeableConcept": concept((local, "34562", "WARFARIN SODIUM 5 MG PO TABS"))},
        status="active",
        authored="2025-10-20",
        dosage="5 mg by mouth daily",
    )
    return v11(
        c,
        "An EHR's local medication code with its display ('WARFARIN SODIUM 5 MG PO TABS', no RxNorm coding): the "
        "display names warfarin (salt word 'sodium' dropped) -> 5-day hold and INR check -> ELIGIBLE_WITH_CONDITIONS.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:warfarin", "lab_check:INR"]),
        ["med:local-code", "hold:warfarin"],
    )


@case
def med_referenced_text_only() -> Built:
    c = Case("med-referenced-medication-text-only")
    c.patient(birth_date="1955-12-12", gender="female", family="Moreau", given="Claire")
    std(c)
    ref = c.medication({"text": "Clopidogrel 75mg tablet"})
    c.med_request(
        None,
        medication={"medicationReference": {"reference": ref}},
        status="active",
        authored="2025-08-14",
        reason=[("icd10", "Z95.5", "Presence of coronary angioplasty implant and graft")],
    )
    return v11(
        c,
        "A referenced Medication whose code has text only ('Clopidogrel 75mg tablet', no coding) -> clopidogrel "
        "7-day hold -> ELIGIBLE_WITH_CONDITIONS (the stent reason makes no aspirin decision here: no aspirin).",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:clopidogrel"]),
        ["med:referenced-medication", "med:text-only", "hold:clopidogrel"],
    )


@case
def med_contained_sbd() -> Built:
    c = Case("med-contained-pradaxa")
    c.patient(birth_date="1949-03-08", gender="male", family="Kowalski", given="Jan")
    std(c)
    med = {
        "resourceType": "Medication",
        "id": "med1",
        "code": rx_concept("1037179", "dabigatran etexilate 150 MG Oral Capsule [Pradaxa]"),
    }
    c.med_request(
        None,
        medication={"medicationReference": {"reference": "#med1", "display": "Pradaxa 150 mg"}},
        contained=[med],
        status="active",
        authored="2025-07-01",
    )
    return v11(
        c,
        "A contained Medication coded as a branded drug outside the product table ('dabigatran etexilate 150 MG "
        "Oral Capsule [Pradaxa]'): the name identifies dabigatran -> 4-day hold and renal function check.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:dabigatran", "lab_check:renal_function"]),
        ["med:contained", "hold:dabigatran"],
    )


@case
def med_several_codings() -> Built:
    c = Case("med-several-codings-one-concept")
    c.patient(birth_date="1953-10-17", gender="female", family="Haddad", given="Leila")
    std(c)
    c.med_request(
        None,
        medication={
            "medicationCodeableConcept": {
                "coding": [
                    {"system": "http://hl7.org/fhir/sid/ndc", "code": "0003-0894-21", "display": "ELIQUIS 5MG TAB"},
                    {"system": "urn:oid:2.16.840.1.113883.3.9999.1", "code": "APX5", "display": "apixaban tab"},
                    {"system": RXNORM, "code": "1364445", "display": "apixaban 5 MG Oral Tablet"},
                ],
                "text": "apixaban (ELIQUIS) 5 mg tablet",
            }
        },
        status="active",
        authored="2026-01-10",
    )
    return v11(
        c,
        "One medication concept with three codings (NDC, a local code, the RxNorm SCD 1364445): the RxNorm product "
        "code identifies apixaban whatever the order of the codings -> 3-day hold.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:apixaban"])
        | {"matched_by": {"MedicationRequest/medrx-2": "product_code"}},
        ["med:several-codings"],
    )


@case
def med_combination_opioid() -> Built:
    c = Case("med-combination-hydrocodone-acetaminophen")
    c.patient(birth_date="1972-04-04", gender="male", family="Reyes", given="Daniel")
    std(c, meds=False)
    gabapentin_std(c)
    c.med_statement(
        None,
        medication={
            "medicationCodeableConcept": rx_concept(
                "856999", "Acetaminophen 325 MG / HYDROcodone Bitartrate 5 MG Oral Tablet", text="Norco 5-325"
            )
        },
        status="completed",
        start="2025-02-01",
        end="2025-05-31",
    )
    return v11(
        c,
        "Gabapentin plus 'Acetaminophen 325 MG / HYDROcodone Bitartrate 5 MG Oral Tablet' (Norco): a combination "
        "maps to every ingredient, so hydrocodone makes it an opioid class; failed by the 7 of 2025-04-10 -> two "
        "failed classes -> ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        ["med:combination"],
    )


@case
def med_combination_aggrenox() -> Built:
    c = Case("med-combination-aspirin-dipyridamole")
    c.patient(birth_date="1951-08-21", gender="female", family="Novak", given="Irena")
    std(c)
    c.med_request(
        None,
        medication={
            "medicationCodeableConcept": rx_concept(
                "226718", "aspirin 25 MG / dipyridamole 200 MG Extended Release Oral Capsule [Aggrenox]"
            )
        },
        status="active",
        authored="2025-06-01",
    )
    return v11(
        c,
        "Aggrenox ('aspirin 25 MG / dipyridamole 200 MG Extended Release Oral Capsule'): both ingredients get their "
        "rule -> aspirin 6-day (no secondary-prevention indication on record) and dipyridamole 2-day holds.",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:aspirin", "hold_medication:dipyridamole"]),
        ["med:combination", "hold:dipyridamole"],
    )


@case
def med_topical_nsaid() -> Built:
    c = Case("med-topical-diclofenac-gel")
    c.patient(birth_date="1966-06-15", gender="female", family="Abara", given="Ngozi")
    std(c, meds=False)
    gabapentin_std(c)
    gel = rx_concept("855633", "diclofenac sodium 10 MG/ML Topical Gel", text="Voltaren 1% gel")
    c.med_statement(None, medication={"medicationCodeableConcept": gel}, status="completed", start="2025-02-01",
                    end="2025-05-31", dosage="apply to the foot four times daily")
    c.med_request(None, medication={"medicationCodeableConcept": gel}, status="active", authored="2026-04-01")
    return v11(
        c,
        "Diclofenac as a topical gel: tried 2025-02..05 and failed (7 on 2025-04-10) it counts in the topical "
        "class, not nsaid (§7), which with gabapentin makes two classes; active now it gets an advisory, not the "
        "oral 1-day hold -> ELIGIBLE_FOR_TRIAL (advisories are not conditions).",
        expect("ELIGIBLE_FOR_TRIAL", actions=["advisory:diclofenac"], absent=["hold_medication:diclofenac"]),
        ["med:topical"],
    )


@case
def med_liquigel_stays_held() -> Built:
    c = Case("med-oral-liqui-gel-keeps-its-hold")
    c.patient(birth_date="1964-11-09", gender="male", family="Petrov", given="Ivan")
    std(c)
    c.med_statement(
        None,
        medication={"medicationCodeableConcept": {"text": "Advil Liqui-Gel 200 mg oral capsule"}},
        status="active",
        start="2026-02-01",
    )
    return v11(
        c,
        "'Advil Liqui-Gel 200 mg oral capsule' names a gel but also an oral capsule: a systemic form word overrides "
        "the topical one, so the ibuprofen 1-day hold stays (a doubtful form never loses its hold).",
        expect("ELIGIBLE_WITH_CONDITIONS", actions=["hold_medication:ibuprofen"], absent=["advisory:ibuprofen"]),
        ["med:topical-systemic-override"],
    )


@case
def med_unrecognised() -> Built:
    c = Case("med-unrecognised-listed")
    c.patient(birth_date="1970-03-03", gender="female", family="Walsh", given="Siobhan")
    std(c)
    c.med_statement(None, medication={"medicationCodeableConcept": {"text": "kratom capsules (herbal)"}},
                    status="active", start="2026-03-01")
    c.med_request(None, medication={"medicationCodeableConcept": rx_concept("2601723", None)}, status="active",
                  authored="2026-04-20")
    return v11(
        c,
        "An active herbal product named only in text ('kratom capsules (herbal)') and an RxNorm code with no display "
        "that the policy does not hold: neither is identified, so neither counts or gets a hold; both are listed "
        "under `unrecognised` and named in the medication reconciliation and the explanation (§7) -> "
        "ELIGIBLE_FOR_TRIAL.",
        expect("ELIGIBLE_FOR_TRIAL")
        | {"unrecognised": ["MedicationRequest/medrx-2", "MedicationStatement/medst-2"]},
        ["med:unrecognised"],
    )


@case
def code_unmapped_system() -> Built:
    c = Case("code-icd10-without-system-not-guessed")
    c.patient(birth_date="1974-02-27", gender="male", family="Osei", given="Kwame")
    std(c, dx=False)
    c.condition(
        [("", "G90.521", "Complex regional pain syndrome I of right lower limb")],
        onset="2024-08-15",
        body_site=[R_FOOT],
    )
    return v11(
        c,
        "The CRPS diagnosis arrives with code 'G90.521' but no system: a code of ICD-10-CM shape under a missing "
        "system is not guessed (§7): qualifying_diagnosis stays unknown (and location, duration with it), the label "
        "is UNDETERMINED, and the coding is listed under `unrecognised` for the clinic to map.",
        expect(
            "INSUFFICIENT_INFORMATION",
            label="UNDETERMINED",
            qualifying_diagnosis="unknown",
            pain_location="unknown",
            pain_duration="unknown",
        )
        | {"unrecognised": ["Condition/cond-1"]},
        ["code:unmapped-system"],
    )


@case
def code_oid_systems() -> Built:
    c = Case("code-oid-systems-recognised")
    c.patient(birth_date="1968-12-01", gender="female", family="Ferreira", given="Ana")
    std(c, dx=False)
    c.condition(
        [("urn:oid:2.16.840.1.113883.6.90", "G90.521", "Complex regional pain syndrome I of right lower limb")],
        onset="2024-08-15",
        body_site=[("urn:oid:2.16.840.1.113883.6.96", "7769000", "Structure of right foot")],
    )
    return v11(
        c,
        "A C-CDA-converted record names its systems by OID (ICD-10-CM 2.16.840.1.113883.6.90, SNOMED CT "
        "2.16.840.1.113883.6.96): the same code systems, listed in the v1.1 policy -> qualifying, located -> "
        "ELIGIBLE_FOR_TRIAL, ON_LABEL.",
        expect("ELIGIBLE_FOR_TRIAL"),
        ["code:oid-system"],
    )


# ================================================================================================
# README
# ================================================================================================
REQUIREMENTS: list[tuple[str, str]] = [
    ("site:chest", "Pain location chest (51185008)"),
    ("site:abdomen", "Pain location abdomen (818983003)"),
    ("site:groin", "Pain location groin (26893007 / 37117007)"),
    ("site:hand", "Pain location hand (85562004 / 85151006)"),
    ("site:foot", "Pain location foot (56459004 / 7769000 / 22335008)"),
    ("site:knee", "Pain location knee (72696002)"),
    ("site:lower-limb", "Elsewhere in the lower limb (61685007)"),
    ("site:lower-back-only", "Lower back only (37822005) -> pain_location not_met"),
    ("adult:18th-birthday", "Exactly 18 on the birthday -> adult met"),
    ("duration:6-months-to-the-day", "Onset exactly 6 calendar months before as_of -> met"),
    ("duration:month-end", "6 months before 31 August = 28 February (clamped)"),
    ("failure:explicit-procedure-outcome", "Explicit failure: Procedure.outcome 385671000 / 385670004"),
    ("failure:explicit-status-reason", "Explicit failure: medication stopped with statusReason"),
    ("failure:inferred-medication", "Inferred failure: medication class, score >= 5 in window"),
    ("failure:inferred-pt", "Inferred failure: PT course, score >= 5 in window"),
    ("failure:inferred-injection", "Inferred failure: ESI / nerve block, score >= 5 in 2-12 weeks"),
    ("treatment:effective", "Treatment that worked (only scores < 5, or outcome Successful)"),
    ("treatment:no-outcome-on-record", "Tried but no outcome on record -> unknown"),
    ("trap:G90.531", "Invalid CRPS code G90.531 is not qualifying"),
    ("trap:G90.52x-lower-limb", "G90.521/G90.522 are lower limb (on-label) whatever the display"),
    ("trap:rxcui-42463", "RxCUI 42463 is pravastatin, not clopidogrel -> no hold"),
    ("trap:26893007-groin", "26893007 is the inguinal region (groin), not lower back"),
    ("trap:obstetric-epidural-18946005", "Obstetric epidural 18946005 is not an ESI"),
    ("trap:facet-64490-64495", "Facet/medial-branch 64490-64495 are not nerve blocks"),
    ("trap:sud-in-remission", "SUD 'in remission' code F11.21 does not count"),
    ("trap:F17-not-sud", "F17 nicotine is not an SUD"),
    ("trap:celecoxib-no-hold", "Celecoxib (140587) needs no hold"),
    ("trap:aspirin-not-analgesic", "Aspirin is not an analgesic class"),
    ("trap:Z95.5-not-relative", "Coronary stent Z95.5 is not a relative contraindication"),
    ("trap:acute-pain-only", "Acute pain G89.1x only -> qualifying_diagnosis not_met"),
    ("trap:G54.7-only", "Phantom limb without pain G54.7 only -> not_met"),
    ("trap:icd-without-dot", "ICD-10-CM without the dot (G90521)"),
    ("trap:snomed-icd-mixed", "SNOMED and ICD-10-CM mixed / SNOMED only"),
    ("trap:entered-in-error-refuted", "entered-in-error / refuted entries ignored"),
    ("trap:resolved-remission", "clinicalStatus resolved / remission not active"),
    ("trap:medication-statement", "MedicationStatement as well as MedicationRequest"),
    ("trap:contained-medication", "Contained Medication resolves"),
    ("trap:float-pain-score", "Float pain scores (7.0)"),
    ("trap:missing-gender", "Patient without gender"),
    ("trap:urn-uuid", "urn:uuid: references (transaction Bundle)"),
    ("hold:ibuprofen", "Hold ibuprofen (1 d)"),
    ("hold:naproxen", "Hold naproxen (4 d)"),
    ("hold:aspirin-primary", "Hold aspirin, primary prevention (6 d)"),
    ("hold:aspirin-secondary", "Hold aspirin, secondary prevention (prescriber decision)"),
    ("hold:clopidogrel", "Hold clopidogrel (7 d)"),
    ("hold:prasugrel", "Hold prasugrel (7 d)"),
    ("hold:ticagrelor", "Hold ticagrelor (5 d)"),
    ("hold:warfarin", "Hold warfarin (5 d) + lab_check INR"),
    ("hold:apixaban", "Hold apixaban (3 d), no lab check"),
    ("hold:rivaroxaban", "Hold rivaroxaban (3 d), no lab check"),
    ("hold:edoxaban", "Hold edoxaban (3 d), no lab check"),
    ("hold:dabigatran", "Hold dabigatran + lab_check renal_function"),
    ("advisory:duloxetine", "SNRI bleeding advisory (duloxetine 72625)"),
    ("smoking:former", "Former smoker (latest 72166-2 = 8517006) -> no smoking_cessation"),
    ("implant:trial-63650", "Stage implant: CPT 63650 and no 63685"),
    ("stage:63685-present", "63650 + 63685 -> stage trial, existing neurostimulator"),
    ("implant:trial-window-boundaries", "Baseline / trial windows of §6 at their boundaries"),
    ("implant:percent-relief", "Percent-relief Observation variant"),
    ("contra:pregnancy-within-280", "Pregnancy current (<= 280 days, LA15173-0, Z33.1)"),
    ("contra:pregnancy-older-280", "Pregnancy observation older than 280 days -> not current"),
    ("contra:coagulopathy-D68", "Coagulopathy D68.x"),
    ("contra:sepsis-A41.9", "Sepsis A41.9"),
    ("contra:pacemaker-Z95.0", "Pacemaker Z95.0"),
    ("contra:neurostimulator-device", "Neurostimulator Device"),
    ("contra:Z96.82", "Z96.82 presence of neurostimulator"),
    ("contra:dementia", "Dementia"),
    ("contra:active-cancer", "Active cancer"),
    ("med:scd", "v1.1 §7: clinical drug (SCD) name, code not in the tables"),
    ("med:name", "v1.1 §7: identified by the RxNorm normalized name (matched_by name)"),
    ("med:product-code", "v1.1 §7: product code of the product table (matched_by product_code)"),
    ("med:sbd", "v1.1 §7: branded drug (SBD) with its bracketed brand"),
    ("med:brand-text", "v1.1 §7: brand name in free text (Advil, Xarelto)"),
    ("med:text-only", "v1.1 §7: medication with text only, no coding"),
    ("med:local-code", "v1.1 §7: local code with a display"),
    ("med:referenced-medication", "v1.1 §7: referenced Medication with text only"),
    ("med:contained", "v1.1 §7: contained Medication coded as a branded drug"),
    ("med:several-codings", "v1.1 §7: several codings on one medication (NDC, local, RxNorm)"),
    ("med:combination", "v1.1 §7: combination product maps to every ingredient"),
    ("med:topical", "v1.1 §7: topical NSAID: advisory, not a hold; topical class"),
    ("med:topical-systemic-override", "v1.1 §7: a systemic form word keeps the hold"),
    ("med:unrecognised", "v1.1 §7: active medications nobody identifies are listed"),
    ("code:unmapped-system", "v1.1 §7: ICD-10-CM code without a system is not guessed, listed"),
    ("code:oid-system", "v1.1: code systems named by their OIDs"),
    ("hold:dipyridamole", "Hold dipyridamole (2 d), via aspirin/dipyridamole"),
]

README_HEAD = (HERE / "_readme_head.md").read_text(encoding="utf-8")


def render_readme(built: list[tuple[str, Built]]) -> str:
    by_tag: dict[str, list[str]] = defaultdict(list)
    by_outcome: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_status: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fname, b in built:
        num = fname.split("-", 1)[0]
        for tag in b.tags:
            by_tag[tag].append(num)
        exp = b.expected
        by_outcome[(exp["stage"], exp["outcome"])].append(num)
        for cid, status in exp["criteria"].items():
            by_status[(cid, status)].append(num)
    lines = [README_HEAD.format(prs=PERCENT_RELIEF_SYSTEM, prc=PERCENT_RELIEF_CODE), "## Coverage\n"]
    lines.append("Numbers are case-file prefixes. `test_corpus_coverage` checks the same list.\n")
    lines.append("### Outcomes\n\n| stage | outcome | cases |\n|---|---|---|")
    for (stage, outcome), nums in sorted(by_outcome.items()):
        lines.append(f"| {stage} | {outcome} | {', '.join(nums)} |")
    lines.append("\n### Criterion statuses\n\n| criterion | met | not_met | unknown |\n|---|---|---|---|")
    for cid in (*TRIAL_CRITERIA, "trial_response"):
        cells = []
        for status in ("met", "not_met", "unknown"):
            nums = by_status.get((cid, status), [])
            if not nums:
                cells.append("— (not allowed)" if status == "unknown" else "—")
            elif status == "met" and len(nums) > 6:
                cells.append(f"{len(nums)} cases")
            else:
                cells.append(", ".join(nums))
        lines.append(f"| {cid} | {' | '.join(cells)} |")
    lines.append("\n### Requirements\n\n| requirement | tag | cases |\n|---|---|---|")
    for tag, label in REQUIREMENTS:
        lines.append(f"| {label} | `{tag}` | {', '.join(by_tag.get(tag, [])) or 'MISSING'} |")
    smokers = defaultdict(list)
    for fname, b in built:
        obs = [
            e["resource"]
            for e in b.case.entries
            if e["resource"]["resourceType"] == "Observation"
            and e["resource"]["code"]["coding"][0]["code"] == "72166-2"
        ]
        if obs:
            latest = max(obs, key=lambda r: r["effectiveDateTime"])
            smokers[latest["valueCodeableConcept"]["coding"][0]["code"]].append(fname.split("-", 1)[0])
    lines.append("\n### Smoking status (latest 72166-2 answer)\n\n| answer | cases |\n|---|---|")
    for code, nums in sorted(smokers.items()):
        lines.append(f"| {code} {SMOKER.get(code, '')} | {', '.join(nums)} |")
    lines.append("\n### Ambiguity readings\n\n| reading | cases |\n|---|---|")
    for tag in sorted(t for t in by_tag if t.startswith("ambiguity:")):
        lines.append(f"| `{tag}` | {', '.join(by_tag[tag])} |")
    lines.append("\n### All cases\n\n| file | outcome | description |\n|---|---|---|")
    for fname, b in built:
        lines.append(f"| `{fname}` | {b.expected['outcome']} | {b.description} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    for old in HERE.glob("[0-9][0-9][0-9]-*.json"):
        old.unlink()
    built: list[tuple[str, Built]] = []
    seen: set[str] = set()
    for number, fn in enumerate(CASES, start=1):
        b = fn()
        if b.case.slug in seen:
            raise SystemExit(f"duplicate slug {b.case.slug}")
        seen.add(b.case.slug)
        b.case.tags = list(b.tags)
        under = b.under
        if under is None:  # a v1.0 case: also under v1.1, changed only where §7 says so
            under = {POLICY_V11: V11_CHANGES.pop(b.case.slug, {})}
            if b.case.slug in V20_CHANGES:
                under[POLICY_V20] = V20_CHANGES.pop(b.case.slug)
        path = write_case(
            HERE, number, b.case, description=b.description, expected=b.expected, as_of=b.as_of,
            policy=b.policy, under=under,
        )
        built.append((path.name, b))
    if V11_CHANGES or V20_CHANGES:
        raise SystemExit(f"changes name cases that do not exist: {sorted(V11_CHANGES) + sorted(V20_CHANGES)}")
    (HERE / "README.md").write_text(render_readme(built), encoding="utf-8")
    print(f"wrote {len(built)} cases")


if __name__ == "__main__":
    main()
